#!/usr/bin/env bash
# Real Debezium on the local stack: scripts/debezium.sh runs Kafka Connect standalone with the Debezium
# PostgreSQL connector (connectors/postgres-source.json, registered by scripts/register_connector.sh).
# A snapshot (r), inserts (c), updates (u, with and without REPLICA IDENTITY FULL), a delete (d +
# tombstone), a primary-key update (d + tombstone + c) and a truncate (t) must arrive on
# streamshop_dbz.public.<table> with the envelope (before/after/source/op/ts_ms), key and type encodings
# of Debezium's defaults. The messages are compared in shape (key and value schemas, payload fields)
# with tests/fixtures/debezium; UPDATE_FIXTURES=1 rewrites those fixtures from this run instead.
TEST_PORT_BASE=23200
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

FIXTURES=$REPO/tests/fixtures/debezium
DBZ=(bash "$REPO/scripts/debezium.sh")
PREFIX=streamshop_dbz
ln -sf "$STREAMSHOP_STACK_DIR/debezium/log/connect.log" "$LOG_DIR/connect.log"
command -v jq >/dev/null || fail "jq is required"

log "schema, rows for the initial snapshot, REPLICA IDENTITY FULL on products"
pg -f "$REPO/sql/postgres/schema.sql"
pg <<'SQL'
INSERT INTO customers (email, full_name, country, city, created_at, updated_at) VALUES
  ('ann@example.com', E'Ann O''Neil "ünï" 😀\ttab\nline', 'DE', 'Berlin',
   '2024-02-29 23:59:59.123456+01', '2024-03-01 00:00:00+00'),
  ('bob@example.com', 'Bob', 'FR', 'Paris', '1999-12-31 23:59:59.999999+00', '2000-01-01 00:00:00.000001+00');
INSERT INTO products (sku, name, category, price, active, created_at, updated_at)
  VALUES ('SKU-1', 'Widget', 'tools', 19.99, true, '2025-06-01 12:00:00+00', '2025-06-01 12:00:00+00');
ALTER TABLE products REPLICA IDENTITY FULL;
SQL

log "start Kafka Connect + Debezium and register the connector"
t0=$SECONDS
"${DBZ[@]}" start >"$LOG_DIR/debezium-start.log" 2>&1 || fail "debezium.sh start: $(cat "$LOG_DIR/debezium-start.log")"
log "worker up and connector RUNNING in $((SECONDS - t0)) s"
grep -q "connector streamshop-postgres RUNNING" "$LOG_DIR/debezium-start.log" || fail "connector not RUNNING"
[[ "$(pg -c "SELECT plugin FROM pg_replication_slots WHERE slot_name = 'debezium'")" == pgoutput ]] ||
  fail "no pgoutput slot 'debezium'"
STREAMSHOP_CONNECT_PORT=$STREAMSHOP_CONNECT_PORT bash "$REPO/scripts/register_connector.sh" \
  database.hostname=127.0.0.1 "database.port=$STREAMSHOP_PG_PORT" >"$LOG_DIR/register-again.log" 2>&1 ||
  fail "registering the same connector again failed: $(cat "$LOG_DIR/register-again.log")"
grep -q "already registered with this config; unchanged" "$LOG_DIR/register-again.log" ||
  fail "second registration with the same config was not a no-op"

log "inserts, updates, a delete, a primary-key update and a truncate"
pg <<'SQL'
BEGIN;
INSERT INTO orders (customer_id, status, total, created_at, updated_at)
  VALUES (1, 'new', -5.00, '2025-07-01 08:00:00.5+02', '2025-07-01 08:00:00.5+02');
INSERT INTO order_items VALUES (1, 1, 1, 3, 12.34);
INSERT INTO products (sku, name, category, price, active, created_at, updated_at)
  VALUES ('SKU-2', 'Big', 'misc', 9999999999.99, false, '2025-06-02 00:00:00+00', '2025-06-02 00:00:00+00');
COMMIT;
UPDATE orders SET status = 'paid', total = 37.02 WHERE order_id = 1;
UPDATE products SET price = 0.00 WHERE product_id = 1;
DELETE FROM order_items WHERE order_id = 1 AND line_no = 1;
UPDATE customers SET customer_id = 100 WHERE customer_id = 2;
TRUNCATE order_items;
SQL

# Expected events per topic, in order (tombstone = null value after a delete).
declare -A EXPECT=(
  [customers]="r r d tombstone c"
  [products]="r c u"
  [orders]="c u"
  [order_items]="c d tombstone t"
)

