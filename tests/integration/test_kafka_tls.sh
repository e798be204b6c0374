#!/usr/bin/env bash
# Kafka over SASL_SSL in the local stack's --tls mode (issue 13): capture → Kafka → sink end to end with nothing but
# <dir>/env (STREAMSHOP_KAFKA_PROP_FILE: the stack's librdkafka properties), and `verify`; Kafka's Java tools
# authenticate with SCRAM-SHA-512 (kafka_java: the stack's client.properties). The broker refuses a PLAINTEXT
# client and a wrong password, both from librdkafka (streamshop sink) and from Java (SCRAM); its controller listener
# serves only the broker's own PLAIN user (not PLAINTEXT, not the client user); the password, made of
# runs joined by ?#/@:%, is in no log (test logs, the broker's logs, the stack's output), neither whole nor in
# pieces, nor in /proc/<pid>/cmdline of capture and sink; the Kafka dir, its data and its secrets are the owner's;
# the password survives down/up.
TEST_PORT_BASE=27700
WITH_KAFKA=1
STACK_TLS=1
source "$(dirname "$0")/lib.sh" "$1"

KAFKA_DIR=$STREAMSHOP_STACK_DIR/kafka
PASSWORD=$(cat "$KAFKA_DIR/scram-password")
[[ $PASSWORD =~ ^[A-Za-z0-9?#/@:%]{20,}$ && $PASSWORD == *'?'*'#'*'/'*'@'*':'*'%'* ]] ||
  fail "the Kafka password is not letters and digits with each of ?#/@:%"
# The pieces a broken redaction could leave: the runs between the special characters (6 random letters and digits
# each, too long to occur by chance) and the password percent-encoded.
mapfile -t PIECES < <(tr '?#/@:%' '\n\n\n\n\n\n' <<<"$PASSWORD" | grep -E '^.{6,}$')
((${#PIECES[@]} >= 5)) || fail "the Kafka password has ${#PIECES[@]} runs of 6+ characters"
ENCODED=$(jq -rn --arg p "$PASSWORD" '$p | @uri')
# holds_secret FILE…: whether any of the files contains the password, its percent-encoded form or a piece.
holds_secret() { grep -rqF -e "$PASSWORD" -e "$ENCODED" "${PIECES[@]/#/-e}" -- "$@" 2>/dev/null; }
log "the stack: SASL_SSL on 127.0.0.1, its files the owner's alone"
[[ ${STREAMSHOP_KAFKA_PROP_FILE:-} == "$KAFKA_DIR/librdkafka.properties" ]] ||
  fail "<dir>/env has STREAMSHOP_KAFKA_PROP_FILE='${STREAMSHOP_KAFKA_PROP_FILE:-}'"
grep -qx "advertised.listeners=SASL_SSL://127.0.0.1:$STREAMSHOP_KAFKA_PORT" "$KAFKA_DIR/server.properties" ||
  fail "the broker's client listener is not SASL_SSL on 127.0.0.1:$STREAMSHOP_KAFKA_PORT"
for f in scram-password server.properties client.properties librdkafka.properties keystore.pem; do
  [[ $(stat -c %a "$KAFKA_DIR/$f") == 600 ]] || fail "$KAFKA_DIR/$f is mode $(stat -c %a "$KAFKA_DIR/$f"), not 600"
done
for d in "$KAFKA_DIR" "$KAFKA_DIR/data" "$KAFKA_DIR/log"; do
  [[ $(stat -c %a "$d") == 700 ]] || fail "$d is mode $(stat -c %a "$d"), not 700"
done
ss -Hltn | awk '{print $4}' | grep -E ":($STREAMSHOP_KAFKA_PORT|$STREAMSHOP_KAFKA_CONTROLLER_PORT)\$" |
  grep -qvE '^(\[::ffff:)?127\.0\.0\.1\]?:' && fail "a Kafka listener is bound beyond 127.0.0.1"
bash "$REPO/scripts/stack.sh" up >"$LOG_DIR/stack-up-again-1.log" 2>&1 || fail "a second stack up failed"
grep -q "SASL_SSL, SCRAM-SHA-512 user streamshop" "$LOG_DIR/stack-up-again-1.log" || fail "stack up does not name SASL_SSL"
bash "$REPO/scripts/stack.sh" status >"$LOG_DIR/stack-status.log" 2>&1 || fail "stack status failed"

log "capture → Kafka (SASL_SSL) → sink with the env alone, verify"
pg -c "CREATE TABLE kv (id int PRIMARY KEY, v text, at timestamptz DEFAULT now())"
pg -c "INSERT INTO kv (id, v) SELECT i, 'v' || i FROM generate_series(1, 500) i"
pg -c "CREATE PUBLICATION streamshop FOR TABLE kv"
start_capture --partitions 2
CAP=$CAPTURE_PID
start_sink s --flush-ms 100
SINK=$SINK_PID
wait_capture_streaming
pg -c "INSERT INTO kv (id, v) SELECT i, 'w' || i FROM generate_series(501, 1000) i" \
  -c "UPDATE kv SET v = v || '+' WHERE id % 7 = 0" -c "DELETE FROM kv WHERE id % 11 = 0"
verify 120
log "$(tail -n 1 "$LOG_DIR/verify.out")"
independent_compare
for pid in "$CAP" "$SINK"; do
  holds_secret "/proc/$pid/cmdline" && fail "/proc/$pid/cmdline ($(cut -d '' -f1-2 --output-delimiter ' ' <"/proc/$pid/cmdline") …) holds the password"
done

log "Kafka's Java tools: SCRAM-SHA-512 with client.properties; a wrong password and PLAINTEXT refused"
kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" --list \
  >"$LOG_DIR/topics.log" 2>&1 || fail "TopicCommand with the stack's client.properties failed"
grep -qx 'streamshop.public.kv' "$LOG_DIR/topics.log" || fail "TopicCommand does not list streamshop.public.kv"
install -m 600 /dev/null "$LOG_DIR/wrong-scram.properties"
sed 's/password="[^"]*"/password="not-the-password"/' "$KAFKA_DIR/client.properties" >"$LOG_DIR/wrong-scram.properties"
printf 'security.protocol=PLAINTEXT\n' >"$LOG_DIR/plaintext.properties"
for kind in wrong-scram plaintext; do
  if kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" --list \
    --command-config "$LOG_DIR/$kind.properties" >"$LOG_DIR/topics-$kind.log" 2>&1 ||
    grep -q 'streamshop.public.kv' "$LOG_DIR/topics-$kind.log"; then
    fail "the broker served TopicCommand with $kind.properties"
  fi
done
grep -q 'invalid credentials with SASL mechanism SCRAM-SHA-512' "$LOG_DIR/topics-wrong-scram.log" ||
  fail "TopicCommand with a wrong password did not fail on authentication"
rm -f "$LOG_DIR/wrong-scram.properties"

log "the controller listener: the broker's own PLAIN user only"
quorum() {  # CONFIG: MetadataQuorumCommand on the controller listener with that client config
  kafka_java org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-controller \
    "127.0.0.1:$STREAMSHOP_KAFKA_CONTROLLER_PORT" --command-config "$1" describe --status
}
controller=$STREAMSHOP_STACK_DIR/controller.properties
install -m 600 /dev/null "$controller"
{
  printf 'security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nssl.truststore.type=PEM\nssl.truststore.location=%s\n' \
    "$STREAMSHOP_STACK_DIR/tls/ca.pem"
  sed -n 's/^listener\.name\.controller\.plain\.\(sasl\.jaas\.config=.*\) user_controller="[^"]*";$/\1;/p' \
    "$KAFKA_DIR/server.properties"
} >"$controller"
quorum "$controller" >"$LOG_DIR/quorum.log" 2>&1 || fail "MetadataQuorumCommand with the controller's user failed"
rm -f "$controller"
for cfg in "$LOG_DIR/plaintext.properties" "$KAFKA_DIR/client.properties"; do
  quorum "$cfg" >>"$LOG_DIR/quorum-refused.log" 2>&1 && fail "the controller listener served $(basename "$cfg")"
done

log "librdkafka (streamshop sink): a wrong password and PLAINTEXT refused"
mark=$(stat -c %s "$KAFKA_DIR/log/server.log")
install -m 600 /dev/null "$STREAMSHOP_STACK_DIR/wrong.properties"
sed 's/^sasl\.password=.*/sasl.password=not-the-password/' "$STREAMSHOP_KAFKA_PROP_FILE" \
  >"$STREAMSHOP_STACK_DIR/wrong.properties"
STREAMSHOP_KAFKA_PROP_FILE=$STREAMSHOP_STACK_DIR/wrong.properties timeout 12 "$STREAMSHOP" sink --progress off \
  --group probe-wrong >"$LOG_DIR/sink-wrong-password.log" 2>&1 &
probe_wrong=$!
env -u STREAMSHOP_KAFKA_PROP_FILE timeout 12 "$STREAMSHOP" sink --progress off --group probe-plaintext \
  >"$LOG_DIR/sink-plaintext.log" 2>&1 &
probe_plain=$!
wait "$probe_wrong" "$probe_plain" || true
rm -f "$STREAMSHOP_STACK_DIR/wrong.properties"
for kind in wrong-password plaintext; do
  grep -q 'assigned' "$LOG_DIR/sink-$kind.log" && fail "the broker gave partitions to a sink with $kind"
done
grep -qi 'authentication' "$LOG_DIR/sink-wrong-password.log" ||
  fail "the sink with a wrong password does not report an authentication failure"
log_since_has "$KAFKA_DIR/log/server.log" "$mark" 'Failed authentication with /127\.0\.0\.1 .*Invalid username or password' ||
  fail "the broker did not log the wrong password's failed authentication"
log_since_has "$KAFKA_DIR/log/server.log" "$mark" 'Failed authentication with /127\.0\.0\.1 .*SSL handshake failed' ||
  fail "the broker did not log the PLAINTEXT client's failed SSL handshake"

stop_clean "$SINK" "sink"
stop_clean "$CAP" "capture"

log "down and up: the password is kept, and the Java tools still log in"
bash "$REPO/scripts/stack.sh" down >"$LOG_DIR/stack-down.log" 2>&1 || fail "stack down failed"
bash "$REPO/scripts/stack.sh" up >"$LOG_DIR/stack-up-again-2.log" 2>&1 || fail "stack up after down failed"
[[ $(cat "$KAFKA_DIR/scram-password") == "$PASSWORD" ]] || fail "the Kafka password changed across down/up"
kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" --list \
  >"$LOG_DIR/topics-again.log" 2>&1 || fail "TopicCommand after down/up failed"

log "the password is in no log"
leaks=$(grep -rlF -e "$PASSWORD" -e "$ENCODED" "${PIECES[@]/#/-e}" -- "$LOG_DIR" "$KAFKA_DIR/log" \
  "$STREAMSHOP_STACK_DIR/clickhouse/log" 2>/dev/null || true)
[[ -z $leaks ]] || fail "the Kafka password (or a piece of it) is in: $leaks"
