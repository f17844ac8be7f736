#!/usr/bin/env bash
# Runs one of the real-node figures tests (skipped by `make test`) and prints what it measured; used by
# hack/node/fenced-figures.sh and hack/node/node-loss-figures.sh.
#
#   hack/node/run-figures.sh NAME SWITCH TEST OUT
#     NAME    what the messages call it                 SWITCH  the variable that enables the test (set to 1)
#     TEST    the test's fully qualified name           OUT     the figures file (the test writes it; SWITCH_OUT)
set -euo pipefail
NAME=$1 SWITCH=$2 TEST=$3 OUT=$4
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$(dirname "$OUT")"
cd "$ROOT"
dotnet build tests/FailoverOperator.IntegrationTests --nologo -v quiet >/dev/null
log=$OUT.log   # the test's whole output (operator log, hook logs), kept
status=0
env "$SWITCH=1" "${SWITCH}_OUT=$OUT" dotnet test tests/FailoverOperator.IntegrationTests --no-build --nologo \
  --filter "FullyQualifiedName=$TEST" --logger "console;verbosity=detailed" >"$log" 2>&1 || status=$?
if [ $status -ne 0 ] || [ ! -s "$OUT" ]; then tail -n 100 "$log"; echo "$NAME: the measurement failed (log: $log)" >&2; exit 1; fi
echo "measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(uname -m)), load $(cut -d' ' -f1-3 /proc/loadavg):"
sed 's/^/  /' "$OUT"
echo "(the test's output: $log)"
