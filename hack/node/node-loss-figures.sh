#!/usr/bin/env bash
# The node-loss figures of docs/fencing.md (issue 15), measured on two real nodes (NODES=2 hack/node.sh,
# started and stopped by the test run; root needed) with one operator (--node-lease-stale-seconds=12)
# and 15 s group leases: kubelet frozen -> new active, in Label mode (Endpoints), in Agent mode with a
# partition (the node's pods cut off from the API server too) and without one. About 5 minutes.
#
#   hack/node/node-loss-figures.sh [OUT]    figures on stdout and in OUT (default .local/node-loss-figures.txt)
#
# NODE_LOSS_FIGURES_ROUNDS sets the rounds per case (default 3).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec "$ROOT/hack/node/run-figures.sh" node-loss-figures NODE_LOSS_FIGURES \
  FailoverOperator.IntegrationTests.RealNode.NodeLossRealNodeTests.Figures "${1:-$ROOT/.local/node-loss-figures.txt}"
