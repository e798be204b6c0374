#!/usr/bin/env bash
# Crashes and outages in the Kafka topology, with a workload running throughout: kill -9 `capture` once during
# its snapshot and 5 times while streaming, kill -9 `sink` 5 times, and restart the broker under both (they must
# recover by themselves). Afterwards `verify` must pass: nothing lost, duplicates harmless.
# ctest-timeout: 1500
TEST_PORT_BASE=23400
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/sample/workload.sql"
pg -f "$REPO/sql/postgres/schema.sql"
pg -c "ALTER PUBLICATION streamshop ADD TABLE typed, pairs"
pg -c "INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 150000)"

log "kill -9 capture during its snapshot"
start_capture --partitions 2
wait_until 60 "capture never started the snapshot of typed" grep -q "snapshot of public.typed to" "$LOG_DIR/capture.log"
sleep 0.5
kill -9 "$CAPTURE_PID"
wait "$CAPTURE_PID" 2>/dev/null || true
grep -Eq "snapshot of public.typed: [0-9]+ rows" "$LOG_DIR/capture.log" && fail "the snapshot finished before the kill; make it bigger"

start_sink s --flush-ms 100
SINK=$SINK_PID
log "workload in the background; 5 kills of capture at random points"
pg -c "CALL random_workload($(pg_seed 1), 6000, 6)" >"$LOG_DIR/workload.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
for i in 1 2 3 4 5; do
  start_capture --partitions 2
  wait_capture_streaming "$i"
  sleep "$((RANDOM % 3)).$((RANDOM % 10))"
  kill -9 "$CAPTURE_PID"
  wait "$CAPTURE_PID" 2>/dev/null || true
  log "capture kill $i (slot confirmed at $(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop_capture'"))"
done
grep -Eq "snapshot of public.typed: [0-9]+ rows" "$LOG_DIR/capture.log" ||
  fail "the restart after the kill during the snapshot did not finish the snapshot of typed"
start_capture --partitions 2
CAP=$CAPTURE_PID

log "5 kills of sink at random points"
for i in 1 2 3 4 5; do
  sleep "$((RANDOM % 3)).$((RANDOM % 10))"
  kill -9 "$SINK"
  wait "$SINK" 2>/dev/null || true
  start_sink s --flush-ms 100
  SINK=$SINK_PID
  log "sink kill $i"
done

wait "$WORKLOAD_PID" || fail "workload failed"

log "broker restart while both run and a workload writes"
"$STREAMSHOP" generate --rate 500 --duration 20s --seed "$TEST_SEED" --progress log >"$LOG_DIR/generate.log" 2>&1 &
GENERATE_PID=$!
BG_PIDS+=("$GENERATE_PID")
sleep 3
bash "$REPO/scripts/stack.sh" restart-kafka >"$LOG_DIR/restart-kafka.log" 2>&1 || fail "restart-kafka failed"
wait "$GENERATE_PID" || fail "generate failed"
kill -0 "$CAP" 2>/dev/null || fail "capture exited after the broker restart"
kill -0 "$SINK" 2>/dev/null || fail "sink exited after the broker restart"
verify 240
cat "$LOG_DIR/verify.out"
independent_compare
stop_clean "$SINK" "sink"
stop_clean "$CAP" "capture"