# consume TABLE N OUT: the first N messages of the table's topic: partition, offset, headers, key, value.
consume() {
  kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --topic "$PREFIX.public.$1" --from-beginning --max-messages "$2" --timeout-ms 60000 \
    --formatter-property print.partition=true --formatter-property print.offset=true \
    --formatter-property print.headers=true --formatter-property print.key=true \
    --formatter-property key.separator=$'\t' --formatter-property headers.separator=$'\x1e' \
    >"$3" 2>"$3.err"
}
log "consume the four topics"
t0=$SECONDS
pids=()
for t in "${!EXPECT[@]}"; do
  n=$(wc -w <<<"${EXPECT[$t]}")
  consume "$t" "$n" "$LOG_DIR/topic-$t.tsv" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a console consumer failed (see $LOG_DIR/topic-*.tsv.err)"; done
log "consumed in $((SECONDS - t0)) s"

# One JSON object per message: table, offset, headers, op, key and value as the raw strings received.
: >"$LOG_DIR/messages.jsonl"
for t in customers products orders order_items; do
  jq -R -c --arg t "$t" 'split("\t") | {
      table: $t, topic: ("'"$PREFIX"'.public." + $t),
      partition: (.[0] | ltrimstr("Partition:") | tonumber), offset: (.[1] | ltrimstr("Offset:") | tonumber),
      headers: (if .[2] == "NO_HEADERS" then {} else
                  .[2] | split("\u001e") | map(capture("^(?<key>[^:]*):(?<value>.*)$")) | from_entries end),
      key: (if .[3] == "null" then null else .[3] end),
      value: (if .[4] == "null" then null else .[4] end) }
    | .op = (if .value == null then "tombstone" else (.value | fromjson | .payload.op) end)' \
    "$LOG_DIR/topic-$t.tsv" >>"$LOG_DIR/messages.jsonl" || fail "cannot parse $LOG_DIR/topic-$t.tsv"
  got=$(jq -r --arg t "$t" 'select(.table == $t) | .op' "$LOG_DIR/messages.jsonl" | xargs)
  [[ "$got" == "${EXPECT[$t]}" ]] || fail "topic $t: events '$got', expected '${EXPECT[$t]}'"
done
log "event sequences: $(for t in customers products orders order_items; do printf '%s=[%s] ' "$t" "${EXPECT[$t]}"; done)"

# check JQ_FILTER MESSAGE: every message must satisfy the filter (given the parsed key k and value v).
check() {
  local bad
  bad=$(jq -c --arg prefix "$PREFIX" "(.key | if . then fromjson else null end) as \$k
      | (.value | if . then fromjson else null end) as \$v | select(($1) | not) | {table, offset, op}" \
    "$LOG_DIR/messages.jsonl") || fail "jq error in check: $2"
  [[ -z "$bad" ]] || fail "$2: $bad"
}
log "envelope, source block, keys, tombstones"
check '.op == "t" or ($k.schema.type == "struct" and $k.schema.name == "\($prefix).public.\(.table).Key"
       and ($k.payload | type) == "object")' "key is schema+payload named <topic>.Key"
check '.op == "tombstone" or (($v.payload | keys) as $f
       | ["after", "before", "op", "source", "ts_ms"] - $f == [])' "value lacks before/after/source/op/ts_ms"
check '.op == "tombstone" or ($v.schema.name == "\($prefix).public.\(.table).Envelope"
       and ([$v.schema.fields[].field] | index("before") != null))' "value schema is not the Envelope"
check '.op == "tombstone" or ($v.payload.source | .connector == "postgresql" and .name == $prefix
       and .db == "streamshop" and .schema == "public" and .table == $v.payload.source.table
       and (.version | test("^3\\.")) and (.lsn | type) == "number" and (.ts_ms | type) == "number")' \
  "source block (connector, name, db, schema, table, version, lsn, ts_ms)"
check '.op == "tombstone" or ($v.payload.source.table == .table)' "source.table is the topic's table"
check '(.op == "r") == (.op != "tombstone" and $v.payload.source.snapshot != "false")' \
  "source.snapshot is set exactly on r events"
check '.op != "c" or ($v.payload.before == null and $v.payload.after != null)' "c: before null, after set"
check '.op != "r" or ($v.payload.before == null and $v.payload.after != null)' "r: before null, after set"
check '.op != "u" or ($v.payload.after != null and ((.table == "products") == ($v.payload.before != null)))' \
  "u: after set; before only with REPLICA IDENTITY FULL"
