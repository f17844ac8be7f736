#!/usr/bin/env bash
# The figures of docs/fencing.md, measured on the real node (hack/node.sh, started and stopped by the
# test run; root needed): failover time in Label mode vs Agent mode with an acknowledging agent
# (5 readiness failures each by default, alternated, one operator), API writes per group per minute at
# rest in both modes, and cut-off-to-new-active with a 15 s lease. About 5 minutes once the node's images are cached.
#
#   hack/node/fenced-figures.sh [OUT]    figures on stdout and in OUT (default .local/fenced-figures.txt)
#
# FENCED_FIGURES_REST_SECONDS sets the at-rest window (default 60), FENCED_FIGURES_ROUNDS the failovers
# per mode (default 5; each round adds about 10 s).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec "$ROOT/hack/node/run-figures.sh" fenced-figures FENCED_FIGURES \
  FailoverOperator.IntegrationTests.RealNode.FencedRealNodeTests.Figures "${1:-$ROOT/.local/fenced-figures.txt}"
