#!/usr/bin/env bash
# kill -9 the replicator at random points — once during the initial snapshot, then repeatedly while a
# workload runs — restart it each time; afterwards `verify` must pass.
# clickhouse-engines: server chdb
# ctest-timeout: 1500
TEST_PORT_BASE=31200
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/sample/workload.sql"
pg -c "INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 100000)"

log "kill -9 during the initial snapshot"
start_replicate --batch-rows 2000 --snapshot-chunk-pages 50 --snapshot-workers 1
# Killed once a chunk is recorded as copied, so the restart has something to skip.
snapshot_started() { (($(curl -sf "$STREAMSHOP_CLICKHOUSE_URL/" --data-binary "SELECT count() FROM analytics._streamshop_snapshots
  WHERE table = 'public.typed' AND chunk >= 0" || echo 0) > 0)); }
wait_until 60 "no snapshot chunk was recorded" snapshot_started
kill -9 "$REPLICATE_PID"
wait "$REPLICATE_PID" 2>/dev/null || true
grep -q "streaming changes" "$LOG_DIR/replicate.log" && fail "the snapshot finished before the kill; make it bigger"

log "workload in the background, 6 kills at random points while streaming"
pg -c "CALL random_workload($(pg_seed 1), 4000, 6)" >"$LOG_DIR/workload.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
new_session() { (($(grep -c "streaming changes" "$LOG_DIR/replicate.log") > sessions)); }
for i in 1 2 3 4 5 6; do
  sessions=$(grep -c "streaming changes" "$LOG_DIR/replicate.log" || true)
  start_replicate --batch-rows 5000 --flush-ms 100
  wait_until 120 "replicate did not reach streaming after restart $i" new_session
  sleep "$((RANDOM % 3)).$((RANDOM % 10))"
  kill -9 "$REPLICATE_PID"
  wait "$REPLICATE_PID" 2>/dev/null || true
  log "kill $i done (confirmed_flush_lsn $(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop'"))"
done
wait "$WORKLOAD_PID" || fail "workload failed"
grep -q "already copied by an earlier run" "$LOG_DIR/replicate.log" ||
  fail "the restart after the kill during the snapshot did not resume the snapshot"
resumes=$(grep -c "resuming slot" "$LOG_DIR/replicate.log" || true)
((resumes >= 5)) || fail "expected at least 5 resumes from the slot, saw $resumes"

start_replicate
verify 180
cat "$LOG_DIR/verify.out"
independent_compare
stop_replicate
