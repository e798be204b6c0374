# Shared harness for integration tests: a private stack (real PostgreSQL + ClickHouse) per test, on its own
# ports and directory, destroyed on exit. Source it after setting TEST_PORT_BASE (unique per test file).
#   usage in a test:  TEST_PORT_BASE=31000; source "$(dirname "$0")/lib.sh" "$1"
# Keep bases below 32768: Linux hands out ports from 32768 up to outgoing connections, which could take ours.
# WITH_KAFKA=1 before sourcing also starts a Kafka broker (ports base+4, controller base+5) and reserves
# base+6 for a Debezium Connect worker (STREAMSHOP_CONNECT_PORT); kafka_java runs Kafka's tool classes.
set -euo pipefail

STREAMSHOP=${1:?usage: test_x.sh path/to/streamshop}
STREAMSHOP=$(realpath "$STREAMSHOP")
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
TEST_NAME=$(basename "$0" .sh)
# STREAMSHOP_TEST_PORT_OFFSET (0–90, a multiple of 10) moves every port, so two checkouts can run tests at once.
TEST_PORT_BASE=$((TEST_PORT_BASE + ${STREAMSHOP_TEST_PORT_OFFSET:-0}))
export STREAMSHOP_STACK_DIR=${TMPDIR:-/tmp}/streamshop-$TEST_NAME
export STREAMSHOP_PG_PORT=$((TEST_PORT_BASE + 1))
export STREAMSHOP_CH_HTTP_PORT=$((TEST_PORT_BASE + 2))
export STREAMSHOP_CH_TCP_PORT=$((TEST_PORT_BASE + 3))
export STREAMSHOP_WITH_KAFKA=${WITH_KAFKA:-0}
if [[ "$STREAMSHOP_WITH_KAFKA" == 1 ]]; then
  export STREAMSHOP_KAFKA_PORT=$((TEST_PORT_BASE + 4))
  export STREAMSHOP_KAFKA_CONTROLLER_PORT=$((TEST_PORT_BASE + 5))
  export STREAMSHOP_CONNECT_PORT=$((TEST_PORT_BASE + 6))
fi
LOG_DIR=$STREAMSHOP_STACK_DIR/test-logs
BG_PIDS=()

log() { echo "[$TEST_NAME] $*"; }
fail() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  for f in "$LOG_DIR"/*.log; do [[ -f $f ]] && { echo "--- $f (last 40 lines)" >&2; tail -n 40 "$f" >&2; }; done
  exit 1
}

cleanup() {
  local rc=$?
  for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [[ -z "${KEEP_STACK:-}" ]]; then bash "$REPO/scripts/stack.sh" destroy >/dev/null 2>&1 || true; fi
  if ((rc == 0)); then log "PASS"; else log "FAILED (rc=$rc)"; fi
}
trap cleanup EXIT

bash "$REPO/scripts/stack.sh" destroy >/dev/null 2>&1 || true
bash "$REPO/scripts/stack.sh" up >/dev/null
rm -rf "$LOG_DIR" && mkdir -p "$LOG_DIR"
# shellcheck disable=SC1091
source "$STREAMSHOP_STACK_DIR/env"

# kafka_java CLASS ARGS...: a Kafka tool class (e.g. org.apache.kafka.tools.TopicCommand), warnings only.
kafka_java() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$STREAMSHOP_STACK_DIR/kafka/tools-log4j2.properties" \
    -cp "${STREAMSHOP_DEPS_DIR:-$REPO/.streamshop-deps}/kafka/lib/*" "$@"
}

pg() { psql "$STREAMSHOP_PG_URL" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
ch() { curl -sS --fail-with-body "$STREAMSHOP_CLICKHOUSE_URL/" --data-binary "$1"; }

# Starts `streamshop replicate` in the background with extra args; sets REPLICATE_PID.
start_replicate() {
  "$STREAMSHOP" replicate --progress off "$@" >>"$LOG_DIR/replicate.log" 2>&1 &
  REPLICATE_PID=$!
  BG_PIDS+=("$REPLICATE_PID")
}

# wait_until SECONDS DESCRIPTION COMMAND…: runs COMMAND every 0.1 s until it succeeds; fails the test with
# DESCRIPTION after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what"
    sleep 0.1
  done
}

# Waits for the replicator's session to reach streaming (or up to $1 seconds).
wait_streaming() { wait_until "${1:-60}" "replicate did not reach streaming" grep -q "streaming changes" "$LOG_DIR/replicate.log"; }

stop_replicate() {
  kill -TERM "$REPLICATE_PID"
  local rc=0
  wait "$REPLICATE_PID" || rc=$?
  ((rc == 0)) || fail "replicate exited with $rc after SIGTERM (expected a clean 0)"
}

verify() { "$STREAMSHOP" verify --wait "${1:-60}" >"$LOG_DIR/verify.out" 2>&1 || { cat "$LOG_DIR/verify.out"; fail "verify failed"; }; }

# Starts `streamshop capture` in the background with extra args; sets CAPTURE_PID. Log: capture.log.
start_capture() {
  "$STREAMSHOP" capture --progress off "$@" >>"$LOG_DIR/capture.log" 2>&1 &
  CAPTURE_PID=$!
  BG_PIDS+=("$CAPTURE_PID")
}
# start_sink NAME ARGS…: `streamshop sink` in the background, logging to sink-NAME.log; sets SINK_PID.
start_sink() {
  local name=$1
  shift
  "$STREAMSHOP" sink --progress off "$@" >>"$LOG_DIR/sink-$name.log" 2>&1 &
  SINK_PID=$!
  BG_PIDS+=("$SINK_PID")
}
# stop_clean PID WHAT: SIGTERM, and the process must exit 0.
stop_clean() {
  kill -TERM "$1"
  local rc=0
  wait "$1" || rc=$?
  ((rc == 0)) || fail "$2 exited with $rc after SIGTERM (expected a clean 0)"
}
# Waits until capture streams (its Nth session when N is given).
wait_capture_streaming() {
  local n=${1:-1}
  capture_sessions() { (($(grep -c "streaming changes" "$LOG_DIR/capture.log" || true) >= n)); }
  wait_until 120 "capture did not reach streaming (session $n)" capture_sessions
}
