#!/usr/bin/env bash
# capture's snapshot resumes: kill -9 during the snapshot of a 300k-row table read in many small chunks, restart →
# only the chunks Kafka had not acknowledged are sent again (their count and rows are checked against the state
# topic), every row is in the topic as op r, few twice; then the sink builds the right ClickHouse table (verify).
TEST_PORT_BASE=27900
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

ROWS=300000
pg -c "CREATE TABLE snap (id bigint PRIMARY KEY, grp int, label text)"
pg -c "INSERT INTO snap SELECT g, g % 100, 'row ' || g || repeat('x', g % 50) FROM generate_series(1, $ROWS) g" \
  -c "ANALYZE snap"
pages=$(pg -c "SELECT pg_relation_size('snap') / 8192")
DATA=$STREAMSHOP_STACK_DIR/kafka/data
topic_bytes() { cat "$DATA/$1"-0/*.log 2>/dev/null | wc -c; }
snapshot_finished() { grep -Eq "snapshot of public.snap: [0-9]+ rows" "$LOG_DIR/capture.log"; }

log "capture with 2 workers and 10-page chunks ($pages pages); kill -9 once some chunks are acknowledged"
start_capture --snapshot-workers 2 --snapshot-chunk-pages 10
# Some chunks recorded as delivered: the state topic holds more than its two "reset" records.
some_acknowledged() { (($(topic_bytes streamshop._streamshop_capture_state) > 400)); }
wait_until 120 "capture recorded no chunk of the snapshot" some_acknowledged
kill -9 "$CAPTURE_PID"
wait "$CAPTURE_PID" 2>/dev/null || true
snapshot_finished && fail "the snapshot finished before the kill; make the table bigger"

# The chunks the state topic records as delivered: what the restart must skip.
kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic streamshop._streamshop_capture_state --from-beginning --timeout-ms 10000 \
  --formatter-property print.key=true --formatter-property key.separator=$'\t' >"$LOG_DIR/state-1.tsv" \
  2>"$LOG_DIR/state-1.err" || true
acked=$(grep -c "/public\.snap/chunk/" "$LOG_DIR/state-1.tsv" || true)
acked_rows=$(grep "/public\.snap/chunk/" "$LOG_DIR/state-1.tsv" | grep -o "rows=[0-9]*" | cut -d= -f2 |
  awk '{n += $1} END {print n + 0}')
total=$(grep -o "snapshot of public.snap: ~[0-9]* rows in [0-9]* chunk" "$LOG_DIR/capture.log" | grep -o "[0-9]* chunk" |
  grep -o "[0-9]*")
log "killed with $acked of $total chunks ($acked_rows rows) acknowledged"
((acked > 0 && acked < total)) || fail "expected some but not all chunks acknowledged at the kill"

log "restart: only the chunks not acknowledged"
mark=$(wc -c <"$LOG_DIR/capture.log")
start_capture --snapshot-workers 2 --snapshot-chunk-pages 10
CAP=$CAPTURE_PID
wait_capture_streaming 1
line=$(tail -c +$((mark + 1)) "$LOG_DIR/capture.log" | grep -o "snapshot of public.snap: [0-9]* rows in .*" || true)
log "restart: $line"
[[ "$line" == *"($acked of $total chunks sent by an earlier run)"* ]] ||
  fail "the restart did not skip exactly the $acked acknowledged chunks"
resent=$(grep -o "^snapshot of public.snap: [0-9]*" <<<"$line" | grep -o "[0-9]*$")
((resent + acked_rows == ROWS)) || fail "the restart sent $resent rows; $ROWS - $acked_rows were not acknowledged"

log "every row in the topic, few twice (nothing changed yet: every record is a snapshot record, op r)"
kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic streamshop.public.snap --from-beginning --timeout-ms 15000 --formatter-property print.key=true \
  --formatter-property print.value=false >"$LOG_DIR/snap-keys.txt" 2>"$LOG_DIR/snap.err" || true
grep -o '"payload":{"id":[0-9]*}' "$LOG_DIR/snap-keys.txt" | sort | uniq -c |
  awk '{keys++; records += $1} END {print keys + 0, records + 0}' >"$LOG_DIR/snap.counts"
read -r keys records <"$LOG_DIR/snap.counts"
in_topic=$(kafka_java org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic streamshop.public.snap 2>/dev/null | awk -F: '{n += $3} END {print n + 0}')
log "$records records for $keys keys ($((records - keys)) duplicates); the topic holds $in_topic"
((records == in_topic)) || fail "read $records of the topic's $in_topic records"
((keys == ROWS)) || fail "$keys distinct rows in the topic, expected $ROWS"
((records - keys <= ROWS / 3)) || fail "$((records - keys)) rows sent twice: the restart re-sent acknowledged chunks"

log "changes after the snapshot; the sink builds the ClickHouse table"
pg -c "UPDATE snap SET label = 'changed' WHERE id % 1000 = 7" -c "DELETE FROM snap WHERE id % 5000 = 1" \
  -c "INSERT INTO snap VALUES ($((ROWS + 1)), 0, 'new')"
start_sink s --flush-ms 200
SINK=$SINK_PID
verify 180
log "$(tail -n 1 "$LOG_DIR/verify.out")"
independent_compare snap
stop_clean "$SINK" "sink"
stop_clean "$CAP" "capture"
