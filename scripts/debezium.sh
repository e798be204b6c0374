#!/usr/bin/env bash
# debezium.sh — real Debezium (PostgreSQL connector on a Kafka Connect standalone worker) against the
# local stack's PostgreSQL and Kafka broker (scripts/stack.sh up --with-kafka).
#
# Usage: scripts/debezium.sh start [config.json] [key=value ...] | stop | status
#
#   start   start the worker (no-op when it runs), then register the connector with
#           scripts/register_connector.sh (default connectors/postgres-source.json), pointed at this
#           stack's PostgreSQL (database.hostname/port/dbname; key=value overrides more) and wait
#           until it is RUNNING. Topics: <topic.prefix>.<schema>.<table> (streamshop_dbz.public.orders)
#   stop    stop the worker (no-op when stopped); the slot and the offsets file stay
#   status  worker and connector state; exit 0 when the worker runs, 3 otherwise
#
# Environment:
#   STREAMSHOP_STACK_DIR     the stack's state dir (default <repo>/.streamshop)
#   STREAMSHOP_CONNECT_PORT  Connect REST port (default 18083)
#   STREAMSHOP_KAFKA_BROKERS brokers (default: the stack's, from <dir>/env)
#   STREAMSHOP_PG_URL        PostgreSQL whose host, port and database the connector uses (default: the stack's);
#                            with sslmode=verify-full (`stack up --tls`) the connector verifies it with sslrootcert
#   STREAMSHOP_PG_PASSWORD   the connector's database password (connectors/postgres-source.json says
#                            ${env:STREAMSHOP_PG_PASSWORD}; the worker resolves it from its environment, so it is in
#                            no command line, REST answer or log); default: the stack's password for streamshop_cdc
#                            (<dir>/secrets/pg_cdc_password). Set when the worker starts.
#   STREAMSHOP_CONNECT_HEAP  worker max heap (default 512m)
#   STREAMSHOP_DEPS_DIR      fetched jars (default <repo>/.streamshop-deps; scripts/bootstrap-kafka.sh)
#
# On the stack's broker (SASL_PLAINTEXT, or SASL_SSL after scripts/stack.sh up --tls) the worker and its producers,
# consumers and admin clients log in with the stack's <dir>/kafka/client.properties (SCRAM-SHA-512 user streamshop;
# with --tls the stack's CA).
#
# Layout: <dir>/debezium/{connect.properties,log4j2.properties,offsets.dat,connect.pid,log/connect.log}
#         (the dir 0700, connect.properties 0600: it may hold the Kafka password)
# The worker is standalone: source offsets persist in offsets.dat (flushed every second), connector
# configs do not (every `start` registers again). The worker's converters are JSON with
# schemas.enable=true (Kafka's JsonConverter default, also kept by Debezium's container images).
set -euo pipefail
umask 077

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STATE_DIR=$(realpath -m "${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}")
DEPS_DIR=$(realpath -m "${STREAMSHOP_DEPS_DIR:-$REPO/.streamshop-deps}")
DBZ_DIR=$STATE_DIR/debezium
CONFIG=$DBZ_DIR/connect.properties
PIDFILE=$DBZ_DIR/connect.pid
CONNECT_PORT=${STREAMSHOP_CONNECT_PORT:-18083}
START_TIMEOUT=120
STOP_TIMEOUT=30

say() { echo "debezium: $*"; }
die() { echo "debezium: error: $*" >&2; exit 1; }

# shellcheck source=scripts/process.sh
source "$(dirname "${BASH_SOURCE[0]}")/process.sh"
pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }
connect_pid() { cat "$PIDFILE" 2>/dev/null || true; }
connect_running() {
  local pid
  pid=$(connect_pid)
  pid_alive "$pid" && [[ "$(pid_cmdline "$pid")" == *".ConnectStandalone $CONFIG "* ]]
}
connect_port_running() { sed -n 's|^listeners=http://.*:\([0-9]*\)$|\1|p' "$CONFIG"; }
rest_ok() { curl -sf --max-time 2 "http://127.0.0.1:$1/" >/dev/null; }

