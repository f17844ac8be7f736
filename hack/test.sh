#!/usr/bin/env bash
# Runs every test project and closes with one summary line, "N passed, N failed, N skipped".
# Usage: hack/test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Operator.sln --nologo --logger "console;verbosity=normal" "$@" 2>&1 | grep --line-buffered -v 'warning NU1603' | tee "$log" || status=$?
# dotnet test prints one "Passed!/Failed!  - Failed: F, Passed: P, Skipped: S, Total: T" line per test assembly.
summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" \
  | awk -F'[:,]' '{f+=$2; p+=$4; s+=$6} END {printf "%d passed, %d failed, %d skipped", p, f, s}')
echo
echo "${summary:-0 passed, 0 failed}"
exit $status
