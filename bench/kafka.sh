#!/usr/bin/env bash
# Catch-up via Kafka: drain the same pgoutput backlog, each from its own copy of one slot, with
#   1. pg_recvlogical (PostgreSQL's walsender + client: the limit),
#   2. `streamshop capture` into Kafka (done when the broker appended the backlog's last record, as for Debezium),
#   3. `streamshop capture` + `streamshop sink` into ClickHouse together (done when the backlog's last change, a
#      delete, is stored in ClickHouse; one partition keeps the order, so everything before it is stored too),
#   4. real Debezium (Kafka Connect standalone) into Kafka (done when the broker appended the backlog's last record:
#      the same rule as capture's, read from the topic's LogAppendTime; timed from the moment its connector is
#      RUNNING, which flatters Debezium slightly since it may already be streaming),
#   5. `streamshop capture --exactly-once` into Kafka (Kafka transactions; done when its slot is confirmed past the
#      backlog, which happens only after the last transaction committed), compared with run 2 timed the same way
#      (until its slot is confirmed),
# and print events/s, peak RSS and the ratios. pg_recvlogical's clock stops like capture's slot: when its slot is
# confirmed past the backlog. Every run is checked: each topic holds exactly the backlog's records, and the
# ClickHouse copy verifies and holds every key. Uses its own private stack with Kafka.
#   BENCH_TXNS      rounds of 4 change events in the backlog (default 250000 → 1M events)
#   BENCH_SHAPE     small: one transaction per round (default); bulk: 10 big transactions
#   BENCH_RUNS      repetitions; medians are reported (default 3)
#   BENCH_DEBEZIUM  0 skips Debezium (default 1)
#   BENCH_EXACTLY_ONCE  0 skips capture --exactly-once (default 1)
set -euo pipefail

TXNS=${BENCH_TXNS:-250000}
RUNS=${BENCH_RUNS:-3}
WITH_DEBEZIUM=${BENCH_DEBEZIUM:-1}
WITH_EO=${BENCH_EXACTLY_ONCE:-1}
export STREAMSHOP_WITH_KAFKA=1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" kafka
EVENTS=$((TXNS * 4))
RECORDS=$((TXNS * 5))  # each delete is followed by a tombstone
ID=$(date +%s)         # topics of this invocation: the stack (and its older topics) persists between invocations

# topic_records REGEX: records in the matching topics.
topic_records() {
  kafka_tool org.apache.kafka.tools.GetOffsetShell --topic "$1" 2>/dev/null | awk -F: '{n += $3} END {print n + 0}'
}
rate() { echo "$EVENTS / $1" | bc; }
# appended_at TOPIC: when the broker appended the topic's last record (seconds since the epoch; its one partition
# is created with LogAppendTime, so capture and Debezium are timed by the same clock).
appended_at() {
  local last=$(($(topic_records "^$1\$") - 1))
  kafka_tool org.apache.kafka.tools.consumer.ConsoleConsumer --topic "$1" --partition 0 --offset "$last" \
    --max-messages 1 --formatter-property print.timestamp=true --formatter-property print.value=false 2>/dev/null |
    grep -o 'LogAppendTime:[0-9]*' | awk -F: '{printf "%.3f", $2 / 1000}'
}
create_topic() {
  kafka_tool org.apache.kafka.tools.TopicCommand --create --topic "$1" --partitions 1 --replication-factor 1 \
    --config message.timestamp.type=LogAppendTime >/dev/null
}
# expect_records TOPIC: the topic holds exactly the backlog's records, or the run is invalid.
expect_records() {
  local n
  n=$(topic_records "^$1\$")
  ((n == RECORDS)) || { echo "bench: $1 holds $n records, expected $RECORDS" >&2; exit 1; }
}

echo "bench: building a ${BENCH_SHAPE:-small}-transaction backlog of $EVENTS change events"
pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench%'" >/dev/null
pg -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_events" -c "DROP PUBLICATION IF EXISTS bench"
TARGET=$(make_backlog bench_events bench bench_src "$TXNS")
LAST_ID=$((2 * TXNS + 1))  # the backlog ends with the delete of this row
pg <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'streamshop_cdc') THEN
    CREATE ROLE streamshop_cdc LOGIN REPLICATION;
  END IF;
END $$;
GRANT SELECT ON bench_events TO streamshop_cdc;
SQL
echo "bench: backlog ready up to $TARGET"