# The stack's service addresses: the environment's, else <dir>/env.
load_stack_env() {
  local kafka=${STREAMSHOP_KAFKA_BROKERS:-} pg=${STREAMSHOP_PG_URL:-}
  if [[ -f "$STATE_DIR/env" ]]; then
    # shellcheck disable=SC1091
    source "$STATE_DIR/env"
  fi
  STACK_BROKERS=$(sed -n 's/^export STREAMSHOP_KAFKA_BROKERS=//p' "$STATE_DIR/env" 2>/dev/null || true)
  BROKERS=${kafka:-${STREAMSHOP_KAFKA_BROKERS:-}}
  PG_URL=${pg:-${STREAMSHOP_PG_URL:-}}
  [[ -n "$BROKERS" ]] ||
    die "no Kafka broker: run scripts/stack.sh up --with-kafka (or set STREAMSHOP_KAFKA_BROKERS)"
  [[ -n "$PG_URL" ]] || die "no PostgreSQL: run scripts/stack.sh up (or set STREAMSHOP_PG_URL)"
  # Connect waits (minutes) for an absent broker at startup: fail fast instead.
  local first=${BROKERS%%,*}
  if ! (exec 3<>"/dev/tcp/${first%:*}/${first##*:}") 2>/dev/null; then
    die "Kafka broker $first is not reachable: run scripts/stack.sh up --with-kafka"
  fi
}

write_config() {
  mkdir -p "$DBZ_DIR/log"
  chmod 700 "$DBZ_DIR"
  : >"$CONFIG" && chmod 600 "$CONFIG"
  {
    cat <<EOF
# written by scripts/debezium.sh on every start
bootstrap.servers=$BROKERS
listeners=http://127.0.0.1:$CONNECT_PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$CONNECT_PORT
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.file.filename=$DBZ_DIR/offsets.dat
offset.flush.interval.ms=1000
plugin.path=$DEPS_DIR/debezium/plugins
plugin.discovery=service_load
# lets connector configs say \${env:NAME} (e.g. the database password)
config.providers=env
config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
EOF
    # The stack's broker: the same client settings (its user; with --tls its CA) for the worker and each client it makes.
    local client=$STATE_DIR/kafka/client.properties line prefix
    if [[ -f "$client" && "$BROKERS" == "$STACK_BROKERS" ]]; then
      echo "# the stack's broker: $client"
      while IFS= read -r line; do
        [[ "$line" =~ ^[a-z] ]] || continue
        for prefix in "" producer. consumer. admin.; do printf '%s%s\n' "$prefix" "$line"; done
      done <"$client"
    fi
  } >"$CONFIG"
  cat >"$DBZ_DIR/log4j2.properties" <<EOF
# written by scripts/debezium.sh on every start
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $DBZ_DIR/log/connect.log
appender.file.filePattern = $DBZ_DIR/log/connect.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %X{connector.context}%m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 100MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
EOF
}

