#!/usr/bin/env bash
# End-to-end failover check against the cluster KUBECONFIG points at (kind in CI, any cluster).
#
#   bash hack/kind-e2e.sh            (make kind-e2e)
#
# It never starts the operator: one must already be running and watching the test namespace
# (in kind: `helm install` of charts/failover-operator; locally: `dotnet FailoverOperator.dll`).
#
# Steps: create a namespace (unique name); apply a workload of E2E_REPLICAS pods labelled
# app=failover-e2e, a Service selecting app=failover-e2e + failover.dev/role=active, and a
# HighAvailabilityGroup; wait until exactly one pod is labelled active, the group's Lease holder
# equals status.activePod and the Service's Endpoints list exactly that pod's IP; delete the active
# pod; wait until a different pod is active (label, Lease holder, status.activePod,
# failoverCount >= 1, lastFailover from/to) and the Endpoints list exactly the new active's IP,
# then until every other Ready pod (the replacement too) is labelled standby; print a timeline in
# ms (from kubectl watches started before the delete, each event stamped on arrival); delete the
# group, the pods and the namespace. Every wait is a poll with a deadline.
#
# Simulated kubelet (E2E_SIMULATE_KUBELET=true, or auto-detected when no node is Ready, e.g. a bare
# kube-apiserver + controller-manager): the script plays the kubelet and the workload controller.
# It creates Node "e2e-fake-node" if missing (tainted NoSchedule, status Ready; deleted at the end
# if this run created it), creates bare Pods bound to it (spec.nodeName), writes their status
# (Running, podIP 10.244.0.N, Ready and ContainersReady True, containerStatuses) with
# `kubectl patch --subresource=status`, deletes the active pod with --grace-period=0 --force
# (there is no kubelet to finish a graceful deletion) and creates a Ready replacement pod, as a
# ReplicaSet + kubelet would. The fake node never counts as Ready for the auto-detection.
#
# Environment:
#   KUBECONFIG                 cluster to test (kubectl's usual resolution)
#   KUBECTL                    kubectl binary (default kubectl; >= 1.24 for the simulated kubelet)
#   E2E_NAMESPACE              test namespace (default failover-e2e-<epoch>-<random>; must not exist)
#   E2E_IMAGE                  workload image (default busybox:1.36; needs sh, sleep, cat)
#   E2E_REPLICAS               pods in the group (default 3, minimum 2)
#   E2E_SIMULATE_KUBELET       true | false | auto (default auto: true when no node is Ready)
#   E2E_TIMEOUT                seconds to get the workload Ready and the first active pod (default 180)
#   E2E_FAILOVER_TIMEOUT       seconds for the failover to complete after the delete (default 60)
#   E2E_CLEANUP_TIMEOUT        seconds to wait for the namespace to disappear (default 90)
#   E2E_LEASE_DURATION_SECONDS spec.leaseDurationSeconds of the test group (default 15)
#   E2E_POLL_INTERVAL          seconds between polls (default 0.2)
#   E2E_KEEP_NAMESPACE         true: leave the namespace for inspection (default false)
#   E2E_FAKE_NODE              name of the simulated node (default e2e-fake-node)
#   OPERATOR_NAMESPACE         namespace of the helm-installed operator, for logs on failure
#                              (default: found by label app.kubernetes.io/name=failover-operator)
#   OPERATOR_LOG_FILE          log file(s) of operators running outside the cluster, shown on
#                              failure (several: separate with ':')
#
# Exit codes: 0 failover verified; 1 check failed or timed out (diagnostics are printed);
#             2 bad usage or unusable environment (kubectl/jq missing, cluster unreachable,
#               CRD not installed, kubectl too old for the simulated kubelet); 130 interrupted.
# Requires bash 4+, kubectl, jq.
set -Eeuo pipefail

KUBECTL=${KUBECTL:-kubectl}
NS=${E2E_NAMESPACE:-failover-e2e-$(date +%s)-$RANDOM}
IMAGE=${E2E_IMAGE:-busybox:1.36}
REPLICAS=${E2E_REPLICAS:-3}
SIMULATE=${E2E_SIMULATE_KUBELET:-auto}
TIMEOUT=${E2E_TIMEOUT:-180}
FAILOVER_TIMEOUT=${E2E_FAILOVER_TIMEOUT:-60}
CLEANUP_TIMEOUT=${E2E_CLEANUP_TIMEOUT:-90}
LEASE_SECONDS=${E2E_LEASE_DURATION_SECONDS:-15}
POLL=${E2E_POLL_INTERVAL:-0.2}
KEEP=${E2E_KEEP_NAMESPACE:-false}
FAKE_NODE=${E2E_FAKE_NODE:-e2e-fake-node}
OPERATOR_NAMESPACE=${OPERATOR_NAMESPACE:-}
OPERATOR_LOG_FILE=${OPERATOR_LOG_FILE:-}
OPERATOR_LABEL=app.kubernetes.io/name=failover-operator

