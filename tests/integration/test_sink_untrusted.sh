#!/usr/bin/env bash
# Records the sink must not trust (issue 11, item 6), produced next to capture's real ones:
#   - a record for table kv on table other's topic, and a truncate of kv there: dead-lettered, kv untouched;
#   - an update with an absurd source.lsn (2^64-1, and 2 TiB ahead of the WAL): dead-lettered, so the later real
#     update of that key still wins;
#   - Debezium's unavailable-value placeholder in an insert, a snapshot read and a delete: dead-lettered; in an
#     update of a row ClickHouse does not hold: dead-lettered to analytics._streamshop_dead_letters; the sink keeps
#     running, and a restarted sink reading them all again does not crash;
# then `verify` passes. Also: --route-by-source accepts a routed topic.
# clickhouse-engines: server chdb
TEST_PORT_BASE=25200
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

pg -c "CREATE TABLE kv (id int PRIMARY KEY, v text)" -c "CREATE TABLE other (id int PRIMARY KEY, v text)"
pg -c "INSERT INTO kv SELECT i, 'v' || i FROM generate_series(1, 100) i" \
  -c "INSERT INTO other SELECT i, 'o' || i FROM generate_series(1, 10) i"
pg -c "CREATE PUBLICATION streamshop FOR TABLE kv, other"
start_capture
CAP=$CAPTURE_PID
start_sink s --dead-letter-topic untrusted.dlq
SINK=$SINK_PID
verify 120

produce() {  # TOPIC: key<TAB>value lines on stdin
  kafka_java org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" --topic "$1" \
    --reader-property parse.key=true --reader-property key.separator=$'\t' >>"$LOG_DIR/console-producer.log" 2>&1 ||
    fail "console producer failed"
}
lsn=$(pg -c "SELECT pg_current_wal_lsn() - '0/0'")
ahead=$((lsn + (1 << 41)))
now_ms=$(($(date +%s) * 1000))
P=__debezium_unavailable_value
log "inject 9 untrusted records (WAL at $lsn)"
produce streamshop.public.other <<EOF2
{"id":5}	{"op":"t","source":{"lsn":$lsn,"schema":"public","table":"kv","ts_ms":$now_ms}}
{"id":6}	{"op":"c","source":{"lsn":$lsn,"schema":"public","table":"kv","ts_ms":$now_ms},"after":{"id":6,"v":"wrong topic"}}
EOF2
produce streamshop.public.kv <<EOF2
{"id":7}	{"op":"u","source":{"lsn":18446744073709551615,"schema":"public","table":"kv","ts_ms":$now_ms},"after":{"id":7,"v":"frozen"}}
{"id":8}	{"op":"u","source":{"lsn":$ahead,"schema":"public","table":"kv","ts_ms":$now_ms},"after":{"id":8,"v":"frozen"}}
{"id":9}	{"op":"u","source":{"lsn":0,"schema":"public","table":"kv","ts_ms":$now_ms},"after":{"id":9,"v":"zero"}}
{"id":1000}	{"op":"c","source":{"lsn":$lsn,"schema":"public","table":"kv","ts_ms":$now_ms},"after":{"id":1000,"v":"$P"}}
{"id":1001}	{"op":"r","source":{"lsn":$lsn,"schema":"public","table":"kv","snapshot":"true"},"after":{"id":1001,"v":"$P"}}
{"id":2}	{"op":"d","source":{"lsn":$lsn,"schema":"public","table":"kv","ts_ms":$now_ms},"before":{"id":2,"v":"$P"}}
{"id":5000}	{"op":"u","source":{"lsn":$lsn,"schema":"public","table":"kv","ts_ms":$now_ms},"after":{"id":5000,"v":"$P"}}
EOF2
log "real changes after them"
pg -c "UPDATE kv SET v = 'real ' || id WHERE id IN (5, 6, 7, 8, 9)" -c "INSERT INTO kv VALUES (200, 'late')"
verify 120
log "$(tail -n 1 "$LOG_DIR/verify.out")"
[[ "$(ch "SELECT count() FROM analytics.raw_kv FINAL WHERE _deleted = 0")" == 101 ]] || fail "kv was truncated"

dead_letters() { grep -c "dead letter #" "$LOG_DIR/sink-s.log" || true; }
eight_dead() { (($(dead_letters) >= 8)); }
wait_until 60 "sink logged $(dead_letters) dead letters, expected 8" eight_dead
kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic untrusted.dlq --from-beginning --max-messages 8 --timeout-ms 60000 \
  --formatter-property print.headers=true --formatter-property print.value=false >"$LOG_DIR/dlq.txt" \
  2>"$LOG_DIR/dlq.err" || fail "cannot read untrusted.dlq"
expect_reasons() {  # N PATTERN
  local n
  n=$(grep -c -- "$2" "$LOG_DIR/dlq.txt" || true)
  ((n == $1)) || { cat "$LOG_DIR/dlq.txt"; fail "$n dead letters with reason matching '$2', expected $1"; }
}
expect_reasons 2 "reason:record for table public.kv on topic streamshop.public.other (the topic of public.other): refused"
expect_reasons 1 "reason:impossible source.lsn 18446744073709551615"
expect_reasons 1 "reason:impossible source.lsn $ahead .*bytes ahead of the highest LSN seen"
expect_reasons 1 "reason:impossible source.lsn 0 "
expect_reasons 1 "column v holds Debezium's unavailable-value placeholder in an insert"
expect_reasons 1 "column v holds Debezium's unavailable-value placeholder in a snapshot read"
expect_reasons 1 "column v holds Debezium's unavailable-value placeholder in a delete"
kill -0 "$SINK" 2>/dev/null || fail "the sink exited"
toast_dead() {
  [[ "$(ch "SELECT count() FROM analytics._streamshop_dead_letters WHERE table = 'public.kv' AND key LIKE '%5000%'
            AND reason LIKE '%holds no earlier version%'")" -ge 1 ]]
}
wait_until 30 "the update with the placeholder and no earlier row is not in _streamshop_dead_letters" toast_dead

log "a restarted sink that reads the same records again keeps running"
stop_clean "$SINK" "sink"
start_sink s2 --dead-letter-topic untrusted.dlq --group replay
SINK=$SINK_PID
replayed() { (($(grep -c "dead letter #" "$LOG_DIR/sink-s2.log" || true) >= 8)); }
wait_until 90 "the replaying sink did not dead-letter the 8 records again" replayed
pg -c "UPDATE kv SET v = 'after restart' WHERE id = 1"
verify 120
kill -0 "$SINK" 2>/dev/null || fail "the replaying sink exited"
stop_clean "$SINK" "sink"

log "--route-by-source: capture's record of other, routed to another topic, is stored"
kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic streamshop.public.other --from-beginning --max-messages 1 --timeout-ms 60000 \
  --formatter-property print.key=true --formatter-property key.separator=$'\t' >"$LOG_DIR/one.txt" \
  2>"$LOG_DIR/one.err" || fail "cannot read streamshop.public.other"
produce routed.all.tables <"$LOG_DIR/one.txt"
start_sink r --topics '^routed\..*' --group routed --route-by-source --database routed --dead-letter-topic routed.dlq
SINK=$SINK_PID
routed() { [[ "$(ch "SELECT count() FROM routed.raw_other" 2>/dev/null)" == 1 ]]; }
wait_until 60 "the routed record did not arrive with --route-by-source" routed
grep -q "dead letter #" "$LOG_DIR/sink-r.log" && fail "--route-by-source dead-lettered the routed record"
stop_clean "$SINK" "sink"
stop_clean "$CAP" "capture"
