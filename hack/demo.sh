#!/usr/bin/env bash
# The demo (make demo / make demo-stop): a live failover, with its timeline in milliseconds.
#
#   hack/demo.sh up     start a cluster (or reuse the demo's running one), apply crds/, publish the operator
#                       (Release) and (re)start it in the background, then run the demo (namespace demo:
#                       3 pods, a Service, a HighAvailabilityGroup, one failover). Everything stays running
#                       so you can poke at it.
#   hack/demo.sh down   stop the operator and whatever cluster the demo started.
#
# DEMO_MODE picks the cluster (the demo says which one it runs):
#   real       two real nodes (NODES=2 hack/node.sh up .local/demo/node): kube-scheduler, a dockerd and a kubelet each; busybox
#              pods with exec probes; the active's liveness probe is broken inside its container. Needs root.
#              Then a fenced scene: a group with spec.fencing Agent, failover-agent beside each app
#              container; its promote/demote hooks are shown with their terms (the node's agent image).
#   simulated  the control plane only (.local/demo/control-plane); a kubelet stand-in writes pod status.
#   auto       (default) real when this machine can run the node, otherwise simulated, saying why.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=hack/lib.sh
. "$REPO_ROOT/hack/lib.sh"
DEMO_DIR=$REPO_ROOT/.local/demo
PLANE_DIR=$DEMO_DIR/control-plane   # simulated mode
NODE_DIR=$DEMO_DIR/node              # real mode (its own control plane is in NODE_DIR/control-plane)
DEMO_MODE=${DEMO_MODE:-auto}
OPERATOR_DIR=$DEMO_DIR/operator
PID_FILE=$DEMO_DIR/operator.pid
LOG=$DEMO_DIR/operator.log
DEMO_PROJECT=$REPO_ROOT/samples/FailoverDemo/FailoverDemo.csproj
DEMO_DLL=$REPO_ROOT/samples/FailoverDemo/bin/Release/net10.0/FailoverDemo.dll

say() { echo "demo: $*"; }
die() { echo "demo: error: $*" >&2; exit 1; }

# The recorded operator PID, if that process is still our operator.
operator_pid() { recorded_pid "$PID_FILE" "$OPERATOR_DIR/FailoverOperator.dll"; }

stop_operator() {
  local pid
  if pid=$(operator_pid); then
    say "stopping the operator (pid $pid)"
    stop_pid "$pid" || true
  fi
  rm -f "$PID_FILE"
}

# Why this machine cannot run the real node, or nothing when it can try.
real_node_unavailable() {
  [ "$(id -u)" = 0 ] || { echo "not running as root (dockerd and the kubelet need it)"; return; }
  grep -qw overlay /proc/filesystems || { echo "the kernel has no overlay filesystem (each node's mount namespace needs it)"; return; }
  return 0
}

describe_binaries() { # what starting the cluster costs: cached binaries, or a first build
  local bin
  if bin=$("$REPO_ROOT/hack/control-plane.sh" bin "$1" 2>/dev/null); then
    echo "$("$bin" --version 2>/dev/null | awk '{print $2}'), cached binaries"
  else
    echo "first run: the binaries are built from Debian's Kubernetes source package, about 11 min on 2 cores, then cached in ~/.cache/failover-operator"
  fi
}

start_real() {
  say "[1/5] mode: real nodes. Starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and two nodes of a dockerd and a kubelet each ($(describe_binaries kubelet))"
  NODES=2 "$REPO_ROOT/hack/node.sh" up "$NODE_DIR"
}

start_simulated() {
  say "[1/5] mode: simulated pods. Starting etcd, kube-apiserver, kube-controller-manager ($(describe_binaries kube-apiserver))"
  "$REPO_ROOT/hack/control-plane.sh" up "$PLANE_DIR"
}

