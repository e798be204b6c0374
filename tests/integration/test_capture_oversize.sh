#!/usr/bin/env bash
# Capture at the edges of Kafka (issue 11, items 6 and 1):
#   - a row larger than its topic's max.message.bytes: capture logs an alarm, sends the record whole to
#     streamshop.dead_letter (here in chunks: that topic is smaller still) with its key and LSN, keeps streaming, the
#     slot moves past it, later changes arrive; the chunks concatenate to the full value;
#   - at start capture reports the topics' max.message.bytes and what to change;
#   - tables and columns with names PostgreSQL allows but Kafka topics do not (spaces, dots, quotes, backticks,
#     unicode, reserved words, 63 bytes, and two names Debezium's sanitizer maps to one topic) replicate through
#     capture → sink, each on its own topic, and `verify` exits 0.
TEST_PORT_BASE=25100
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

long=$(printf 'L%.0s' {1..63})
pg <<SQL
CREATE TABLE big (id int PRIMARY KEY, body text);
ALTER TABLE big ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE "my table" ("my id" int PRIMARY KEY, "sp ace" text, "select" int);
CREATE TABLE my_table (id int PRIMARY KEY, v text);
CREATE TABLE "a.b" (id int PRIMARY KEY, "quo""te" text, "back\`tick" text, "back\\slash" text);
CREATE TABLE "Ünïcödé-✓" ("ключ" int PRIMARY KEY, "値" text);
CREATE TABLE "$long" ("$long" int PRIMARY KEY, v text);
INSERT INTO "my table" VALUES (1, 'a', 1), (2, 'b', 2);
INSERT INTO my_table VALUES (1, 'x');
INSERT INTO "a.b" VALUES (1, 'q''s', 'b\`s', 'b\\s');
INSERT INTO "Ünïcödé-✓" VALUES (1, 'ü');
INSERT INTO "$long" VALUES (1, 'long');
CREATE PUBLICATION streamshop FOR TABLE big, "my table", my_table, "a.b", "Ünïcödé-✓", "$long";
SQL

topics() { kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" "$@"; }
topics --create --topic streamshop.public.big --partitions 1 --replication-factor 1 \
  --config max.message.bytes=200000 >>"$LOG_DIR/topics.log" 2>&1 || fail "cannot create streamshop.public.big"
topics --create --topic streamshop.dead_letter --partitions 1 --replication-factor 1 \
  --config max.message.bytes=100000 >>"$LOG_DIR/topics.log" 2>&1 || fail "cannot create streamshop.dead_letter"

start_capture
CAP=$CAPTURE_PID
start_sink s
SINK=$SINK_PID
wait_capture_streaming
grep -q "Kafka accepts records up to 100000 bytes on streamshop.dead_letter (max.message.bytes" "$LOG_DIR/capture.log" ||
  fail "capture did not report the topics' max.message.bytes"
verify 120
log "names: $(tail -n 1 "$LOG_DIR/verify.out")"
topics --list >"$LOG_DIR/topic-list.txt" 2>&1 || fail "cannot list topics"
for t in streamshop.public.my-20table streamshop.public.my_table streamshop.public.a-2eb \
  streamshop.public.-c3-9cn-c3-afc-c3-b6d-c3-a9-2d-e2-9c-93 "streamshop.public.$long"; do
  grep -qx -- "$t" "$LOG_DIR/topic-list.txt" || fail "no topic $t: $(cat "$LOG_DIR/topic-list.txt")"
done

log "a 330 kB row into a topic that takes 200 kB, then more changes"
pg -c "INSERT INTO big VALUES (1, 'small')"
pg -c "INSERT INTO big SELECT 2, string_agg(md5(i::text), '') FROM generate_series(1, 10300) i"
big_lsn=$(pg -c "SELECT pg_current_wal_lsn() - '0/0'")
pg -c "INSERT INTO big VALUES (3, 'after')" -c "UPDATE big SET body = 'changed' WHERE id = 1"
wait_until 60 "capture raised no alarm" grep -q "ALARM: dead letter #1: public.big (op c" "$LOG_DIR/capture.log"
slot_moved() {
  [[ "$(pg -c "SELECT confirmed_flush_lsn - '0/0' >= $big_lsn FROM pg_replication_slots WHERE slot_name = 'streamshop_capture'")" == t ]]
}
wait_until 60 "the slot did not move past the oversized row" slot_moved
kill -0 "$CAP" 2>/dev/null || fail "capture exited"
arrived() { [[ "$(ch "SELECT count() FROM analytics.raw_big FINAL WHERE _deleted = 0")" == 2 ]]; }
wait_until 60 "later changes of big did not arrive" arrived
[[ "$(ch "SELECT body FROM analytics.raw_big FINAL WHERE id = 1")" == changed ]] || fail "the update after did not arrive"

log "the dead letter carries key, LSN and the whole value"
kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic streamshop.dead_letter --from-beginning --max-messages 4 --timeout-ms 30000 \
  --formatter-property print.headers=true --formatter-property print.key=true \
  --formatter-property headers.separator=, --formatter-property key.separator=$'\t' >"$LOG_DIR/dlq.txt" \
  2>"$LOG_DIR/dlq.err" || true
(($(wc -l <"$LOG_DIR/dlq.txt") == 4)) || fail "expected 4 chunk records: $(cut -c1-300 "$LOG_DIR/dlq.txt")"
grep -c "chunk.count:4" "$LOG_DIR/dlq.txt" | grep -qx 4 || fail "chunks lack chunk.count:4"
grep -q "lsn:[0-9A-F]*/[0-9A-F]*" "$LOG_DIR/dlq.txt" || fail "no lsn header"
grep -q "reason:record of [0-9]* bytes exceeds max.message.bytes = 200000 of topic streamshop.public.big" \
  "$LOG_DIR/dlq.txt" || fail "no reason header"
cut -f2 "$LOG_DIR/dlq.txt" | sort -u | grep -q '"id":2' || fail "the chunks do not carry the key"
total=$(head -n 1 "$LOG_DIR/dlq.txt" | grep -o "value.bytes:[0-9]*" | cut -d: -f2)
for i in 0 1 2 3; do grep "chunk.index:$i," "$LOG_DIR/dlq.txt" | cut -f3-; done | tr -d '\n' >"$LOG_DIR/value.json"
(($(wc -c <"$LOG_DIR/value.json") == total)) || fail "chunks hold $(wc -c <"$LOG_DIR/value.json") bytes, value.bytes=$total"
got=$(grep -o '"after":{"id":2,"body":"[0-9a-f]*"}' "$LOG_DIR/value.json" | cut -d'"' -f8 | tr -d '\n' | md5sum | cut -c1-32)
[[ "$got" == "$(pg -c "SELECT md5(body) FROM big WHERE id = 2")" ]] || fail "the value does not hold the row"

log "delete the oversized row: then everything matches"
pg -c "DELETE FROM big WHERE id = 2"
verify 120
log "$(tail -n 1 "$LOG_DIR/verify.out")"
stop_clean "$SINK" "sink"
stop_clean "$CAP" "capture"
