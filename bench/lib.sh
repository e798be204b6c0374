# Shared set-up of the benchmark scripts (sourced after they set their own parameters):
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" NAME
# starts the private benchmark stack (.streamshop-bench, ports 22001–22003 — below Linux's ephemeral port range —
# unless STREAMSHOP_* say otherwise), gives
# $WORK = <stack dir>/bench-NAME (emptied), kills the pids in PIDS and stops the stack on exit, and defines pg, ch,
# now and confirmed.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STREAMSHOP=${STREAMSHOP:-$REPO/build/streamshop}
export STREAMSHOP_STACK_DIR=${STREAMSHOP_STACK_DIR:-$REPO/.streamshop-bench}
export STREAMSHOP_PG_PORT=${STREAMSHOP_PG_PORT:-22001} STREAMSHOP_CH_HTTP_PORT=${STREAMSHOP_CH_HTTP_PORT:-22002}
export STREAMSHOP_CH_TCP_PORT=${STREAMSHOP_CH_TCP_PORT:-22003}
# With STREAMSHOP_WITH_KAFKA=1 the stack also runs Kafka (22004, controller 22005); Debezium's Connect REST: 22006.
export STREAMSHOP_KAFKA_PORT=${STREAMSHOP_KAFKA_PORT:-22004} STREAMSHOP_CONNECT_PORT=${STREAMSHOP_CONNECT_PORT:-22006}
export STREAMSHOP_KAFKA_CONTROLLER_PORT=${STREAMSHOP_KAFKA_CONTROLLER_PORT:-$((STREAMSHOP_KAFKA_PORT + 1))}

