#!/usr/bin/env bash
# Real Kubernetes nodes for end-to-end tests: the local control plane (hack/control-plane.sh, all
# controllers) plus kube-scheduler and NODES nodes (default 1), each a private dockerd and a kubelet
# in a mount namespace of its own, on a bridge of its own. Pods really run (as containers), with
# probes, restarts, exec and logs.
#
#   hack/node.sh up     [DIR]          start everything in the background, wait until every node is Ready
#   hack/node.sh down   [DIR]          stop exactly what `up` started and undo what it left on the machine
#   hack/node.sh status [DIR]          exit 0 when running and every node is Ready
#   hack/node.sh kubelet-stop  DIR NODE   freeze NODE's kubelet (SIGSTOP): its heartbeats stop, its containers run on
#   hack/node.sh kubelet-start DIR NODE   resume it (SIGCONT)
#
# DIR defaults to <repo>/.local/node. Nodes are named node-1, node-2, ... After `up`:
#   DIR/control-plane/kubeconfig  admin kubeconfig (also linked as DIR/kubeconfig)
#   DIR/node.env                  KUBECONFIG, DOCKER_HOST, NODE_NAME, NODE_IP, APP_IMAGE, ... of node-1, and
#                                 NODE_NAMES plus NODE_<i>_NAME, _IP, _POD_CIDR, _DOCKER_HOST, ... per node (sourceable)
#   DIR/logs/*.log                node-<i>-dockerd, node-<i>-kubelet, kube-scheduler (control plane: DIR/control-plane/logs)
# Images (no registry; pods need imagePullPolicy Never or IfNotPresent): failover-demo/busybox:local (app),
# failover-demo/pause:local (sandbox), failover-demo/agent:local (failover-agent; AGENT_IMAGE=none skips
# it; a first build of it takes minutes, then it is cached). hack/node/sample-workload.yaml is a ready 3-pod workload.
# Environment:
#   NODES                with `up`: how many nodes (default 1)
#   OWNER_PID            with `up`: run `down` by itself when this process exits (test runs)
#   READY_TIMEOUT        seconds to wait for each component and for node Ready (default 90)
#   FAILOVER_CACHE_DIR   binary and image cache (default ~/.cache/failover-operator)
#   BINARIES_TIMEOUT     seconds to wait for a concurrent first build of the binaries (default 900)
#   KUBELET_VERBOSITY    the kubelet's --v (default 2; 3 logs why a deleted pod is not yet removed)
# Needs root (dockerd). Several clusters can run side by side, and next to a docker0 of someone else.
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
NODES=${NODES:-1}
# Node i's bridge is fo<k>n<i> (the first k whose name is free) on the first free 10.213.<x>.0/24;
# its pods' and containers' cgroups live below /failover-operator-<bridge> in each hierarchy.
BRIDGE_PREFIX=fo
SUBNET_PREFIX=10.213
CGROUP_PREFIX=failover-operator-
RUNTIME_NAME=failover-runc
READY_TIMEOUT=${READY_TIMEOUT:-90}
KUBELET_VERBOSITY=${KUBELET_VERBOSITY:-2}
# Debian packages (the first is Debian's dockerd 20.10 + containerd + runc).
APT_PACKAGES=(docker.io busybox-static gcc libc6-dev iproute2 jq curl util-linux procps)
# Inside a node's mount namespace these machine-wide directories are overlays whose writes land in
# the node's own directory: what dockerd, containerd, the kubelet and umount(8) create there whatever
# their flags say (/etc/docker/key.json, /opt/containerd, /run/docker, /run/containerd, /run/mount,
# /var/lib/kubelet, /var/log/pods, ...) never reaches the machine, nor another node.
OVERLAID_PATHS=(/etc /opt /run /var/lib /var/log)
# Paths the v1.20 kubelet hard-codes and acts on as its own (it deletes pod log directories of pods
# it does not know, it owns the device-plugin socket): an empty directory of the node's own each,
# so what another kubelet (of this cluster or not) keeps there is not even visible.
PRIVATE_PATHS=(/var/log/pods /var/log/containers /var/lib/kubelet)

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
}