APP=failover-e2e            # pod label app=..., Deployment name
GROUP=failover-e2e          # HighAvailabilityGroup name (= its Lease name)
SERVICE=failover-e2e-active # Service selecting the active pod (= its Endpoints name)
ROLE_KEY=failover.dev/role  # the group's default roleLabelKey
HAG=highavailabilitygroups.failover.dev
CRD=highavailabilitygroups.failover.dev

NS_CREATED=
DIAG_DONE=
SIM_POD_SEQ=0
SIM_IP_SEQ=10
REPLACEMENT_PID=''
REPLACEMENT_LOG=''
T_START_MS=

log() { echo "kind-e2e: $*" >&2; }
usage_error() { echo "kind-e2e: error: $*" >&2; exit 2; }
fail() { echo "kind-e2e: FAIL: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
k() { "$KUBECTL" --request-timeout=20s "$@"; }
is_true() { case "${1,,}" in true|1|yes|y|on) return 0 ;; *) return 1 ;; esac; }

case "${1:-}" in
  -h|--help) sed -n '2,/^set -Eeuo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) usage_error "no arguments expected (configure with environment variables; see --help)" ;;
esac

# ---------------------------------------------------------------------------------------------
# Diagnostics and cleanup
# ---------------------------------------------------------------------------------------------
operator_logs() {
  echo "----- operator logs -----"
  local file files
  IFS=: read -r -a files <<<"$OPERATOR_LOG_FILE"
  for file in "${files[@]}"; do
    [ -n "$file" ] || continue
    if [ -r "$file" ]; then
      echo "(last 300 lines of $file)"
      tail -n 300 "$file"
    else
      echo "operator log file $file is not readable"
    fi
  done
  local namespaces=$OPERATOR_NAMESPACE
  if [ -z "$namespaces" ]; then
    namespaces=$(k get pods -A -l "$OPERATOR_LABEL" \
      -o jsonpath='{range .items[*]}{.metadata.namespace}{"\n"}{end}' 2>/dev/null | sort -u || true)
  fi
  if [ -z "$namespaces" ]; then
    [ -n "$OPERATOR_LOG_FILE" ] || echo "no operator pods found (label $OPERATOR_LABEL) and OPERATOR_LOG_FILE is not set"
    return 0
  fi
  local ons
  for ons in $namespaces; do
    echo "(kubectl logs -l $OPERATOR_LABEL -n $ons)"
    k get pods -n "$ons" -l "$OPERATOR_LABEL" -o wide 2>&1 || true
    k logs -l "$OPERATOR_LABEL" -n "$ons" --all-containers --prefix --tail=300 --max-log-requests=10 2>&1 || true
    k get lease -n "$ons" 2>&1 || true
  done
}

diagnostics() {
  [ -n "$DIAG_DONE" ] && return 0
  DIAG_DONE=1
  {
    echo "===== diagnostics: namespace $NS ====="
    echo "----- HighAvailabilityGroup -----"; k get "$HAG" -n "$NS" -o yaml 2>&1 || true
    if [ "$MODE" = real ]; then
      echo "----- workload -----"; k get deployments,replicasets -n "$NS" -o wide 2>&1 || true
    fi
    echo "----- pods -----"; k get pods -n "$NS" -o wide --show-labels 2>&1 || true
    k get pods -n "$NS" -o jsonpath='{range .items[*]}{.metadata.name}{"  ip="}{.status.podIP}{"  phase="}{.status.phase}{"  ready="}{.status.conditions[?(@.type=="Ready")].status}{"  deleting="}{.metadata.deletionTimestamp}{"  annotations="}{.metadata.annotations}{"\n"}{end}' 2>&1 || true
    echo "----- leases -----"; k get leases -n "$NS" -o yaml 2>&1 || true
    echo "----- endpoints -----"; k get endpoints -n "$NS" -o yaml 2>&1 || true
    echo "----- events -----"; k get events -n "$NS" --sort-by=.metadata.creationTimestamp 2>&1 || true
    operator_logs
    echo "===== end of diagnostics ====="
  } >&2
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT ERR INT TERM
  if [ -n "${REPLACEMENT_PID:-}" ]; then wait "$REPLACEMENT_PID" 2>/dev/null; fi
  [ -n "${REPLACEMENT_LOG:-}" ] && rm -f "$REPLACEMENT_LOG"
  stop_watches
  [ -n "${WATCH_DIR:-}" ] && rm -rf "$WATCH_DIR"
  if [ $rc -ne 0 ] && [ -n "$NS_CREATED" ]; then diagnostics; fi
  if [ -n "$NS_CREATED" ]; then
    if is_true "$KEEP"; then
      log "keeping namespace $NS (E2E_KEEP_NAMESPACE=true); delete it with: kubectl delete namespace $NS"
    else
      # The group goes first, so that the operator does not fail over while the pods disappear.
      k delete "$HAG" --all -n "$NS" --wait=true --timeout=30s >/dev/null 2>&1
      if [ "$MODE" = simulate ]; then
        # No kubelet would ever confirm a graceful pod deletion: remove the pods immediately,
        # or the namespace would stay Terminating forever.
        k delete pods -n "$NS" --all --grace-period=0 --force --wait=false >/dev/null 2>&1
      fi
      k delete namespace "$NS" --wait=false >/dev/null 2>&1
      local deadline=$((SECONDS + CLEANUP_TIMEOUT))
      while k get namespace "$NS" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
          log "warning: namespace $NS still exists after ${CLEANUP_TIMEOUT}s (deletion continues in the background)"
          break
        fi
        sleep 0.5
      done
      k get namespace "$NS" >/dev/null 2>&1 || log "deleted namespace $NS"
      [ "$MODE" = simulate ] && remove_fake_node
    fi
  fi
  if [ $rc -eq 0 ]; then log "PASS"; else log "exit code $rc"; fi
  exit $rc
}

