#!/usr/bin/env bash
# A real Kubernetes node for end-to-end tests: the local control plane (hack/control-plane.sh, all
# controllers) plus kube-scheduler, a private dockerd and a kubelet registering node `localhost`.
# Pods really run (as containers on a docker0 bridge), with probes, restarts, exec and logs.
#
#   hack/node.sh up     [DIR]   start everything in the background, wait until node localhost is Ready
#   hack/node.sh down   [DIR]   stop exactly what `up` started and undo what it left on the machine
#   hack/node.sh status [DIR]   exit 0 when running
#
# DIR defaults to <repo>/.local/node. After `up`:
#   DIR/control-plane/kubeconfig  admin kubeconfig (also linked as DIR/kubeconfig)
#   DIR/node.env                  KUBECONFIG, DOCKER_HOST, NODE_NAME, NODE_IP, APP_IMAGE, ... (sourceable)
#   DIR/logs/*.log                dockerd, kubelet, kube-scheduler (control plane: DIR/control-plane/logs)
# Images (no registry; pods need imagePullPolicy Never or IfNotPresent): failover-demo/busybox:local (app),
# failover-demo/pause:local (sandbox), failover-demo/agent:local (failover-agent; AGENT_IMAGE=none skips
# it; a first build of it takes minutes, then it is cached). hack/node/sample-workload.yaml is a ready 3-pod workload.
# Environment:
#   OWNER_PID            with `up`: run `down` by itself when this process exits (test runs)
#   READY_TIMEOUT        seconds to wait for each component and for node Ready (default 90)
#   FAILOVER_CACHE_DIR   binary and image cache (default ~/.cache/failover-operator)
#   BINARIES_TIMEOUT     seconds to wait for a concurrent first build of the binaries (default 900)
#   KUBELET_VERBOSITY    the kubelet's --v (default 2; 3 logs why a deleted pod is not yet removed)
# Needs root (dockerd). One node per machine (it owns the docker0 bridge and the name localhost).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$REPO_ROOT/hack/node
CONTROL_PLANE=$REPO_ROOT/hack/control-plane.sh
K8S_VERSION=v1.20.2
BIN_CACHE=$("$CONTROL_PLANE" bin-dir)   # one cache layout, owned by control-plane.sh
DOCKER=/usr/bin/docker          # the Debian 20.10 client; a newer one may come first in PATH
DOCKERD=/usr/sbin/dockerd
PAUSE_IMAGE=failover-demo/pause:local
APP_IMAGE=failover-demo/busybox:local
# failover-agent in a busybox image (hack/agent-image.sh rootfs, cached by its sources' hash);
# AGENT_IMAGE=none in the environment skips it.
AGENT_IMAGE=${AGENT_IMAGE:-failover-demo/agent:local}
NODE_NAME=localhost
BRIDGE=docker0
CGROUP_ROOT=failover-operator-node   # every pod/container cgroup lives below /<this> in each hierarchy
RUNTIME_NAME=failover-runc
READY_TIMEOUT=${READY_TIMEOUT:-90}
KUBELET_VERBOSITY=${KUBELET_VERBOSITY:-2}
# Debian packages (the first is Debian's dockerd 20.10 + containerd + runc).
APT_PACKAGES=(docker.io busybox-static gcc libc6-dev iproute2 jq curl util-linux procps)
# Paths outside DIR that dockerd or the kubelet create whatever their flags say. `up` records which
# of them did not exist before; `down` removes exactly those.
GLOBAL_PATHS=(/var/lib/kubelet/device-plugins /var/lib/kubelet /var/log/pods /var/log/containers
  /etc/docker/key.json /etc/docker /run/docker /run/containerd /opt/containerd /run/mount)
# Of those, directories that others may share once they exist: removed only when empty.
SHARED_PATHS=(/run/mount)   # libmount's utab directory, made by umount(8)

