#!/usr/bin/env bash
# kill -9 the replicator at random points — once during the initial snapshot, then repeatedly while a
# workload runs — restart it each time; afterwards `verify` must pass.
TEST_PORT_BASE=31200
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/tests/integration/workload.sql"
pg -c "INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 300000)"

log "kill -9 during the initial snapshot"
start_replicate --batch-rows 20000
deadline=$((SECONDS + 60))
until grep -q "taking the initial snapshot" "$LOG_DIR/replicate.log"; do
  ((SECONDS < deadline)) || fail "snapshot did not start"
  sleep 0.05
done
sleep 0.3
kill -9 "$REPLICATE_PID"
wait "$REPLICATE_PID" 2>/dev/null || true
grep -q "streaming changes" "$LOG_DIR/replicate.log" && log "note: snapshot had already finished before the kill"

log "workload in the background, 6 kills at random points"
pg -c "CALL random_workload(0.44, 4000, 6)" >"$LOG_DIR/workload.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
RANDOM=7
for i in 1 2 3 4 5 6; do
  start_replicate --batch-rows 5000 --flush-ms 100
  sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
  kill -9 "$REPLICATE_PID"
  wait "$REPLICATE_PID" 2>/dev/null || true
  log "kill $i done (confirmed_flush_lsn $(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop'"))"
done
wait "$WORKLOAD_PID" || fail "workload failed"
kills=$(grep -c "resuming slot" "$LOG_DIR/replicate.log" || true)
((kills >= 5)) || fail "expected at least 5 resumes from the slot, saw $kills"

start_replicate
verify 180
cat "$LOG_DIR/verify.out"
stop_replicate
