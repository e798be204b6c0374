#!/usr/bin/env bash
# The local stack's Kafka broker (scripts/stack.sh up --with-kafka): a single-node KRaft broker that
# answers Kafka's own tools, keeps topics, messages and committed offsets across restart-kafka and
# down/up, starts idempotently, reports a port conflict, and appears in <dir>/env and `status`.
TEST_PORT_BASE=23100
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

STACK=(bash "$REPO/scripts/stack.sh")
ln -sf "$STREAMSHOP_STACK_DIR/kafka/log/server.log" "$LOG_DIR/kafka-server.log"

[[ "$STREAMSHOP_KAFKA_BROKERS" == "127.0.0.1:$STREAMSHOP_KAFKA_PORT" ]] ||
  fail "env has STREAMSHOP_KAFKA_BROKERS='${STREAMSHOP_KAFKA_BROKERS:-}', expected 127.0.0.1:$STREAMSHOP_KAFKA_PORT"
"${STACK[@]}" status >"$LOG_DIR/status.log" || fail "status exited $? with Kafka running"
grep -q "kafka: *running *port $STREAMSHOP_KAFKA_PORT" "$LOG_DIR/status.log" || fail "status does not show Kafka running"

topics() { kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" "$@"; }
# produce: key:value lines on stdin, all acknowledged by the broker (acks=all) before it returns.
produce() {
  kafka_java org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --topic smoke --reader-property parse.key=true --reader-property key.separator=: \
    --command-property acks=all 2>>"$LOG_DIR/producer.log"
}
# consume N GROUP [--from-beginning]: prints key:value lines sorted (3 partitions: no total order).
consume() {
  local n=$1 group=$2; shift 2
  kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --topic smoke --group "$group" --max-messages "$n" --timeout-ms 30000 "$@" \
    --formatter-property print.key=true --formatter-property key.separator=: 2>>"$LOG_DIR/consumer.log" | sort
}

log "create a topic with 3 partitions, produce and consume with the console tools"
t0=$SECONDS
topics --create --topic smoke --partitions 3 --replication-factor 1 >"$LOG_DIR/topics.log" 2>&1 ||
  fail "TopicCommand --create failed"
topics --describe --topic smoke >"$LOG_DIR/describe.log" 2>&1 || fail "TopicCommand --describe failed"
grep -q 'PartitionCount: 3' "$LOG_DIR/describe.log" || fail "topic smoke has not 3 partitions"
printf 'k1:one\nk2:two ünï 😀\nk3:three\n' | produce || fail "ConsoleProducer failed"
got=$(consume 3 g1 --from-beginning)
[[ "$got" == $'k1:one\nk2:two ünï 😀\nk3:three' ]] || fail "consumed before restart: $got"
log "round trip in $((SECONDS - t0)) s"

log "restart-kafka: topic, messages and group offsets survive"
old_pid=$(cat "$STREAMSHOP_STACK_DIR/kafka/kafka.pid")
t0=$SECONDS
"${STACK[@]}" restart-kafka >"$LOG_DIR/restart.log" 2>&1 || fail "restart-kafka failed: $(cat "$LOG_DIR/restart.log")"
log "restart-kafka took $((SECONDS - t0)) s"
new_pid=$(cat "$STREAMSHOP_STACK_DIR/kafka/kafka.pid")
[[ "$new_pid" != "$old_pid" ]] || fail "restart-kafka did not start a new broker process"
! kill -0 "$old_pid" 2>/dev/null || [[ "$(ps -o stat= -p "$old_pid")" == Z* ]] || fail "old broker $old_pid still runs"
printf 'k4:four\nk5:five\n' | produce || fail "ConsoleProducer failed after restart"
got=$(consume 2 g1)
[[ "$got" == $'k4:four\nk5:five' ]] || fail "group g1 after restart got: $got (expected only the 2 new messages)"
got=$(consume 5 g2 --from-beginning)
[[ "$got" == $'k1:one\nk2:two ünï 😀\nk3:three\nk4:four\nk5:five' ]] || fail "new group after restart got: $got"

log "up --with-kafka again is a no-op; a second stack on the same port gets a clear error"
"${STACK[@]}" up --with-kafka >"$LOG_DIR/up-again.log" 2>&1 || fail "second up failed"
grep -q "kafka: already running (pid $new_pid" "$LOG_DIR/up-again.log" || fail "second up did not find Kafka running"
set +e
STREAMSHOP_STACK_DIR=$STREAMSHOP_STACK_DIR-other bash "$REPO/scripts/stack.sh" restart-kafka >"$LOG_DIR/conflict.log" 2>&1
rc=$?
set -e
STREAMSHOP_STACK_DIR=$STREAMSHOP_STACK_DIR-other bash "$REPO/scripts/stack.sh" destroy >/dev/null 2>&1 || true
((rc != 0)) || fail "a second broker on port $STREAMSHOP_KAFKA_PORT started"
grep -q "port $STREAMSHOP_KAFKA_PORT is already in use.*set STREAMSHOP_KAFKA_PORT" "$LOG_DIR/conflict.log" ||
  fail "no port-conflict message: $(cat "$LOG_DIR/conflict.log")"

log "down stops the broker, up --with-kafka restarts it on the same data (no second format)"
cluster_id=$(cat "$STREAMSHOP_STACK_DIR/kafka/cluster-id")
"${STACK[@]}" down >"$LOG_DIR/down.log" 2>&1 || fail "down failed"
grep -q "kafka: stopped" "$LOG_DIR/down.log" || fail "down did not stop Kafka"
set +e
"${STACK[@]}" status >"$LOG_DIR/status-down.log" 2>&1
rc=$?
set -e
((rc == 3)) || fail "status exited $rc with everything stopped, expected 3"
grep -q "kafka: *stopped" "$LOG_DIR/status-down.log" || fail "status does not show Kafka stopped"
"${STACK[@]}" up --with-kafka >"$LOG_DIR/up-after-down.log" 2>&1 || fail "up after down failed"
! grep -q formatting "$LOG_DIR/up-after-down.log" || fail "up after down formatted the log dir again"
[[ "$(sed -n 's/^cluster.id=//p' "$STREAMSHOP_STACK_DIR/kafka/data/meta.properties")" == "$cluster_id" ]] ||
  fail "cluster id changed"
got=$(consume 5 g3 --from-beginning)
[[ "$got" == $'k1:one\nk2:two ünï 😀\nk3:three\nk4:four\nk5:five' ]] || fail "after down/up got: $got"
log "Kafka stack checks passed"
