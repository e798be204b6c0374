#!/usr/bin/env bash
# stack.sh — a private PostgreSQL 15 and ClickHouse 18.16 on 127.0.0.1, run as plain processes.
#
# Usage: scripts/stack.sh up|down|status|restart-postgres|restart-clickhouse|destroy
#
#   up                  start both services (no-op for one already running), write <dir>/env
#   down                stop both services (no-op when stopped)
#   status              print each service's state; exit 0 when both run, 3 otherwise
#   restart-postgres    stop and start PostgreSQL only
#   restart-clickhouse  stop and start ClickHouse only
#   destroy             down, then remove the state dir's contents (and any /var/tmp data dir)
#
# Environment (so that several stacks can run side by side; nothing here is global):
#   STREAMSHOP_STACK_DIR     state dir (default <repo>/.streamshop)
#   STREAMSHOP_PG_PORT       PostgreSQL port        (default 15432)
#   STREAMSHOP_CH_HTTP_PORT  ClickHouse HTTP port   (default 18123)
#   STREAMSHOP_CH_TCP_PORT   ClickHouse native port (default 19000)
# A port left unset falls back to the one the stack last ran with, then to the default.
#
# Layout: <dir>/postgres/{data,log}   PostgreSQL cluster, log, unix socket
#         <dir>/clickhouse/{config.xml,users.xml,data,tmp,user_files,format_schemas,log}
#         <dir>/env                   `source` it for STREAMSHOP_PG_URL and STREAMSHOP_CLICKHOUSE_URL
#         <dir>/ports                 the ports of the last `up`
# Requires the packages that scripts/bootstrap.sh installs.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STATE_DIR=$(realpath -m "${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}")
PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=$STATE_DIR/postgres
CH_DIR=$STATE_DIR/clickhouse
CH_CONFIG=$CH_DIR/config.xml
CH_PIDFILE=$CH_DIR/clickhouse-server.pid
START_TIMEOUT=60   # seconds to wait for a service to answer
STOP_TIMEOUT=30    # seconds to wait for ClickHouse to exit before SIGKILL

say() { echo "stack: $*"; }
die() { echo "stack: error: $*" >&2; exit 1; }

# Port: the environment's, else the one of the last `up` (<dir>/ports), else the default.
saved_port() {
  local v=""
  [[ -f "$STATE_DIR/ports" ]] && v=$(sed -n "s/^$1=\([0-9]*\)$/\1/p" "$STATE_DIR/ports")
  echo "${v:-$2}"
}
load_ports() {
  PG_PORT=${STREAMSHOP_PG_PORT:-$(saved_port PG_PORT 15432)}
  CH_HTTP_PORT=${STREAMSHOP_CH_HTTP_PORT:-$(saved_port CH_HTTP_PORT 18123)}
  CH_TCP_PORT=${STREAMSHOP_CH_TCP_PORT:-$(saved_port CH_TCP_PORT 19000)}
  local p
  for p in "$PG_PORT" "$CH_HTTP_PORT" "$CH_TCP_PORT"; do
    if ! [[ "$p" =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then die "invalid port '$p'"; fi
  done
  [[ "$CH_HTTP_PORT" != "$CH_TCP_PORT" ]] || die "ClickHouse HTTP and TCP ports are both $CH_TCP_PORT"
}

# Fails when something else listens on the port; $2 names the variable that moves it.
check_port_free() {
  local port=$1 var=$2 line who
  line=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1)
  [[ -z "$line" ]] && return 0
  who=$(grep -o 'users:(([^)]*))' <<<"$line" | sed -E 's/users:\(\("([^"]*)",pid=([0-9]+).*/\1, pid \2/' || true)
  die "port $port is already in use${who:+ (by $who)}; set $var to a free port"
}

# Waits until "$@" succeeds; fails, showing the log, on timeout or as soon as $alive fails.
wait_until() {
  local what=$1 log=$2 alive=$3; shift 3
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)) || ! $alive; then
      echo "stack: error: $what did not become ready; last lines of $log:" >&2
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

# A zombie (a launcher that died but was not reaped yet) counts as dead.
pid_alive() { [[ -n "${1:-}" && "$(ps -o stat= -p "$1" 2>/dev/null)" == [!Z]* ]]; }
pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# ---------------------------------------------------------------- PostgreSQL

