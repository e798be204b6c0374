# Shared harness for integration tests: a private stack (real PostgreSQL + ClickHouse) per test, on its own
# ports and directory, destroyed on exit. Source it after setting TEST_PORT_BASE (unique per test file).
#   usage in a test:  TEST_PORT_BASE=31000; source "$(dirname "$0")/lib.sh" "$1"
# Keep bases below 32768: Linux hands out ports from 32768 up to outgoing connections, which could take ours.
# WITH_KAFKA=1 before sourcing also starts a Kafka broker (ports base+4, controller base+5) and reserves
# base+6 for a Debezium Connect worker (STREAMSHOP_CONNECT_PORT); kafka_java runs Kafka's tool classes.
# CLICKHOUSE_CLUSTER=1 before sourcing starts the ClickHouse 18.16 cluster (`stack up --clickhouse-cluster`: ZooKeeper and
# 2 replicas of one shard; CLICKHOUSE_SHARDS=2: 2 shards of 2 replicas, 4 servers, implies the cluster). Its ports:
# ZooKeeper base+7; servers 2..4 and every interserver port in the 10 ports at base-10000 (STREAMSHOP_CH_CLUSTER_PORT_BASE,
# layout in scripts/stack.sh), the range a test's chdb variant would use: a cluster test has no chdb variant (the
# stack refuses chdb with the cluster). So base+8, base+9 stay free, and Kafka's base+4..+6 work with the cluster.
# `ch_on N SQL` queries server N (1: STREAMSHOP_CLICKHOUSE_URL, N: STREAMSHOP_CLICKHOUSE_URL_N; server N is replica
# (N-1)%2+1 of shard (N-1)/2+1), credentials on stdin like `ch`; `ch_replica stop|start|kill N` stops (SIGTERM),
# starts, or crashes (SIGKILL) server N alone; `ch_replica_pid N` is its pid.
# STACK_TLS=1 before sourcing starts the stack with TLS (`stack up --tls`: PostgreSQL TLS-only, ClickHouse HTTPS;
# the env's URLs verify the stack's CA). The stack always has passwords (they hold ?#/@:%): the env's URLs carry them
# percent-encoded; `ch` hands curl its URL (and CA file) in a config on stdin, never on its command line.
# The independent oracle: `independent_compare [TABLE…]` (default: every table of the publication) renders each
# table in SQL on both sides, PostgreSQL and ClickHouse `FINAL WHERE _deleted = 0` (database $CH_DATABASE,
# default analytics; publication $PUBLICATION, default streamshop), without streamshop's code,
# and fails the test on any difference (see its comment below); run it after `verify` once nothing writes.
# `independent_compare_check` returns 1 instead of failing. Every run prints its seed (STREAMSHOP_TEST_SEED).
set -euo pipefail
umask 077   # test logs hold row data: private, like everything of the stack

STREAMSHOP=${1:?usage: test_x.sh path/to/streamshop}
STREAMSHOP=$(realpath "$STREAMSHOP")
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
TEST_NAME=$(basename "$0" .sh)
# STREAMSHOP_TEST_PORT_OFFSET (0–90, a multiple of 10) moves every port, so two checkouts can run tests at once.
TEST_PORT_BASE=$((TEST_PORT_BASE + ${STREAMSHOP_TEST_PORT_OFFSET:-0}))
# STREAMSHOP_CLICKHOUSE_ENGINE=chdb runs the test on ClickHouse 26.x (the chdb endpoint) instead of the server,
# on ports 10000 lower, so that `make test` may run a test's two variants at once.
export STREAMSHOP_CLICKHOUSE_ENGINE=${STREAMSHOP_CLICKHOUSE_ENGINE:-server}
[[ $STREAMSHOP_CLICKHOUSE_ENGINE == chdb ]] && TEST_PORT_BASE=$((TEST_PORT_BASE - 10000))
export STREAMSHOP_STACK_DIR=${TMPDIR:-/tmp}/streamshop-$TEST_NAME-$STREAMSHOP_CLICKHOUSE_ENGINE
export STREAMSHOP_PG_PORT=$((TEST_PORT_BASE + 1))
export STREAMSHOP_CH_HTTP_PORT=$((TEST_PORT_BASE + 2))
export STREAMSHOP_CH_TCP_PORT=$((TEST_PORT_BASE + 3))
export STREAMSHOP_WITH_KAFKA=${WITH_KAFKA:-0}
export STREAMSHOP_STACK_TLS=${STACK_TLS:-0}
export STREAMSHOP_STACK_CLICKHOUSE_SHARDS=${CLICKHOUSE_SHARDS:-1}
export STREAMSHOP_STACK_CLICKHOUSE_CLUSTER=${CLICKHOUSE_CLUSTER:-0}
[[ $STREAMSHOP_STACK_CLICKHOUSE_SHARDS == 1 ]] || STREAMSHOP_STACK_CLICKHOUSE_CLUSTER=1
if [[ "$STREAMSHOP_STACK_CLICKHOUSE_CLUSTER" == 1 ]]; then
  export STREAMSHOP_CH_CLUSTER_PORT_BASE=$((TEST_PORT_BASE - 10000))
  export STREAMSHOP_ZOOKEEPER_PORT=$((TEST_PORT_BASE + 7))
