#!/usr/bin/env bash
# ClickHouse goes away mid-stream (down for a few seconds, then restarted): the replicator keeps its slot
# position, retries with backoff, recovers by itself (same process) and `verify` passes.
# clickhouse-engines: server chdb
TEST_PORT_BASE=31300
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/sample/workload.sql"
pg -c "CALL random_workload($(pg_seed 1), 100, 10)"
start_replicate
wait_streaming

pg -c "CALL random_workload($(pg_seed 2), 1500, 6)" >"$LOG_DIR/workload.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
sleep 2
log "stopping ClickHouse for 5 s"
kill -9 "$(cat "$STREAMSHOP_STACK_DIR/clickhouse/clickhouse-server.pid")"
# An insert ClickHouse answered just before the kill is acknowledged right after it: sample once that is done.
sleep 1
before=$(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop'")
sleep 4
after=$(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop'")
log "confirmed_flush_lsn while ClickHouse was down: $before -> $after"
[[ -n "$before" && "$before" == "$after" ]] || fail "the slot moved while ClickHouse was down: $before -> $after"
bash "$REPO/scripts/stack.sh" up >/dev/null
wait "$WORKLOAD_PID" || fail "workload failed"

log "restart-clickhouse while streaming"
pg -c "CALL random_workload($(pg_seed 3), 500, 6)" >"$LOG_DIR/workload2.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
sleep 1
bash "$REPO/scripts/stack.sh" restart-clickhouse >/dev/null
wait "$WORKLOAD_PID" || fail "workload failed"

verify 180
cat "$LOG_DIR/verify.out"
independent_compare
kill -0 "$REPLICATE_PID" 2>/dev/null || fail "replicate exited instead of recovering"
grep -q "retrying" "$LOG_DIR/replicate.log" || fail "replicate never noticed ClickHouse was down"
stop_replicate