# PostgreSQL refuses to run as root: as root, its tools run as the `postgres` system user.
# They run from / because the caller's working directory may be closed to that user.
as_pg() { if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

pg_real_dir() { realpath -m "$PG_DIR"; }
pg_data() { echo "$(pg_real_dir)/data"; }
pg_log() { echo "$(pg_real_dir)/log/postgres.log"; }
pg_pid() { head -n 1 "$(pg_data)/postmaster.pid" 2>/dev/null || true; }
# Running = postmaster.pid names a live process that serves this stack's data dir.
pg_running() {
  local pid
  pid=$(pg_pid)
  pid_alive "$pid" && [[ "$(pid_cmdline "$pid")" == *" -D $(pg_data) "* ]]
}
pg_port_running() { sed -n 4p "$(pg_data)/postmaster.pid"; }

# Creates <dir>/postgres. When the `postgres` user cannot traverse to the state dir (e.g. a repo
# under /root), or the path is too long for a unix socket (~107 bytes), the data lives under
# /var/tmp/streamshop-<sha1 of the state dir, 12 chars>/postgres and <dir>/postgres is a symlink
# to it; `destroy` removes that target too.
pg_make_dir() {
  if [[ ! -e "$PG_DIR" && ! -L "$PG_DIR" ]]; then
    if ((EUID == 0)) && ! runuser -u postgres -- test -x "$STATE_DIR" || ((${#PG_DIR} > 80)); then
      ln -s "/var/tmp/streamshop-$(printf '%s' "$STATE_DIR" | sha1sum | cut -c1-12)/postgres" "$PG_DIR"
    fi
  fi
  [[ -d "$(pg_real_dir)/log" ]] && return 0   # (also recreates a symlink target that was wiped)
  mkdir -p "$(pg_real_dir)/log"
  [[ -L "$PG_DIR" ]] && chmod 755 "$(dirname "$(pg_real_dir)")"
  if ((EUID == 0)); then chown -R postgres: "$(pg_real_dir)"; fi
}

pg_init() {
  [[ -f "$(pg_data)/PG_VERSION" ]] && return 0
  local locale=C
  locale -a 2>/dev/null | grep -qixE 'c\.utf-?8' && locale=C.UTF-8
  rm -rf "$(pg_data)"   # a half-done earlier initdb
  say "postgres: initdb ($(pg_data), locale $locale)"
  as_pg "$PG_BIN/initdb" -D "$(pg_data)" --auth=trust -U postgres --encoding=UTF8 \
    --locale="$locale" >"$(pg_real_dir)/log/initdb.log" 2>&1 ||
    { tail -n 30 "$(pg_real_dir)/log/initdb.log" >&2; die "initdb failed"; }
  echo "include_if_exists = 'streamshop.conf'" | as_pg tee -a "$(pg_data)/postgresql.conf" >/dev/null
}

pg_start() {
  if pg_running; then
    say "postgres: already running (pid $(pg_pid), port $(pg_port_running))"
    return 0
  fi
  check_port_free "$PG_PORT" STREAMSHOP_PG_PORT
  pg_make_dir
  pg_init
  pg_clear_stale_lock
  # Rewritten on every start so that a changed port takes effect. Durability settings stay default.
  as_pg tee "$(pg_data)/streamshop.conf" >/dev/null <<EOF
# written by scripts/stack.sh on every start
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$(pg_real_dir)'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
EOF
  as_pg "$PG_BIN/pg_ctl" -D "$(pg_data)" -l "$(pg_log)" -W start >/dev/null
  local started=$SECONDS
  wait_until postgres "$(pg_log)" pg_running_soon \
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 1
  pg_bootstrap_role
  say "postgres: started (pid $(pg_pid), port $PG_PORT) in $((SECONDS - started)) s"
}
# postmaster.pid appears a moment after pg_ctl returns: give it 3 s before judging it dead.
pg_running_soon() { ((SECONDS - started < 3)) || pg_running; }

# After a crash (kill -9) the dead postmaster can linger as a zombie for a while (this machine's
# init reaps late), and PostgreSQL takes a zombie's pid in postmaster.pid for a live server.
# Once no process works in the data dir any more (every backend chdirs there), the lock is stale,
# and so are the socket lock files in the socket dir, which belongs to this stack alone.
pg_clear_stale_lock() {
  local lock deadline=$((SECONDS + 10)) d
  lock="$(pg_data)/postmaster.pid"
  [[ -f "$lock" ]] || return 0
  while :; do
    local busy=""
    for d in /proc/[0-9]*; do
      [[ "$(readlink "$d/cwd" 2>/dev/null)" == "$(pg_data)" ]] && busy+=" ${d#/proc/}"
    done
    [[ -z "$busy" ]] && break
    ((SECONDS < deadline)) || die "postgres: processes$busy still use $(pg_data); stop them first"
    sleep 0.5
  done
  say "postgres: removing stale lock files (pid $(pg_pid) is gone)"
  rm -f "$lock" "$(pg_real_dir)"/.s.PGSQL.*
}

pg_psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

pg_bootstrap_role() {
  pg_psql -d postgres -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamshop') THEN
        CREATE ROLE streamshop LOGIN SUPERUSER REPLICATION;
      END IF; END \$\$;" >/dev/null
  if [[ -z "$(pg_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'streamshop'")" ]]; then
    pg_psql -d postgres -c "CREATE DATABASE streamshop OWNER streamshop" >/dev/null
  fi
}

pg_stop() {
  if ! pg_running; then
    say "postgres: already stopped"
    return 0
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$(pg_data)" -m fast -t "$START_TIMEOUT" -w stop >/dev/null
  say "postgres: stopped"
}

# ---------------------------------------------------------------- ClickHouse

ch_bin() {
  local b
  for b in /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
    [[ -x "$b" ]] && { echo "$b"; return; }
  done
  command -v clickhouse-server || die "clickhouse-server not found; run scripts/bootstrap.sh"
}

ch_pid() { cat "$CH_PIDFILE" 2>/dev/null || true; }
# Running = the pid file's process is alive and was started with this stack's config file.
ch_running() {
  local pid
  pid=$(ch_pid)
  pid_alive "$pid" && [[ "$(pid_cmdline "$pid")" == *" --config-file=$CH_CONFIG "* ]]
}
ch_port_running() { sed -n 's:.*<http_port>\(.*\)</http_port>.*:\1:p' "$CH_CONFIG"; }
ch_tcp_port_running() { sed -n 's:.*<tcp_port>\(.*\)</tcp_port>.*:\1:p' "$CH_CONFIG"; }

# ClickHouse 18.16 config: the root element is <yandex>; paths must end with '/'.
# No interserver_http_port (only used by replicated tables), so two stacks never collide on it.
ch_write_config() {
  mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas,log}
  cat >"$CH_CONFIG" <<EOF
<?xml version="1.0"?>
<!-- written by scripts/stack.sh on every start -->
<yandex>
    <logger>
        <level>information</level>
        <log>$CH_DIR/log/clickhouse-server.log</log>
        <errorlog>$CH_DIR/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_TCP_PORT</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$CH_DIR/data/</path>
    <tmp_path>$CH_DIR/tmp/</tmp_path>
    <user_files_path>$CH_DIR/user_files/</user_files_path>
    <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
    <users_config>$CH_DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mlock_executable>false</mlock_executable>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
    </query_log>
</yandex>
EOF
  cat >"$CH_DIR/users.xml" <<EOF
<?xml version="1.0"?>
<!-- written by scripts/stack.sh on every start -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>10000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

ch_ping() { [[ "$(curl -sf --max-time 2 "http://127.0.0.1:$CH_HTTP_PORT/ping")" == "Ok." ]]; }

ch_start() {
  if ch_running; then
    say "clickhouse: already running (pid $(ch_pid), http port $(ch_port_running))"
    return 0
  fi
  check_port_free "$CH_HTTP_PORT" STREAMSHOP_CH_HTTP_PORT
  check_port_free "$CH_TCP_PORT" STREAMSHOP_CH_TCP_PORT
  ch_write_config
  local bin started=$SECONDS
  bin=$(ch_bin)
  # setsid: own session, so the server outlives the caller and its process group. Without job
  # control the subshell is no group leader, so setsid execs in place and $! is the server's pid.
  # (18.16 writes --pid-file only with --daemon, which would also send early errors to /dev/null.)
  (cd "$CH_DIR" && exec setsid nohup "$bin" --config-file="$CH_CONFIG" \
    </dev/null >>"$CH_DIR/log/stdout.log" 2>&1) &
  echo $! >"$CH_PIDFILE"
  wait_until clickhouse "$CH_DIR/log/clickhouse-server.log" ch_running_soon ch_ping
  ch_running || die "clickhouse answers on port $CH_HTTP_PORT but pid $(ch_pid) is not it"
  say "clickhouse: started (pid $(ch_pid), http port $CH_HTTP_PORT, tcp port $CH_TCP_PORT) in $((SECONDS - started)) s"
}
# Until the launcher has exec'd the server, its cmdline is still the shell's.
ch_running_soon() {
  ((SECONDS - started < 3)) && pid_alive "$(ch_pid)" || ch_running ||
    { tail -n 30 "$CH_DIR/log/stdout.log" >&2; return 1; }
}

ch_stop() {
  if ! ch_running; then
    rm -f "$CH_PIDFILE"
    say "clickhouse: already stopped"
    return 0
  fi
  local pid deadline=$((SECONDS + STOP_TIMEOUT))
  pid=$(ch_pid)
  kill -TERM "$pid"
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      say "clickhouse: still running after ${STOP_TIMEOUT} s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "$CH_PIDFILE"
  say "clickhouse: stopped"
}

# ---------------------------------------------------------------- commands

write_ports() {
  printf 'PG_PORT=%s\nCH_HTTP_PORT=%s\nCH_TCP_PORT=%s\n' "$PG_PORT" "$CH_HTTP_PORT" "$CH_TCP_PORT" \
    >"$STATE_DIR/ports"
}

write_env() {
  cat >"$STATE_DIR/env" <<EOF
export STREAMSHOP_PG_URL=postgresql://streamshop@127.0.0.1:$PG_PORT/streamshop
export STREAMSHOP_CLICKHOUSE_URL=http://127.0.0.1:$CH_HTTP_PORT
EOF
}

cmd_up() {
  mkdir -p "$STATE_DIR"
  write_ports
  pg_start
  ch_start
  write_env
  say "up: $STATE_DIR"
  say "  postgres:   postgresql://streamshop@127.0.0.1:$PG_PORT/streamshop"
  say "  clickhouse: http://127.0.0.1:$CH_HTTP_PORT (native tcp $CH_TCP_PORT)"
  say "  source $STATE_DIR/env"
}

cmd_down() {
  [[ -d "$STATE_DIR" ]] || { say "nothing at $STATE_DIR; already down"; return 0; }
  ch_stop
  pg_stop
}

cmd_status() {
  local ok=0
  if [[ -e "$PG_DIR" ]] && pg_running; then
    say "postgres:   running  port $(pg_port_running)  pid $(pg_pid)"
  else
    say "postgres:   stopped  port $PG_PORT"; ok=3
  fi
  if ch_running; then
    say "clickhouse: running  port $(ch_port_running)  pid $(ch_pid)  (tcp $(ch_tcp_port_running))"
  else
    say "clickhouse: stopped  port $CH_HTTP_PORT"; ok=3
  fi
  return $ok
}

cmd_destroy() {
  cmd_down
  local target=""
  [[ -L "$PG_DIR" ]] && target=$(dirname "$(realpath -m "$PG_DIR")")
  # Only what this script created goes, so a state dir pointed at e.g. /tmp is not wiped.
  rm -rf "$PG_DIR" "$CH_DIR" "$STATE_DIR/env" "$STATE_DIR/ports"
  [[ "$target" == /var/tmp/streamshop-* ]] && rm -rf "$target"
  rmdir "$STATE_DIR" 2>/dev/null || true
  say "destroyed $STATE_DIR"
}

main() {
  load_ports
  case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    restart-postgres) mkdir -p "$STATE_DIR"; pg_stop; pg_start ;;
    restart-clickhouse) mkdir -p "$STATE_DIR"; ch_stop; ch_start ;;
    destroy) cmd_destroy ;;
    *) sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
}

main "$@"
