#!/usr/bin/env bash
# The chaos suite (make chaos): its own control plane, two operator replicas with leader election, and a
# seeded storm of faults checked by an invariant oracle. Prints one summary line with the seed; exits 0
# only when every invariant held. See docs/chaos.md.
#
#   hack/chaos.sh [--seed=N] [other FailoverChaos options]     (--help lists them)
#
# Environment:
#   CHAOS_SEED           the seed when --seed is not given (default: a random one, printed, so it can be replayed)
#   CHAOS_TIME_LIMIT     hard bound of the whole run in seconds (default 900); the program stops its control
#                        plane and operators on the way out; if it is killed outright, this script does
# The run's operator logs, findings.log and history.log are left in .local/chaos.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=hack/lib.sh
. "$REPO_ROOT/hack/lib.sh"
CHAOS_DLL=$REPO_ROOT/tests/FailoverOperator.Chaos/bin/Release/net10.0/FailoverChaos.dll
RUN_DIR=$REPO_ROOT/.local/chaos
LIMIT=${CHAOS_TIME_LIMIT:-900}

args=("$@")
if ! printf '%s\n' "${args[@]}" | grep -q -- '^--seed='; then
  args=("--seed=${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}" "${args[@]}")
fi

chaos_pid=
# The program stops its operators and its control plane itself; this is for when it was killed outright.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "$chaos_pid" ] && { stop_pid "$chaos_pid" 150 || true; }
  local file pid
  for file in "$RUN_DIR"/operator-*.pid; do
    if pid=$(recorded_pid "$file" FailoverOperator.dll); then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$file"
  done
  [ -d "$RUN_DIR/plane/pids" ] && { "$REPO_ROOT/hack/control-plane.sh" down "$RUN_DIR/plane" >/dev/null 2>&1 || true; }
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "chaos: building the chaos program and the operator (Release)"
dotnet_quiet build "$REPO_ROOT/tests/FailoverOperator.Chaos/FailoverOperator.Chaos.csproj" -c Release
rm -rf "$RUN_DIR"
# At the limit, SIGTERM: the program ends the storm, judges what it recorded and stops everything it started.
timeout --kill-after=120 "$LIMIT" dotnet "$CHAOS_DLL" --run-dir="$RUN_DIR" "${args[@]}" &
chaos_pid=$!
status=0
wait "$chaos_pid" || status=$?
chaos_pid=
echo "chaos: logs, findings.log and history.log in .local/chaos"
exit "$status"
