# Shell helpers shared by hack/control-plane.sh and hack/node.sh (sourced; they set DIR and log/die).

# True while the process runs. kill -0 also succeeds for an exited process that is not yet
# reaped; its /proc status then says Z.
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A free loopback port in 30000-49999, not already handed out in this run (recorded in file $1).
free_port() {
  local taken=$1 p _
  for _ in $(seq 1 200); do
    p=$(( (RANDOM * 32768 + RANDOM) % 20000 + 30000 ))
    grep -qx "$p" "$taken" 2>/dev/null && continue
    if port_free "$p"; then echo "$p" >>"$taken"; echo "$p"; return; fi
  done
  die "no free port found"
}

# Starts a command in its own session, output in $DIR/logs/NAME.log, PID in $DIR/pids/NAME.pid.
start_bg() { # name command...
  local name=$1; shift
  setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
}
