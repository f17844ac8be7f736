#!/usr/bin/env bash
# The demo (make demo / make demo-stop): a live failover on a local control plane, with its timeline
# in milliseconds.
#
#   hack/demo.sh up     start the control plane in .local/demo/control-plane (or reuse the running one),
#                       apply crds/, publish the operator (Release) and (re)start it in the background,
#                       then run the demo (namespace demo: 3 pods, a Service, a HighAvailabilityGroup,
#                       one failover). Everything stays running so you can poke at it.
#   hack/demo.sh down   stop the operator and the control plane the demo started.
#
# No kubelet runs here: a stand-in writes the pods' status as a kubelet would (the demo says so).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=hack/lib.sh
. "$REPO_ROOT/hack/lib.sh"
DEMO_DIR=$REPO_ROOT/.local/demo
PLANE_DIR=$DEMO_DIR/control-plane
OPERATOR_DIR=$DEMO_DIR/operator
PID_FILE=$DEMO_DIR/operator.pid
PORTS_FILE=$DEMO_DIR/operator.ports
LOG=$DEMO_DIR/operator.log
PUBLISH_DIR=$REPO_ROOT/.local/publish
BENCH_PROJECT=$REPO_ROOT/bench/FailoverBench/FailoverBench.csproj
BENCH_DLL=$REPO_ROOT/bench/FailoverBench/bin/Release/net10.0/FailoverBench.dll

say() { echo "demo: $*"; }
die() { echo "demo: error: $*" >&2; exit 1; }

# The recorded operator PID, if that process is still our operator.
operator_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid=$(cat "$PID_FILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$OPERATOR_DIR/FailoverOperator.dll" || return 1
  echo "$pid"
}

stop_operator() {
  local pid
  if pid=$(operator_pid); then
    say "stopping the operator (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null; do
      if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
  fi
  rm -f "$PID_FILE" "$PORTS_FILE"
}

dotnet_quiet() { # dotnet build/publish, its output shown only if it fails
  local out status=0
  out=$(dotnet "$@" --nologo -v quiet 2>&1) || status=$?
  [ $status -eq 0 ] || grep -v 'warning NU1603' <<<"$out" >&2 || true
  return $status
}

cmd_up() {
  mkdir -p "$DEMO_DIR"
  cd "$REPO_ROOT"
  if "$REPO_ROOT/hack/control-plane.sh" status "$PLANE_DIR" >/dev/null 2>&1; then
    say "[1/5] reusing the control plane already running in .local/demo/control-plane"
  else
    local apiserver
    if apiserver=$("$REPO_ROOT/hack/control-plane.sh" bin kube-apiserver 2>/dev/null); then
      say "[1/5] starting a local control plane: etcd, kube-apiserver, kube-controller-manager ($("$apiserver" --version 2>/dev/null | awk '{print $2}'), cached binaries)"
    else
      say "[1/5] starting a local control plane. First run: its binaries are built from Debian's Kubernetes"
      say "      source package, which takes about 11 min on 2 cores; they are cached in ~/.cache/failover-operator afterwards"
    fi
    "$REPO_ROOT/hack/control-plane.sh" up "$PLANE_DIR"
  fi
  local kubeconfig=$PLANE_DIR/kubeconfig
  export KUBECONFIG=$kubeconfig

  say "[2/5] installing the HighAvailabilityGroup CRD (kubectl apply -f crds/)"
  kubectl apply -f "$REPO_ROOT/crds/" >/dev/null
  kubectl wait --for condition=established --timeout=60s crd/highavailabilitygroups.failover.dev >/dev/null

  say "[3/5] publishing the operator (Release) and building the demo program"
  dotnet_quiet publish "$REPO_ROOT/src/FailoverOperator" -c Release -o "$PUBLISH_DIR"
  dotnet_quiet build "$BENCH_PROJECT" -c Release

  stop_operator
  rm -rf "$OPERATOR_DIR"
  cp -r "$PUBLISH_DIR" "$OPERATOR_DIR"
  local metrics_port health_port
  metrics_port=$(free_port "$DEMO_DIR/ports-taken"); health_port=$(free_port "$DEMO_DIR/ports-taken")
  echo "---- $(date -u +%FT%TZ) starting the operator ----" >>"$LOG"
  setsid dotnet "$OPERATOR_DIR/FailoverOperator.dll" --kubeconfig="$kubeconfig" \
    --metrics-port="$metrics_port" --health-port="$health_port" --bind-address=127.0.0.1 \
    >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  echo "metrics=$metrics_port health=$health_port" >"$PORTS_FILE"
  say "[4/5] operator started (pid $(cat "$PID_FILE"), all namespaces, metrics on 127.0.0.1:$metrics_port/metrics); waiting for /readyz"
  local deadline=$((SECONDS + 60))
  until curl -sf --max-time 1 "http://127.0.0.1:$health_port/readyz" >/dev/null 2>&1; do
    if ! operator_pid >/dev/null; then tail -n 20 "$LOG" >&2; die "the operator exited (log: $LOG)"; fi
    if [ $SECONDS -ge $deadline ]; then tail -n 20 "$LOG" >&2; die "the operator was not ready after 60 s (log: $LOG)"; fi
    sleep 0.2
  done

  say "[5/5] running the demo"
  echo
  dotnet "$BENCH_DLL" demo --kubeconfig="$kubeconfig"
  echo
  cat <<EOF
Everything is still running. To poke at it:
  export KUBECONFIG=$kubeconfig
  kubectl get hag,pods,lease -n demo -L failover.dev/role
  kubectl get endpoints demo-active -n demo
  kubectl get events -n demo --sort-by=.lastTimestamp
  # fail the current active by hand (as its kubelet would report a failed readiness probe):
  kubectl patch pod "\$(kubectl get pods -n demo -l failover.dev/role=active -o name | cut -d/ -f2)" -n demo \\
    --subresource=status --type=strategic -p '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}'
  operator log:     $LOG
  operator metrics: curl -s http://127.0.0.1:$metrics_port/metrics | grep ^failover_operator
Stop it all with: make demo-stop   (hack/demo.sh down)
EOF
}

cmd_down() {
  stop_operator
  if [ -d "$PLANE_DIR" ]; then
    "$REPO_ROOT/hack/control-plane.sh" down "$PLANE_DIR"
  fi
  say "stopped"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  *) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