bash "$REPO/scripts/stack.sh" up >/dev/null
WORK=$STREAMSHOP_STACK_DIR/bench-$1
rm -rf "$WORK" && mkdir -p "$WORK"
PIDS=()
bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$REPO/scripts/stack.sh" down >/dev/null
}
trap bench_cleanup EXIT
# shellcheck disable=SC1091
source "$STREAMSHOP_STACK_DIR/env"
source "$REPO/scripts/clients.sh"   # pg, ch: the stack's clients, no password on a command line
now() { echo "$EPOCHREALTIME"; }
# $WORK/clickhouse-client.xml (0600): clickhouse-client's user and password for the stack's native port (the password
# stays off its command line), and TLS verified by the stack's CA after `stack up --tls`.
ch_client_config() {
  local f=$WORK/clickhouse-client.xml
  (
    umask 077
    printf '<config>\n  <user>default</user>\n  <password>%s</password>\n' "$(cat "$STREAMSHOP_STACK_DIR/secrets/clickhouse_password")"
    if [[ -n "${STREAMSHOP_CLICKHOUSE_CA_FILE:-}" ]]; then
      printf '  <secure>true</secure>\n  <openSSL><client><caConfig>%s</caConfig><verificationMode>strict</verificationMode>' \
        "$STREAMSHOP_CLICKHOUSE_CA_FILE"
      printf '<loadDefaultCAFile>false</loadDefaultCAFile></client></openSSL>\n'
    fi
    echo '</config>'
  ) >"$f"
  echo "$f"
}
# peak_rss_mb PID: the process's peak resident set so far, in MB.
peak_rss_mb() { awk '/VmHWM/ {printf "%d", $2 / 1024}' "/proc/$1/status"; }
# cpu_ticks PID…: user + system CPU the processes have used so far, in clock ticks (getconf CLK_TCK per second).
cpu_ticks() {
  local p t=0
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
# median VALUES…
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
# range VALUES…: "min–max"
range() { printf '%s\n' "$@" | sort -n | awk 'NR == 1 {min = $1} {max = $1} END {printf "%s–%s", min, max}'; }
# record LABEL EVENTS SECONDS…: appends "LABEL<TAB>median ev/s<TAB>min ev/s<TAB>max ev/s" to $BENCH_RESULTS
# (default <stack dir>/results.tsv), which bench/plot.sh draws.
record() {
  local label=$1 events=$2
  shift 2
  local secs
  secs=$(printf '%s\n' "$@" | sort -n)
  printf '%s\t%.0f\t%.0f\t%.0f\n' "$label" "$(echo "$events / $(median "$@")" | bc -l)" \
    "$(echo "$events / $(tail -n 1 <<<"$secs")" | bc -l)" "$(echo "$events / $(head -n 1 <<<"$secs")" | bc -l)" \
    >>"${BENCH_RESULTS:-$STREAMSHOP_STACK_DIR/results.tsv}"
}
# server_pids pg|kafka|clickhouse: the stack's processes of that server now (PostgreSQL: its postmaster and children,
# not other clusters' postgres on the machine).
server_pids() {
  case $1 in
    pg)
      local pm
      pm=$(head -n 1 "$STREAMSHOP_STACK_DIR/postgres/data/postmaster.pid")
      echo "$pm"
      pgrep -P "$pm"
      ;;
    kafka) cat "$STREAMSHOP_STACK_DIR/kafka/kafka.pid" ;;
    clickhouse) cat "$STREAMSHOP_STACK_DIR/clickhouse/clickhouse-server.pid" ;;
  esac
}
# kafka_tool CLASS ARGS…: a Kafka tool on the stack's broker, logged in with its client.properties (user streamshop).
kafka_tool() {
  local deps=${STREAMSHOP_DEPS_DIR:-$REPO/.streamshop-deps}
  java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$STREAMSHOP_STACK_DIR/kafka/tools-log4j2.properties" -cp "$deps/kafka/lib/*" \
    "$@" --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" --command-config "$STREAMSHOP_STACK_DIR/kafka/client.properties"
}
# rows_written PORT: rows ClickHouse acknowledged to the command whose --http-listen is 127.0.0.1:PORT (0 before
# its endpoint answers).
rows_written() {
  { curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } |
    awk '$1 == "streamshop_rows_written_total" {n = $2} END {printf "%d", n + 0}'
}
# confirmed LSN SLOT: "t" once the slot's confirmed_flush_lsn reached LSN.
confirmed() { pg -c "SELECT confirmed_flush_lsn >= '$1' FROM pg_replication_slots WHERE slot_name = '$2'"; }

# recvlogical_seconds SLOT: drains SLOT with pg_recvlogical (publication bench) up to $TARGET; prints the seconds
# from its start until the slot's confirmed LSN reached $TARGET (the one clock rule of every side).
recvlogical_seconds() {
  local t0 pid
  t0=$(now)
  pgurl_run "$STREAMSHOP_PG_URL" pg_recvlogical --slot "$1" --start --endpos "$TARGET" --no-loop \
    -o proto_version=1 -o publication_names=bench -f /dev/null &
  pid=$!
  until [[ "$(confirmed "$TARGET" "$1")" == t ]]; do
    kill -0 "$pid" 2>/dev/null || [[ "$(confirmed "$TARGET" "$1")" == t ]] ||
      { echo "bench: pg_recvlogical ended before the end of the backlog" >&2; return 1; }
    sleep 0.02
  done
  echo "$(now) - $t0" | bc
  wait "$pid" || { echo "bench: pg_recvlogical failed" >&2; return 1; }
}

# make_backlog TABLE PUBLICATION SLOT N [SHAPE]: a fresh TABLE in PUBLICATION, a pgoutput SLOT, then N rounds of 4
# change events (2 inserts, 1 update, 1 delete) committed behind the slot: each round its own transaction with SHAPE
# small (default, OLTP-like), or 10 bulk transactions of N/10 rounds each with SHAPE bulk. Prints the LSN after it.
# BENCH_SHAPE sets the default shape.
make_backlog() {
  local table=$1 publication=$2 slot=$3 txns=$4 shape=${5:-${BENCH_SHAPE:-small}}
  local commit_every=1
  [[ "$shape" == bulk ]] && commit_every=$(((txns + 9) / 10))
  pg <<SQL
CREATE TABLE $table (id bigint PRIMARY KEY, account integer, amount numeric(12, 2), note text,
                     created_at timestamptz DEFAULT now());
CREATE PUBLICATION $publication FOR TABLE $table;
CREATE OR REPLACE PROCEDURE ${table}_backlog(txns int, commit_every int) LANGUAGE plpgsql AS \$\$
BEGIN
  FOR i IN 1..txns LOOP
    INSERT INTO $table (id, account, amount, note)
      VALUES (2 * i, i % 1000, i * 0.01, 'order ' || i), (2 * i + 1, i % 997, i * 0.02, 'refund ' || i);
    UPDATE $table SET amount = amount + 1 WHERE id = 2 * i;
    DELETE FROM $table WHERE id = 2 * i + 1;
    IF i % commit_every = 0 THEN COMMIT; END IF;
  END LOOP;
END \$\$;
SQL
  pg -c "SELECT pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
  pg -c "CALL ${table}_backlog($txns, $commit_every)"
  pg -c "SELECT pg_current_wal_lsn()"
}