copy_slot() { pg -c "SELECT 1 FROM pg_copy_logical_replication_slot('bench_src', '$1')" >/dev/null; }
# capture_backlog SLOT PREFIX LOG [FLAG…]: start capture on the backlog; return (pid in $pid) once it confirmed the end.
capture_backlog() {
  local slot=$1 prefix=$2 log=$3
  shift 3
  "$STREAMSHOP" capture "$@" --slot "$slot" --publication bench --snapshot never --topic-prefix "$prefix" \
    --progress off 2>"$log" &
  pid=$!
  PIDS+=("$pid")
  until [[ "$(confirmed "$TARGET" "$slot")" == t ]]; do
    kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.02
  done
}
recv=() capture=() pipeline=() debezium=() capture_rss=() sink_rss=() debezium_rss=()
capture_confirmed=() eo=() eo_rss=()
for run in $(seq 1 "$RUNS"); do
  for s in recv cap pipe dbz eo; do copy_slot "bench_${s}_$run"; done

  recv+=("$(recvlogical_seconds "bench_recv_$run")")

  create_topic "capture${ID}_$run.public.bench_events"
  t0=$(now)
  capture_backlog "bench_cap_$run" "capture${ID}_$run" "$WORK/capture-$run.log"
  capture_confirmed+=("$(echo "$(now) - $t0" | bc)")
  capture_rss+=("$(peak_rss_mb "$pid")")
  kill -INT "$pid" && wait "$pid"
  expect_records "capture${ID}_$run.public.bench_events"
  capture+=("$(echo "$(appended_at "capture${ID}_$run.public.bench_events") - $t0" | bc)")

  # The sink is started first on the (pre-created) topic and has its partition before the clock starts.
  ch "DROP TABLE IF EXISTS analytics.raw_bench_events" >/dev/null 2>&1 || true
  kafka_tool org.apache.kafka.tools.TopicCommand --create --topic "pipe${ID}_$run.public.bench_events" --partitions 1 \
    --replication-factor 1 >/dev/null
  "$STREAMSHOP" sink --topics "^pipe${ID}_$run\\.[^.]+\\.[^.]+$" --group "bench-$run" --progress off 2>"$WORK/pipeline-sink-$run.log" &
  sink_pid=$!
  PIDS+=("$sink_pid")
  until grep -q "assigned" "$WORK/pipeline-sink-$run.log"; do sleep 0.05; done
  # CPU the servers use during the pipeline: PostgreSQL (walsender included), the Kafka broker, ClickHouse.
  declare -A ticks0=()  # pid → CPU ticks when the clock started
  for s in pg kafka clickhouse; do for p in $(server_pids $s); do ticks0[$p]=$(cpu_ticks "$p"); done; done
  t0=$(now)
  "$STREAMSHOP" capture --slot "bench_pipe_$run" --publication bench --snapshot never --topic-prefix "pipe${ID}_$run" \
    --progress off 2>"$WORK/pipeline-capture-$run.log" &
  cap_pid=$!
  PIDS+=("$cap_pid")
  stored() { ch "SELECT count() FROM analytics.raw_bench_events WHERE id = $LAST_ID AND _deleted = 1" 2>/dev/null; }
  until [[ "$(stored)" == 1 ]]; do
    kill -0 "$sink_pid" 2>/dev/null || { cat "$WORK/pipeline-sink-$run.log"; exit 1; }
    sleep 0.05
  done
  pipeline+=("$(echo "$(now) - $t0" | bc)")
  sink_rss+=("$(peak_rss_mb "$sink_pid")")
  secs() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'; }
  cpu="capture $(secs "$(cpu_ticks "$cap_pid")") s, sink $(secs "$(cpu_ticks "$sink_pid")") s"
  for s in pg kafka clickhouse; do
    used=0
    for p in $(server_pids $s); do used=$((used + $(cpu_ticks "$p") - ${ticks0[$p]:-0})); done
    cpu+=", $s $(secs "$used") s"
  done
  kill -INT "$cap_pid" "$sink_pid" && wait "$cap_pid" "$sink_pid"
  verified=$("$STREAMSHOP" verify --publication bench --wait 30 | tail -n 1) ||
    { echo "bench: the ClickHouse copy does not verify: $verified" >&2; exit 1; }
  # Every key's latest version (not FINAL: on ClickHouse ≥ 23 it hides the keys whose latest version is a delete).
  counts=$(ch "SELECT count(), countIf(NOT deleted) FROM (SELECT argMax(_deleted, _version) AS deleted
               FROM analytics.raw_bench_events GROUP BY id) FORMAT TSV")
  [[ "$counts" == "$((2 * TXNS))"$'\t'"$TXNS" ]] ||
    { echo "bench: ClickHouse holds $counts keys (all, live), expected $((2 * TXNS)) and $TXNS" >&2; exit 1; }

  line="bench: run $run: pg_recvlogical ${recv[-1]} s ($(rate "${recv[-1]}") ev/s)"
  line+=" | capture → Kafka ${capture[-1]} s ($(rate "${capture[-1]}") ev/s, ${capture_rss[-1]} MB)"
  line+=" | capture + sink → ClickHouse ${pipeline[-1]} s ($(rate "${pipeline[-1]}") ev/s, sink ${sink_rss[-1]} MB;"
  line+=" CPU: $cpu)"

  if [[ "$WITH_DEBEZIUM" == 1 ]]; then
    create_topic "dbz${ID}_$run.public.bench_events"
    t_start=$(now)
    bash "$REPO/scripts/debezium.sh" start "$REPO/connectors/postgres-source.json" "slot.name=bench_dbz_$run" \
      publication.name=bench table.include.list=public.bench_events "topic.prefix=dbz${ID}_$run" snapshot.mode=no_data \
      >"$WORK/debezium-$run.log" 2>&1 || { cat "$WORK/debezium-$run.log"; exit 1; }
    t0=$(now)
    until (($(topic_records "^dbz${ID}_$run\\.public\\.bench_events\$") >= RECORDS)); do sleep 0.2; done
    debezium_rss+=("$(peak_rss_mb "$(cat "$STREAMSHOP_STACK_DIR/debezium/connect.pid")")")
    bash "$REPO/scripts/debezium.sh" stop >/dev/null
    expect_records "dbz${ID}_$run.public.bench_events"
    debezium+=("$(echo "$(appended_at "dbz${ID}_$run.public.bench_events") - $t0" | bc)")
    line+=" | Debezium → Kafka ${debezium[-1]} s ($(rate "${debezium[-1]}") ev/s, ${debezium_rss[-1]} MB;"
    line+=" $(echo "$t0 - $t_start" | bc | xargs printf '%.0f') s to start)"
  fi
  if [[ "$WITH_EO" == 1 ]]; then
    # Transaction markers take offsets too: the topic holds the backlog's records plus one marker per transaction.
    create_topic "eo${ID}_$run.public.bench_events"
    t0=$(now)
    capture_backlog "bench_eo_$run" "eo${ID}_$run" "$WORK/capture-eo-$run.log" --exactly-once
    eo+=("$(echo "$(now) - $t0" | bc)")
    eo_rss+=("$(peak_rss_mb "$pid")")
    kill -INT "$pid" && wait "$pid"
    n=$(topic_records "^eo${ID}_$run\\.public\\.bench_events\$")
    ((n >= RECORDS)) || { echo "bench: eo${ID}_$run.public.bench_events holds $n offsets, expected ≥ $RECORDS" >&2; exit 1; }
    line+=" | capture --exactly-once → Kafka ${eo[-1]} s ($(rate "${eo[-1]}") ev/s, ${eo_rss[-1]} MB;"
    line+=" without: ${capture_confirmed[-1]} s to the slot's confirmation)"
  fi
  echo "$line"
  echo "bench: run $run checked: every topic holds $RECORDS records; ClickHouse: $verified, $((2 * TXNS)) keys"
  for s in recv cap pipe dbz eo; do pg -c "SELECT pg_drop_replication_slot('bench_${s}_$run')" >/dev/null; done
