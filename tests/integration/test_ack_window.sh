#!/usr/bin/env bash
# Kills aimed at the flush→acknowledge window: the test-only failpoint STREAMSHOP_FAILPOINT_EXIT_AFTER_INSERT=k
# ends `replicate` right after ClickHouse stored its k-th insert and before anything acts on it (snapshot chunk
# marker, slot acknowledgement). Run for every k = 1…N, each run on new changes plus what the last one left
# unacknowledged, through the initial snapshot and then streaming. Afterwards `verify` and the independent
# comparison must pass: nothing lost, nothing stale.
# clickhouse-engines: server chdb
TEST_PORT_BASE=25400
source "$(dirname "$0")/lib.sh" "$1"
N=${ACK_WINDOW_RUNS:-14}

pg -f "$REPO/sql/sample/workload.sql"
# A snapshot of a few inserts (each restart re-copies the chunks not yet recorded), so later runs stream.
pg -c "INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 6)"
pg -c "INSERT INTO pairs VALUES ('a', 1, 'one'), ('a', 2, NULL)"

exited() { ! kill -0 "$REPLICATE_PID" 2>/dev/null; }
exited_or_streaming() { exited || (($(grep -c "streaming changes" "$LOG_DIR/replicate.log" || true) > sessions)); }
for k in $(seq 1 "$N"); do
  sessions=$(grep -c "streaming changes" "$LOG_DIR/replicate.log" 2>/dev/null || true)
  STREAMSHOP_FAILPOINT_EXIT_AFTER_INSERT=$k start_replicate --batch-rows 8 --flush-ms 50
  wait_until 90 "run $k neither reached insert $k nor streaming" exited_or_streaming
  # New changes once streaming (earlier, they would only grow the tables the snapshot copies again).
  exited || pg -c "CALL random_workload($(pg_seed "$k"), 40, 6)"
  wait_until 90 "run $k did not reach its insert $k" exited
  rc=0
  wait "$REPLICATE_PID" || rc=$?
  ((rc == 86)) || fail "run $k exited $rc, expected the failpoint's 86"
  grep -q "failpoint STREAMSHOP_FAILPOINT_EXIT_AFTER_INSERT=$k:" "$LOG_DIR/replicate.log" || fail "run $k: no failpoint message"
  log "run $k ended after insert $k (slot confirmed at $(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop'"))"
done
grep -q "streaming changes" "$LOG_DIR/replicate.log" || fail "no run got past the snapshot: make the snapshot smaller"

start_replicate
verify 120
cat "$LOG_DIR/verify.out"
independent_compare
stop_replicate
