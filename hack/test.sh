#!/usr/bin/env bash
# Runs every test project and closes with one summary line, "N passed, N failed, N skipped".
# Usage: hack/test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Operator.sln --nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?
# Each test assembly ends with "Total tests: T", then "Passed: P", "Failed: F", "Skipped: S" lines.
summary=$(awk '/^[[:space:]]+(Passed|Failed|Skipped): [0-9]+$/ {n[$1] += $2}
  END {printf "%d passed, %d failed, %d skipped", n["Passed:"], n["Failed:"], n["Skipped:"]}' "$log")
echo
echo "${summary:-0 passed, 0 failed}"
exit $status
