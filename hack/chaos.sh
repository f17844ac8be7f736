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
#                        plane and operators on the way out, and the plane's watchdog stops it if the program dies
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
# shellcheck source=hack/lib.sh
. "$REPO_ROOT/hack/lib.sh"
CHAOS_DLL=$REPO_ROOT/tests/FailoverOperator.Chaos/bin/Release/net10.0/FailoverChaos.dll
LIMIT=${CHAOS_TIME_LIMIT:-900}

args=("$@")
if ! printf '%s\n' "${args[@]}" | grep -q -- '^--seed='; then
  args=("--seed=${CHAOS_SEED:-$((RANDOM * 32768 + RANDOM))}" "${args[@]}")
fi

echo "chaos: building the chaos program and the operator (Release)"
dotnet_quiet build "$REPO_ROOT/tests/FailoverOperator.Chaos/FailoverOperator.Chaos.csproj" -c Release
# SIGTERM at the limit lets the program stop its operators and control plane; SIGKILL 2 min later if it hangs.
exec timeout --kill-after=120 "$LIMIT" dotnet "$CHAOS_DLL" "${args[@]}"