fi
if [[ "$STREAMSHOP_WITH_KAFKA" == 1 ]]; then
  export STREAMSHOP_KAFKA_PORT=$((TEST_PORT_BASE + 4))
  export STREAMSHOP_KAFKA_CONTROLLER_PORT=$((TEST_PORT_BASE + 5))
  export STREAMSHOP_CONNECT_PORT=$((TEST_PORT_BASE + 6))
fi
LOG_DIR=$STREAMSHOP_STACK_DIR/test-logs
BG_PIDS=()

log() { echo "[$TEST_NAME] $*"; }

# One seed per run for everything random in a test (bash $RANDOM for kill timings, workload seeds): printed
# first, and taken from STREAMSHOP_TEST_SEED to reproduce a run. pg_seed N: a setseed() value for PostgreSQL
# workloads (random_workload), different for each N; generate takes --seed "$TEST_SEED".
TEST_SEED=${STREAMSHOP_TEST_SEED:-$((($(date +%s%N) / 1000) % 32768))}
RANDOM=$TEST_SEED
log "seed $TEST_SEED (reproduce with STREAMSHOP_TEST_SEED=$TEST_SEED), ClickHouse engine $STREAMSHOP_CLICKHOUSE_ENGINE"
pg_seed() { printf '0.%04d' $(((TEST_SEED * 7 + 1009 * ${1:-0}) % 10000)); }
fail() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  for f in "$LOG_DIR"/*.log; do [[ -f $f ]] && { echo "--- $f (last 40 lines)" >&2; tail -n 40 "$f" >&2; }; done
  exit 1
}

cleanup() {
  local rc=$?
  for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [[ -z "${KEEP_STACK:-}" ]]; then bash "$REPO/scripts/stack.sh" destroy >/dev/null 2>&1 || true; fi
  if ((rc == 0)); then log "PASS"; else log "FAILED (rc=$rc)"; fi
}
trap cleanup EXIT

bash "$REPO/scripts/stack.sh" destroy >/dev/null 2>&1 || true
STACK_UP_OUT=$(bash "$REPO/scripts/stack.sh" up 2>&1) || { echo "$STACK_UP_OUT" >&2; exit 1; }
rm -rf "$LOG_DIR" && mkdir -p "$LOG_DIR"
printf '%s\n' "$STACK_UP_OUT" >"$LOG_DIR/stack-up.log"
# shellcheck disable=SC1091
source "$STREAMSHOP_STACK_DIR/env"

# kafka_java CLASS ARGS...: a Kafka tool class (e.g. org.apache.kafka.tools.TopicCommand), warnings only. The
# stack's broker always wants a password (SASL_PLAINTEXT, SASL_SSL with --tls): a tool of org.apache.kafka.tools gets
# --command-config with the stack's client.properties (SCRAM-SHA-512 user streamshop; with --tls the stack's CA),
# unless ARGS have a --command-config.
kafka_java() {
  local extra=() client=$STREAMSHOP_STACK_DIR/kafka/client.properties
  if [[ -f $client && $1 == org.apache.kafka.tools.* && " $* " != *" --command-config "* ]]; then
    extra=(--command-config "$client")
  fi
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$STREAMSHOP_STACK_DIR/kafka/tools-log4j2.properties" \
    -cp "${STREAMSHOP_DEPS_DIR:-$REPO/.streamshop-deps}/kafka/lib/*" "$@" "${extra[@]}"
}

source "$REPO/scripts/clients.sh"   # pg, ch: the stack's clients, no password on a command line

# ch_on N SQL: `ch` on ClickHouse server N of the cluster (1: STREAMSHOP_CLICKHOUSE_URL).
ch_on() {
  local var=STREAMSHOP_CLICKHOUSE_URL
  (($1 == 1)) || var=STREAMSHOP_CLICKHOUSE_URL_$1
  [[ -n "${!var:-}" ]] || { echo "ch_on: no ClickHouse server $1 ($var is not set)" >&2; return 2; }
  STREAMSHOP_CLICKHOUSE_URL=${!var} ch "$2"
}
# ch_replica stop|start|kill N: server N alone (scripts/stack.sh stop-/start-/kill-clickhouse-replica N).
ch_replica() { bash "$REPO/scripts/stack.sh" "$1-clickhouse-replica" "$2"; }
ch_replica_pid() {
  if (($1 == 1)); then cat "$STREAMSHOP_STACK_DIR/clickhouse/clickhouse-server.pid"; else
    cat "$STREAMSHOP_STACK_DIR/clickhouse/replica-$1/clickhouse-server.pid"; fi
}
# 1 when ClickHouse speaks the modern dialect (≥ 23: Date32, DateTime64, Bool; docs/MODERN_CLICKHOUSE.md lists
# how its text output differs), else 0.
CH_MODERN=0
[[ "$(ch "SELECT count() FROM system.settings WHERE name = 'output_format_decimal_trailing_zeros'")" == 1 ]] && CH_MODERN=1
# "SETTINGS …" that make a modern server print a Decimal with all its fractional digits, as 18.16 and PostgreSQL
# do (empty on 18.16, which has no such setting).
ch_settings_decimal_zeros() {
  [[ "$(ch "SELECT count() FROM system.settings WHERE name = 'output_format_decimal_trailing_zeros'")" != 1 ]] ||
    echo "SETTINGS output_format_decimal_trailing_zeros = 1"
}
# Whether the ClickHouse server is modern (≥ 23.2: the modern type mapping, docs/TYPE_MAPPING.md).
ch_is_modern() {
  local v major minor
  v=$(ch "SELECT version()") || return 1
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  ((major > 23 || (major == 23 && minor >= 2)))
}

# marts_equal_postgres DIR: dbt's marts dim_customers and fct_orders, read with the caller's `chq SQL` (TSVRaw),
# equal PostgreSQL's own figures (money as integer cents, timestamps as integer µs: exact on both sides); the
# renderings go to DIR, a difference fails the test.
marts_equal_postgres() {
  local dir=$1
  pg -F $'\t' -c "SELECT c.customer_id, count(o.order_id), count(o.order_id) FILTER (WHERE o.status = 'cancelled'),
      (coalesce(sum(o.total) FILTER (WHERE o.status <> 'cancelled'), 0) * 100)::bigint,
      coalesce((extract(epoch FROM min(o.created_at)) * 1000000)::bigint::text, 'NULL'),
      coalesce((extract(epoch FROM max(o.created_at)) * 1000000)::bigint::text, 'NULL'),
      c.email, c.full_name, c.country, c.city
    FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id
    GROUP BY c.customer_id ORDER BY 1" >"$dir/pg_dim_customers.tsv"
  chq "SELECT customer_id, lifetime_orders, cancelled_orders, toInt64(lifetime_revenue * 100),
      ifNull(toString(toUnixTimestamp64Micro(first_order_at)), 'NULL'),
      ifNull(toString(toUnixTimestamp64Micro(last_order_at)), 'NULL'), email, full_name, country, city
    FROM analytics.dim_customers ORDER BY customer_id" >"$dir/ch_dim_customers.tsv"
  diff "$dir/pg_dim_customers.tsv" "$dir/ch_dim_customers.tsv" >"$LOG_DIR/dim_customers.diff" ||
    { head -n 20 "$LOG_DIR/dim_customers.diff"; fail "dim_customers differs from PostgreSQL"; }
  pg -F $'\t' -c "SELECT o.order_id, o.customer_id, o.status, count(i.line_no), coalesce(sum(i.quantity), 0),
      (coalesce(sum(i.quantity * i.unit_price), 0) * 100)::bigint, (o.total * 100)::bigint,
      (extract(epoch FROM o.created_at) * 1000000)::bigint, (extract(epoch FROM o.updated_at) * 1000000)::bigint,
      c.email, c.full_name, c.country, c.city
    FROM orders o JOIN customers c ON c.customer_id = o.customer_id
    LEFT JOIN order_items i ON i.order_id = o.order_id
    GROUP BY o.order_id, c.customer_id ORDER BY 1" >"$dir/pg_fct_orders.tsv"
  chq "SELECT order_id, customer_id, status, item_count, quantity_total, toInt64(items_total * 100),
      toInt64(order_total * 100), toUnixTimestamp64Micro(created_at), toUnixTimestamp64Micro(updated_at),
      customer_email, customer_name, customer_country, customer_city
    FROM analytics.fct_orders ORDER BY order_id" >"$dir/ch_fct_orders.tsv"
  diff "$dir/pg_fct_orders.tsv" "$dir/ch_fct_orders.tsv" >"$LOG_DIR/fct_orders.diff" ||
    { head -n 20 "$LOG_DIR/fct_orders.diff"; fail "fct_orders differs from PostgreSQL"; }
}

# Starts `streamshop replicate` in the background with extra args; sets REPLICATE_PID.
start_replicate() {
  "$STREAMSHOP" replicate --progress off "$@" >>"$LOG_DIR/replicate.log" 2>&1 &
  REPLICATE_PID=$!
  BG_PIDS+=("$REPLICATE_PID")
}

# wait_until SECONDS DESCRIPTION COMMAND…: runs COMMAND every 0.1 s until it succeeds; fails the test with
# DESCRIPTION after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what"
    sleep 0.1
  done
}

# log_since_has FILE MARK ERE: does FILE, from byte offset MARK on, have a line matching ERE? (Not
# `tail | grep -q`: grep stops at the first match, tail dies of SIGPIPE when more follows, and pipefail turns a
# match into a miss.)
log_since_has() { grep -qE -- "$3" < <(tail -c +$(($2 + 1)) "$1"); }

# Waits for the replicator's session to reach streaming (or up to $1 seconds).
wait_streaming() { wait_until "${1:-60}" "replicate did not reach streaming" grep -q "streaming changes" "$LOG_DIR/replicate.log"; }

stop_replicate() {
  kill -TERM "$REPLICATE_PID"
  local rc=0
  wait "$REPLICATE_PID" || rc=$?
  ((rc == 0)) || fail "replicate exited with $rc after SIGTERM (expected a clean 0)"
}

# Crashes PostgreSQL (pg_ctl stop -m immediate: no shutdown checkpoint, every connection cut, like a power
# loss for the clients); start it again with `bash "$REPO/scripts/stack.sh" up`.
crash_postgres() {
  local data
  data=$(realpath -m "$STREAMSHOP_STACK_DIR/postgres")/data
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$data" -m immediate -w stop >/dev/null)
  else
    /usr/lib/postgresql/15/bin/pg_ctl -D "$data" -m immediate -w stop >/dev/null
  fi
}

verify() { "$STREAMSHOP" verify --wait "${1:-60}" >"$LOG_DIR/verify.out" 2>&1 || { cat "$LOG_DIR/verify.out"; fail "verify failed"; }; }

# Starts `streamshop capture` in the background with extra args; sets CAPTURE_PID. Log: capture.log.
start_capture() {
  "$STREAMSHOP" capture --progress off "$@" >>"$LOG_DIR/capture.log" 2>&1 &
  CAPTURE_PID=$!
  BG_PIDS+=("$CAPTURE_PID")
}
# start_sink NAME ARGS…: `streamshop sink` in the background, logging to sink-NAME.log; sets SINK_PID.
start_sink() {
  local name=$1
  shift
  "$STREAMSHOP" sink --progress off "$@" >>"$LOG_DIR/sink-$name.log" 2>&1 &
  SINK_PID=$!
  BG_PIDS+=("$SINK_PID")
}
# stop_clean PID WHAT: SIGTERM, and the process must exit 0.
stop_clean() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  ((rc == 0)) || fail "$2 exited with $rc after SIGTERM (expected a clean 0)"
}
# Waits until capture streams (its Nth session when N is given).
wait_capture_streaming() {
  local n=${1:-1}
  capture_sessions() { (($(grep -c "streaming changes" "$LOG_DIR/capture.log" || true) >= n)); }
  wait_until 120 "capture did not reach streaming (session $n)" capture_sessions
}

# ---------------------------------------------------------------------------------------------------------
# raw_table_name SCHEMA TABLE: the ClickHouse table of a PostgreSQL table by the rule of docs/TYPE_MAPPING.md#names,
# written here apart from streamshop's code: raw_<table> for public, else raw_<schema>__<table>; a part containing
# "__" or "%" (or a schema ending in "_") with every "%" as %25 and "_" as %5F. Names long enough to be hashed
# (over 180 bytes as a ClickHouse file name) are not computed: it fails.
raw_table_name() {
  local out fs
  _raw_part() {  # NAME IS_SCHEMA
    local p=$1
    if [[ $p == *__* || $p == *%* || ($2 == 1 && $p == *_) ]]; then
      p=${p//%/%25}
      p=${p//_/%5F}
    fi
    printf '%s' "$p"
  }
  if [[ $1 == public ]]; then out=raw_$(_raw_part "$2" 0); else out=raw_$(_raw_part "$1" 1)__$(_raw_part "$2" 0); fi
  fs=$(LC_ALL=C; other=${out//[A-Za-z0-9_]/}; echo $((${#out} + 2 * ${#other})))
  ((fs <= 180)) || { echo "raw_table_name: $1.$2 maps to a hashed name; not computed here" >&2; return 1; }
  printf '%s\n' "$out"
}

# independent_compare [TABLE…] — an oracle that shares no code with streamshop. For each table (default: every
# table of the publication $PUBLICATION, default "streamshop"; names as schema.table or table for public),
# PostgreSQL renders every published column (column lists and row filters applied) as canonical text in SQL,
# ClickHouse renders `analytics.raw_x FINAL WHERE _deleted = 0` in SQL, and the sorted renderings must be equal
# line for line; the first differences are printed. It fails the test (via `fail`) on any difference, on a
# table it cannot read, on no table at all, or when every table compared is empty.
# independent_compare_check [TABLE…] does the same but returns 1 instead of failing (to prove it catches things).
# The canonical form follows docs/TYPE_MAPPING.md (ClickHouse 18.16, legacy, and modern types):
#   NULL → \N; boolean → 1/0; integers → decimal text; real/double → the IEEE-754 bits in hex (full
#   precision: float4send/float8send vs the bytes ClickHouse stores); numeric(p≤18,s) → decimal text with its s
#   fractional digits; numeric(19≤p≤38,s) (Decimal128) → the 16 bytes of the unscaled value in hex; date → days since 1970-01-01 (±infinity → Int32 max/min); timestamp(tz) → microseconds
#   since 1970-01-01 UTC (±infinity → Int64 max/min); uuid → text; bytea → md5 of the bytes; composites → md5 of
#   the JSON object of their fields' text; every other type (text, char(n), json, arrays, numeric as String…)
#   → md5 of its PostgreSQL text under the pipeline's documented session settings; a value ClickHouse cannot
#   hold (numeric NaN in a Decimal, a timestamp past Int64 µs) → "unfit:" + md5 of its PostgreSQL text, which
#   ClickHouse keeps in the row's _unfit column.
# Call it when the pipeline has caught up (after `verify`) and nothing writes any more.
INDEPENDENT_PG_SETTINGS='-c datestyle=ISO,YMD -c timezone=UTC -c intervalstyle=postgres -c bytea_output=hex -c extra_float_digits=1'

# One line per published column of table $1 (schema.table): name TAB PostgreSQL rendering expression TAB 1 for
# a key column (they come first), else 0. $2: a JSON object naming the columns that ClickHouse holds as an Array or
# a Decimal256 (modern servers) with their ClickHouse type; they are rendered element by element / as 32 bytes.
_ic_pg_columns() {
  local schema=${1%%.*} table=${1#*.}
  PGOPTIONS="$INDEPENDENT_PG_SETTINGS" pg -F $'\t' \
    -v schema="$schema" -v tbl="$table" -v pub="${PUBLICATION:-streamshop}" -v chtypes="${2:-"{}"}" <<'SQL'
-- The canonical rendering (SQL text) of expression q of type typ/typmod (wide: a Decimal256 in ClickHouse), or
-- NULL for a type rendered as the md5 of its text.
CREATE FUNCTION pg_temp.ic_render(q text, typ oid, typmod int, wide boolean) RETURNS text LANGUAGE sql AS $f$
  SELECT CASE
    WHEN typ = 'bool'::regtype THEN format('CASE WHEN %s THEN ''1'' ELSE ''0'' END', q)
    WHEN typ IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'uuid'::regtype) THEN format('%s::text', q)
    WHEN typ = 'float4'::regtype THEN format('encode(float4send(%s), ''hex'')', q)
    WHEN typ = 'float8'::regtype THEN format('encode(float8send(%s), ''hex'')', q)
    WHEN typ = 'bytea'::regtype THEN format('md5(%s)', q)
    WHEN typ = 'date'::regtype THEN format('CASE WHEN %1$s = ''infinity'' THEN ''2147483647'' '
      'WHEN %1$s = ''-infinity'' THEN ''-2147483648'' ELSE (%1$s - date ''1970-01-01'')::text END', q)
    -- Past Int64 microseconds ClickHouse cannot hold it: NULL there, the text in _unfit.
    WHEN typ IN ('timestamp'::regtype, 'timestamptz'::regtype) THEN format(
      'CASE WHEN %1$s = ''infinity'' THEN ''9223372036854775807'' WHEN %1$s = ''-infinity'' '
      'THEN ''-9223372036854775808'' WHEN abs(extract(epoch FROM %1$s) * 1000000) >= 2::numeric ^ 63 '
      'THEN ''unfit:'' || md5(%1$s::text) ELSE (extract(epoch FROM %1$s) * 1000000)::numeric(40, 0)::text END', q)
    -- NaN in a Decimal: NULL in ClickHouse, the text in _unfit.
    WHEN typ = 'numeric'::regtype AND typmod >= 4 AND ((typmod - 4) >> 16) BETWEEN 1 AND 18
         AND ((typmod - 4) & 2047) <= ((typmod - 4) >> 16) THEN
      format('CASE WHEN %1$s = ''NaN'' THEN ''unfit:'' || md5(''NaN'') ELSE %1$s::text END', q)
    -- Decimal128 (16 bytes) and Decimal256 (32 bytes): the unscaled value, two's complement, big-endian hex.
    WHEN typ = 'numeric'::regtype AND typmod >= 4 AND (((typmod - 4) >> 16) BETWEEN 19 AND 38 OR wide)
         AND ((typmod - 4) & 2047) <= ((typmod - 4) >> 16) THEN
      format('CASE WHEN %1$s = ''NaN'' THEN ''unfit:'' || md5(''NaN'') ELSE '
             '(SELECT string_agg(lpad(to_hex(mod(div(u, 256::numeric ^ i), 256)::int), 2, ''0''), '''' ORDER BY i DESC) '
             'FROM (SELECT %1$s * 10::numeric ^ %2$s + CASE WHEN %1$s < 0 THEN 2::numeric ^ %3$s ELSE 0 END AS u) v, '
             'generate_series(0, %4$s) i) END', q, (typmod - 4) & 2047, CASE WHEN wide THEN 256 ELSE 128 END,
             CASE WHEN wide THEN 31 ELSE 15 END)
  END
$f$;
WITH pub AS (
  SELECT attnames FROM pg_publication_tables WHERE pubname = :'pub' AND schemaname = :'schema' AND tablename = :'tbl'
), rel AS (
  SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = :'schema' AND c.relname = :'tbl'
), keycols AS (
  SELECT k.attnum, k.ord FROM rel
  JOIN LATERAL (SELECT i.indkey FROM pg_index i WHERE i.indrelid = rel.oid AND (i.indisprimary OR i.indisreplident)
                ORDER BY i.indisprimary DESC LIMIT 1) i ON true,
  unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
)
SELECT a.attname, format('CASE WHEN num_nulls(%s) = 0 THEN %s END', q,
  CASE
    -- An Array(Nullable(T)) in ClickHouse: [e,e,…] of the elements' renderings (null for NULL, md5 of the text for
    -- text); a value that is not one-dimensional with lower bound 1, or holds an element ClickHouse cannot hold,
    -- is unfit.
    WHEN chtype LIKE 'Array(%' THEN format(
      'CASE WHEN array_ndims(%1$s) > 1 OR array_lower(%1$s, 1) <> 1 THEN ''unfit:'' || md5(%1$s::text) ELSE '
      '(SELECT CASE WHEN bool_or(r LIKE ''unfit:%%'') THEN ''unfit:'' || md5(%1$s::text) ELSE '
      '''['' || coalesce(string_agg(coalesce(r, ''null''), '','' ORDER BY i), '''') || '']'' END '
      'FROM (SELECT %2$s AS r, i FROM unnest(%1$s) WITH ORDINALITY u(e, i)) x) END', q,
      format('CASE WHEN e IS NOT NULL THEN %s END',
             coalesce(pg_temp.ic_render('e', t.typelem, a.atttypmod, chtype LIKE 'Array(Nullable(Decimal(%'
                                        AND ((a.atttypmod - 4) >> 16) > 38), 'md5(format(''%s'', e))')))
    WHEN t.typtype = 'c' THEN format('md5(''{'' || concat_ws('','', %s) || ''}'')',
      (SELECT string_agg(format('%s || '':'' || CASE WHEN num_nulls((%s).%s) = 1 THEN ''null'' '
                                'ELSE to_json(format(''%%s'', (%s).%s))::text END',
                                quote_literal(to_json(f.attname::text)::text), q, quote_ident(f.attname), q,
                                quote_ident(f.attname)), ', ' ORDER BY f.attnum)
       FROM pg_attribute f WHERE f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped))
    ELSE coalesce(pg_temp.ic_render(q, a.atttypid, a.atttypmod, chtype LIKE '%Decimal(%'),
                  format('md5(format(''%%s'', %s))', q))
  END),
  (k.ord IS NOT NULL)::int
FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid
CROSS JOIN LATERAL (SELECT quote_ident(a.attname) AS q, coalesce(:'chtypes'::jsonb ->> a.attname, '') AS chtype) qi
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN keycols k ON k.attnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
  AND a.attname = ANY ((SELECT attnames FROM pub)::name[])
ORDER BY k.ord NULLS LAST, a.attnum;
SQL
}

# The ClickHouse rendering of column $1 whose ClickHouse type is $2, in the same canonical form.
_ic_ch_expr() { _ic_ch_value "\`$1\`" "$2"; }

# The ClickHouse rendering of expression $1 of type $2.
_ic_ch_value() {
  local c="$1" t=$2
  [[ $t != LowCardinality\(* ]] || { t=${t#LowCardinality(}; t=${t%)}; }
  t=${t#Nullable(}
  t=${t%)}
  case "$t" in
    UInt8 | Bool) echo "toString(toUInt8($c))" ;;
    # reinterpretAsString drops trailing zero bytes (the high-order ones): pad the big-endian hex back.
    Float32) echo "substring(concat('00000000', lower(hex(reverse(reinterpretAsString($c))))), length(hex(reverse(reinterpretAsString($c)))) + 1, 8)" ;;
    Float64) echo "substring(concat('0000000000000000', lower(hex(reverse(reinterpretAsString($c))))), length(hex(reverse(reinterpretAsString($c)))) + 1, 16)" ;;
    # Decimal128: 18.16 garbles the text of some values (toString, and even column output under FINAL), so compare
    # its 16 stored bytes; Decimal256 (modern servers, whose toString drops trailing zeros) its 32; narrower
    # decimals as ClickHouse's text.
    Decimal\(19* | Decimal\(2[0-9]* | Decimal\(3[0-8]*) echo "substring(concat('00000000000000000000000000000000', lower(hex(reverse(reinterpretAsString($c))))), length(hex(reverse(reinterpretAsString($c)))) + 1, 32)" ;;
    Decimal\(39* | Decimal\([4-6][0-9]* | Decimal\(7[0-6]*) echo "substring(concat(repeat('0', 64), lower(hex(reverse(reinterpretAsString($c))))), length(hex(reverse(reinterpretAsString($c)))) + 1, 64)" ;;
    # (Modern servers' toString drops a Decimal's trailing zeros; PostgreSQL's numeric(p,s) shows all s digits.)
    Decimal*) if ((CH_MODERN)); then local s=${t##*, }; echo "toDecimalString($c, ${s%%)*})"; else echo "$c"; fi ;;
    String) echo "lower(hex(MD5($c)))" ;;
    Date32) echo "toString(toInt32($c))" ;;
    DateTime64*) echo "toString(toUnixTimestamp64Micro($c))" ;;
    # Array(Nullable(T)): [e,e,…] of the elements' renderings, null for NULL.
    Array*)
      local element=${t#Array(} e
      e=$(_ic_ch_value "e" "$element")
      [[ $e != "e" ]] || e="toString(e)"
      echo "concat('[', arrayStringConcat(arrayMap(e -> ifNull($e, 'null'), $c), ','), ']')" ;;
    *) echo "toString($c)" ;;
  esac
}

# _ic_report PG_FILE CH_FILE NKEY COLUMN_NAMES(tab-separated): the first differing keys, column by column.
_ic_report() {
  awk -F'\t' -v nkey="$3" -v names="$4" '
    function key(   k, i) { k = $1; for (i = 2; i <= nkey; i++) k = k "," $i; return k }
    FNR == NR { pg[key()] = $0; next }
    { ch[key()] = $0 }
    END {
      split(names, col, "\t"); shown = 0
      for (k in pg) if (!(k in ch)) { if (shown++ < 5) print "  key " k ": only in PostgreSQL" }
      for (k in ch) if (!(k in pg)) { if (shown++ < 10) print "  key " k ": only in ClickHouse" }
      for (k in pg) if ((k in ch) && pg[k] != ch[k] && shown++ < 15) {
        n = split(pg[k], a, "\t"); split(ch[k], b, "\t"); d = ""
        for (i = 1; i <= n; i++) if ((a[i] "") != (b[i] "")) d = d " " col[i] "=" a[i] " (ClickHouse: " b[i] ")"
        print "  key " k ":" d
      }
    }' "$1" "$2"
}

independent_compare_check() {
  local tables=("$@") out=$LOG_DIR/independent total=0 bad=0 t db=${CH_DATABASE:-analytics}
  mkdir -p "$out"
  if ((${#tables[@]} == 0)); then
    mapfile -t tables < <(pg -c "SELECT schemaname || '.' || tablename FROM pg_publication_tables
                                 WHERE pubname = '${PUBLICATION:-streamshop}' ORDER BY 1") || return 1
  fi
  if ((${#tables[@]} == 0)); then
    echo "independent_compare: no table to compare (publication ${PUBLICATION:-streamshop} is empty or missing)" >&2
    return 1
  fi
  for t in "${tables[@]}"; do
    [[ $t == *.* ]] || t=public.$t
    local schema=${t%%.*} table=${t#*.} raw pg_sel="" ch_sel="" name expr filter
    raw=$(raw_table_name "$schema" "$table") || return 1
    local -A ch_type=()
    while IFS=$'\t' read -r name expr; do ch_type[$name]=$expr; done < <(ch "SELECT name, type FROM system.columns
      WHERE database = '${CH_DATABASE:-analytics}' AND table = '$raw' FORMAT TSV")
    local cols chtypes="" n jn
    # Columns ClickHouse holds as an Array or a Decimal256 (modern servers), for PostgreSQL's rendering.
    for n in "${!ch_type[@]}"; do
      [[ ${ch_type[$n]} == Array\(* || ${ch_type[$n]} =~ Decimal\((39|[4-7][0-9]), ]] || continue
      jn=${n//\\/\\\\}
      chtypes+="${chtypes:+,}\"${jn//\"/\\\"}\":\"${ch_type[$n]//\\/}\""
    done
    cols=$(_ic_pg_columns "$t" "{$chtypes}") || { echo "independent_compare: cannot read the columns of $t" >&2; return 1; }
    [[ -n $cols ]] || { echo "independent_compare: $t has no published columns (is it in the publication?)" >&2; return 1; }
    local nkey=0 is_key
    while IFS=$'\t' read -r name expr is_key; do
      nkey=$((nkey + is_key))
      # No table at all: the sink creates it with the table's first change, so it must hold no row yet.
      ((${#ch_type[@]} == 0)) && continue
      [[ -n ${ch_type[$name]:-} ]] || { echo "independent_compare: $db.$raw has no column $name" >&2; return 1; }
      pg_sel+="${pg_sel:+ || E'\\t' || }coalesce($expr, '\\N')"
      expr=$(_ic_ch_expr "$name" "${ch_type[$name]}")
      # A value ClickHouse cannot hold: NULL in its column, PostgreSQL's text in _unfit (docs/TYPE_MAPPING.md).
      # (A Decimal's own text becomes toString's, which 18.16 prints with every fractional digit.)
      [[ $expr != "\`$name\`" ]] || expr="toString($expr)"
      [[ -z ${ch_type[_unfit]:-} ]] || expr="if(visitParamHas(ifNull(_unfit, ''), '${name//\'/\\\'}'), concat('unfit:',
        lower(hex(MD5(visitParamExtractString(assumeNotNull(_unfit), '${name//\'/\\\'}'))))), $expr)"
      ch_sel+="${ch_sel:+, }$expr"
    done <<<"$cols"
    filter=$(pg -c "SELECT rowfilter FROM pg_publication_tables WHERE pubname = '${PUBLICATION:-streamshop}'
                    AND schemaname = '$schema' AND tablename = '$table'") || return 1
    PGOPTIONS="$INDEPENDENT_PG_SETTINGS" pg -c "SELECT $pg_sel FROM \"$schema\".\"$table\"${filter:+ WHERE $filter}" | LC_ALL=C sort >"$out/$db.$t.pg" ||
      { echo "independent_compare: PostgreSQL could not render $t" >&2; return 1; }
    if ((${#ch_type[@]} == 0)); then
      : >"$out/$db.$t.ch"
    else
      ch "SELECT $ch_sel FROM \`${CH_DATABASE:-analytics}\`.\`$raw\` FINAL WHERE _deleted = 0 FORMAT TSV" | LC_ALL=C sort >"$out/$db.$t.ch" ||
        { echo "independent_compare: ClickHouse could not render $db.$raw" >&2; return 1; }
    fi
    local n_pg n_ch
    n_pg=$(wc -l <"$out/$db.$t.pg")
    n_ch=$(wc -l <"$out/$db.$t.ch")
    total=$((total + n_pg))
    if cmp -s "$out/$db.$t.pg" "$out/$db.$t.ch"; then
      echo "independent_compare: $t: $n_pg rows agree"
    else
      bad=$((bad + 1))
      echo "independent_compare: $t DIFFERS: PostgreSQL $n_pg rows, ClickHouse $n_ch rows; columns: $(cut -f1 <<<"$cols" | paste -sd,)"
      _ic_report "$out/$db.$t.pg" "$out/$db.$t.ch" "$nkey" "$(cut -f1 <<<"$cols" | paste -sd$'\t')"
    fi
  done
  ((bad == 0)) || return 1
  ((total > 0)) || { echo "independent_compare: every table compared is empty: nothing was proven" >&2; return 1; }
}

independent_compare() { independent_compare_check "$@" || fail "independent comparison of PostgreSQL and ClickHouse failed"; }
