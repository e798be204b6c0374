#!/usr/bin/env bash
# Our `sink` reads real Debezium 3.6 at the settings teams run (docs/DEBEZIUM_COMPATIBILITY.md, "Connector modes"):
# three connectors on one Kafka Connect worker, each with its own slot, topic prefix, sink and ClickHouse database,
# over sql/sample/workload.sql's types plus time, interval and hstore columns (snapshot, then a streamed workload
# with updates, primary-key updates, NULLs and deletes):
#   A  decimal.handling.mode=string, binary.handling.mode=base64, time.precision.mode=isostring,
#      interval.handling.mode=string, hstore.handling.mode=json, column.propagate.source.type=.*  → verify passes
#   B  binary.handling.mode=hex, time.precision.mode=adaptive_time_microseconds, interval.handling.mode=string,
#      hstore.handling.mode=map, datatype.propagate.source.type=.*, and the ExtractNewRecordState (unwrap) SMT
#      with delete.tombstone.handling.mode=rewrite and add.fields=op,lsn                         → verify passes
#   C  time.precision.mode=connect, binary.handling.mode=base64-url-safe, decimal.handling.mode=double,
#      column.propagate.source.type=.*: a millisecond table passes verify; typed (numerics rounded to doubles,
#      microsecond timestamps cut to milliseconds) is refused to the dead-letter topic with the reason, never stored.
TEST_PORT_BASE=26700
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"
ln -sf "$STREAMSHOP_STACK_DIR/debezium/log/connect.log" "$LOG_DIR/connect.log"