T0=$SECONDS
# shellcheck source=hack/lib.sh
. "$REPO_ROOT/hack/lib.sh"
log() { printf 'node: [%3ds] %s\n' $((SECONDS - T0)) "$*" >&2; }
die() { printf 'node: [%3ds] error: %s\n' $((SECONDS - T0)) "$*" >&2; exit 1; }

run_dir() { local d=${1:-$REPO_ROOT/.local/node}; mkdir -p "$d"; (cd "$d" && pwd); }

set_paths() {
  DIR=$(run_dir "${1:-}")
  CP_DIR=$DIR/control-plane
  KUBECONFIG_FILE=$CP_DIR/kubeconfig
  DOCKER_DIR=$DIR/docker
  DOCKER_SOCK=$DOCKER_DIR/docker.sock
  KUBELET_DIR=$DIR/kubelet
  DOCKERSHIM_SOCK=$KUBELET_DIR/dockershim.sock
}

docker_cli() { "$DOCKER" -H "unix://$DOCKER_SOCK" "$@"; }

# Thaws every frozen cgroup of this node's containers (docker pause). A `runc exec` that starts
# while a container is paused (the kubelet's exec probes do) hangs frozen inside it and holds the
# container, so `docker unpause` and `docker rm` then hang too; thawing lets both finish.
thaw_containers() {
  local f
  while IFS= read -r f; do
    [ "$(cat "$f" 2>/dev/null)" != THAWED ] && { log "thawing ${f%/freezer.state}"; echo THAWED > "$f" 2>/dev/null || true; }
  done < <(find "/sys/fs/cgroup/freezer/$CGROUP_ROOT" -name freezer.state 2>/dev/null)
  while IFS= read -r f; do
    [ "$(cat "$f" 2>/dev/null)" = 1 ] && { log "thawing ${f%/cgroup.freeze}"; echo 0 > "$f" 2>/dev/null || true; }
  done < <(find "/sys/fs/cgroup/$CGROUP_ROOT" "/sys/fs/cgroup/unified/$CGROUP_ROOT" -name cgroup.freeze 2>/dev/null)
  return 0
}

# ---------------------------------------------------------------------------------------------
# installation