# Sets MODE, KUBECONFIG_FILE (and APP_IMAGE in real mode): reuses the demo's running cluster of the
# wanted mode, else starts one.
start_cluster() {
  case "$DEMO_MODE" in auto|real|simulated) ;; *) die "DEMO_MODE=$DEMO_MODE: expected auto, real or simulated" ;; esac
  local node_running= plane_running=
  "$REPO_ROOT/hack/node.sh" status "$NODE_DIR" >/dev/null 2>&1 && node_running=1
  "$REPO_ROOT/hack/control-plane.sh" status "$PLANE_DIR" >/dev/null 2>&1 && plane_running=1
  if [ -n "$node_running" ] && [ "$DEMO_MODE" != simulated ]; then
    MODE=real; say "[1/5] mode: real node. Reusing the node already running in .local/demo/node"
  elif [ -n "$plane_running" ] && [ "$DEMO_MODE" != real ]; then
    MODE=simulated; say "[1/5] mode: simulated pods. Reusing the control plane already running in .local/demo/control-plane"
    if [ "$DEMO_MODE" = auto ]; then say "      (make demo-stop first to let the demo try a real node)"; fi
  else
    # The demo runs one cluster at a time: stop one of the other mode.
    stop_operator
    if [ -n "$node_running" ]; then "$REPO_ROOT/hack/node.sh" down "$NODE_DIR" >/dev/null 2>&1; fi
    if [ -n "$plane_running" ]; then "$REPO_ROOT/hack/control-plane.sh" down "$PLANE_DIR" >/dev/null 2>&1; fi
    local why
    why=$(real_node_unavailable)
    if [ "$DEMO_MODE" = simulated ]; then
      MODE=simulated; start_simulated
    elif [ -n "$why" ]; then
      [ "$DEMO_MODE" = real ] && die "DEMO_MODE=real, but this machine cannot run the real node: $why"
      say "      a real node is not possible here ($why); using simulated pods"
      MODE=simulated; start_simulated
    elif start_real; then
      MODE=real
    else
      [ "$DEMO_MODE" = real ] && die "the real node did not start (logs: .local/demo/node/logs)"
      say "      the real node did not start (logs: .local/demo/node/logs); falling back to simulated pods"
      MODE=simulated; start_simulated
    fi
  fi
  if [ "$MODE" = real ]; then
    KUBECONFIG_FILE=$NODE_DIR/kubeconfig
    APP_IMAGE=$(sed -n 's/^APP_IMAGE=//p' "$NODE_DIR/node.env" | tr -d "\"'")
    AGENT_IMAGE=$(sed -n 's/^AGENT_IMAGE=//p' "$NODE_DIR/node.env" | tr -d "\"'")
    NODE_IP=$(sed -n 's/^NODE_IP=//p' "$NODE_DIR/node.env" | tr -d "\"'")
    [ -n "$APP_IMAGE" ] || die "no APP_IMAGE in $NODE_DIR/node.env (a node from an older checkout?): run make demo-stop, then make demo"
  else
    KUBECONFIG_FILE=$PLANE_DIR/kubeconfig
  fi
}

