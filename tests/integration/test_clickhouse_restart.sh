#!/usr/bin/env bash
# ClickHouse goes away mid-stream (down for a few seconds, then restarted): the replicator keeps its slot
# position, retries with backoff, recovers by itself (same process) and `verify` passes.
TEST_PORT_BASE=31300
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/sample/workload.sql"
pg -c "CALL random_workload(0.5, 100, 10)"
start_replicate
wait_streaming

pg -c "CALL random_workload(0.55, 1500, 6)" >"$LOG_DIR/workload.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
sleep 2
log "stopping ClickHouse for 5 s"
kill -9 "$(cat "$STREAMSHOP_STACK_DIR/clickhouse/clickhouse-server.pid")"
before=$(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop'")
sleep 5
after=$(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop'")
log "confirmed_flush_lsn while ClickHouse was down: $before -> $after"
bash "$REPO/scripts/stack.sh" up >/dev/null
wait "$WORKLOAD_PID" || fail "workload failed"

log "restart-clickhouse while streaming"
pg -c "CALL random_workload(0.56, 500, 6)" >"$LOG_DIR/workload2.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
sleep 1
bash "$REPO/scripts/stack.sh" restart-clickhouse >/dev/null
wait "$WORKLOAD_PID" || fail "workload failed"

verify 180
cat "$LOG_DIR/verify.out"
kill -0 "$REPLICATE_PID" 2>/dev/null || fail "replicate exited instead of recovering"
grep -q "retrying" "$LOG_DIR/replicate.log" || fail "replicate never noticed ClickHouse was down"
stop_replicate