ensure_apt_packages() {
  local missing=()
  mapfile -t missing < <(missing_packages "$@")
  [ ${#missing[@]} -eq 0 ] && return
  log "installing Debian packages: ${missing[*]}"
  # The dockerd package would start a system-wide daemon (with iptables rules) where an init
  # system runs; a policy-rc.d that denies service starts prevents that during the install.
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | tee "$policy" >/dev/null
    chmod 0755 "$policy"; added_policy=1
  fi
  local rc=0
  { apt-get update -qq >/dev/null \
      && env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
         "${missing[@]}" >"$DIR/logs/apt.log" 2>&1; } || rc=$?
  [ -n "$added_policy" ] && rm -f "$policy"
  [ $rc -eq 0 ] || { tail -n 20 "$DIR/logs/apt.log" >&2 || true; die "apt-get install failed (see $DIR/logs/apt.log)"; }
}

# The binaries come from hack/control-plane.sh's build. If another process is building them right
# now (it holds the build lock), wait for it instead of starting a second build.
ensure_binaries() {
  local b
  for b in kubelet kube-scheduler pause.c; do
    [ -e "$BIN_CACHE/$b" ] && continue
    # install takes the build lock: it waits for a build running elsewhere rather than starting a second.
    log "building the Kubernetes $K8S_VERSION binaries (first run only, several minutes)"
    BINARIES_TIMEOUT=${BINARIES_TIMEOUT:-900} "$CONTROL_PLANE" install --all
    break
  done
  for b in kubelet kube-scheduler pause.c; do
    [ -e "$BIN_CACHE/$b" ] || die "$BIN_CACHE/$b missing after hack/control-plane.sh install --all"
  done
}

# ---------------------------------------------------------------------------------------------
# helpers

# Alive and not a zombie (an exited child of a parent that has not reaped it yet).
pid_alive() { [ -f "$1" ] && alive "$(cat "$1")"; }

all_alive() { # at least one pid file, and every recorded process alive
  local f n=0
  for f in "$DIR"/pids/*.pid; do [ -f "$f" ] || continue; pid_alive "$f" || return 1; n=$((n + 1)); done
  [ $n -gt 0 ]
}


# On failure during `up`: show where to look, undo everything, exit non-zero.
fail() { # message log-file...
  local msg=$1 f; shift
  for f in "$@"; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f" >&2
    tail -n 15 "$f" >&2 || true
  done
  log "error: $msg; stopping what was started"
  ( cmd_down "$DIR" ) >"$DIR/logs/down-after-failure.log" 2>&1 || true
  die "$msg (logs: $*)"
}

api() { # path -> JSON from the apiserver, with the admin client certificate
  curl -sf --max-time 5 --cacert "$CP_DIR/pki/ca.crt" --cert "$CP_DIR/pki/admin.crt" \
    --key "$CP_DIR/pki/admin.key" "https://127.0.0.1:$(cat "$CP_DIR/apiserver-port")$1"
}

wait_until() { # description timeout log-file check-command...
  local what=$1 timeout=$2 logf=$3; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    [ $SECONDS -ge $deadline ] && fail "$what did not happen within ${timeout}s" "$logf"
    local f
    for f in "$DIR"/pids/*.pid; do
      pid_alive "$f" || fail "$(basename "$f" .pid) exited while waiting until $what" "$DIR/logs/$(basename "$f" .pid).log" "$logf"
    done
    sleep 0.2
  done
}

node_ready() {
  local node
  node=$(api "/api/v1/nodes/$NODE_NAME" 2>/dev/null) || return 1
  # Ready, and the node lifecycle controller has removed its not-ready/unreachable taints.
  jq -e '([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length == 1)
         and ([.spec.taints[]? | select(.key | test("node.kubernetes.io/(not-ready|unreachable)"))] | length == 0)' \
    <<<"$node" >/dev/null
}

default_sa_exists() { api /api/v1/namespaces/default/serviceaccounts/default >/dev/null 2>&1; }

mounts_under() { # dir -> mount points at or below it, deepest first
  awk -v d="$1" '{ m = $5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' /proc/self/mountinfo \
    | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

unmount_under() {
  local m
  while IFS= read -r m; do
    [ -n "$m" ] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"
  done < <(mounts_under "$1")
}

# ---------------------------------------------------------------------------------------------
# preflight: refuse instead of changing kernel settings or taking over someone else's state

preflight() {
  if [ ${#DOCKER_SOCK} -ge 100 ] || [ ${#DOCKERSHIM_SOCK} -ge 100 ]; then
    die "DIR $DIR is too long for unix socket paths; use a shorter one"
  fi
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    local hint="see 'ip link show $BRIDGE'" d
    for d in "$REPO_ROOT/.local/demo/node" "$REPO_ROOT/.local/node"; do
      [ "$d" != "$DIR" ] && [ -d "$d/pids" ] && hint="the node in ${d#"$REPO_ROOT"/} may be running: $( [ "$d" = "$REPO_ROOT/.local/demo/node" ] && echo "make demo-stop" || echo "make node-down")"
    done
    die "a $BRIDGE interface already exists (another dockerd or node is running; $hint); stop it first"
  fi
  # Leftovers of a run that was not stopped cleanly would be adopted or break the start.
  local p
  for p in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do
    if [ -d "$p" ]; then die "cgroup $p exists (a node is running or was not stopped: run 'hack/node.sh down' on its DIR)"; fi
  done
}

record_global_paths() {
  local p
  : >"$DIR/state/created-paths"
  for p in "${GLOBAL_PATHS[@]}"; do
    [ -e "$p" ] || echo "$p" >>"$DIR/state/created-paths"
  done
}

# ---------------------------------------------------------------------------------------------

cmd_up() {
  set_paths "${1:-}"
  if all_alive && "$CONTROL_PLANE" status "$CP_DIR" >/dev/null 2>&1; then
    log "already running (kubeconfig: $KUBECONFIG_FILE); nothing to do"
    return 0
  fi
  if [ -d "$DIR/pids" ] || [ -d "$DIR/state" ] || [ -d "$CP_DIR/pids" ]; then
    log "stopping and cleaning up the remains of an earlier run in $DIR"
    ( cmd_down "$DIR" ) >/dev/null 2>&1 || true
  fi
  mkdir -p "$DIR/logs"
  # Before installing anything: dockerd and the kubelet cannot run without root.
  [ "$(id -u)" = 0 ] || die "must run as root (dockerd and the kubelet need it)"
  ensure_apt_packages "${APT_PACKAGES[@]}"
  preflight
  ensure_binaries

  rm -rf "$DIR/pids" "$DIR/state" "$DOCKER_DIR" "$KUBELET_DIR" "$DIR/node.env" "$DIR/kubeconfig"
  mkdir -p "$DIR/pids" "$DIR/state" "$DOCKER_DIR" "$KUBELET_DIR"
  : >"$DIR/state/ports"
  record_global_paths

  if [ -n "${OWNER_PID:-}" ]; then
    # Stops the node when the test process goes away, even after kill -9 of the test host.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status" \
                          && [ -d "$2/pids" ]; do sleep 1; done
                    [ -d "$2/pids" ] && exec "$3" down "$2"' \
      watchdog "$OWNER_PID" "$DIR" "$REPO_ROOT/hack/node.sh" >"$DIR/logs/watchdog.log" 2>&1 </dev/null &
    echo $! >"$DIR/state/watchdog.pid"
  fi

  # 1. dockerd, everything under DOCKER_DIR; no iptables, no masquerading, no ip_forward change.
  #    It starts and gets its images while the control plane boots.
  log "starting dockerd"
  echo '{}' >"$DOCKER_DIR/daemon.json"   # keep a machine-wide /etc/docker/daemon.json out
  start_bg dockerd env PATH="$HERE/bin:$PATH" "$DOCKERD" \
    --config-file="$DOCKER_DIR/daemon.json" \
    --data-root="$DOCKER_DIR/data" --exec-root="$DOCKER_DIR/exec" --pidfile="$DOCKER_DIR/dockerd.pid" \
    -H "unix://$DOCKER_SOCK" \
    --iptables=false --ip-masq=false --ip-forward=false --storage-driver=vfs \
    --oom-score-adjust=0 --cgroup-parent="/$CGROUP_ROOT" \
    --add-runtime "$RUNTIME_NAME=$HERE/runc-wrapper" --default-runtime="$RUNTIME_NAME"
  local images_job
  ( deadline=$((SECONDS + READY_TIMEOUT))
    until docker_cli version --format '{{.Server.Version}}' >/dev/null 2>&1; do
      if [ $SECONDS -ge $deadline ] || ! pid_alive "$DIR/pids/dockerd.pid"; then
        echo "dockerd did not answer on $DOCKER_SOCK within ${READY_TIMEOUT}s or exited"; exit 1
      fi
      sleep 0.1
    done
    PAUSE_IMAGE=$PAUSE_IMAGE APP_IMAGE=$APP_IMAGE AGENT_IMAGE=$AGENT_IMAGE \
      "$HERE/images.sh" load "$DOCKER_SOCK" "$BIN_CACHE/pause.c"
  ) >"$DIR/logs/images.log" 2>&1 &
  images_job=$!

  # 2. control plane with every controller (node lifecycle, replicaset, endpoints, ...). The
  #    watchdog above covers it too, so it gets no OWNER_PID of its own.
  log "starting the control plane (all controllers) in $CP_DIR"
  # (It retries on other ports by itself when one it picked is taken before the bind.)
  if ! env -u OWNER_PID CONTROLLERS='*' READY_TIMEOUT="$READY_TIMEOUT" "$CONTROL_PLANE" up "$CP_DIR" >"$DIR/logs/control-plane.log" 2>&1; then
    wait "$images_job" || true
    fail "the control plane did not start" "$DIR/logs/control-plane.log" "$CP_DIR/logs/kube-apiserver.log" "$CP_DIR/logs/etcd.log"
  fi
  ln -sfn "control-plane/kubeconfig" "$DIR/kubeconfig"

  # 3. images (pause for every pod sandbox, busybox for the workloads)
  log "waiting for dockerd and the images $PAUSE_IMAGE, $APP_IMAGE, $AGENT_IMAGE"
  wait "$images_job" || fail "dockerd did not start or loading the images failed" "$DIR/logs/images.log" "$DIR/logs/dockerd.log"
  if [ -f "$DOCKER_DIR/exec/containerd/containerd.pid" ]; then
    cp "$DOCKER_DIR/exec/containerd/containerd.pid" "$DIR/pids/containerd.pid"
  fi
  local node_ip
  node_ip=$(ip -4 -o addr show dev "$BRIDGE" 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
  [ -n "$node_ip" ] || fail "dockerd created no $BRIDGE address" "$DIR/logs/dockerd.log"

  # 4. kube-scheduler
  log "starting kube-scheduler"
  start_bg kube-scheduler "$BIN_CACHE/kube-scheduler" --kubeconfig="$KUBECONFIG_FILE" \
    --leader-elect=false --port=0 --secure-port=0

  # 5. kubelet: pod cgroups below /$CGROUP_ROOT, which must exist when it starts.
  local h
  for h in /sys/fs/cgroup/*/; do
    [ -f "$h/cgroup.procs" ] || continue
    mkdir -p "$h$CGROUP_ROOT"
    if [ -f "$h/cpuset.cpus" ]; then
      cat "$h/cpuset.cpus" >"$h$CGROUP_ROOT/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h$CGROUP_ROOT/cpuset.mems"
    fi
  done
  local kubelet_port
  kubelet_port=$(free_port "$DIR/state/ports")
  mkdir -p "$KUBELET_DIR/root" "$KUBELET_DIR/pki" "$KUBELET_DIR/volume-plugins" "$KUBELET_DIR/dockershim"
  log "starting kubelet (node $NODE_NAME, IP $node_ip, port $kubelet_port)"
  start_bg kubelet env PATH="$HERE/bin:$PATH" "$BIN_CACHE/kubelet" \
    --kubeconfig="$KUBECONFIG_FILE" --hostname-override="$NODE_NAME" --node-ip="$node_ip" \
    --container-runtime=docker --docker-endpoint="unix://$DOCKER_SOCK" \
    --docker="unix://$DOCKER_SOCK" --containerd="$DOCKER_DIR/exec/containerd/containerd.sock" \
    --container-runtime-endpoint="unix://$DOCKERSHIM_SOCK" \
    --experimental-dockershim-root-directory="$KUBELET_DIR/dockershim" \
    --pod-infra-container-image="$PAUSE_IMAGE" \
    --root-dir="$KUBELET_DIR/root" --cert-dir="$KUBELET_DIR/pki" \
    --volume-plugin-dir="$KUBELET_DIR/volume-plugins" \
    --address=127.0.0.1 --port="$kubelet_port" --read-only-port=0 \
    --healthz-bind-address=127.0.0.1 --healthz-port=0 \
    --anonymous-auth=false --client-ca-file="$CP_DIR/pki/ca.crt" --authorization-mode=AlwaysAllow \
    --cgroup-driver=cgroupfs --cgroup-root="/$CGROUP_ROOT" \
    --fail-swap-on=false --oom-score-adj=0 \
    --make-iptables-util-chains=false --hairpin-mode=none \
    --image-gc-high-threshold=100 --image-gc-low-threshold=99 \
    --eviction-hard='memory.available<1Mi,nodefs.available<1%,nodefs.inodesFree<1%,imagefs.available<1%' \
    --node-status-update-frequency=1s --kube-api-qps=50 --kube-api-burst=100 \
    --v="$KUBELET_VERBOSITY"

  cat >"$DIR/node.env" <<EOF
KUBECONFIG=$KUBECONFIG_FILE
DOCKER_HOST=unix://$DOCKER_SOCK
DOCKER=$DOCKER
NODE_NAME=$NODE_NAME
NODE_IP=$node_ip
KUBELET_PORT=$kubelet_port
APP_IMAGE=$APP_IMAGE
AGENT_IMAGE=$AGENT_IMAGE
PAUSE_IMAGE=$PAUSE_IMAGE
EOF

  wait_until "node $NODE_NAME is Ready and untainted" "$READY_TIMEOUT" "$DIR/logs/kubelet.log" node_ready
  wait_until "service account default/default exists" "$READY_TIMEOUT" \
    "$CP_DIR/logs/kube-controller-manager.log" default_sa_exists
  log "node $NODE_NAME Ready (kubeconfig: $KUBECONFIG_FILE, env: $DIR/node.env, logs: $DIR/logs)"
}

cmd_down() {
  set_paths "${1:-}"
  local f pid name
  # The watchdog first (unless this is the watchdog, which execs `down`).
  if [ -f "$DIR/state/watchdog.pid" ]; then
    pid=$(cat "$DIR/state/watchdog.pid")
    if [ "$pid" != "$$" ] && [ "$pid" != "${PPID:-}" ]; then kill "$pid" 2>/dev/null || true; fi
  fi

  stop_pid_file() { # file [seconds before KILL]
    pid_alive "$1" || return 0
    log "stopping $(basename "$1" .pid) (pid $(cat "$1"))"
    stop_pid "$(cat "$1")" "${2:-15}" || log "warning: pid $(cat "$1") survived KILL"
  }

  # kubelet and scheduler first, so nothing restarts the containers.
  stop_pid_file "$DIR/pids/kubelet.pid"
  stop_pid_file "$DIR/pids/kube-scheduler.pid"
  # Containers via docker (it stops their shims), then dockerd (it stops its containerd). Paused
  # containers are thawed first, and no docker call may hang the teardown: what they leave, the
  # steps below kill.
  thaw_containers
  if pid_alive "$DIR/pids/dockerd.pid" && [ -S "$DOCKER_SOCK" ]; then
    local ids
    ids=$(timeout 30 "$DOCKER" -H "unix://$DOCKER_SOCK" ps -aq 2>/dev/null || true)
    if [ -n "$ids" ]; then
      log "removing $(echo "$ids" | wc -l) containers"
      # shellcheck disable=SC2086
      timeout 60 "$DOCKER" -H "unix://$DOCKER_SOCK" rm -f $ids >/dev/null 2>&1 || log "warning: docker rm did not finish; stopping dockerd anyway"
    fi
  fi
  stop_pid_file "$DIR/pids/dockerd.pid" 20
  stop_pid_file "$DIR/pids/containerd.pid"
  # If dockerd and containerd died without cleaning up (kill -9), containerd's state still names
  # every container's init pid, and each shim's working directory is its bundle in that state.
  local tasks=$DOCKER_DIR/exec/containerd/daemon/io.containerd.runtime.v2.task
  if [ -d "$tasks" ]; then
    local p cwd shims=()
    for f in "$tasks"/*/*/init.pid; do
      [ -f "$f" ] || continue
      pid=$(cat "$f")
      grep -q ":/$CGROUP_ROOT/" "/proc/$pid/cgroup" 2>/dev/null || continue   # a recycled pid
      alive "$pid" && { log "killing leftover container process $pid"; kill -KILL "$pid" 2>/dev/null || true; }
    done
    for p in /proc/[0-9]*; do
      cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
      case "$cwd" in "$tasks"/*) ;; *) continue ;; esac
      case "$(cat "$p/comm" 2>/dev/null)" in containerd-shim*) shims+=("${p#/proc/}") ;; esac
    done
    for pid in "${shims[@]}"; do
      log "stopping leftover containerd-shim $pid"
      stop_pid "$pid" 3 || true
    done
  fi
  rm -f "$DIR/pids/"*.pid

  # Mounts: the kubelet's bind/tmpfs mounts under its root, dockerd's netns and vfs mounts.
  unmount_under "$KUBELET_DIR"
  unmount_under "$DOCKER_DIR"
  if [ -f "$DIR/state/created-paths" ] && grep -qx /var/lib/kubelet "$DIR/state/created-paths"; then
    unmount_under /var/lib/kubelet
  fi
  # The bridge dockerd made (it stays after dockerd exits); preflight refused to start next to another.
  if [ -d "$DIR/state" ] && ip link show "$BRIDGE" >/dev/null 2>&1; then
    if ip link delete "$BRIDGE" 2>/dev/null; then log "removed $BRIDGE"; else log "warning: could not remove $BRIDGE"; fi
  fi
  # Empty pod/container cgroups (deepest first); rmdir refuses any that still has processes.
  local h
  for h in /sys/fs/cgroup/*/"$CGROUP_ROOT"; do
    [ -d "$h" ] || continue
    find "$h" -depth -type d -exec rmdir {} + 2>/dev/null || log "warning: could not remove all of cgroup $h"
  done

  if [ -d "$CP_DIR" ]; then
    "$CONTROL_PLANE" down "$CP_DIR" >"$DIR/logs/control-plane-down.log" 2>&1 \
      || log "warning: hack/control-plane.sh down failed (see $DIR/logs/control-plane-down.log)"
  fi

  # Global paths this run created (only those from the fixed list, only if recorded as new).
  if [ -f "$DIR/state/created-paths" ]; then
    local p
    for p in "${GLOBAL_PATHS[@]}"; do
      grep -qx "$p" "$DIR/state/created-paths" || continue
      [ -e "$p" ] || continue
      if [ -n "$(mounts_under "$p")" ]; then log "warning: $p still has mounts; left in place"; continue; fi
      if [[ " ${SHARED_PATHS[*]} " == *" $p "* ]]; then rmdir "$p" 2>/dev/null || true; else rm -rf "$p"; fi
    done
  fi
  rm -rf "$DOCKER_DIR" "$KUBELET_DIR" "$DIR/pids" "$DIR/state" "$DIR/node.env" "$DIR/kubeconfig"
  rm -f "$DIR/state/watchdog.pid"
  log "stopped (logs kept in $DIR/logs)"
}

cmd_status() {
  set_paths "${1:-}"
  local f up=0 down=0
  for f in "$DIR"/pids/*.pid; do
    [ -f "$f" ] || continue
    if pid_alive "$f"; then up=$((up + 1)); else down=$((down + 1)); echo "$(basename "$f" .pid) is not running"; fi
  done
  if [ $up -eq 0 ]; then echo "not running"; return 1; fi
  "$CONTROL_PLANE" status "$CP_DIR" >/dev/null 2>&1 || { echo "control plane is not running"; down=$((down + 1)); }
  if [ $down -gt 0 ]; then echo "partly running (run 'hack/node.sh down $DIR')"; return 1; fi
  if node_ready; then echo "running, node $NODE_NAME Ready (kubeconfig: $KUBECONFIG_FILE)"
  else echo "running, node $NODE_NAME not Ready (kubeconfig: $KUBECONFIG_FILE, logs: $DIR/logs)"; return 1; fi
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2 ;;
esac