on_err() {
  local rc=$? line=$1 cmd=$2
  echo "kind-e2e: FAIL: unexpected error (exit $rc) at line $line: $cmd" >&2
  exit 1
}

MODE=
trap cleanup EXIT
trap 'on_err "$LINENO" "$BASH_COMMAND"' ERR
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Preflight
# ---------------------------------------------------------------------------------------------
command -v "$KUBECTL" >/dev/null 2>&1 || usage_error "kubectl not found (set KUBECTL)"
command -v jq >/dev/null 2>&1 || usage_error "jq not found (apt-get install jq)"
if ! [[ "$REPLICAS" =~ ^[0-9]+$ ]] || [ "$REPLICAS" -lt 2 ]; then
  usage_error "E2E_REPLICAS must be an integer >= 2 (got '$REPLICAS')"
fi
for v in TIMEOUT FAILOVER_TIMEOUT CLEANUP_TIMEOUT LEASE_SECONDS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || usage_error "E2E_$v must be a whole number of seconds (got '${!v}')"
done
[[ "$NS" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || usage_error "E2E_NAMESPACE '$NS' is not a valid namespace name"

if ! k get --raw /readyz >/dev/null 2>&1 && ! k version >/dev/null 2>&1; then
  reason=$( { k get --raw /readyz 2>&1 || true; } | tail -n1)
  usage_error "cannot reach the cluster (KUBECONFIG=${KUBECONFIG:-~/.kube/config}): $reason"
fi
k get crd "$CRD" >/dev/null 2>&1 \
  || usage_error "CRD $CRD is not installed: install the chart (helm install ... charts/failover-operator) or kubectl apply -f crds/"

ready_nodes=$(k get nodes -o json | jq --arg fake "$FAKE_NODE" \
  '[.items[] | select(.metadata.name != $fake)
     | select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length')
case "${SIMULATE,,}" in
  auto|"") if [ "$ready_nodes" -eq 0 ]; then MODE=simulate; else MODE=real; fi ;;
  true|1|yes|y|on) MODE=simulate ;;
  false|0|no|n|off) MODE=real ;;
  *) usage_error "E2E_SIMULATE_KUBELET must be true, false or auto (got '$SIMULATE')" ;;
esac
if [ "$MODE" = real ] && [ "$ready_nodes" -eq 0 ]; then
  usage_error "E2E_SIMULATE_KUBELET=false but no node is Ready: pods would never run"
fi
if [ "$MODE" = simulate ]; then
  "$KUBECTL" patch --help 2>/dev/null | grep -q -- '--subresource' \
    || usage_error "the simulated kubelet needs kubectl >= 1.24 (kubectl patch --subresource=status)"
fi
if k get namespace "$NS" >/dev/null 2>&1; then usage_error "namespace $NS already exists"; fi

operator_pods=$(k get pods -A -l "$OPERATOR_LABEL" --no-headers 2>/dev/null | wc -l || true)
log "cluster: $(k config current-context 2>/dev/null || echo '?'), Ready nodes: $ready_nodes, mode: $MODE$([ "$MODE" = simulate ] && echo ' (this script acts as kubelet)')"
log "operator pods found by label $OPERATOR_LABEL: ${operator_pods:-0}$([ -n "$OPERATOR_LOG_FILE" ] && echo ", log file: $OPERATOR_LOG_FILE")"

