#!/usr/bin/env bash
# The Kafka topology end to end on a real broker: a workload → `capture` → Kafka (3 partitions per topic) →
# `sink` → ClickHouse, `verify` must pass; then a second sink joins the same consumer group, the partitions are
# split between the two, more workload, `verify` again. Both stop cleanly on SIGTERM.
# clickhouse-engines: server chdb
# ctest-timeout: 1500
TEST_PORT_BASE=23300
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/sample/workload.sql"
pg -f "$REPO/sql/postgres/schema.sql"
pg -c "ALTER PUBLICATION streamshop ADD TABLE typed, pairs"
pg -c "INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 20000)"
"$STREAMSHOP" generate --transactions 2000 --rate 0 --seed "$TEST_SEED" --progress off >"$LOG_DIR/generate-1.log" 2>&1 ||
  fail "generate failed"

log "capture (snapshot, then streaming) and one sink"
start_capture --partitions 3
CAP=$CAPTURE_PID
start_sink a --flush-ms 100
SINK_A=$SINK_PID
wait_capture_streaming
grep -q "snapshot of public.typed: 20000 rows" "$LOG_DIR/capture.log" || fail "no snapshot of typed in capture.log"
pg -c "CALL random_workload($(pg_seed 1), 1500, 6)" >"$LOG_DIR/workload-1.log" 2>&1 || fail "workload failed"
"$STREAMSHOP" generate --transactions 3000 --rate 0 --seed "$((TEST_SEED + 2))" --progress off >"$LOG_DIR/generate-2.log" 2>&1 ||
  fail "generate failed"
verify 120
log "one sink: $(tail -n 1 "$LOG_DIR/verify.out")"
independent_compare

log "a second sink in the same group"
start_sink b --flush-ms 100
SINK_B=$SINK_PID
both_assigned() { grep -q "assigned" "$LOG_DIR/sink-b.log" && grep -q "revoked" "$LOG_DIR/sink-a.log"; }
wait_until 90 "the second sink got no partitions" both_assigned
pg -c "CALL random_workload($(pg_seed 2), 1500, 6)" >"$LOG_DIR/workload-2.log" 2>&1 || fail "workload failed"
"$STREAMSHOP" generate --transactions 3000 --rate 0 --seed "$((TEST_SEED + 3))" --progress off >"$LOG_DIR/generate-3.log" 2>&1 ||
  fail "generate failed"
verify 120
log "two sinks: $(tail -n 1 "$LOG_DIR/verify.out")"
independent_compare
grep -q "dead letter" "$LOG_DIR"/sink-*.log && fail "a sink dead-lettered good records"

stop_clean "$SINK_A" "sink a"
stop_clean "$SINK_B" "sink b"
stop_clean "$CAP" "capture"
lag=$(pg -c "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop_capture'")
log "capture slot confirmed to within $lag bytes of the WAL end after stopping"
