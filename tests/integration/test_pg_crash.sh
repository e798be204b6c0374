#!/usr/bin/env bash
# PostgreSQL crashes (pg_ctl stop -m immediate: no shutdown checkpoint, every connection cut) under a running
# `replicate` and a running `capture` + `sink` while a workload writes, then starts again. Both pipelines must
# recover by themselves (same processes), and `verify` and the independent comparison must pass for each: the
# direct copy in `analytics`, the one through Kafka in `via_kafka`.
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
stop_clean "$CAP" "capture"