# The paths of node $1 (1, 2, ...): N_NAME, N_DIR, N_STATE (its recorded bridge, address, cgroup
# root, mount namespace), its docker and kubelet directories and sockets, its pid file prefix.
node_paths() {
  N_INDEX=$1
  N_NAME=node-$1
  N_DIR=$DIR/nodes/$N_NAME
  N_STATE=$DIR/state/$N_NAME
  N_DOCKER_DIR=$N_DIR/docker
  N_DOCKER_SOCK=$N_DOCKER_DIR/docker.sock
  N_KUBELET_DIR=$N_DIR/kubelet
  N_DOCKERSHIM_SOCK=$N_KUBELET_DIR/dockershim.sock
  N_PID=$DIR/pids/$N_NAME
}

state_of() { cat "$N_STATE/$1" 2>/dev/null || true; }   # bridge, ip, cidr, cgroup-root, mntns, kubelet-port

# The node indexes this DIR has state for (`down` and `status` work on what `up` recorded).
recorded_nodes() {
  local d
  for d in "$DIR"/state/node-*; do [ -d "$d" ] && echo "${d##*/node-}"; done | sort -n
}

node_docker() { "$DOCKER" -H "unix://$N_DOCKER_SOCK" "$@"; }

# Runs a command inside node $N_INDEX's mount namespace (the holder process keeps it alive).
in_node_ns() { nsenter -t "$(cat "$N_PID-mntns.pid")" -m -- "$@"; }