cmd_up() {
  mkdir -p "$DEMO_DIR"
  cd "$REPO_ROOT"
  start_cluster
  local kubeconfig=$KUBECONFIG_FILE
  export KUBECONFIG=$kubeconfig

  say "[2/5] installing the HighAvailabilityGroup CRD (kubectl apply -f crds/)"
  kubectl apply -f "$REPO_ROOT/crds/" >/dev/null
  kubectl wait --for condition=established --timeout=60s crd/highavailabilitygroups.failover.dev >/dev/null

  say "[3/5] publishing the operator (Release) and building the demo program"
  stop_operator   # it runs from OPERATOR_DIR, which the publish replaces
  rm -rf "$OPERATOR_DIR"
  dotnet_quiet publish "$REPO_ROOT/src/FailoverOperator" -c Release -o "$OPERATOR_DIR"
  dotnet_quiet build "$DEMO_PROJECT" -c Release
  local metrics_port health_port
  : >"$DEMO_DIR/ports-taken"
  metrics_port=$(free_port "$DEMO_DIR/ports-taken"); health_port=$(free_port "$DEMO_DIR/ports-taken")
  echo "---- $(date -u +%FT%TZ) starting the operator ----" >>"$LOG"
  setsid dotnet "$OPERATOR_DIR/FailoverOperator.dll" --kubeconfig="$kubeconfig" \
    --metrics-port="$metrics_port" --health-port="$health_port" --bind-address=127.0.0.1 \
    >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  say "[4/5] operator started (pid $(cat "$PID_FILE"), all namespaces, metrics on 127.0.0.1:$metrics_port/metrics); waiting for /readyz"
  local deadline=$((SECONDS + 60))
  until curl -sf --max-time 1 "http://127.0.0.1:$health_port/readyz" >/dev/null 2>&1; do
    if ! operator_pid >/dev/null; then tail -n 20 "$LOG" >&2; die "the operator exited (log: $LOG)"; fi
    if [ $SECONDS -ge $deadline ]; then tail -n 20 "$LOG" >&2; die "the operator was not ready after 60 s (log: $LOG)"; fi
    sleep 0.2
  done

  say "[5/5] running the demo"
  echo
  if [ "$MODE" = real ]; then
    local fenced=()
    # The fenced scene needs the node's agent image (a node started by an older checkout has none).
    if [ -n "$AGENT_IMAGE" ] && [ "$AGENT_IMAGE" != none ] && [ -n "$NODE_IP" ]; then
      fenced=(--agent-image="$AGENT_IMAGE" --node-ip="$NODE_IP")
    else
      say "(no agent image on the node: the fenced scene is left out; make demo-stop, then make demo, to get it)"
    fi
    dotnet "$DEMO_DLL" --kubeconfig="$kubeconfig" --mode=real --app-image="$APP_IMAGE" "${fenced[@]}"
  else
    dotnet "$DEMO_DLL" --kubeconfig="$kubeconfig" --mode=simulated
  fi
  echo
  cat <<EOF
Everything is still running (mode: $MODE). To poke at it:
  export KUBECONFIG=$kubeconfig
  kubectl get hag,pods,lease -n demo -L failover.dev/role
  kubectl get endpoints demo-active -n demo
  kubectl get events -n demo --sort-by=.lastTimestamp
  active=\$(kubectl get pods -n demo -l failover.dev/role=active -o jsonpath='{.items[0].metadata.name}')
EOF
  if [ "$MODE" = real ]; then
    cat <<EOF
  # fail the active from inside its container:
  kubectl exec -n demo "\$active" -- rm /tmp/alive    # liveness fails: the kubelet restarts it, a standby takes over
  kubectl exec -n demo "\$active" -- rm /tmp/ready    # readiness fails: a standby takes over (touch /tmp/ready heals it)
  kubectl delete pod -n demo "\$active"               # the Deployment replaces it; the new pod joins as standby
  the nodes' containers: DOCKER_HOST=unix://$NODE_DIR/nodes/node-1/docker/docker.sock /usr/bin/docker ps (node-2: nodes/node-2/...)
EOF
  else
    cat <<EOF
  # fail the active by hand (as its kubelet would report a failed readiness probe):
  kubectl patch pod "\$active" -n demo --subresource=status --type=strategic \\
    -p '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}'
EOF
  fi
  cat <<EOF
  operator log:     $LOG
  operator metrics: curl -s http://127.0.0.1:$metrics_port/metrics | grep ^failover_operator
Stop it all with: make demo-stop   (hack/demo.sh down)
EOF
}

cmd_down() {
  stop_operator
  if [ -d "$NODE_DIR" ]; then
    "$REPO_ROOT/hack/node.sh" down "$NODE_DIR"
  fi
  if [ -d "$PLANE_DIR" ]; then
    "$REPO_ROOT/hack/control-plane.sh" down "$PLANE_DIR"
  fi
  say "stopped"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