# ---------------------------------------------------------------------------------------------
# Cluster state snapshot (one kubectl call) and the conditions checked on it
# ---------------------------------------------------------------------------------------------
SNAP=
# Sets: S_ACTIVE (comma list of live pods labelled active), S_NACTIVE, S_STATUS_ACTIVE, S_PHASE,
# S_FAILOVERS, S_LF_FROM, S_LF_TO, S_HOLDER, S_EP_READY, S_EP_NOTREADY, S_ACTIVE_IP, S_LIVE.
snapshot() {
  local json line
  json=$(k get "pods,$HAG,leases.coordination.k8s.io,endpoints" -n "$NS" -o json 2>/dev/null) || return 1
  line=$(jq -r --arg app "$APP" --arg group "$GROUP" --arg svc "$SERVICE" --arg key "$ROLE_KEY" '
    [.items[] | select(.kind == "Pod" and .metadata.labels.app == $app
                       and (.metadata.deletionTimestamp == null))] as $live
    | [$live[] | select(.metadata.labels[$key] == "active")] as $act
    | ([.items[] | select(.kind == "HighAvailabilityGroup" and .metadata.name == $group)][0] // {}) as $hag
    | ([.items[] | select(.kind == "Lease" and .metadata.name == $group)][0] // {}) as $lease
    | ([.items[] | select(.kind == "Endpoints" and .metadata.name == $svc)][0] // {}) as $ep
    | [ ($act | map(.metadata.name) | join(",")),
        ($act | length | tostring),
        ($hag.status.activePod // ""),
        ($hag.status.phase // ""),
        (($hag.status.failoverCount // 0) | tostring),
        ($hag.status.lastFailover.from // ""),
        ($hag.status.lastFailover.to // ""),
        ($lease.spec.holderIdentity // ""),
        ([$ep.subsets[]?.addresses[]?.ip] | sort | join(",")),
        ([$ep.subsets[]?.notReadyAddresses[]?.ip] | sort | join(",")),
        (if ($act | length) == 1 then ($act[0].status.podIP // "") else "" end),
        ($live | length | tostring)
      ] | join("|")' <<<"$json") || return 1
  IFS='|' read -r S_ACTIVE S_NACTIVE S_STATUS_ACTIVE S_PHASE S_FAILOVERS S_LF_FROM S_LF_TO \
    S_HOLDER S_EP_READY S_EP_NOTREADY S_ACTIVE_IP S_LIVE <<<"$line"
  SNAP=$json
}

describe_state() {
  echo "pods=$S_LIVE active=[${S_ACTIVE}] status.activePod=${S_STATUS_ACTIVE:-<none>} phase=${S_PHASE:-<none>}" \
       "failoverCount=$S_FAILOVERS lease.holder=${S_HOLDER:-<none>} endpoints=[${S_EP_READY}]" \
       "$([ -n "$S_EP_NOTREADY" ] && echo "notReady=[$S_EP_NOTREADY]")"
}

# Polls "$@" (a condition on a fresh snapshot) until it holds or TIMEOUT seconds pass; prints each
# state change. Returns 1 on timeout.
wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$(( $(now_ms) + timeout * 1000 )) last="" cur
  log "waiting up to ${timeout}s for: $what"
  while :; do
    if snapshot; then
      cur=$(describe_state)
      [ "$cur" != "$last" ] && log "  $cur"
      last=$cur
      "$@" && return 0
    fi
    [ "$(now_ms)" -ge "$deadline" ] && return 1
    sleep "$POLL"
  done
}

# The steady state: exactly one live pod labelled active, and status, Lease and Endpoints agree.
steady_state() {
  [ "$S_NACTIVE" = 1 ] && [ "$S_STATUS_ACTIVE" = "$S_ACTIVE" ] && [ "$S_HOLDER" = "$S_ACTIVE" ] \
    && [ -n "$S_ACTIVE_IP" ] && [ "$S_EP_READY" = "$S_ACTIVE_IP" ] && [ -z "$S_EP_NOTREADY" ]
}

# ---------------------------------------------------------------------------------------------
# Workload
# ---------------------------------------------------------------------------------------------
# The container only has to stay up and be Ready; it serves its name over HTTP if the image has
# busybox httpd (not required: the check looks at Endpoints, not at traffic).
# shellcheck disable=SC2016 # expanded by the container's shell, not here
CONTAINER_SCRIPT='mkdir -p /tmp/www && echo "$POD_NAME" > /tmp/www/index.html && touch /tmp/ready
(httpd -f -p 8080 -h /tmp/www 2>/dev/null || true) &
trap "exit 0" TERM INT
while true; do sleep 1; done'

container_spec() { # jq object of the workload container
  jq -nc --arg image "$IMAGE" --arg script "$CONTAINER_SCRIPT" '{
    name: "app", image: $image, imagePullPolicy: "IfNotPresent",
    command: ["sh", "-c", $script],
    env: [{name: "POD_NAME", valueFrom: {fieldRef: {fieldPath: "metadata.name"}}}],
    ports: [{name: "http", containerPort: 8080}],
    readinessProbe: {exec: {command: ["cat", "/tmp/ready"]}, periodSeconds: 2, failureThreshold: 1},
    livenessProbe: {exec: {command: ["cat", "/tmp/ready"]}, initialDelaySeconds: 5, periodSeconds: 10},
    resources: {requests: {cpu: "5m", memory: "8Mi"}, limits: {cpu: "100m", memory: "32Mi"}}
  }'
}

apply_common() {
  jq -n --arg app "$APP" --arg svc "$SERVICE" --arg key "$ROLE_KEY" '{
    apiVersion: "v1", kind: "Service",
    metadata: {name: $svc, labels: {app: $app}},
    spec: {selector: {app: $app, ($key): "active"},
           ports: [{name: "http", port: 80, targetPort: 8080}]}
  }' | k apply -n "$NS" -f - >/dev/null
}

apply_group() {
  jq -n --arg app "$APP" --arg group "$GROUP" --argjson lease "$LEASE_SECONDS" '{
    apiVersion: "failover.dev/v1alpha1", kind: "HighAvailabilityGroup",
    metadata: {name: $group},
    spec: {selector: {matchLabels: {app: $app}}, leaseDurationSeconds: $lease, failoverDelaySeconds: 0}
  }' | k apply -n "$NS" -f - >/dev/null
}

# Real cluster: a Deployment; its ReplicaSet replaces the deleted pod.
apply_deployment() {
  jq -n --arg app "$APP" --argjson replicas "$REPLICAS" --argjson c "$(container_spec)" '{
    apiVersion: "apps/v1", kind: "Deployment",
    metadata: {name: $app, labels: {app: $app}},
    spec: {replicas: $replicas, selector: {matchLabels: {app: $app}},
           template: {metadata: {labels: {app: $app}},
                      spec: {terminationGracePeriodSeconds: 5, containers: [$c]}}}
  }' | k apply -n "$NS" -f - >/dev/null
}

# Simulated kubelet: a Node object the pods are bound to (the EndpointSlice controller wants it),
# reported Ready like a kubelet would. Tainted NoSchedule so that no scheduler puts anything else
# there. Removed at the end if this run created it and no other pod is bound to it.
FAKE_NODE_CREATED=
ensure_fake_node() {
  if ! k get node "$FAKE_NODE" >/dev/null 2>&1; then
    log "creating Node $FAKE_NODE (no kubelet behind it; this script reports its status)"
    if jq -n --arg n "$FAKE_NODE" '{
        apiVersion: "v1", kind: "Node",
        metadata: {name: $n, labels: {"kubernetes.io/hostname": $n, "failover.dev/e2e-fake-node": "true"}},
        spec: {taints: [{key: "failover.dev/e2e-fake-node", value: "true", effect: "NoSchedule"}]}
      }' | k create -f - >/dev/null 2>&1; then
      FAKE_NODE_CREATED=1
    else
      k get node "$FAKE_NODE" >/dev/null 2>&1 || fail "could not create Node $FAKE_NODE"
    fi
  fi
  local now; now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  k patch node "$FAKE_NODE" --subresource=status --type=merge -p "$(jq -nc --arg now "$now" --arg n "$FAKE_NODE" '{status: {
      conditions: [{type: "Ready", status: "True", reason: "KubeletReady",
                    message: "simulated by hack/kind-e2e.sh", lastHeartbeatTime: $now, lastTransitionTime: $now}],
      addresses: [{type: "InternalIP", address: "10.244.0.1"}, {type: "Hostname", address: $n}]}}')" >/dev/null \
    || fail "could not set the status of Node $FAKE_NODE"
}

remove_fake_node() {
  [ -n "$FAKE_NODE_CREATED" ] || return 0
  local others
  others=$(k get pods -A --field-selector "spec.nodeName=$FAKE_NODE" --no-headers 2>/dev/null | wc -l)
  if [ "$others" -eq 0 ]; then
    k delete node "$FAKE_NODE" --wait=false >/dev/null 2>&1 && log "deleted Node $FAKE_NODE"
  else
    log "leaving Node $FAKE_NODE: $others other pod(s) are bound to it"
  fi
}

sim_create_pod() { # name ip -> bare pod bound to the fake node, then Running/Ready like a kubelet
  local name=$1 ip=$2 now
  jq -n --arg name "$name" --arg app "$APP" --arg node "$FAKE_NODE" --argjson c "$(container_spec)" '{
    apiVersion: "v1", kind: "Pod",
    metadata: {name: $name, labels: {app: $app, "failover.dev/e2e-simulated": "true"}},
    spec: {nodeName: $node, terminationGracePeriodSeconds: 5, containers: [$c],
           tolerations: [{key: "failover.dev/e2e-fake-node", operator: "Exists"}]}
  }' | k create -n "$NS" -f - >/dev/null
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  k patch pod "$name" -n "$NS" --subresource=status --type=merge -p "$(
    jq -nc --arg ip "$ip" --arg now "$now" --arg image "$IMAGE" --arg name "$name" '{status: {
      phase: "Running", podIP: $ip, podIPs: [{ip: $ip}], startTime: $now,
      conditions: [
        {type: "Initialized", status: "True", lastTransitionTime: $now},
        {type: "PodScheduled", status: "True", lastTransitionTime: $now},
        {type: "ContainersReady", status: "True", lastTransitionTime: $now},
        {type: "Ready", status: "True", lastTransitionTime: $now}],
      containerStatuses: [{
        name: "app", image: $image, imageID: "", containerID: ("e2e-sim://" + $name),
        ready: true, started: true, restartCount: 0, state: {running: {startedAt: $now}}}]
    }}')" >/dev/null
}

SIM_NAME='' SIM_IP=''
sim_allocate() { # next simulated pod name and IP -> SIM_NAME, SIM_IP
  [ "$SIM_IP_SEQ" -le 254 ] || fail "ran out of simulated pod IPs"
  SIM_NAME="$APP-$SIM_POD_SEQ" SIM_IP="10.244.0.$SIM_IP_SEQ"
  SIM_POD_SEQ=$((SIM_POD_SEQ + 1)); SIM_IP_SEQ=$((SIM_IP_SEQ + 1))
}

all_pods_ready() {
  local n
  n=$(jq --arg app "$APP" '[.items[] | select(.kind == "Pod" and .metadata.labels.app == $app
        and .metadata.deletionTimestamp == null and .status.podIP != null
        and any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length' <<<"$SNAP")
  [ "$n" -ge "$REPLICAS" ]
}

pod_ip() { jq -r --arg n "$1" '.items[] | select(.kind == "Pod" and .metadata.name == $n) | .status.podIP // ""' <<<"$SNAP"; }

# Timeline watchers: one `kubectl get --watch` per object kind, each event stamped on arrival (jq's
# clock, ms) into a file, so the timeline is not limited by the polling interval. Timing only: the
# pass/fail checks use the polled snapshots.
WATCH_DIR=''
WATCH_PIDS=()
start_watch() { # file, kubectl get arguments...
  local file=$1; shift
  "$KUBECTL" --request-timeout="$((FAILOVER_TIMEOUT + 120))s" get "$@" -n "$NS" --watch -o json \
      --output-watch-events 2>/dev/null \
    > >(jq -c --unbuffered '{ts: (now * 1000 | floor), type: .type, name: .object.metadata.name,
          labels: (.object.metadata.labels // {}), deleting: (.object.metadata.deletionTimestamp != null),
          ips: [.object.subsets[]?.addresses[]?.ip], holder: (.object.spec.holderIdentity // ""),
          active: (.object.status.activePod // "")}' >"$file" 2>/dev/null) &
  WATCH_PIDS+=($!)
}
stop_watches() {
  local pid
  for pid in "${WATCH_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  WATCH_PIDS=()
}
start_watches() { # returns 1 if they are not all established within 15 s
  WATCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kind-e2e-watch.XXXXXX")
  start_watch "$WATCH_DIR/pods" pods -l "app=$APP"
  start_watch "$WATCH_DIR/endpoints" endpoints "$SERVICE"
  start_watch "$WATCH_DIR/lease" leases.coordination.k8s.io "$GROUP"
  start_watch "$WATCH_DIR/group" "$HAG" "$GROUP"
  local deadline=$(( $(now_ms) + 15000 )) f ok
  while :; do
    ok=1
    for f in pods endpoints lease group; do [ -s "$WATCH_DIR/$f" ] || ok=''; done
    [ -n "$ok" ] && return 0
    [ "$(now_ms)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}
# First event time (ms) at or after T_DEL in watch file $1 matching jq condition $2.
watch_time() {
  [ -n "$WATCH_DIR" ] && [ -s "$WATCH_DIR/$1" ] || return 0
  jq -rn --argjson t0 "$T_DEL" --arg old "$OLD" --arg new "$NEW" --arg ip "$NEW_IP" --arg key "$ROLE_KEY" \
    "[inputs | select(.ts >= \$t0) | select($2) | .ts] | first // empty" "$WATCH_DIR/$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------
T_START_MS=$(now_ms)
k create namespace "$NS" >/dev/null
NS_CREATED=1
k label namespace "$NS" failover.dev/e2e=true >/dev/null
log "namespace $NS created; image $IMAGE, $REPLICAS pods"

apply_common
if [ "$MODE" = simulate ]; then
  ensure_fake_node
  for _ in $(seq 1 "$REPLICAS"); do
    sim_allocate
    sim_create_pod "$SIM_NAME" "$SIM_IP"
    log "  simulated pod $SIM_NAME ($SIM_IP) Running/Ready"
  done
else
  apply_deployment
fi
wait_for "$REPLICAS pods Running and Ready" "$TIMEOUT" all_pods_ready \
  || fail "the workload's pods did not become Ready within ${TIMEOUT}s ($S_LIVE of $REPLICAS pods exist; image pull? E2E_IMAGE=$IMAGE)"

T_GROUP_MS=$(now_ms)
apply_group
log "HighAvailabilityGroup $GROUP applied"
if ! wait_for "one active pod, Lease holder = status.activePod, Endpoints = active pod IP" "$TIMEOUT" steady_state; then
  if [ -z "$S_STATUS_ACTIVE" ] && [ -z "$S_HOLDER" ] && [ -z "$S_ACTIVE" ]; then
    fail "no operator reaction within ${TIMEOUT}s: no pod labelled $ROLE_KEY=active, no status.activePod, no Lease $NS/$GROUP. Is the operator running and watching namespace $NS? (this script never starts it; in kind: helm install charts/failover-operator)"
  fi
  fail "the group did not reach a consistent state within ${TIMEOUT}s: $(describe_state)"
fi
OLD=$S_ACTIVE
OLD_IP=$S_ACTIVE_IP
FAILOVERS_BEFORE=$S_FAILOVERS
log "initial active pod $OLD ($OLD_IP) after $(( $(now_ms) - T_GROUP_MS )) ms; phase=$S_PHASE failoverCount=$S_FAILOVERS"

# --- failover --------------------------------------------------------------------------------
if ! start_watches; then
  log "warning: kubectl watches for the timeline did not start; the timeline will use polled times"
  stop_watches
fi
REPLACEMENT='' REPLACEMENT_PID=''
REPLACEMENT_LOG=$(mktemp "${TMPDIR:-/tmp}/kind-e2e-replacement.XXXXXX")
T_DEL=$(now_ms)
if [ "$MODE" = simulate ]; then
  # Forced: without a kubelet a graceful deletion would never complete.
  out=$(k delete pod "$OLD" -n "$NS" --grace-period=0 --force --wait=false 2>&1) \
    || fail "could not delete pod $OLD: $out"
  log "deleted active pod $OLD (forced: simulated kubelet)"
  # The replacement appears concurrently with the failover, as with a ReplicaSet and a kubelet.
  sim_allocate
  REPLACEMENT=$SIM_NAME
  log "creating replacement pod $SIM_NAME ($SIM_IP) in the background (simulated ReplicaSet + kubelet)"
  ( sim_create_pod "$SIM_NAME" "$SIM_IP" ) >"$REPLACEMENT_LOG" 2>&1 &
  REPLACEMENT_PID=$!
else
  out=$(k delete pod "$OLD" -n "$NS" --wait=false 2>&1) || fail "could not delete pod $OLD: $out"
  log "deleted active pod $OLD"
fi

T_LABEL='' T_LEASE='' T_STATUS='' T_EP='' NEW=''
failover_done() {
  local t; t=$(now_ms)
  if [ "$S_NACTIVE" = 1 ] && [ "$S_ACTIVE" != "$OLD" ]; then
    [ -z "$T_LABEL" ] && { T_LABEL=$t; NEW=$S_ACTIVE; }
  fi
  [ -z "$T_LEASE" ] && [ -n "$S_HOLDER" ] && [ "$S_HOLDER" != "$OLD" ] && T_LEASE=$t
  [ -z "$T_STATUS" ] && [ -n "$S_STATUS_ACTIVE" ] && [ "$S_STATUS_ACTIVE" != "$OLD" ] \
    && [ "$S_FAILOVERS" -ge 1 ] && T_STATUS=$t
  [ -z "$T_EP" ] && [ -n "$S_EP_READY" ] && [ -z "$S_EP_NOTREADY" ] && [[ "$S_EP_READY" != *","* ]] \
    && [ "$S_EP_READY" != "$OLD_IP" ] && [ "$S_EP_READY" = "$S_ACTIVE_IP" ] && T_EP=$t
  # Done when everything agrees on one new active pod.
  steady_state && [ "$S_ACTIVE" != "$OLD" ] && [ "$S_FAILOVERS" -ge 1 ] \
    && [ -n "$T_LABEL" ] && [ -n "$T_LEASE" ] && [ -n "$T_STATUS" ] && [ -n "$T_EP" ]
}
if ! wait_for "a different pod to become active after deleting $OLD" "$FAILOVER_TIMEOUT" failover_done; then
  missing=()
  [ -z "$T_LABEL" ] && missing+=("no other pod labelled $ROLE_KEY=active")
  [ -z "$T_LEASE" ] && missing+=("Lease holder still '${S_HOLDER}'")
  [ -z "$T_STATUS" ] && missing+=("status.activePod/failoverCount not updated")
  [ -z "$T_EP" ] && missing+=("Endpoints of $SERVICE not switched to exactly the new active pod's IP")
  [ ${#missing[@]} -eq 0 ] && missing+=("state never became consistent")
  fail "failover not completed within ${FAILOVER_TIMEOUT}s of deleting $OLD: $(printf '%s; ' "${missing[@]}")last state: $(describe_state)"
fi
NEW=$S_ACTIVE
NEW_IP=$S_ACTIVE_IP

# Back to full strength: every other Ready pod of the group (the replacement too) is labelled
# standby while the new active pod keeps its role.
T_STANDBY=''
others_standby() {
  steady_state && [ "$S_ACTIVE" = "$NEW" ] || return 1
  local counts
  counts=$(jq -r --arg app "$APP" --arg key "$ROLE_KEY" --arg new "$NEW" '
    [.items[] | select(.kind == "Pod" and .metadata.labels.app == $app
       and .metadata.deletionTimestamp == null
       and any(.status.conditions[]?; .type == "Ready" and .status == "True"))] as $ready
    | "\($ready | length) \([$ready[] | select(.metadata.name != $new
                                 and .metadata.labels[$key] != "standby")] | length)"' <<<"$SNAP")
  [ "${counts% *}" -ge "$REPLICAS" ] && [ "${counts#* }" -eq 0 ]
}
if [ -n "$REPLACEMENT_PID" ]; then
  wait "$REPLACEMENT_PID" || fail "could not create the replacement pod $REPLACEMENT: $(cat "$REPLACEMENT_LOG")"
  REPLACEMENT_PID=''
  log "replacement pod $REPLACEMENT Running/Ready"
fi

wait_for "$REPLICAS Ready pods again, all but $NEW labelled $ROLE_KEY=standby" "$FAILOVER_TIMEOUT" others_standby \
  || fail "after the failover, not every other pod is labelled $ROLE_KEY=standby (or $NEW lost the active role): $(describe_state)"
T_STANDBY=$(now_ms)

# --- final assertions ------------------------------------------------------------------------
[ "$NEW" != "$OLD" ] || fail "the active pod did not change ($NEW)"
[ "$S_HOLDER" = "$NEW" ] || fail "Lease holder $S_HOLDER != new active pod $NEW"
[ "$S_STATUS_ACTIVE" = "$NEW" ] || fail "status.activePod $S_STATUS_ACTIVE != new active pod $NEW"
[ "$S_FAILOVERS" -ge 1 ] || fail "status.failoverCount is $S_FAILOVERS, expected >= 1"
[ "$S_FAILOVERS" -gt "$FAILOVERS_BEFORE" ] || fail "status.failoverCount did not increase ($FAILOVERS_BEFORE -> $S_FAILOVERS)"
[ "$S_LF_TO" = "$NEW" ] || fail "status.lastFailover.to is '$S_LF_TO', expected $NEW"
[ "$S_LF_FROM" = "$OLD" ] || fail "status.lastFailover.from is '$S_LF_FROM', expected $OLD"
[ "$S_EP_READY" = "$NEW_IP" ] || fail "Endpoints of $SERVICE are [$S_EP_READY], expected exactly [$NEW_IP]"
if k get pod "$OLD" -n "$NS" >/dev/null 2>&1 && [ "$MODE" = simulate ]; then
  fail "deleted pod $OLD still exists"
fi
[ "$(jq -r --arg n "$NEW" '.items[] | select(.kind == "Pod" and .metadata.name == $n) | .metadata.labels.app' <<<"$SNAP")" = "$APP" ] \
  || fail "new active pod $NEW is not one of the group's pods"
standbys=$(jq -r --arg app "$APP" --arg key "$ROLE_KEY" --arg new "$NEW" '[.items[] | select(.kind == "Pod"
  and .metadata.labels.app == $app and .metadata.deletionTimestamp == null and .metadata.name != $new)
  | "\(.metadata.name)=\(.metadata.labels[$key] // "<unlabelled>")"] | join(" ")' <<<"$SNAP")
lf_ms=$(jq -r --arg g "$GROUP" '.items[] | select(.kind == "HighAvailabilityGroup" and .metadata.name == $g)
  | .status.lastFailover.durationMilliseconds // "n/a"' <<<"$SNAP")

stop_watches
# shellcheck disable=SC2016 # jq variables
{
  W_DELETED=$(watch_time pods '.name == $old and (.type == "DELETED" or .deleting)')
  W_LABEL=$(watch_time pods '.type != "DELETED" and (.deleting | not) and .name == $new and .labels[$key] == "active"')
  W_LEASE=$(watch_time lease '.holder == $new')
  W_STATUS=$(watch_time group '.active == $new')
  W_EP=$(watch_time endpoints '.ips == [$ip]')
}
if [ -n "$W_LABEL" ] && [ -n "$W_EP" ]; then
  TIMING="watched: each change stamped when its watch event arrived"
  T_LABEL=$W_LABEL T_LEASE=${W_LEASE:-$T_LEASE} T_STATUS=${W_STATUS:-$T_STATUS} T_EP=$W_EP
else
  TIMING="polled: each time is an upper bound, resolution ~${POLL}s + one kubectl call"
  W_DELETED=''
fi
rel() { if [ -n "$1" ]; then echo "+$(( $1 - T_DEL )) ms"; else echo "n/a"; fi; }
cat <<EOF
kind-e2e: failover verified ($MODE mode, namespace $NS)
  old active          $OLD ($OLD_IP)
  new active          $NEW ($NEW_IP)
  other pods          $standbys
  failoverCount       $FAILOVERS_BEFORE -> $S_FAILOVERS, lastFailover $S_LF_FROM -> $S_LF_TO (operator-reported ${lf_ms} ms), phase $S_PHASE
  timeline ($TIMING):
    delete active pod (request sent)  +0 ms
    deletion seen by watchers         $(rel "$W_DELETED")
    new active labelled               $(rel "$T_LABEL")
    Lease holder changed              $(rel "$T_LEASE")
    status.activePod updated          $(rel "$T_STATUS")
    Endpoints switched to new active  $(rel "$T_EP")
    all other pods standby (polled)   $(rel "$T_STANDBY")
  total run time                      $(( $(now_ms) - T_START_MS )) ms
EOF