check '.op != "d" or ($v.payload.before != null and $v.payload.after == null)' "d: before set, after null"
check '.op != "t" or (.key == null and $v.payload.before == null and $v.payload.after == null)' \
  "t: no key, no before/after"
check '.op != "c" and .op != "u" and .op != "d" and .op != "t" or ($v.payload.source.txId | type) == "number"' \
  "streamed events carry source.txId"
# a tombstone follows its delete, with the same key
tomb=$(jq -s -c '[range(1; length) as $i | select(.[$i].op == "tombstone")
                  | select(.[$i - 1].op != "d" or .[$i - 1].key != .[$i].key or .[$i - 1].table != .[$i].table)
                  | .[$i] | {table, offset}]' "$LOG_DIR/messages.jsonl")
[[ "$tomb" == "[]" ]] || fail "tombstone not right after a delete of the same key: $tomb"
# primary-key update: d and its tombstone carry __debezium.newkey, the c carries __debezium.oldkey
pk=$(jq -r 'select(.table == "customers" and .offset >= 2)
            | "\(.op) \(.headers["__debezium.newkey"] // "-") \(.headers["__debezium.oldkey"] // "-")"' \
       "$LOG_DIR/messages.jsonl" | paste -sd ' ')
[[ "$pk" == 'd {"customer_id":100} - tombstone {"customer_id":100} - c - {"customer_id":2}' ]] ||
  fail "primary-key update headers: $pk"

log "type encodings at Debezium defaults (decimal.handling.mode=precise, time.precision.mode=adaptive)"
# field FIELD TABLE OP: the after (before for d) value and its schema, as "schema-type schema-name value".
field() {
  jq -r --arg f "$1" --arg t "$2" --arg op "$3" 'select(.table == $t and .op == $op) | .value | fromjson
    | (if $op == "d" then "before" else "after" end) as $side
    | (.schema.fields[] | select(.field == $side) | .fields[] | select(.field == $f)) as $s
    | "\($s.type) \($s.name // "-") \($s.parameters.scale // "-") \(.payload[$side][$f] | tojson)"' \
    "$LOG_DIR/messages.jsonl" | head -n 1
}
expect_field() {
  local got
  got=$(field "$1" "$2" "$3")
  [[ "$got" == "$4" ]] || fail "$2.$1 ($3): got '$got', expected '$4'"
}
expect_field customer_id customers r 'int64 - - 1'
expect_field full_name customers r 'string - - "Ann O'"'"'Neil \"ünï\" 😀\ttab\nline"'
expect_field created_at customers r 'string io.debezium.time.ZonedTimestamp - "2024-02-29T22:59:59.123456Z"'
expect_field price products r 'bytes org.apache.kafka.connect.data.Decimal 2 "B88="'          # 19.99
expect_field price products c 'bytes org.apache.kafka.connect.data.Decimal 2 "AOjUpQ//"'      # 9999999999.99
expect_field active products c 'boolean - - false'
expect_field total orders c 'bytes org.apache.kafka.connect.data.Decimal 2 "/gw="'            # -5.00
expect_field total orders u 'bytes org.apache.kafka.connect.data.Decimal 2 "DnY="'            # 37.02
expect_field created_at orders c 'string io.debezium.time.ZonedTimestamp - "2025-07-01T06:00:00.500000Z"'
expect_field quantity order_items c 'int32 - - 3'
expect_field unit_price order_items c 'bytes org.apache.kafka.connect.data.Decimal 2 "BNI="'   # 12.34
# a delete under REPLICA IDENTITY DEFAULT: the key columns, the other NOT NULL columns as type defaults
expect_field quantity order_items d 'int32 - - 0'
expect_field email customers d 'string - - ""'

log "the Debezium version that produced this run"
DBZ_VERSION=$(jq -r 'select(.value != null) | .value | fromjson | .payload.source.version' "$LOG_DIR/messages.jsonl" |
  sort -u | xargs)
[[ "$DBZ_VERSION" != *" "* ]] || fail "several Debezium versions: $DBZ_VERSION"
log "Debezium $DBZ_VERSION"

# Writes the run's messages as fixture files into $1: <table>.<offset>.<op>.{key,value}.json with the exact
# bytes received (none for a null key or value) and index.json describing each one.
write_fixtures() {
  local dir=$1 line base
  rm -rf "$dir" && mkdir -p "$dir"
  while IFS= read -r line; do
    base=$(jq -r '"\(.table).\(.offset | tostring | if length < 2 then "0" + . else . end).\(.op)"' <<<"$line")
    jq -j 'if .key == null then empty else .key end' <<<"$line" >"$dir/$base.key.json"
    jq -j 'if .value == null then empty else .value end' <<<"$line" >"$dir/$base.value.json"
    [[ -s "$dir/$base.key.json" ]] || rm "$dir/$base.key.json"
    [[ -s "$dir/$base.value.json" ]] || rm "$dir/$base.value.json"
    jq -c --arg b "$base" '{name: $b, topic, partition, offset, op, headers,
        key_file: (if .key == null then null else "\($b).key.json" end),
        value_file: (if .value == null then null else "\($b).value.json" end)}' <<<"$line"
  done <"$LOG_DIR/messages.jsonl" |
    jq -s --arg v "$DBZ_VERSION" '{debezium_version: $v, kafka_connect_version: "'"$(
      curl -sf "http://127.0.0.1:$STREAMSHOP_CONNECT_PORT/" | jq -r .version)"'",
      postgres_version: "'"$(pg -c 'SHOW server_version' | cut -d' ' -f1)"'", messages: .}' >"$dir/index.json"
}
# What must stay the same from run to run: message names, headers' names, key and value schemas,
# payload field names (not values: timestamps, LSNs and transaction ids differ).
shape() {
  local dir=$1 f
  jq -r '.messages[] | "\(.name) headers=\(.headers | keys | join(","))"' "$dir/index.json"
  for f in "$dir"/*.json; do
    [[ "$(basename "$f")" == index.json ]] && continue
    echo "$(basename "$f") $(jq -S -c '{schema, payload_fields: (.payload | if type == "object" then keys else type end)}' "$f")"
  done
}
write_fixtures "$LOG_DIR/fixtures"
if [[ "${UPDATE_FIXTURES:-}" == 1 ]]; then
  rm -f "$FIXTURES"/*.json
  mkdir -p "$FIXTURES"
  cp "$LOG_DIR/fixtures"/*.json "$FIXTURES/"
  log "UPDATE_FIXTURES=1: wrote $(ls "$FIXTURES"/*.json | wc -l) files to $FIXTURES"
else
  [[ -f "$FIXTURES/index.json" ]] || fail "no fixtures in $FIXTURES (run with UPDATE_FIXTURES=1)"
  shape "$FIXTURES" >"$LOG_DIR/shape-fixtures.txt"
  shape "$LOG_DIR/fixtures" >"$LOG_DIR/shape-run.txt"
  diff -u "$LOG_DIR/shape-fixtures.txt" "$LOG_DIR/shape-run.txt" >"$LOG_DIR/shape.diff" ||
    fail "Debezium's output differs in shape from $FIXTURES (Debezium $DBZ_VERSION; fixtures from $(
      jq -r .debezium_version "$FIXTURES/index.json")); see $LOG_DIR/shape.diff; UPDATE_FIXTURES=1 refreshes them"
  log "same shape as the fixtures ($(jq '.messages | length' "$FIXTURES/index.json") messages)"
fi

log "stop and start the worker: it resumes from its offsets (no second snapshot)"
"${DBZ[@]}" stop >"$LOG_DIR/debezium-stop.log" 2>&1 || fail "debezium.sh stop failed"
set +e
"${DBZ[@]}" status >"$LOG_DIR/debezium-status.log" 2>&1
rc=$?
set -e
((rc == 3)) || fail "debezium.sh status exited $rc with the worker stopped, expected 3"
pg -c "INSERT INTO customers (email, full_name, country, city) VALUES ('cy@example.com', 'Cy', 'US', 'Boston')"
t0=$SECONDS
"${DBZ[@]}" start >>"$LOG_DIR/debezium-start.log" 2>&1 || fail "second debezium.sh start failed"
log "restarted in $((SECONDS - t0)) s"
consume customers 6 "$LOG_DIR/topic-customers-2.tsv" || fail "no 6th customers event after the restart"
last=$(tail -n 1 "$LOG_DIR/topic-customers-2.tsv" | cut -f 5 | jq -c '[.payload.op, .payload.after.email]')
[[ "$last" == '["c","cy@example.com"]' ]] || fail "after restart got $last, expected the new insert"
"${DBZ[@]}" status >"$LOG_DIR/debezium-status.log" 2>&1 || fail "status after restart: $(cat "$LOG_DIR/debezium-status.log")"
grep -q "streamshop-postgres: RUNNING" "$LOG_DIR/debezium-status.log" || fail "connector not RUNNING after restart"
log "Debezium smoke checks passed"