# Thaws every frozen cgroup of this node's containers (docker pause). A `runc exec` that starts
# while a container is paused (the kubelet's exec probes do) hangs frozen inside it and holds the
# container, so `docker unpause` and `docker rm` then hang too; thawing lets both finish.
thaw_containers() {
  local root=$1 f
  [ -n "$root" ] || return 0
  while IFS= read -r f; do
    [ "$(cat "$f" 2>/dev/null)" != THAWED ] && { log "thawing ${f%/freezer.state}"; echo THAWED > "$f" 2>/dev/null || true; }
  done < <(find "/sys/fs/cgroup/freezer/$root" -name freezer.state 2>/dev/null)
  while IFS= read -r f; do
    [ "$(cat "$f" 2>/dev/null)" = 1 ] && { log "thawing ${f%/cgroup.freeze}"; echo 0 > "$f" 2>/dev/null || true; }
  done < <(find "/sys/fs/cgroup/$root" "/sys/fs/cgroup/unified/$root" -name cgroup.freeze 2>/dev/null)
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

node_ready() { # node name
  local node
  node=$(api "/api/v1/nodes/$1" 2>/dev/null) || return 1
  # Ready, and the node lifecycle controller has removed its not-ready/unreachable taints.
  jq -e '([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length == 1)
         and ([.spec.taints[]? | select(.key | test("node.kubernetes.io/(not-ready|unreachable)"))] | length == 0)' \
    <<<"$node" >/dev/null
}

all_nodes_ready() {
  local i
  for i in $(recorded_nodes); do node_ready "node-$i" || return 1; done
}

default_sa_exists() { api /api/v1/namespaces/default/serviceaccounts/default >/dev/null 2>&1; }

# The mount namespace of a process, as the kernel names it (mnt:[INODE]).
mount_ns_of() { readlink "/proc/$1/ns/mnt" 2>/dev/null || true; }

# Every process in mount namespace $1 (mnt:[INODE]): only processes this script started enter a
# node's namespace, and the namespace (hence its name) lives as long as any of them does.
pids_in_mount_ns() {
  local p
  [ -n "$1" ] || return 0
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
  done
  return 0
}

# Every process in the cgroup subtree $1 (a node's cgroup root, named after its bridge: ours alone).
pids_in_cgroup() {
  [ -n "$1" ] || return 0
  find /sys/fs/cgroup/*/"$1" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un
}

# ---------------------------------------------------------------------------------------------
# preflight: refuse instead of changing kernel settings or taking over someone else's state

preflight() {
  [[ "$NODES" =~ ^[1-9]$ ]] || die "NODES must be 1-9, not '$NODES'"
  node_paths "$NODES"
  if [ ${#N_DOCKER_SOCK} -ge 100 ] || [ ${#N_DOCKERSHIM_SOCK} -ge 100 ] \
     || [ ${#N_DOCKER_DIR} -ge 70 ]; then   # containerd's socket lies deeper below the docker dir
    die "DIR $DIR is too long for unix socket paths; use a shorter one"
  fi
  # A DIR below an overlaid path would be seen through the overlay inside the nodes' namespaces
  # (writes there invisible to the host), and an overlay cannot have its upper layer in its lower.
  local p
  for p in "${OVERLAID_PATHS[@]}"; do
    case "$DIR/" in "$p"/*) die "DIR $DIR is below $p, which the nodes' mount namespaces overlay; use another DIR (e.g. under /tmp)" ;; esac
  done
  grep -qw overlay /proc/filesystems || die "the kernel has no overlay filesystem (the nodes' private /run, /var/lib, ... need it)"
}

# ---------------------------------------------------------------------------------------------
# one node

# A bridge of the node's own on a free private /24 (no sysctl, no iptables: an interface and an
# address, deleted by `down`). Creating it is the claim: `ip link add` fails if the name exists.
create_bridge() {
  local k bridge= x cidr= ip
  for k in $(seq 1 99); do
    compgen -G "/sys/fs/cgroup/*/$CGROUP_PREFIX$BRIDGE_PREFIX${k}n$N_INDEX" >/dev/null && continue   # a leftover of a crashed run
    if ip link add name "$BRIDGE_PREFIX${k}n$N_INDEX" type bridge 2>/dev/null; then bridge=$BRIDGE_PREFIX${k}n$N_INDEX; break; fi
  done
  [ -n "$bridge" ] || die "no free bridge name $BRIDGE_PREFIX<k>n$N_INDEX"
  echo "$bridge" >"$N_STATE/bridge"
  for x in $(seq 1 254); do
    ip=$SUBNET_PREFIX.$x.1
    # Free: no route leads there yet (other than the default route) and no interface has it.
    [ -z "$(ip -4 route show to match "$ip" | grep -v '^default')" ] || continue
    ip addr add "$ip/24" dev "$bridge" 2>/dev/null || continue
    # Two `up`s at the same moment may have picked the same range: the later one moves on.
    if [ "$(ip -4 -o addr show | grep -c " $SUBNET_PREFIX\.$x\.")" -gt 1 ]; then ip addr del "$ip/24" dev "$bridge"; continue; fi
    cidr=$SUBNET_PREFIX.$x.0/24; break
  done
  [ -n "$cidr" ] || fail "no free $SUBNET_PREFIX.x.0/24 for $bridge"   # fail runs down, which deletes the bridge
  # A fixed address: a bridge whose address was never set takes the lowest of its ports' (the pods'
  # veths), so deleting a pod can change it, and the other pods' cached gateway address then leads
  # nowhere: their traffic to the host stops for good (TCP keeps the stale entry confirmed). dockerd
  # sets one on a bridge it creates (docker0), not on one given with --bridge.
  ip link set "$bridge" address "$(printf '02:fa:%02x:%02x:%02x:01' ${SUBNET_PREFIX//./ } "$x")"
  ip link set "$bridge" up
  echo "$ip" >"$N_STATE/ip"
  echo "$cidr" >"$N_STATE/cidr"
  echo "$CGROUP_PREFIX$bridge" >"$N_STATE/cgroup-root"
}

# The mount namespace: a holder process (unshare, propagation private: nothing mounted inside is
# seen outside, and the other way round) that dockerd and the kubelet join with nsenter, so the
# kubelet's volume mounts are visible to dockerd. Overlays and private directories as described at
# OVERLAID_PATHS and PRIVATE_PATHS. Everything mounted inside vanishes with the namespace's last process.
create_mount_namespace() {
  start_bg "$N_NAME-mntns" unshare --mount --propagation private -- sleep infinity
  local pid deadline=$((SECONDS + 10)) own
  pid=$(cat "$N_PID-mntns.pid"); own=$(mount_ns_of $$)
  until [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] && [ "$(mount_ns_of "$pid")" != "$own" ]; do
    pid_alive "$N_PID-mntns.pid" && [ $SECONDS -lt $deadline ] || fail "unshare did not make a mount namespace for $N_NAME" "$DIR/logs/$N_NAME-mntns.log"
    sleep 0.05
  done
  mount_ns_of "$pid" >"$N_STATE/mntns"
  local p
  mkdir -p "$N_DIR/overlay"
  for p in "${PRIVATE_PATHS[@]}"; do mkdir -p "$N_DIR/private$p"; done
  # The overlays' upper layers live on a tmpfs of the namespace's own: an upper layer cannot be on
  # overlayfs, which DIR is on when this runs in a container (CI). What the daemons write there is
  # small (a key, sockets, empty directories) and goes with the namespace.
  in_node_ns bash -euc '
    dir=$1; shift
    mount -t tmpfs -o mode=0755,size=64m "tmpfs-$(basename "$dir")" "$dir/overlay"
    while [ "$1" != -- ]; do
      mkdir -p "$dir/overlay$1/upper" "$dir/overlay$1/work"
      mount -t overlay "overlay-$(basename "$dir")" -o "lowerdir=$1,upperdir=$dir/overlay$1/upper,workdir=$dir/overlay$1/work" "$1"; shift
    done
    shift
    for p in "$@"; do mkdir -p "$p"; mount --bind "$dir/private$p" "$p"; done' \
    mounts "$N_DIR" "${OVERLAID_PATHS[@]}" -- "${PRIVATE_PATHS[@]}" >>"$DIR/logs/$N_NAME-mntns.log" 2>&1 \
    || fail "mounting the private paths of $N_NAME failed" "$DIR/logs/$N_NAME-mntns.log"
}

# Pod/container cgroups live below /<cgroup root>, which must exist when the kubelet starts.
create_cgroup_root() {
  local root h
  root=$(state_of cgroup-root)
  for h in /sys/fs/cgroup/*/; do
    [ -f "$h/cgroup.procs" ] || continue
    mkdir -p "$h$root"
    if [ -f "$h/cpuset.cpus" ]; then
      cat "$h/cpuset.cpus" >"$h$root/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h$root/cpuset.mems"
    fi
  done
}

# dockerd inside the node's namespace, everything under N_DOCKER_DIR, on the node's bridge; no
# iptables, no masquerading, no ip_forward change.
start_dockerd() {
  mkdir -p "$N_DOCKER_DIR"
  echo '{}' >"$N_DOCKER_DIR/daemon.json"   # keep a machine-wide /etc/docker/daemon.json out
  start_bg "$N_NAME-dockerd" nsenter -t "$(cat "$N_PID-mntns.pid")" -m -- env PATH="$HERE/bin:$PATH" "$DOCKERD" \
    --config-file="$N_DOCKER_DIR/daemon.json" \
    --data-root="$N_DOCKER_DIR/data" --exec-root="$N_DOCKER_DIR/exec" --pidfile="$N_DOCKER_DIR/dockerd.pid" \
    -H "unix://$N_DOCKER_SOCK" --bridge="$(state_of bridge)" \
    --iptables=false --ip-masq=false --ip-forward=false --storage-driver=vfs \
    --oom-score-adjust=0 --cgroup-parent="/$(state_of cgroup-root)" \
    --add-runtime "$RUNTIME_NAME=$HERE/runc-wrapper" --default-runtime="$RUNTIME_NAME"
}

wait_for_dockerd() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  until node_docker version --format '{{.Server.Version}}' >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ] || ! pid_alive "$N_PID-dockerd.pid"; then
      echo "dockerd of $N_NAME did not answer on $N_DOCKER_SOCK within ${READY_TIMEOUT}s or exited"; return 1
    fi
    sleep 0.1
  done
}

# The kubelet, in the node's namespace, listening on the node's bridge address: the API server
# reaches every node by its InternalIP (hack/control-plane.sh prefers it over the Hostname).
start_kubelet() {
  local ip port
  ip=$(state_of ip)
  port=$(free_port "$DIR/state/ports")
  echo "$port" >"$N_STATE/kubelet-port"
  mkdir -p "$N_KUBELET_DIR/root" "$N_KUBELET_DIR/pki" "$N_KUBELET_DIR/volume-plugins" "$N_KUBELET_DIR/dockershim"
  log "starting kubelet $N_NAME (bridge $(state_of bridge), IP $ip, port $port)"
  start_bg "$N_NAME-kubelet" nsenter -t "$(cat "$N_PID-mntns.pid")" -m -- env PATH="$HERE/bin:$PATH" "$BIN_CACHE/kubelet" \
    --kubeconfig="$KUBECONFIG_FILE" --hostname-override="$N_NAME" --node-ip="$ip" \
    --container-runtime=docker --docker-endpoint="unix://$N_DOCKER_SOCK" \
    --docker="unix://$N_DOCKER_SOCK" --containerd="$N_DOCKER_DIR/exec/containerd/containerd.sock" \
    --container-runtime-endpoint="unix://$N_DOCKERSHIM_SOCK" \
    --experimental-dockershim-root-directory="$N_KUBELET_DIR/dockershim" \
    --pod-infra-container-image="$PAUSE_IMAGE" \
    --root-dir="$N_KUBELET_DIR/root" --cert-dir="$N_KUBELET_DIR/pki" \
    --volume-plugin-dir="$N_KUBELET_DIR/volume-plugins" \
    --address="$ip" --port="$port" --read-only-port=0 \
    --healthz-bind-address=127.0.0.1 --healthz-port=0 \
    --anonymous-auth=false --client-ca-file="$CP_DIR/pki/ca.crt" --authorization-mode=AlwaysAllow \
    --cgroup-driver=cgroupfs --cgroup-root="/$(state_of cgroup-root)" \
    --fail-swap-on=false --oom-score-adj=0 \
    --make-iptables-util-chains=false --hairpin-mode=none \
    --image-gc-high-threshold=100 --image-gc-low-threshold=99 \
    --eviction-hard='memory.available<1Mi,nodefs.available<1%,nodefs.inodesFree<1%,imagefs.available<1%' \
    --node-status-update-frequency=1s --kube-api-qps=50 --kube-api-burst=100 \
    --v="$KUBELET_VERBOSITY"
}

# Stops node $N_INDEX and undoes what it left: processes, its namespace (and with it every mount
# made inside), its bridge and its cgroups. Only processes recorded in DIR/pids, in the node's
# mount namespace, or in its cgroup subtree are signalled.
stop_node() {
  local f pid root mntns bridge
  root=$(state_of cgroup-root); mntns=$(state_of mntns); bridge=$(state_of bridge)
  stop_pid_file() { # file [seconds before KILL]
    pid_alive "$1" || return 0
    log "stopping $(basename "$1" .pid) (pid $(cat "$1"))"
    kill -CONT "$(cat "$1")" 2>/dev/null || true   # a kubelet frozen by kubelet-stop would not see TERM
    stop_pid "$(cat "$1")" "${2:-15}" || log "warning: pid $(cat "$1") survived KILL"
  }
  # The kubelet first, so nothing restarts the containers.
  stop_pid_file "$N_PID-kubelet.pid"
  # Containers via docker (it stops their shims), then dockerd (it stops its containerd). Paused
  # containers are thawed first, and no docker call may hang the teardown: what they leave, the
  # steps below kill.
  thaw_containers "$root"
  if pid_alive "$N_PID-dockerd.pid" && [ -S "$N_DOCKER_SOCK" ]; then
    local ids
    ids=$(timeout 30 "$DOCKER" -H "unix://$N_DOCKER_SOCK" ps -aq 2>/dev/null || true)
    if [ -n "$ids" ]; then
      log "removing $(echo "$ids" | wc -l) containers of $N_NAME"
      # shellcheck disable=SC2086
      timeout 60 "$DOCKER" -H "unix://$N_DOCKER_SOCK" rm -f $ids >/dev/null 2>&1 || log "warning: docker rm did not finish; stopping dockerd anyway"
    fi
  fi
  stop_pid_file "$N_PID-dockerd.pid" 20
  stop_pid_file "$N_PID-containerd.pid"
  # If dockerd and containerd died without cleaning up (kill -9), shims and container processes
  # remain: the shims in the node's mount namespace, the containers (namespaces of their own) in
  # its cgroups.
  local leftovers
  leftovers=$(pids_in_mount_ns "$mntns" | grep -vx "$(cat "$N_PID-mntns.pid" 2>/dev/null || echo none)" || true)
  for pid in $leftovers; do log "stopping leftover process $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) in $N_NAME's namespace"; stop_pid "$pid" 3 || true; done
  leftovers=$(pids_in_cgroup "$root")
  for pid in $leftovers; do log "killing leftover container process $pid of $N_NAME"; kill -KILL "$pid" 2>/dev/null || true; done
  # The holder last: the namespace and every mount in it go with it.
  stop_pid_file "$N_PID-mntns.pid" 5
  if [ -n "$mntns" ] && [ -n "$(pids_in_mount_ns "$mntns")" ]; then log "warning: processes remain in $N_NAME's mount namespace $mntns"; fi
  rm -f "$N_PID"-*.pid
  # The bridge (it stays after dockerd exits).
  if [ -n "$bridge" ] && ip link show "$bridge" >/dev/null 2>&1; then
    if ip link delete "$bridge" 2>/dev/null; then log "removed bridge $bridge"; else log "warning: could not remove bridge $bridge"; fi
  fi
  # Empty pod/container cgroups (deepest first); rmdir refuses any that still has processes.
  local h
  if [ -n "$root" ]; then
    for h in /sys/fs/cgroup/*/"$root"; do
      [ -d "$h" ] || continue
      find "$h" -depth -type d -exec rmdir {} + 2>/dev/null || log "warning: could not remove all of cgroup $h"
    done
  fi
}

# ---------------------------------------------------------------------------------------------

write_node_env() {
  local i names=() f=$DIR/node.env.tmp
  for i in $(recorded_nodes); do names+=("node-$i"); done
  node_paths 1
  {
    echo "KUBECONFIG=$KUBECONFIG_FILE"
    echo "DOCKER_HOST=unix://$N_DOCKER_SOCK"
    echo "DOCKER=$DOCKER"
    echo "NODE_NAME=$N_NAME"
    echo "NODE_IP=$(state_of ip)"
    echo "KUBELET_PORT=$(state_of kubelet-port)"
    echo "APP_IMAGE=$APP_IMAGE"
    echo "AGENT_IMAGE=$AGENT_IMAGE"
    echo "PAUSE_IMAGE=$PAUSE_IMAGE"
    echo "NODE_COUNT=${#names[@]}"
    echo "NODE_NAMES=\"${names[*]}\""
    for i in $(recorded_nodes); do
      node_paths "$i"
      echo "NODE_${i}_NAME=$N_NAME"
      echo "NODE_${i}_IP=$(state_of ip)"
      echo "NODE_${i}_POD_CIDR=$(state_of cidr)"
      echo "NODE_${i}_BRIDGE=$(state_of bridge)"
      echo "NODE_${i}_DOCKER_HOST=unix://$N_DOCKER_SOCK"
      echo "NODE_${i}_CGROUP_ROOT=/$(state_of cgroup-root)"
      echo "NODE_${i}_KUBELET_PORT=$(state_of kubelet-port)"
      echo "NODE_${i}_KUBELET_PID=$(cat "$N_PID-kubelet.pid")"
    done
  } >"$f"
  mv "$f" "$DIR/node.env"
}

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

  rm -rf "$DIR/pids" "$DIR/state" "$DIR/nodes" "$DIR/node.env" "$DIR/kubeconfig"
  mkdir -p "$DIR/pids" "$DIR/state"
  : >"$DIR/state/ports"

  if [ -n "${OWNER_PID:-}" ]; then
    # Stops the nodes when the test process goes away, even after kill -9 of the test host.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status" \
                          && [ -d "$2/pids" ]; do sleep 1; done
                    [ -d "$2/pids" ] && exec "$3" down "$2"' \
      watchdog "$OWNER_PID" "$DIR" "$REPO_ROOT/hack/node.sh" >"$DIR/logs/watchdog.log" 2>&1 </dev/null &
    echo $! >"$DIR/state/watchdog.pid"
  fi

  # 1. Per node: bridge, cgroup root, mount namespace, dockerd. The dockerds start and get their
  #    images while the control plane boots.
  local i
  for i in $(seq 1 "$NODES"); do
    node_paths "$i"
    mkdir -p "$N_STATE" "$N_DIR"
    create_bridge
    create_cgroup_root
    create_mount_namespace
    log "starting dockerd of $N_NAME (bridge $(state_of bridge), $(state_of cidr))"
    start_dockerd
  done
  local images_job
  ( # The first load builds the tarballs when they are not cached; the others reuse them.
    node_paths 1; wait_for_dockerd || exit 1
    PAUSE_IMAGE=$PAUSE_IMAGE APP_IMAGE=$APP_IMAGE AGENT_IMAGE=$AGENT_IMAGE \
      "$HERE/images.sh" load "$N_DOCKER_SOCK" "$BIN_CACHE/pause.c" || exit 1
    jobs=()
    for i in $(seq 2 "$NODES"); do
      ( node_paths "$i"; wait_for_dockerd || exit 1
        PAUSE_IMAGE=$PAUSE_IMAGE APP_IMAGE=$APP_IMAGE AGENT_IMAGE=$AGENT_IMAGE \
          "$HERE/images.sh" load "$N_DOCKER_SOCK" "$BIN_CACHE/pause.c" ) &
      jobs+=($!)
    done
    for j in "${jobs[@]}"; do wait "$j" || exit 1; done
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
  log "waiting for the dockerds and the images $PAUSE_IMAGE, $APP_IMAGE, $AGENT_IMAGE"
  wait "$images_job" || fail "a dockerd did not start or loading the images failed" "$DIR/logs/images.log" "$DIR"/logs/node-*-dockerd.log
  for i in $(seq 1 "$NODES"); do
    node_paths "$i"
    if [ -f "$N_DOCKER_DIR/exec/containerd/containerd.pid" ]; then
      cp "$N_DOCKER_DIR/exec/containerd/containerd.pid" "$N_PID-containerd.pid"
    fi
  done

  # 4. kube-scheduler
  log "starting kube-scheduler"
  start_bg kube-scheduler "$BIN_CACHE/kube-scheduler" --kubeconfig="$KUBECONFIG_FILE" \
    --leader-elect=false --port=0 --secure-port=0

  # 5. kubelets
  for i in $(seq 1 "$NODES"); do node_paths "$i"; start_kubelet; done
  write_node_env

  wait_until "every node is Ready and untainted" "$READY_TIMEOUT" "$DIR/logs/node-$NODES-kubelet.log" all_nodes_ready
  wait_until "service account default/default exists" "$READY_TIMEOUT" \
    "$CP_DIR/logs/kube-controller-manager.log" default_sa_exists
  log "$NODES node(s) Ready (kubeconfig: $KUBECONFIG_FILE, env: $DIR/node.env, logs: $DIR/logs)"
}

cmd_down() {
  set_paths "${1:-}"
  local pid i
  # The watchdog first (unless this is the watchdog, which execs `down`).
  if [ -f "$DIR/state/watchdog.pid" ]; then
    pid=$(cat "$DIR/state/watchdog.pid")
    if [ "$pid" != "$$" ] && [ "$pid" != "${PPID:-}" ]; then kill "$pid" 2>/dev/null || true; fi
  fi
  if pid_alive "$DIR/pids/kube-scheduler.pid"; then
    log "stopping kube-scheduler"
    stop_pid "$(cat "$DIR/pids/kube-scheduler.pid")" || log "warning: kube-scheduler survived KILL"
  fi
  for i in $(recorded_nodes); do node_paths "$i"; stop_node; done
  rm -f "$DIR/pids/"*.pid

  if [ -d "$CP_DIR" ]; then
    "$CONTROL_PLANE" down "$CP_DIR" >"$DIR/logs/control-plane-down.log" 2>&1 \
      || log "warning: hack/control-plane.sh down failed (see $DIR/logs/control-plane-down.log)"
  fi
  rm -rf "$DIR/nodes" "$DIR/pids" "$DIR/state" "$DIR/node.env" "$DIR/kubeconfig"
  log "stopped (logs kept in $DIR/logs)"
}

cmd_status() {
  set_paths "${1:-}"
  local f up=0 down=0 i
  for f in "$DIR"/pids/*.pid; do
    [ -f "$f" ] || continue
    if pid_alive "$f"; then up=$((up + 1)); else down=$((down + 1)); echo "$(basename "$f" .pid) is not running"; fi
  done
  if [ $up -eq 0 ]; then echo "not running"; return 1; fi
  "$CONTROL_PLANE" status "$CP_DIR" >/dev/null 2>&1 || { echo "control plane is not running"; down=$((down + 1)); }
  if [ $down -gt 0 ]; then echo "partly running (run 'hack/node.sh down $DIR')"; return 1; fi
  local ready=() unready=()
  for i in $(recorded_nodes); do if node_ready "node-$i"; then ready+=("node-$i"); else unready+=("node-$i"); fi; done
  if [ ${#unready[@]} -eq 0 ]; then echo "running, ${ready[*]} Ready (kubeconfig: $KUBECONFIG_FILE)"
  else echo "running, not Ready: ${unready[*]} (kubeconfig: $KUBECONFIG_FILE, logs: $DIR/logs)"; return 1; fi
}

# kubelet-stop / kubelet-start DIR NODE: SIGSTOP / SIGCONT of that node's kubelet. A stopped kubelet
# renews neither its node's Lease nor its status, and runs no probes; the containers run on.
cmd_kubelet_signal() {
  local signal=$1 node=${3:-}
  set_paths "${2:-}"
  [[ "$node" =~ ^node-([0-9]+)$ ]] || die "usage: hack/node.sh kubelet-stop|kubelet-start DIR node-<i>"
  node_paths "${BASH_REMATCH[1]}"
  pid_alive "$N_PID-kubelet.pid" || die "the kubelet of $node in $DIR is not running"
  kill "-$signal" "$(cat "$N_PID-kubelet.pid")"
  log "sent SIG$signal to the kubelet of $node (pid $(cat "$N_PID-kubelet.pid"))"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status "$@" ;;
  kubelet-stop) shift; cmd_kubelet_signal STOP "$@" ;;
  kubelet-start) shift; cmd_kubelet_signal CONT "$@" ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2 ;;
esac
