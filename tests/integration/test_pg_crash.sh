#!/usr/bin/env bash
# PostgreSQL crashes (pg_ctl stop -m immediate: no shutdown checkpoint, every connection cut) under a running
# `replicate` and a running `capture` + `sink` while a workload writes, then starts again. Both pipelines must
# recover by themselves (same processes), and `verify` and the independent comparison must pass for each: the
# direct copy in `analytics`, the one through Kafka in `via_kafka`. Then the sink's insert→offset-commit window:
# the test-only failpoint ends `sink` right after its k-th stored insert, for k = 1…6, before verifying again.
TEST_PORT_BASE=25500
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/sample/workload.sql"
pg -c "INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 2000)"
pg -c "CALL random_workload($(pg_seed 1), 100, 6)"
start_replicate --flush-ms 100
wait_streaming
start_capture --partitions 1
CAP=$CAPTURE_PID
wait_capture_streaming
start_sink k --database via_kafka --flush-ms 100
SINK=$SINK_PID

log "workload, and PostgreSQL crashes under it"
pg -c "CALL random_workload($(pg_seed 2), 3000, 6)" >"$LOG_DIR/workload.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
sleep 3
crash_postgres
rc=0
wait "$WORKLOAD_PID" || rc=$?
log "PostgreSQL crashed (the workload's connection: exit $rc)"
sleep 2
bash "$REPO/scripts/stack.sh" up >/dev/null
log "PostgreSQL is back; more workload"
pg -c "CALL random_workload($(pg_seed 3), 300, 6)"

"$STREAMSHOP" verify --wait 180 >"$LOG_DIR/verify.out" 2>&1 || { cat "$LOG_DIR/verify.out"; fail "verify (replicate) failed"; }
cat "$LOG_DIR/verify.out"
independent_compare
"$STREAMSHOP" verify --database via_kafka --wait 180 >"$LOG_DIR/verify-kafka.out" 2>&1 ||
  { cat "$LOG_DIR/verify-kafka.out"; fail "verify (capture + sink) failed"; }
cat "$LOG_DIR/verify-kafka.out"
CH_DATABASE=via_kafka independent_compare

kill -0 "$REPLICATE_PID" 2>/dev/null || fail "replicate exited instead of recovering"
kill -0 "$CAP" 2>/dev/null || fail "capture exited instead of recovering"
grep -q "retrying" "$LOG_DIR/replicate.log" || fail "replicate never noticed PostgreSQL was gone"
grep -q "retrying" "$LOG_DIR/capture.log" || fail "capture never noticed PostgreSQL was gone"
stop_replicate
stop_clean "$SINK" "sink"

SINK_RUNS=${SINK_RUNS:-6}
log "sink: the test-only failpoint ends it after its k-th stored insert, before offsets commit, k = 1…$SINK_RUNS"
# A short session timeout, so the group does not wait long for the member each failpoint run leaves behind.
sink_args=(--database via_kafka --kafka-prop session.timeout.ms=6000)
for k in $(seq 1 "$SINK_RUNS"); do
  pg -c "CALL random_workload($(pg_seed $((10 + k))), 30, 6)"
  STREAMSHOP_FAILPOINT_EXIT_AFTER_INSERT=$k start_sink failpoint "${sink_args[@]}" --batch-rows 8 --flush-ms 50
  sink_exited() { ! kill -0 "$SINK_PID" 2>/dev/null; }
  wait_until 120 "sink run $k did not reach its insert $k" sink_exited
  rc=0
  wait "$SINK_PID" || rc=$?
  ((rc == 86)) || fail "sink run $k exited $rc, expected the failpoint's 86"
done
(($(grep -c "failpoint STREAMSHOP_FAILPOINT_EXIT_AFTER_INSERT=" "$LOG_DIR/sink-failpoint.log") == SINK_RUNS)) ||
  fail "not every sink run ended at its failpoint"
start_sink k "${sink_args[@]}" --flush-ms 100
SINK=$SINK_PID
"$STREAMSHOP" verify --database via_kafka --wait 180 >"$LOG_DIR/verify-kafka.out" 2>&1 ||
  { cat "$LOG_DIR/verify-kafka.out"; fail "verify (sink after the failpoint runs) failed"; }
cat "$LOG_DIR/verify-kafka.out"
CH_DATABASE=via_kafka independent_compare
stop_clean "$SINK" "sink"
stop_clean "$CAP" "capture"
