#!/usr/bin/env bash
# Interop in the other direction: real Debezium (Kafka Connect standalone, connectors/postgres-source.json) →
# Kafka → our `sink` → ClickHouse; `verify` must pass after its snapshot and after a streamed workload with
# updates, deletes (with tombstones) and primary-key changes of the demo tables.
# clickhouse-engines: server chdb
TEST_PORT_BASE=23600
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"
ln -sf "$STREAMSHOP_STACK_DIR/debezium/log/connect.log" "$LOG_DIR/connect.log"

pg -f "$REPO/sql/postgres/schema.sql"
"$STREAMSHOP" generate --transactions 2000 --rate 0 --seed "$TEST_SEED" --progress off >"$LOG_DIR/generate-1.log" 2>&1 ||
  fail "generate failed"

log "start Debezium (snapshot of the existing rows, then streaming)"
bash "$REPO/scripts/debezium.sh" start >"$LOG_DIR/debezium-start.log" 2>&1 ||
  fail "debezium.sh start: $(cat "$LOG_DIR/debezium-start.log")"
start_sink dbz --topics '^streamshop_dbz\.public\..*' --group dbz-sink --flush-ms 100
SINK=$SINK_PID
verify 180
log "after Debezium's snapshot: $(tail -n 1 "$LOG_DIR/verify.out")"
independent_compare

log "streamed workload through Debezium"
"$STREAMSHOP" generate --transactions 4000 --rate 0 --seed "$((TEST_SEED + 1))" --progress off >"$LOG_DIR/generate-2.log" 2>&1 ||
  fail "generate failed"
pg <<'SQL'
UPDATE customers SET customer_id = customer_id + 100000  -- primary-key updates
  WHERE customer_id % 10 = 0 AND customer_id NOT IN (SELECT customer_id FROM orders);
DELETE FROM order_items WHERE order_id % 7 = 0;
SQL
verify 180
log "after streaming: $(tail -n 1 "$LOG_DIR/verify.out")"
independent_compare
grep -q "dead letter" "$LOG_DIR/sink-dbz.log" && fail "the sink dead-lettered Debezium's records"
stop_clean "$SINK" "sink"
bash "$REPO/scripts/debezium.sh" stop >/dev/null 2>&1 || true
