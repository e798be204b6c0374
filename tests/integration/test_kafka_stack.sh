#!/usr/bin/env bash
# The local stack's Kafka broker (scripts/stack.sh up --with-kafka): a single-node KRaft broker that
# answers Kafka's own tools, keeps topics, messages and committed offsets across restart-kafka and
# down/up, starts idempotently, reports a port conflict, and appears in <dir>/env and `status`.
# Passwords always (issue 13), without --tls too: the client listener is SASL_PLAINTEXT, the tools log in with the
# stack's client.properties, <dir>/env names the librdkafka properties; a PLAINTEXT client (Java or librdkafka) and
# a wrong password are refused; a log formatted without the SCRAM user (an older stack.sh) is refused at `up`.
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

log "passwords always: SASL_PLAINTEXT, its files the owner's; PLAINTEXT clients and a wrong password refused"
KAFKA_DIR=$STREAMSHOP_STACK_DIR/kafka
[[ ${STREAMSHOP_KAFKA_PROP_FILE:-} == "$KAFKA_DIR/librdkafka.properties" ]] ||
  fail "<dir>/env has STREAMSHOP_KAFKA_PROP_FILE='${STREAMSHOP_KAFKA_PROP_FILE:-}'"
grep -qx "advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$STREAMSHOP_KAFKA_PORT" "$KAFKA_DIR/server.properties" ||
  fail "the broker's client listener is not SASL_PLAINTEXT on 127.0.0.1:$STREAMSHOP_KAFKA_PORT"
grep -qx "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT" \
  "$KAFKA_DIR/server.properties" || fail "the controller listener is not SASL_PLAINTEXT"
for f in scram-password server.properties client.properties librdkafka.properties; do
  [[ $(stat -c %a "$KAFKA_DIR/$f") == 600 ]] || fail "$KAFKA_DIR/$f is mode $(stat -c %a "$KAFKA_DIR/$f"), not 600"
done
[[ ! -e $KAFKA_DIR/keystore.pem ]] || fail "a keystore without --tls"
grep -qx 'security.protocol=SASL_PLAINTEXT' "$KAFKA_DIR/client.properties" || fail "client.properties is not SASL_PLAINTEXT"
grep -qx 'sasl.mechanisms=PLAIN' "$STREAMSHOP_KAFKA_PROP_FILE" || fail "librdkafka.properties does not use PLAIN"
mark=$(stat -c %s "$KAFKA_DIR/log/server.log")
# (the Java clients give up after 10 s instead of retrying for a minute)
printf 'security.protocol=PLAINTEXT\ndefault.api.timeout.ms=10000\nrequest.timeout.ms=5000\n' >"$LOG_DIR/plaintext.properties"
install -m 600 /dev/null "$LOG_DIR/wrong.properties"
{
  sed 's/password="[^"]*"/password="not-the-password"/' "$KAFKA_DIR/client.properties"
  printf 'default.api.timeout.ms=10000\nrequest.timeout.ms=5000\n'
} >"$LOG_DIR/wrong.properties"
probes=()
for kind in plaintext wrong; do
  topics --list --command-config "$LOG_DIR/$kind.properties" >"$LOG_DIR/topics-$kind.log" 2>&1 &
  probes+=($!)
done
env -u STREAMSHOP_KAFKA_PROP_FILE timeout 12 "$STREAMSHOP" sink --progress off --group probe-plaintext \
  --topics '^smoke$' >"$LOG_DIR/sink-plaintext.log" 2>&1 &
probes+=($!)
BG_PIDS+=("${probes[@]}")
for pid in "${probes[@]}"; do wait "$pid" || true; done
for kind in plaintext wrong; do
  grep -qx smoke "$LOG_DIR/topics-$kind.log" && fail "the broker served TopicCommand with $kind.properties"
done
grep -q 'assigned' "$LOG_DIR/sink-plaintext.log" && fail "the broker gave partitions to a PLAINTEXT sink (librdkafka)"
grep -q 'invalid credentials with SASL mechanism SCRAM-SHA-512' "$LOG_DIR/topics-wrong.log" ||
  fail "TopicCommand with a wrong password did not fail on authentication"
log_since_has "$KAFKA_DIR/log/server.log" "$mark" 'Failed authentication with /127\.0\.0\.1' ||
  fail "the broker did not log the wrong password's failed authentication"
log_since_has "$KAFKA_DIR/log/server.log" "$mark" 'Unexpected Kafka request of type METADATA during SASL handshake' ||
  fail "the broker did not log the PLAINTEXT clients' refusal"
rm -f "$LOG_DIR/wrong.properties"

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
mv "$KAFKA_DIR/scram-password" "$KAFKA_DIR/scram-password.aside"
"${STACK[@]}" up --with-kafka >"$LOG_DIR/up-no-scram-user.log" 2>&1 && fail "up started a broker whose log has no SCRAM user"
grep -q "formatted without the SCRAM user streamshop.*stack destroy" "$LOG_DIR/up-no-scram-user.log" ||
  fail "no clear refusal of a log without the SCRAM user: $(cat "$LOG_DIR/up-no-scram-user.log")"
mv "$KAFKA_DIR/scram-password.aside" "$KAFKA_DIR/scram-password"
"${STACK[@]}" up --with-kafka >"$LOG_DIR/up-after-down.log" 2>&1 || fail "up after down failed"
! grep -q formatting "$LOG_DIR/up-after-down.log" || fail "up after down formatted the log dir again"
[[ "$(sed -n 's/^cluster.id=//p' "$STREAMSHOP_STACK_DIR/kafka/data/meta.properties")" == "$cluster_id" ]] ||
  fail "cluster id changed"
got=$(consume 5 g3 --from-beginning)
[[ "$got" == $'k1:one\nk2:two ünï 😀\nk3:three\nk4:four\nk5:five' ]] || fail "after down/up got: $got"
log "Kafka stack checks passed"
