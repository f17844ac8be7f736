# Shell helpers shared by the hack/ scripts (sourced; the script defines die, and log where used).

# True while the process runs. kill -0 also succeeds for an exited process that is not yet
# reaped; its /proc status then says Z.
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# The PID recorded in FILE, if that process is alive and its command line contains TEXT (a PID file
# outlives its process, and the PID may have been reused by another).
recorded_pid() {
  local file=$1 text=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$text" || return 1
  echo "$pid"
}

# True when no socket on this machine uses the port (listening or connected); falls back to a
# connect test where ss is missing.
port_free() {
  if command -v ss >/dev/null 2>&1; then [ -z "$(ss -Htan "sport = :$1" 2>/dev/null)" ]
  else ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; fi
}

# A free port below the kernel's ephemeral range (read, never changed), so an outgoing connection
# cannot take it between the check and the bind; not already handed out in this run (file $1).
free_port() {
  local taken=$1 p _ low=20000 high
  high=$(awk '{print $1 - 1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32767)
  [ "$high" -gt $((low + 1000)) ] || { low=10000; high=19999; }
  for _ in $(seq 1 200); do
    p=$(( (RANDOM * 32768 + RANDOM) % (high - low + 1) + low ))
    grep -qx "$p" "$taken" 2>/dev/null && continue
    if port_free "$p"; then echo "$p" >>"$taken"; echo "$p"; return; fi
  done
  die "no free port found"
}

# Prints those of the given Debian packages that are not installed.
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# Starts a command in its own session, output in $DIR/logs/NAME.log, PID in $DIR/pids/NAME.pid.
start_bg() { # name command...
  local name=$1; shift
  setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
}

# Stops a process: TERM, then KILL once $2 seconds (default 15) have passed; returns when it is gone
# (1 if it survived KILL for 5 s more).
stop_pid() {
  local pid=$1 deadline=$((SECONDS + ${2:-15})) killed=
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid"; do
    if [ $SECONDS -ge $deadline ]; then
      [ -n "$killed" ] && return 1
      kill -KILL "$pid" 2>/dev/null || true
      killed=1; deadline=$((SECONDS + 5))
    fi
    sleep 0.1
  done
}

# dotnet build/publish with its output shown only if it fails.
dotnet_quiet() {
  local out status=0
  out=$(dotnet "$@" --nologo -v quiet 2>&1) || status=$?
  [ $status -eq 0 ] || echo "$out" >&2
  return $status
}
