# Process helpers shared by stack.sh and debezium.sh (sourced; the caller defines say()).

# A live (non-zombie) process with this pid.
pid_alive() { [[ -n "${1:-}" && "$(ps -o stat= -p "$1" 2>/dev/null)" == [!Z]* ]]; }

# stop_process LABEL PID PIDFILE [TIMEOUT]: SIGTERM, wait, SIGKILL after TIMEOUT seconds (default 30),
# then remove the pid file.
stop_process() {
  local label=$1 pid=$2 pidfile=$3 deadline=$((SECONDS + ${4:-30}))
  kill -TERM "$pid" 2>/dev/null || true
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      say "$label still running after ${4:-30} s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
  say "$label stopped"
}
