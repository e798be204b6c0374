#!/usr/bin/env bash
# capture --exactly-once under kill -9: killed once during the snapshot, then repeatedly at random points (during
# start-up, fencing, streaming) while a workload runs, restarted each time. Then every table topic is read
# read_committed: each snapshot row appears exactly once (all of them), each change (table, LSN, key, op) exactly
# once; and the sink (read_committed) builds ClickHouse tables that `verify` and the independent comparison find
# equal to PostgreSQL (nothing lost).
TEST_PORT_BASE=28700
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

ROWS=30000
pg -f "$REPO/sql/sample/workload.sql"
pg -c "INSERT INTO typed SELECT r.* FROM generate_series(1, $ROWS) g, LATERAL typed_row(nextval('typed_ids') + 0 * g) r" \
  -c "ANALYZE typed"
DATA=$STREAMSHOP_STACK_DIR/kafka/data
topic_bytes() { cat "$DATA/$1"-0/*.log 2>/dev/null | wc -c; }
CAPTURE_ARGS=(--exactly-once --snapshot-workers 2 --snapshot-chunk-pages 20)
# Consumes topics matching $1 read_committed into $2 (key TAB value per line).
consume() {
  kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --include "$1" --from-beginning --timeout-ms 30000 --isolation-level read_committed \
    --formatter-property print.key=true --formatter-property key.separator=$'\t' >"$2" 2>"$2.err" || true
}

log "kill -9 during the snapshot, once some chunks are committed"
start_capture "${CAPTURE_ARGS[@]}"
some_chunks() { (($(topic_bytes streamshop._streamshop_capture_state) > 3000)); }
wait_until 120 "capture committed no chunk of the snapshot" some_chunks
kill -9 "$CAPTURE_PID"
wait "$CAPTURE_PID" 2>/dev/null || true
grep -Eq "snapshot of public.typed: [0-9]+ rows" "$LOG_DIR/capture.log" &&
  fail "the snapshot finished before the kill; make the table bigger"
consume 'streamshop\._streamshop_capture_state' "$LOG_DIR/state-1.tsv"
committed=$(grep -c "/public\.typed/chunk/" "$LOG_DIR/state-1.tsv" || true)
log "killed with $committed chunks of public.typed committed"

log "restart: the snapshot resumes and completes"
start_capture "${CAPTURE_ARGS[@]}"
wait_capture_streaming 1
grep -q "chunks sent by an earlier run" "$LOG_DIR/capture.log" || ((committed == 0)) ||
  fail "the restart did not resume the snapshot"

log "workload in the background, 6 kills at random points"
# Rounds of 40 transactions until the kills are over (a bounded run time whatever the machine's speed).
(
  k=1
  until [[ -f $LOG_DIR/kills.done ]]; do
    pg -c "CALL random_workload($(pg_seed "$k"), 40, 6)"
    k=$((k + 1))
  done
) >"$LOG_DIR/workload.log" 2>&1 &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
for i in 1 2 3 4 5 6; do
  sleep "$((RANDOM % 2)).$((RANDOM % 10))"
  kill -9 "$CAPTURE_PID"
  wait "$CAPTURE_PID" 2>/dev/null || true
  log "kill $i (slot confirmed at $(pg -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop_capture'"))"
  sessions=$(grep -c "streaming changes" "$LOG_DIR/capture.log" || true)
  start_capture "${CAPTURE_ARGS[@]}"
  # Every other restart is killed as soon as it streams, the others (maybe) before: start-up and fencing too.
  if ((RANDOM % 2)); then
    new_session() { (($(grep -c "streaming changes" "$LOG_DIR/capture.log") > sessions)); }
    wait_until 120 "capture did not reach streaming after restart $i" new_session
  fi
done
touch "$LOG_DIR/kills.done"
wait "$WORKLOAD_PID" || fail "workload failed"
end_lsn=$(pg -c "SELECT pg_current_wal_lsn()")
caught_up() {
  [[ $(pg -c "SELECT confirmed_flush_lsn >= '$end_lsn' FROM pg_replication_slots WHERE slot_name = 'streamshop_capture'") == t ]]
}
wait_until 120 "capture did not catch up to $end_lsn" caught_up
skips=$(grep -c "Kafka holds slot" "$LOG_DIR/capture.log" || true)
log "caught up to $end_lsn after $skips sessions"

log "every record exactly once, read_committed"
consume 'streamshop\.public\..*' "$LOG_DIR/records.tsv"
if ! python3 - "$LOG_DIR/records.tsv" "$ROWS" <<'PY'
import collections, json, sys
changes, snapshot, tombstones = collections.Counter(), collections.Counter(), 0
for line in open(sys.argv[1], encoding="utf-8"):
    key, _, value = line.rstrip("\n").partition("\t")
    if value == "null":
        tombstones += 1
        continue
    v = json.loads(value)
    v = v.get("payload", v)  # {"schema":…,"payload":…}
    s = v["source"]
    if v["op"] == "r":
        snapshot[(s["table"], key)] += 1
    else:
        changes[(s["table"], s["lsn"], key, v["op"])] += 1
dup_changes = {k: c for k, c in changes.items() if c > 1}
dup_rows = {k: c for k, c in snapshot.items() if c > 1}
typed_rows = sum(1 for (t, _) in snapshot if t == "typed")
print(f"{sum(changes.values())} changes, {sum(snapshot.values())} snapshot records ({typed_rows} rows of typed), "
      f"{tombstones} tombstones; duplicated: {len(dup_changes)} changes, {len(dup_rows)} snapshot rows")
for k, c in list(dup_changes.items())[:5] + list(dup_rows.items())[:5]:
    print(f"  {c}x {k}")
ok = not dup_changes and not dup_rows and typed_rows == int(sys.argv[2]) and sum(changes.values()) > 100
sys.exit(0 if ok else 1)
PY
then
  tail -n 5 "$LOG_DIR/records.tsv.err"
  fail "records lost or duplicated (see above)"
fi

log "the sink (read_committed) and verify agree with PostgreSQL"
start_sink s --flush-ms 200
SINK=$SINK_PID
verify 180
log "$(tail -n 1 "$LOG_DIR/verify.out")"
independent_compare
stop_clean "$SINK" "sink"
stop_clean "$CAPTURE_PID" "capture"
