#!/usr/bin/env bash
# The failover benchmark (make bench): the floor, single-group failover latency, mass failover at N
# groups and the operator's cost. Table on stdout, JSON in bench/results/, figures in docs/performance.md.
#
#   hack/bench.sh [--groups=100,1000] [--failovers=50] [--workers=N] [--steady-seconds=60] [...]
#
# Starts a dedicated control plane in .local/bench-plane (stopped at the end, and by its watchdog if
# this script dies), publishes the operator (Release) to .local/publish; the benchmark program starts
# and stops the operator process itself (it reads RSS and CPU from /proc/PID). Everything it started is
# stopped on exit, failure or Ctrl+C. Other options: dotnet bench/FailoverBench/bin/Release/net10.0/FailoverBench.dll --help.
#
# Environment:
#   BENCH_USE_EXISTING_CLUSTER=true  use the cluster in KUBECONFIG instead (it must not run another
#                                    failover operator; the benchmark's operator watches all namespaces)
#   BENCH_BUDGET_SECONDS             the whole run's time budget (default 600); a scale that would not
#                                    fit is made smaller, and the output says so
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
BENCH_DIR=$REPO_ROOT/.local/bench
PLANE_DIR=$REPO_ROOT/.local/bench-plane
PUBLISH_DIR=$REPO_ROOT/.local/publish
PID_FILE=$BENCH_DIR/operator.pid
BENCH_DLL=$REPO_ROOT/bench/FailoverBench/bin/Release/net10.0/FailoverBench.dll
BUDGET=${BENCH_BUDGET_SECONDS:-600}

# shellcheck source=hack/lib.sh
. "$REPO_ROOT/hack/lib.sh"
say() { echo "bench: $*"; }
die() { echo "bench: error: $*" >&2; exit 1; }

plane_started=
bench_pid=
watchdog_pid=
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "$bench_pid" ] && { stop_pid "$bench_pid" 5 || true; }
  if [ -f "$PID_FILE" ]; then
    local pid
    if pid=$(recorded_pid "$PID_FILE" "$PUBLISH_DIR/FailoverOperator.dll"); then
      say "stopping the operator (pid $pid)"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
  fi
  if [ -n "$plane_started" ]; then
    "$REPO_ROOT/hack/control-plane.sh" down "$PLANE_DIR" >/dev/null 2>&1 || true
    say "control plane stopped"
  fi
  [ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


mkdir -p "$BENCH_DIR"
if [ "${BENCH_USE_EXISTING_CLUSTER:-}" = true ]; then
  kubeconfig=${KUBECONFIG:-$HOME/.kube/config}
  kubeconfig=${kubeconfig%%:*}
  [ -f "$kubeconfig" ] || die "BENCH_USE_EXISTING_CLUSTER=true but no kubeconfig at $kubeconfig"
  cluster="existing cluster ($(kubectl --kubeconfig="$kubeconfig" config current-context 2>/dev/null || echo unknown context))"
  say "using the existing cluster in $kubeconfig"
else
  say "starting a dedicated control plane in .local/bench-plane"
  if ! "$REPO_ROOT/hack/control-plane.sh" bin kube-apiserver >/dev/null 2>&1; then
    say "first run: the control plane binaries are built first (about 11 min on 2 cores, then cached)"
  fi
  plane_started=1
  OWNER_PID=$$ "$REPO_ROOT/hack/control-plane.sh" up "$PLANE_DIR"
  kubeconfig=$PLANE_DIR/kubeconfig
  cluster="dedicated local control plane: etcd + kube-apiserver + kube-controller-manager (hack/control-plane.sh), same machine"
fi
kubectl --kubeconfig="$kubeconfig" apply -f "$REPO_ROOT/crds/" >/dev/null
kubectl --kubeconfig="$kubeconfig" wait --for condition=established --timeout=60s crd/highavailabilitygroups.failover.dev >/dev/null

say "publishing the operator (Release) to .local/publish and building the benchmark"
dotnet_quiet publish "$REPO_ROOT/src/FailoverOperator" -c Release -o "$PUBLISH_DIR"
dotnet_quiet build "$REPO_ROOT/bench/FailoverBench/FailoverBench.csproj" -c Release

commit=$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$REPO_ROOT" status --porcelain -- src 2>/dev/null)" ] && commit="$commit+uncommitted changes in src/"

# If this script is killed outright, its watchdog still takes the benchmark and its operator down
# (the control plane has its own watchdog).
(
  while kill -0 $$ 2>/dev/null; do sleep 1; done
  [ -f "$BENCH_DIR/bench.pid" ] && kill -KILL "$(cat "$BENCH_DIR/bench.pid")" 2>/dev/null
  [ -f "$PID_FILE" ] && kill -KILL "$(cat "$PID_FILE")" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
watchdog_pid=$!

remaining=$((BUDGET - SECONDS - 15))
say "running the benchmark (${remaining} s of the ${BUDGET} s budget left)"
dotnet "$BENCH_DLL" --kubeconfig="$kubeconfig" --operator-dll="$PUBLISH_DIR/FailoverOperator.dll" \
  --budget-seconds="$remaining" --commit="$commit" --cluster="$cluster" \
  --results-dir="$REPO_ROOT/bench/results" --log-dir="$BENCH_DIR" --pid-file="$PID_FILE" "$@" &
bench_pid=$!
echo "$bench_pid" >"$BENCH_DIR/bench.pid"
status=0
wait "$bench_pid" || status=$?
bench_pid=
rm -f "$BENCH_DIR/bench.pid"
say "finished in $((SECONDS / 60)) min $((SECONDS % 60)) s (operator logs: .local/bench/operator-*.log)"
exit "$status"
