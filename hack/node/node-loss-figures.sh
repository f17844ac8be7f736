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
OUT=${1:-$ROOT/.local/node-loss-figures.txt}
mkdir -p "$(dirname "$OUT")"
cd "$ROOT"
dotnet build tests/FailoverOperator.IntegrationTests --nologo -v quiet >/dev/null
log=$OUT.log   # the test's whole output (operator log, hook logs), kept
status=0
NODE_LOSS_FIGURES=1 NODE_LOSS_FIGURES_OUT="$OUT" dotnet test tests/FailoverOperator.IntegrationTests --no-build --nologo \
  --filter "FullyQualifiedName=FailoverOperator.IntegrationTests.RealNode.NodeLossRealNodeTests.Figures" \
  --logger "console;verbosity=detailed" >"$log" 2>&1 || status=$?
if [ $status -ne 0 ] || [ ! -s "$OUT" ]; then tail -n 100 "$log"; echo "node-loss-figures: the measurement failed (log: $log)" >&2; exit 1; fi
echo "measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -m)), load $(cut -d' ' -f1-3 /proc/loadavg):"
sed 's/^/  /' "$OUT"
echo "(the test's output: $log)"