pg -f "$REPO/sql/sample/workload.sql" >/dev/null
pg -f "$REPO/sql/postgres/schema.sql" >/dev/null  # the role Debezium connects as (connectors/postgres-source.json)
pg <<'SQL' >/dev/null
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE TABLE extra (
  id int PRIMARY KEY,
  t6 time, t3 time(3), ts3 timestamp(3), d date, iv interval, hs hstore, b bytea, n numeric(10, 3)
);
-- Millisecond-exact temporal columns: what time.precision.mode=connect can carry.
CREATE TABLE millis (id int PRIMARY KEY, t3 time(3), ts3 timestamp(3), ts0 timestamp(0), d date, b bytea);
DROP PUBLICATION IF EXISTS streamshop;
CREATE PUBLICATION streamshop FOR TABLE typed, pairs, extra, millis;
CREATE PUBLICATION modes_connect FOR TABLE millis;
GRANT SELECT ON typed, pairs, extra, millis TO streamshop_cdc;
SELECT setseed(0.25);
INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 200);
INSERT INTO pairs SELECT 't' || (i % 3), i, 'label ' || i FROM generate_series(1, 40) i;
INSERT INTO extra SELECT i,
  time '00:00' + random() * interval '24 hours', time '00:00' + random() * interval '24 hours',
  timestamp '1990-01-01' + random() * interval '60 years', date '1950-01-01' + (random() * 40000)::int,
  CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN interval '1 year 2 mons 3 days 04:05:06.78'
    WHEN 2 THEN interval '-1 days +02:00:00' ELSE make_interval(0, 0, 0, i, 0, 0, i * 1.5) END,
  CASE WHEN i % 4 = 0 THEN NULL ELSE hstore(ARRAY['k' || i, 'a"b\', 'nul'], ARRAY[md5(i::text), 'x', NULL]) END,
  CASE WHEN i % 6 = 0 THEN NULL ELSE decode(md5(i::text) || 'fbff', 'hex') END,
  CASE WHEN i % 7 = 0 THEN NULL ELSE round((random() * 1e6)::numeric, 3) END
  FROM generate_series(1, 60) i;
INSERT INTO millis SELECT i, time '00:00' + random() * interval '24 hours',
  timestamp '1990-01-01' + random() * interval '60 years', timestamp '1990-01-01' + random() * interval '60 years',
  date '1950-01-01' + (random() * 40000)::int, CASE WHEN i % 5 = 0 THEN NULL ELSE decode(md5(i::text) || 'fbff', 'hex') END
  FROM generate_series(1, 60) i;
SQL

# connector NAME PREFIX SLOT key=value…: a connector config file from connectors/postgres-source.json.
connector() {
  local name=$1 prefix=$2 slot=$3 file=$LOG_DIR/connector-$1.json
  shift 3
  jq --arg n "$name" --arg p "$prefix" --arg s "$slot" \
    '.name = $n | .config."topic.prefix" = $p | .config."slot.name" = $s |
     .config."table.include.list" = "public.typed,public.pairs,public.extra,public.millis"' \
    "$REPO/connectors/postgres-source.json" >"$file"
  log "connector $name: $*"
  bash "$REPO/scripts/debezium.sh" start "$file" "$@" >>"$LOG_DIR/debezium-start.log" 2>&1 ||
    fail "debezium.sh start $name: $(tail -n 20 "$LOG_DIR/debezium-start.log")"
}
connector modes-a dbz_a dbz_a decimal.handling.mode=string binary.handling.mode=base64 \
  time.precision.mode=isostring interval.handling.mode=string hstore.handling.mode=json \
  'column.propagate.source.type=.*'
connector modes-b dbz_b dbz_b binary.handling.mode=hex time.precision.mode=adaptive_time_microseconds \
  interval.handling.mode=string hstore.handling.mode=map 'datatype.propagate.source.type=.+' \
  transforms=unwrap transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState \
  transforms.unwrap.delete.tombstone.handling.mode=rewrite transforms.unwrap.add.fields=op,lsn
connector modes-c dbz_c dbz_c time.precision.mode=connect binary.handling.mode=base64-url-safe \
  decimal.handling.mode=double 'column.propagate.source.type=.*'

start_sink a --topics '^dbz_a\.public\..*' --group modes-a --database modes_a --flush-ms 100 \
  --dead-letter-topic modes_a.dlq --debezium-decimal-handling-mode string --debezium-binary-handling-mode base64 \
  --debezium-time-precision-mode isostring --debezium-interval-handling-mode string
SINK_A=$SINK_PID
start_sink b --topics '^dbz_b\.public\..*' --group modes-b --database modes_b --flush-ms 100 \
  --dead-letter-topic modes_b.dlq --debezium-binary-handling-mode hex \
  --debezium-time-precision-mode adaptive_time_microseconds --debezium-hstore-handling-mode map
SINK_B=$SINK_PID
start_sink c --topics '^dbz_c\.public\..*' --group modes-c --database modes_c --flush-ms 100 \
  --dead-letter-topic modes_c.dlq --debezium-time-precision-mode connect \
  --debezium-binary-handling-mode base64-url-safe --debezium-decimal-handling-mode double
SINK_C=$SINK_PID

# check WHEN: every mode's verify passes, and only run C dead-letters (typed: a rounded numeric), with its reason.
check() {
  for run in a b; do
    "$STREAMSHOP" verify --wait 180 --database "modes_$run" >"$LOG_DIR/verify-$run.out" 2>&1 ||
      { cat "$LOG_DIR/verify-$run.out"; fail "verify of run ${run^^} failed $1"; }
    log "run ${run^^} $1: $(tail -n 1 "$LOG_DIR/verify-$run.out")"
    ! grep -q "dead letter" "$LOG_DIR/sink-$run.log" ||
      fail "run ${run^^} dead-lettered records: $(grep -m 3 'dead letter' "$LOG_DIR/sink-$run.log")"
  done
  "$STREAMSHOP" verify --wait 180 --database modes_c --publication modes_connect >"$LOG_DIR/verify-c.out" 2>&1 ||
    { cat "$LOG_DIR/verify-c.out"; fail "verify of run C (millis) failed $1"; }
  log "run C $1: $(tail -n 1 "$LOG_DIR/verify-c.out")"
}
check "after the snapshots"
grep -q "decimal.handling.mode=double" "$LOG_DIR/sink-c.log" ||
  fail "run C did not refuse typed's rounded numerics: $(grep -m 3 'dead letter' "$LOG_DIR/sink-c.log")"
[[ "$(ch "SELECT count() FROM system.tables WHERE database = 'modes_c' AND name = 'raw_typed'")" == 0 ]] ||
  fail "run C created raw_typed from numerics rounded to doubles"
! grep "dead letter" "$LOG_DIR/sink-c.log" | grep -qE "dbz_c\.public\.(millis|pairs)" ||
  fail "run C dead-lettered exact records: $(grep 'dead letter' "$LOG_DIR/sink-c.log" | grep -E 'millis|pairs' | head -3)"

log "streamed workload through the three connectors"
pg -c "CALL random_workload(0.4, 200, 5)" >"$LOG_DIR/workload.log" 2>&1 || fail "workload failed"
pg <<'SQL' >>"$LOG_DIR/workload.log"
UPDATE extra SET iv = iv * 2, hs = hs || hstore('new', 'v'), b = NULL, t6 = t6 + interval '1.000001 s' WHERE id % 3 = 0;
UPDATE extra SET id = id + 1000 WHERE id % 10 = 1;
DELETE FROM extra WHERE id % 8 = 0;
UPDATE millis SET ts3 = ts3 + interval '1.5 s', b = '\x00' WHERE id % 3 = 0;
DELETE FROM millis WHERE id % 8 = 0;
UPDATE pairs SET seq = seq + 1000 WHERE seq % 7 = 0;
DELETE FROM pairs WHERE seq % 3 = 0;
SQL
check "after streaming"
for s in "$SINK_A" "$SINK_B" "$SINK_C"; do stop_clean "$s" "sink"; done
bash "$REPO/scripts/debezium.sh" stop >/dev/null 2>&1 || true
