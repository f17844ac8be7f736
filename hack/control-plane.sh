#!/usr/bin/env bash
# A genuine local Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager) on
# 127.0.0.1, for the tests, the demo and the benchmarks.
#
#   hack/control-plane.sh install           make sure the binaries exist (build them on first use)
#   hack/control-plane.sh up   [DIR]        start in the background; kubeconfig at DIR/kubeconfig
#   hack/control-plane.sh down [DIR]        stop exactly the processes `up` started, remove DIR's state
#   hack/control-plane.sh status [DIR]
#   hack/control-plane.sh restart-apiserver [DIR]   (tests: the operator must survive it)
#
# DIR defaults to <repo>/.local/control-plane. Environment:
#   KUBEBUILDER_ASSETS   envtest binaries (etcd, kube-apiserver, ...) used before anything else
#   FAILOVER_CACHE_DIR   binary cache outside the clone (default ~/.cache/failover-operator)
#   OWNER_PID            with `up`: stop the plane by itself when this process exits (test runs)
#   CONTROLLERS          kube-controller-manager --controllers (default: the ones we need)
#   READY_TIMEOUT        seconds to wait for /readyz (default 60)
#   BINARIES_TIMEOUT     with `install`: seconds to wait for another process's first build (default: no limit)
set -euo pipefail

K8S_VERSION=v1.20.2
# Bumped whenever the build recipe (patches) changes, so caches built by an older recipe are not used.
BUILD_RECIPE=3
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${FAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/failover-operator}
BIN_CACHE=$CACHE_ROOT/k8s-$K8S_VERSION-r$BUILD_RECIPE
BUILT_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
APT_PACKAGES=(etcd-server openssl curl jq make rsync dpkg-dev golang-go
  golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)

# shellcheck source=hack/lib.sh
. "$REPO_ROOT/hack/lib.sh"
log() { echo "control-plane: $*" >&2; }
die() { echo "control-plane: error: $*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_update_once() {
  [ -n "$apt_updated" ] && return
  log "apt-get update"
  as_root apt-get update -qq >/dev/null
  apt_updated=1
}

