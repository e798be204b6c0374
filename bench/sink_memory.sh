#!/usr/bin/env bash
# Sink memory while catching up (§4: a sink catching up ≤ 128 MB): `streamshop capture` first puts a backlog of
# BENCH_EVENTS change events into Kafka (one topic of BENCH_PARTITIONS partitions; nothing consumes it yet), then one
# `streamshop sink` (a new consumer group, default batch limits) drains the whole backlog into ClickHouse. Its peak
# RSS (VmHWM of /proc/PID/status, read when ClickHouse acknowledged every row, per its /metrics) is printed with the
# ratio to the limit; the script exits 1 when a run's peak is above the limit. Uses its own private stack with Kafka.
#   BENCH_EVENTS        change events in the backlog (default 1000000; rounded down to a multiple of 4)
#   BENCH_SHAPE         small (default) or bulk transactions, as bench/kafka.sh
#   BENCH_PARTITIONS    partitions of the topic (default 1)
#   BENCH_RUNS          sink runs over the same backlog, each into a fresh table with a new group (default 1)
#   BENCH_RSS_LIMIT_MB  the limit (default 128)
#   BENCH_SINK_ARGS     for A/B experiments on one backlog: variants separated by ';', run in turn (run r takes
#                       variant (r - 1) mod n); each is extra options of the sink and VAR=VALUE words for its
#                       environment, e.g. "; --kafka-prop queued.min.messages=1000; MALLOC_ARENA_MAX=2"
set -euo pipefail

EVENTS=$((${BENCH_EVENTS:-1000000} / 4 * 4))
TXNS=$((EVENTS / 4))
PARTITIONS=${BENCH_PARTITIONS:-1}
RUNS=${BENCH_RUNS:-1}
LIMIT_MB=${BENCH_RSS_LIMIT_MB:-128}
IFS=';' read -r -a VARIANTS <<<"${BENCH_SINK_ARGS:-}"
((${#VARIANTS[@]} > 0)) || VARIANTS=("")
export STREAMSHOP_WITH_KAFKA=1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" sink-memory
ID=$(date +%s)
HTTP_PORT=$((STREAMSHOP_KAFKA_PORT + 10))
TOPIC=mem${ID}.public.bench_mem

echo "bench: a ${BENCH_SHAPE:-small}-transaction backlog of $EVENTS change events into $TOPIC ($PARTITIONS partition(s))"
pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'bench_mem'" >/dev/null
pg -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_mem" -c "DROP PUBLICATION IF EXISTS bench_mem"
TARGET=$(make_backlog bench_mem bench_mem bench_mem "$TXNS")
kafka_tool org.apache.kafka.tools.TopicCommand --create --topic "$TOPIC" --partitions "$PARTITIONS" \
  --replication-factor 1 >/dev/null
t0=$(now)
"$STREAMSHOP" capture --slot bench_mem --publication bench_mem --snapshot never --topic-prefix "mem$ID" --progress off \
  2>"$WORK/capture.log" &
cap_pid=$!
PIDS+=("$cap_pid")
until [[ "$(confirmed "$TARGET" bench_mem)" == t ]]; do
  kill -0 "$cap_pid" 2>/dev/null || { cat "$WORK/capture.log"; exit 1; }
  sleep 0.05
done
kill -INT "$cap_pid" && wait "$cap_pid"
printf 'bench: capture put the backlog into Kafka in %.1f s\n' "$(echo "$(now) - $t0" | bc)"

PEAKS=()
for run in $(seq 1 "$RUNS"); do
  ch "DROP TABLE IF EXISTS analytics.raw_bench_mem" >/dev/null
  variant=${VARIANTS[(run - 1) % ${#VARIANTS[@]}]}
  envs=() args=()
  for w in $variant; do if [[ $w =~ ^[A-Z_]+= ]]; then envs+=("$w"); else args+=("$w"); fi; done
  t0=$(now)
  env "${envs[@]}" "$STREAMSHOP" sink --topics "^mem${ID}\\.[^.]+\\.[^.]+$" --group "bench-mem-$ID-$run" --progress off \
    --http-listen "127.0.0.1:$HTTP_PORT" "${args[@]}" 2>"$WORK/sink-$run.log" &
  pid=$!
  PIDS+=("$pid")
  until (($(rows_written "$HTTP_PORT") >= EVENTS)); do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/sink-$run.log"; exit 1; }
    sleep 0.1
  done
  secs=$(echo "$(now) - $t0" | bc)
  PEAKS+=("$(peak_rss_mb "$pid")")
  cpu=$(awk -v t="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }')
  kill -INT "$pid" && wait "$pid"
  printf 'bench: run %d%s: sink caught up with %d events in %.1f s (%.0f ev/s, %s s CPU): peak RSS %d MB\n' \
    "$run" "${variant:+ [${variant# }]}" "$EVENTS" "$secs" "$(echo "$EVENTS / $secs" | bc -l)" "$cpu" "${PEAKS[-1]}"
done
pg -c "SELECT pg_drop_replication_slot('bench_mem')" >/dev/null

worst=$(printf '%s\n' "${PEAKS[@]}" | sort -n | tail -n 1)
echo "bench: sink peak RSS catching up with $EVENTS events: median $(median "${PEAKS[@]}") MB ($(range "${PEAKS[@]}"))," \
  "worst $worst MB, ratio $(echo "scale=2; $worst / $LIMIT_MB" | bc) to the limit $LIMIT_MB MB:" \
  "$( ((worst <= LIMIT_MB)) && echo met || echo NOT met)"
((worst <= LIMIT_MB))
