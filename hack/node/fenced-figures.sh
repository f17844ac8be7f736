#!/usr/bin/env bash
# The figures of docs/fencing.md, measured on the real node (hack/node.sh, started and stopped by the
# test run; root needed): failover time in Label mode vs Agent mode with an acknowledging agent (5
# readiness failures each, alternated, one operator), API writes per group per minute at rest in both
# modes, and cut-off-to-new-active with a 15 s lease. About 5 minutes once the node's images are cached.
#
#   hack/node/fenced-figures.sh [OUT]    figures on stdout and in OUT (default .local/fenced-figures.txt)
#
# FENCED_FIGURES_REST_SECONDS sets the at-rest window (default 60).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/.local/fenced-figures.txt}
mkdir -p "$(dirname "$OUT")"
cd "$ROOT"
dotnet build tests/FailoverOperator.IntegrationTests --nologo -v quiet >/dev/null
log=$OUT.log   # the test's whole output (operator log, hook logs), kept
status=0
FENCED_FIGURES=1 FENCED_FIGURES_OUT="$OUT" dotnet test tests/FailoverOperator.IntegrationTests --no-build --nologo \
  --filter "FullyQualifiedName=FailoverOperator.IntegrationTests.RealNode.FencedRealNodeTests.Figures" \
  --logger "console;verbosity=detailed" >"$log" 2>&1 || status=$?
if [ $status -ne 0 ] || [ ! -s "$OUT" ]; then tail -n 100 "$log"; echo "fenced-figures: the measurement failed (log: $log)" >&2; exit 1; fi
echo "measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -m)), load $(cut -d' ' -f1-3 /proc/loadavg):"
sed 's/^/  /' "$OUT"
echo "(the test's output: $log)"