ensure_apt_packages() {
  local missing=()
  mapfile -t missing < <(missing_packages "$@")
  [ ${#missing[@]} -eq 0 ] && return
  apt_update_once
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# deb-src entries are derived from the machine's own Debian sources, so no mirror is named here.
ensure_deb_src() {
  local codename target=/etc/apt/sources.list.d/failover-operator-deb-src.sources
  [ -f "$target" ] && return
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
  local tmp; tmp=$(mktemp)
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: keep stanzas of type deb whose suites mention this release, retyped as deb-src.
    awk -v rel="$codename" 'BEGIN{RS=""; ORS="\n\n"}
      /(^|\n)Types:[^\n]*deb([ \n]|$)/ && $0 ~ ("Suites:[^\n]*" rel) {
        gsub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print }' "$f" >>"$tmp"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v rel="$codename" '$1=="deb" && $0 ~ rel {
        $1="";
        sub(/^ +/, "");
        n=split($0, a, " "); opts=""; i=1
        if (a[1] ~ /^\[/) { while (i<=n && a[i] !~ /\]$/) i++; i++ }
        uri=a[i]; suite=a[i+1]; comps=""; for (j=i+2;j<=n;j++) comps=comps " " a[j]
        printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:%s\n\n", uri, suite, comps }' "$f" >>"$tmp"
  done
  [ -s "$tmp" ] || die "found no Debian $codename apt sources to derive deb-src entries from"
  as_root install -m 0644 "$tmp" "$target"
  rm -f "$tmp"
  apt_updated=
  log "added deb-src entries derived from the machine's apt sources ($target)"
}

# Where each binary comes from: KUBEBUILDER_ASSETS, then the cache, (etcd: then Debian's package).
find_binary() {
  local name=$1
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$name" ]; then
    echo "$KUBEBUILDER_ASSETS/$name"; return
  fi
  if [ -x "$BIN_CACHE/$name" ]; then echo "$BIN_CACHE/$name"; return; fi
  if [ "$name" = etcd ] && [ -x /usr/bin/etcd ]; then echo /usr/bin/etcd; return; fi
  return 1
}

build_kubernetes() {
  ensure_apt_packages "${APT_PACKAGES[@]}"
  ensure_deb_src
  apt_update_once
  local work; work=$(mktemp -d "${TMPDIR:-/tmp}/failover-k8s-build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  log "fetching Debian's kubernetes source package (first run only)"
  (cd "$work" && apt-get source -qq kubernetes >/dev/null 2>"$work/apt-source.log") \
    || { cat "$work/apt-source.log" >&2; die "apt-get source kubernetes failed"; }
  local src; src=$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'kubernetes-*' | head -n1)
  [ -n "$src" ] || die "apt-get source produced no kubernetes-* directory in $work"

  # The vendored reflect2/json-iterator predate Go 1.18's runtime layout: the apiserver crashes
  # (SIGSEGV) on the first custom-resource write. Debian's packaged copies are fixed.
  local pkg
  for pkg in github.com/modern-go/reflect2 github.com/json-iterator/go; do
    [ -d "/usr/share/gocode/src/$pkg" ] || die "missing /usr/share/gocode/src/$pkg"
    rm -rf "${src:?}/vendor/$pkg"
    cp -r "/usr/share/gocode/src/$pkg" "$src/vendor/$pkg"
    find "$src/vendor/$pkg" -name '*_test.go' -delete
  done

  # The kubelet rewrites kernel.panic, kernel.panic_on_oops and vm.overcommit_memory at start
  # (setupKernelTunables). This project never changes kernel settings, so that step is removed.
  local cm="$src/pkg/kubelet/cm/container_manager_linux.go"
  grep -q '^func setupKernelTunables(option KernelTunableBehavior) error {$' "$cm" \
    || die "kubelet kernel-tunables function not found in $cm; the patch needs updating"
  sed -i 's/^func setupKernelTunables(option KernelTunableBehavior) error {$/&\n\tif option != KernelTunableError {\n\t\treturn nil \/\/ failover-operator: never modify kernel settings\n\t}/' "$cm"

  # The dockershim's no-op network plugin also writes net/bridge/bridge-nf-call-ip{,6}tables and
  # runs modprobe br-netfilter at kubelet start; skipped for the same reason.
  local noop="$src/pkg/kubelet/dockershim/network/plugins.go"
  grep -q '^func (plugin \*NoopNetworkPlugin) Init(host Host, hairpinMode kubeletconfig.HairpinMode, nonMasqueradeCIDR string, mtu int) error {$' "$noop" \
    || die "kubelet no-op network plugin Init not found in $noop; the patch needs updating"
  sed -i 's/^func (plugin \*NoopNetworkPlugin) Init(host Host, hairpinMode kubeletconfig.HairpinMode, nonMasqueradeCIDR string, mtu int) error {$/&\n\tif plugin != nil {\n\t\treturn nil \/\/ failover-operator: never modify kernel settings\n\t}/' "$noop"

  # A deleted pod stays Terminating until the kubelet sees its sandbox removed, but 1.20.0-1.20.2
  # remove it only when the container's removal is seen after the deletion; otherwise the
  # once-a-minute container GC does, so deletion takes up to ~70 s instead of ~10 s
  # (kubernetes/kubernetes#97288, fixed in 1.20.3 by reverting the check). Same fix here: the
  # sandbox no longer holds up the deletion; it is still removed later (deleter or GC).
  local pods="$src/pkg/kubelet/kubelet_pods.go"
  grep -qP '^\tif len\(runtimeStatus\.SandboxStatuses\) > 0 \{$' "$pods" \
    || die "kubelet pod-sandbox deletion check not found in $pods; the patch needs updating"
  sed -i 's/^\tif len(runtimeStatus.SandboxStatuses) > 0 {$/\tif false \&\& len(runtimeStatus.SandboxStatuses) > 0 { \/\/ failover-operator: kubernetes#97288/' "$pods"

  log "building ${BUILT_BINARIES[*]} $K8S_VERSION with $(go version | awk '{print $3}') (about 9-11 min on 2 cores)"
  local what=""; for b in "${BUILT_BINARIES[@]}"; do what+="cmd/$b "; done
  (cd "$src" && GOFLAGS=-mod=vendor GOPROXY=off CGO_ENABLED=0 \
      make WHAT="${what% }" KUBE_GIT_VERSION=$K8S_VERSION >"$work/build.log" 2>&1) \
    || { tail -n 40 "$work/build.log" >&2; die "kubernetes build failed (log above)"; }
  mkdir -p "$BIN_CACHE.tmp"
  for b in "${BUILT_BINARIES[@]}"; do cp "$src/_output/bin/$b" "$BIN_CACHE.tmp/"; done
  # The real-node setup builds the pause image from this file.
  cp "$src/build/pause/linux/pause.c" "$BIN_CACHE.tmp/"
  rm -rf "$BIN_CACHE" && mv "$BIN_CACHE.tmp" "$BIN_CACHE"
  rm -rf "$work"; trap - EXIT
  log "binaries cached in $BIN_CACHE"
}

missing_binaries() {
  local b
  for b in kube-apiserver kube-controller-manager; do find_binary "$b" >/dev/null || echo "$b"; done
  if [ "${1:-}" = --all ]; then
    for b in "${BUILT_BINARIES[@]}"; do [ -x "$BIN_CACHE/$b" ] || echo "$b"; done
  fi
}

cmd_install() {
  ensure_apt_packages etcd-server openssl curl
  mkdir -p "$CACHE_ROOT"
  if [ -n "$(missing_binaries "${1:-}")" ]; then
    exec 9>"$CACHE_ROOT/.build.lock"
    # Two concurrent first runs build once: the second waits (BINARIES_TIMEOUT seconds, if set).
    if ! flock -n 9; then
      log "a build of the Kubernetes binaries is running elsewhere; waiting for it"
      flock ${BINARIES_TIMEOUT:+-w "$BINARIES_TIMEOUT"} 9 || die "timed out after ${BINARIES_TIMEOUT}s waiting for the build lock $CACHE_ROOT/.build.lock: another hack/control-plane.sh install is building the binaries; wait for it to finish (or stop it) and run again, or raise BINARIES_TIMEOUT"
    fi
    [ -n "$(missing_binaries "${1:-}")" ] && build_kubernetes
    exec 9>&-
  fi
  for b in etcd kube-apiserver kube-controller-manager; do
    find_binary "$b" >/dev/null || die "$b not found after install"
  done
}

run_dir() { local d=${1:-$REPO_ROOT/.local/control-plane}; mkdir -p "$d"; (cd "$d" && pwd); }

pids_alive() {
  local dir=$1 f
  for f in "$dir"/pids/*.pid; do
    [ -f "$f" ] && alive "$(cat "$f")" && return 0
  done
  return 1
}

make_pki() {
  local pki=$1
  mkdir -p "$pki"
  local o="openssl"
  $o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj "/CN=failover-operator-test-ca" \
     -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  sign() { # name subject extfile-content
    $o req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
    printf '%b' "$3" >"$pki/$1.ext"
    $o x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 \
       -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
  }
  sign apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n"
  sign admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth\n"
  $o ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
  $o ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

write_kubeconfig() { # file server
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $2
    certificate-authority: $PKI/ca.crt
users:
- name: admin
  user:
    client-certificate: $PKI/admin.crt
    client-key: $PKI/admin.key
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
KC
}

start_apiserver() {
  local etcd_port api_port apiserver
  etcd_port=$(cat "$DIR/etcd-port"); api_port=$(cat "$DIR/apiserver-port")
  apiserver=$(find_binary kube-apiserver)
  PKI="$DIR/pki"
  start_bg kube-apiserver "$apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" --insecure-port=0 \
    --cert-dir="$PKI" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" --authorization-mode=Node,RBAC \
    --kubelet-client-certificate="$PKI/admin.crt" --kubelet-client-key="$PKI/admin.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local --api-audiences=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
    --endpoint-reconciler-type=none --enable-priority-and-fairness=false \
    --max-requests-inflight=2000 --max-mutating-requests-inflight=1000
}

wait_apiserver_ready() {
  local api_port deadline=$((SECONDS + ${READY_TIMEOUT:-60}))
  api_port=$(cat "$DIR/apiserver-port"); PKI="$DIR/pki"
  until curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        "https://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ] || ! alive "$(cat "$DIR/pids/kube-apiserver.pid")" \
       || ! alive "$(cat "$DIR/pids/etcd.pid")"; then
      return 1
    fi
    sleep 0.2
  done
}

fail_start() {
  log "kube-apiserver did not become ready; last lines of $DIR/logs/kube-apiserver.log:"
  tail -n 15 "$DIR/logs/kube-apiserver.log" >&2 || true
  cmd_down "$DIR" >/dev/null 2>&1 || true
  die "control plane failed to start: see $DIR/logs/kube-apiserver.log and $DIR/logs/etcd.log"
}

# Stops kube-apiserver and starts it again on the same port and data (tests of reconnects).
cmd_restart_apiserver() {
  DIR=$(run_dir "${1:-}")
  local pid; pid=$(cat "$DIR/pids/kube-apiserver.pid" 2>/dev/null) || die "no control plane running in $DIR"
  stop_pid "$pid"
  mv "$DIR/logs/kube-apiserver.log" "$DIR/logs/kube-apiserver.previous.log"
  start_apiserver
  wait_apiserver_ready || fail_start
  log "kube-apiserver restarted"
}

cmd_up() {
  DIR=$(run_dir "${1:-}")
  local started=$SECONDS
  if pids_alive "$DIR"; then
    log "already running (kubeconfig: $DIR/kubeconfig); nothing to do"
    return 0
  fi
  cmd_install
  rm -rf "$DIR/pids" "$DIR/logs" "$DIR/etcd" "$DIR/pki" "$DIR/kubeconfig" "$DIR/ports"
  mkdir -p "$DIR/pids" "$DIR/logs"
  PORTS_TAKEN="$DIR/ports"; : >"$PORTS_TAKEN"
  PKI="$DIR/pki"; make_pki "$PKI"
  local etcd kcm attempt
  etcd=$(find_binary etcd); kcm=$(find_binary kube-controller-manager)
  # A port found free can be taken by another process before etcd or the apiserver binds it
  # (several planes starting at once): then start again on other ports.
  for attempt in 1 2 3; do
    local etcd_port peer_port api_port
    etcd_port=$(free_port "$PORTS_TAKEN"); peer_port=$(free_port "$PORTS_TAKEN"); api_port=$(free_port "$PORTS_TAKEN")
    rm -rf "$DIR/etcd"
    start_bg etcd "$etcd" --name=local --data-dir="$DIR/etcd" --unsafe-no-fsync \
      --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
      --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
      --initial-cluster="local=http://127.0.0.1:$peer_port" --listen-metrics-urls="" \
      --quota-backend-bytes=4294967296
    echo "$etcd_port" >"$DIR/etcd-port"
    echo "$api_port" >"$DIR/apiserver-port"
    start_apiserver
    write_kubeconfig "$DIR/kubeconfig" "https://127.0.0.1:$api_port"
    wait_apiserver_ready && break
    if [ $attempt -lt 3 ] && grep -qs 'address already in use' "$DIR/logs/etcd.log" "$DIR/logs/kube-apiserver.log"; then
      log "a port was taken meanwhile; starting again on other ports"
      stop_recorded
      continue
    fi
    fail_start
  done

  if [ -n "${OWNER_PID:-}" ]; then
    # Stops the plane when the test process goes away, even after kill -9 of the test host.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2/pids" ]; do sleep 1; done; exec "$3" down "$2"' \
      watchdog "$OWNER_PID" "$DIR" "$REPO_ROOT/hack/control-plane.sh" >"$DIR/logs/watchdog.log" 2>&1 </dev/null &
    echo $! >"$DIR/watchdog.pid"
  fi

  start_bg kube-controller-manager "$kcm" --kubeconfig="$DIR/kubeconfig" \
    --controllers="${CONTROLLERS:-namespace,garbagecollector,serviceaccount,serviceaccount-token,endpoint,endpointslice,disruption}" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --leader-elect=false --port=0 --secure-port=0 --concurrent-endpoint-syncs=10 \
    --flex-volume-plugin-dir="$DIR/flexvolume" --node-monitor-period=1s

  log "ready in $((SECONDS - started))s at https://127.0.0.1:$api_port (kubeconfig: $DIR/kubeconfig, logs: $DIR/logs)"
}

# Stops every process recorded in DIR/pids: TERM, then KILL after 15 s.
stop_recorded() {
  local f pid name
  local pids=()
  for f in "$DIR"/pids/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f"); name=$(basename "$f" .pid)
    if alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); log "stopping $name (pid $pid)"; fi
    rm -f "$f"
  done
  # All got TERM at once; each gets what is left of one 15 s grace period.
  local deadline=$((SECONDS + 15))
  for pid in "${pids[@]}"; do stop_pid "$pid" $((deadline - SECONDS)) || true; done
}

cmd_down() {
  DIR=$(run_dir "${1:-}")
  local pid
  stop_recorded
  if [ -f "$DIR/watchdog.pid" ]; then
    pid=$(cat "$DIR/watchdog.pid")
    # When the watchdog itself runs `down` (it execs this script), $$ is the watchdog.
    if [ "$pid" != "$$" ] && [ "$pid" != "${PPID:-}" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -f "$DIR/watchdog.pid"
  fi
  rm -rf "$DIR/pids" "$DIR/etcd" "$DIR/pki" "$DIR/kubeconfig" "$DIR/ports" "$DIR/apiserver-port" "$DIR/etcd-port" "$DIR/flexvolume"
  log "stopped"
}

cmd_status() {
  DIR=$(run_dir "${1:-}")
  if pids_alive "$DIR"; then echo "running (kubeconfig: $DIR/kubeconfig)"; else echo "not running"; return 1; fi
}

case "${1:-}" in
  install) shift; cmd_install "$@" ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status "$@" ;;
  restart-apiserver) shift; cmd_restart_apiserver "$@" ;;
  bin) shift; find_binary "$1" ;;
  bin-dir) echo "$BIN_CACHE" ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