cmd_start() {
  local file=$REPO/connectors/postgres-source.json
  if (($# > 0)) && [[ "$1" != *=* ]]; then file=$(realpath "$1"); shift; fi
  [[ -f "$file" ]] || die "no connector config file $file"
  load_stack_env
  if connect_running; then
    say "worker already running (pid $(connect_pid), REST port $(connect_port_running))"
    CONNECT_PORT=$(connect_port_running)
  else
    command -v java >/dev/null || die "java not found; Kafka Connect needs Java 17+"
    if ss -Hltn "sport = :$CONNECT_PORT" 2>/dev/null | grep -q .; then
      die "port $CONNECT_PORT is already in use; set STREAMSHOP_CONNECT_PORT to a free port"
    fi
    STREAMSHOP_DEPS_DIR=$DEPS_DIR bash "$REPO/scripts/bootstrap-kafka.sh" --quiet debezium >&2 ||
      die "the Debezium jars are missing and scripts/bootstrap-kafka.sh failed"
    write_config
    if [[ -z "${STREAMSHOP_PG_PASSWORD:-}" && -s "$STATE_DIR/secrets/pg_cdc_password" ]]; then
      STREAMSHOP_PG_PASSWORD=$(cat "$STATE_DIR/secrets/pg_cdc_password")
      export STREAMSHOP_PG_PASSWORD
    fi
    local started=$SECONDS
    (cd "$DBZ_DIR" && exec setsid nohup java -Xmx"${STREAMSHOP_CONNECT_HEAP:-512m}" -Xms128m \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$DBZ_DIR/log4j2.properties" \
      -cp "$DEPS_DIR/debezium/lib/*" org.apache.kafka.connect.cli.ConnectStandalone "$CONFIG" \
      </dev/null >>"$DBZ_DIR/log/stdout.log" 2>&1) &
    echo $! >"$PIDFILE"
    local deadline=$((SECONDS + START_TIMEOUT))
    until rest_ok "$CONNECT_PORT"; do
      if ((SECONDS >= deadline)) || ! { ((SECONDS - started < 3)) && pid_alive "$(connect_pid)" || connect_running; }; then
        tail -n 30 "$DBZ_DIR/log/stdout.log" "$DBZ_DIR/log/connect.log" >&2 2>/dev/null || true
        die "Kafka Connect did not become ready"
      fi
      sleep 0.5
    done
    connect_running || die "Connect answers on port $CONNECT_PORT but pid $(connect_pid) is not it"
    say "worker started (pid $(connect_pid), REST port $CONNECT_PORT, brokers $BROKERS) in $((SECONDS - started)) s"
  fi
  # Point the connector at this stack's PostgreSQL: postgresql://[user@]host:port/db
  local hostport db overrides=()
  if [[ "$PG_URL" =~ ^postgres(ql)?://([^@/]*@)?([^/?]+)(/([^?]*))? ]]; then
    hostport=${BASH_REMATCH[3]}
    db=${BASH_REMATCH[5]}
    overrides+=("database.hostname=${hostport%:*}")
    [[ "$hostport" == *:* ]] && overrides+=("database.port=${hostport##*:}")
    [[ -n "$db" ]] && overrides+=("database.dbname=$db")
    # TLS as the URL asks (the stack's --tls URL: sslmode=verify-full&sslrootcert=<dir>/tls/ca.pem).
    local param
    for param in sslmode sslrootcert; do
      if [[ "$PG_URL" =~ [?\&]$param=([^\&]*) ]]; then
        overrides+=("database.$param=$(printf '%b' "${BASH_REMATCH[1]//%/\\x}")")
      fi
    done
  else
    die "cannot parse STREAMSHOP_PG_URL (expected postgresql://[user[:password]@]host[:port]/db)"
  fi
  STREAMSHOP_CONNECT_URL=http://127.0.0.1:$CONNECT_PORT \
    bash "$REPO/scripts/register_connector.sh" "$file" "${overrides[@]}" "$@"
}

cmd_stop() {
  if ! connect_running; then
    rm -f "$PIDFILE"
    say "worker already stopped"
    return 0
  fi
  stop_process "worker" "$(connect_pid)" "$PIDFILE" "$STOP_TIMEOUT"
}

cmd_status() {
  if ! connect_running; then
    say "worker: stopped  port $CONNECT_PORT"
    return 3
  fi
  local port
  port=$(connect_port_running)
  say "worker: running  port $port  pid $(connect_pid)"
  local names n
  names=$(curl -sf --max-time 5 "http://127.0.0.1:$port/connectors" 2>/dev/null | jq -r '.[]' 2>/dev/null || true)
  for n in $names; do
    curl -sf --max-time 5 "http://127.0.0.1:$port/connectors/$n/status" 2>/dev/null |
      jq -r '"debezium: connector \(.name): \(.connector.state); tasks: \([.tasks[] | "\(.id)=\(.state)"] | join(" "))"' ||
      true
  done
  return 0
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) sed -n '5,14s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