done

shape=${BENCH_SHAPE:-small}
record "pg_recvlogical (the limit), $shape txns" "$EVENTS" "${recv[@]}"
record "capture → Kafka, $shape txns" "$EVENTS" "${capture[@]}"
record "capture + sink → ClickHouse, $shape txns" "$EVENTS" "${pipeline[@]}"
[[ "$WITH_DEBEZIUM" == 1 ]] && record "Debezium → Kafka, $shape txns" "$EVENTS" "${debezium[@]}"
m_recv=$(median "${recv[@]}")
m_cap=$(median "${capture[@]}")
m_pipe=$(median "${pipeline[@]}")
echo "bench: pg_recvlogical $(rate "$m_recv") ev/s (median of $RUNS; $(range "${recv[@]}") s)"
echo "bench: capture → Kafka $(rate "$m_cap") ev/s, ratio $(echo "scale=2; $m_recv / $m_cap" | bc) to pg_recvlogical," \
  "peak RSS $(median "${capture_rss[@]}") MB ($(range "${capture[@]}") s)"
echo "bench: capture + sink → ClickHouse $(rate "$m_pipe") ev/s, ratio $(echo "scale=2; $m_recv / $m_pipe" | bc)" \
  "to pg_recvlogical (target ≥ 0.8), sink peak RSS $(median "${sink_rss[@]}") MB ($(range "${pipeline[@]}") s)"
if [[ "$WITH_DEBEZIUM" == 1 ]]; then
  m_dbz=$(median "${debezium[@]}")
  echo "bench: Debezium → Kafka $(rate "$m_dbz") ev/s, peak RSS $(median "${debezium_rss[@]}") MB ($(range "${debezium[@]}") s);" \
    "capture / Debezium = $(echo "scale=1; $m_dbz / $m_cap" | bc)× (target ≥ 5×)," \
    "RSS Debezium / capture = $(echo "scale=1; $(median "${debezium_rss[@]}") / $(median "${capture_rss[@]}")" | bc)×"
fi
if [[ "$WITH_EO" == 1 ]]; then
  record "capture --exactly-once → Kafka, $shape txns" "$EVENTS" "${eo[@]}"
  m_eo=$(median "${eo[@]}")
  m_conf=$(median "${capture_confirmed[@]}")
  echo "bench: capture --exactly-once → Kafka $(rate "$m_eo") ev/s, peak RSS $(median "${eo_rss[@]}") MB" \
    "($(range "${eo[@]}") s); without --exactly-once $(rate "$m_conf") ev/s (both until the slot is confirmed):" \
    "exactly-once / at-least-once = $(printf '%.2f' "$(echo "scale=4; $m_conf / $m_eo" | bc)")"
fi
