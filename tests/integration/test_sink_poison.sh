#!/usr/bin/env bash
# Poison records on the sink's topics — invalid JSON, a value of the wrong type, an unknown table, an unknown
# op, an oversized record, a record without source.lsn — each must land on the dead-letter topic with its reason
# and source topic/partition/offset in headers; the sink keeps going, every good record arrives, `verify` passes.
# Then a truncate reaches a restarted sink.
# clickhouse-engines: server chdb
TEST_PORT_BASE=23500
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/sample/workload.sql"
pg -c "CREATE PUBLICATION streamshop FOR TABLE typed, pairs"
pg -c "INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 2000)"
start_capture
CAP=$CAPTURE_PID
SINK_HTTP=127.0.0.1:$((TEST_PORT_BASE + 7))
start_sink s --max-message-bytes 100000 --dead-letter-topic poison.dlq --http-listen "$SINK_HTTP"
SINK=$SINK_PID
verify 120

log "inject 6 poison records into streamshop.public.typed and streamshop.public.ghost"
big=$(head -c 150000 /dev/zero | tr '\0' x)
produce() {  # TOPIC: key<TAB>value lines on stdin
  kafka_java org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" --topic "$1" \
    --reader-property parse.key=true --reader-property key.separator=$'\t' >>"$LOG_DIR/console-producer.log" 2>&1 ||
    fail "console producer failed"
}
produce streamshop.public.typed <<EOF2
{"id":1}	{not json
{"id":1}	{"op":"c","source":{"lsn":1000,"schema":"public","table":"typed"},"after":{"id":"abc"}}
{"id":1}	{"op":"z","source":{"lsn":1000},"after":{"id":1}}
{"id":1}	{"op":"c","source":{"schema":"public","table":"typed"},"after":{"id":1}}
{"id":1}	{"op":"c","source":{"lsn":1000},"after":{"id":1,"body":"$big"}}
EOF2
produce streamshop.public.ghost <<'EOF2'
{"x":1}	{"op":"c","source":{"lsn":5},"after":{"x":1}}
EOF2

log "more good changes after the poison"
pg -c "CALL random_workload(0.5, 500, 5)" >"$LOG_DIR/workload.log" 2>&1 || fail "workload failed"
verify 120
log "$(tail -n 1 "$LOG_DIR/verify.out")"

# The ghost topic is new: the sink's subscription picks it up at its next metadata refresh (≤ 5 s).
dead_letters() { grep -c "dead letter #" "$LOG_DIR/sink-s.log" || true; }
six_dead() { (($(dead_letters) >= 6)); }
wait_until 60 "sink logged $(dead_letters) dead letters, expected 6" six_dead
sleep 1
(($(dead_letters) == 6)) || fail "sink logged $(dead_letters) dead letters, expected 6"
curl -s "http://$SINK_HTTP/metrics" >"$LOG_DIR/sink-metrics.txt" || fail "the sink's /metrics did not answer"
sum_of() { awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { print s + 0 }' "$LOG_DIR/sink-metrics.txt"; }
[[ "$(sum_of 'streamshop_dead_letters_total{')" == 6 ]] || fail "/metrics counts $(sum_of 'streamshop_dead_letters_total{') dead letters, expected 6"
[[ "$(sum_of 'streamshop_dead_letters_total{reason="no_position"}')" == 1 ]] || fail "/metrics: no no_position dead letter"
(($(sum_of streamshop_kafka_rebalances_total) >= 1)) || fail "/metrics: no rebalance counted"
grep -q '^streamshop_kafka_consumer_lag_records [0-9]' "$LOG_DIR/sink-metrics.txt" || fail "/metrics: no consumer lag"
kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic poison.dlq --from-beginning --max-messages 6 --timeout-ms 60000 \
  --formatter-property print.headers=true --formatter-property headers.separator=$'\x1e' \
  --formatter-property print.value=false >"$LOG_DIR/dlq.txt" 2>"$LOG_DIR/dlq.err" || fail "cannot read poison.dlq"
expect_reason() {
  grep -q -- "$1" "$LOG_DIR/dlq.txt" || { cat "$LOG_DIR/dlq.txt"; fail "no dead letter with reason matching '$1'"; }
}
expect_reason "reason:invalid JSON in value"
expect_reason "reason:field after.id: expected"
expect_reason "reason:unknown op"
expect_reason "reason:no source.lsn"
expect_reason "reason:value of 1500[0-9][0-9] bytes exceeds the limit of 100000 bytes"
expect_reason "reason:field after.x: the message has no schema and the column.s type is unknown"
(($(grep -c "source.topic:streamshop.public.typed.source.partition:0.source.offset:[0-9]" "$LOG_DIR/dlq.txt") == 5)) ||
  fail "dead letters lack source topic/partition/offset headers: $(cat "$LOG_DIR/dlq.txt")"
log "a truncate reaching a restarted sink (the table is new to its session)"
stop_clean "$SINK" "sink"
pg -c "TRUNCATE pairs" -c "INSERT INTO pairs VALUES ('after', 1, 'kept')"
start_sink s2
SINK=$SINK_PID
verify 120
[[ "$(ch "SELECT count() FROM analytics.raw_pairs FINAL WHERE _deleted = 0")" == 1 ]] || fail "pairs not truncated"
stop_clean "$SINK" "sink"
stop_clean "$CAP" "capture"
