#!/usr/bin/env bash
# Scaling of the Kafka path by partitions and sinks (docs/SCALING.md): one pgoutput backlog of BENCH_EVENTS change
# events; for each partition count P of BENCH_PARTITIONS, `streamshop capture` drains a copy of the slot into a new
# topic of P partitions (keyed by primary key), then for each sink count S of BENCH_SINKS, S `streamshop sink`
# processes in one new consumer group drain that topic into ClickHouse (a fresh table each time). Each stage is timed
# alone (capture: until the slot is confirmed past the backlog; sinks: until ClickHouse acknowledged every row, per
# their /metrics), and a table prints events/s, CPU µs per event of each process (capture or the sinks together)
# and of the servers during the stage (Kafka broker, PostgreSQL, ClickHouse), and peak RSS (the largest sink).
# Uses its own private stack with Kafka. Everything shares this machine's cores (nproc is printed): with 2 cores,
# the sinks, the broker and ClickHouse compete, so 2 sinks cannot show a 2× here — read the CPU per event, which is
# what a sizing model needs.
#   BENCH_EVENTS      change events in the backlog (default 1000000; rounded down to a multiple of 4)
#   BENCH_PARTITIONS  partition counts (default "1 4 10")
#   BENCH_SINKS       sink counts (default "1 2")
set -euo pipefail

EVENTS=$((${BENCH_EVENTS:-1000000} / 4 * 4))
TXNS=$((EVENTS / 4))
read -r -a PARTS <<<"${BENCH_PARTITIONS:-1 4 10}"
read -r -a SINKS <<<"${BENCH_SINKS:-1 2}"
export STREAMSHOP_WITH_KAFKA=1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" scale
ID=$(date +%s)
HZ=$(getconf CLK_TCK)
declare -A T0=()
servers_start() {
  local s p
  for s in pg kafka clickhouse; do for p in $(server_pids $s); do T0[$p]=$(cpu_ticks "$p"); done; done
}
# servers_used NAME: CPU µs per event the server used since servers_start.
servers_used() {
  local used=0 p
  for p in $(server_pids "$1"); do used=$((used + $(cpu_ticks "$p") - ${T0[$p]:-0})); done
  per_event "$used"
}
per_event() { awk -v t="$1" -v hz="$HZ" -v n="$EVENTS" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'; }

echo "bench: a ${BENCH_SHAPE:-small}-transaction backlog of $EVENTS change events; $(nproc) cores on this machine"
pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench_scale%'" >/dev/null
pg -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_scale" -c "DROP PUBLICATION IF EXISTS bench_scale"
TARGET=$(make_backlog bench_scale bench_scale bench_scale_src "$TXNS")

ROWS=()
for p in "${PARTS[@]}"; do
  slot=bench_scale_p$p prefix=scale${ID}p$p
  pg -c "SELECT 1 FROM pg_copy_logical_replication_slot('bench_scale_src', '$slot')" >/dev/null
  kafka_tool org.apache.kafka.tools.TopicCommand --create --topic "$prefix.public.bench_scale" --partitions "$p" \
    --replication-factor 1 >/dev/null
  servers_start
  t0=$(now)
  "$STREAMSHOP" capture --slot "$slot" --publication bench_scale --snapshot never --topic-prefix "$prefix" \
    --progress off 2>"$WORK/capture-p$p.log" &
  pid=$!
  PIDS+=("$pid")
  until [[ "$(confirmed "$TARGET" "$slot")" == t ]]; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/capture-p$p.log"; exit 1; }
    sleep 0.02
  done
  secs=$(echo "$(now) - $t0" | bc)
  rss=$(peak_rss_mb "$pid")
  row=$(printf '%-10s %4d %5s %9.0f %12s %9s %9s %9s %8s' capture "$p" - "$(echo "$EVENTS / $secs" | bc -l)" \
    "$(per_event "$(cpu_ticks "$pid")")" "$(servers_used kafka)" "$(servers_used pg)" "$(servers_used clickhouse)" "$rss")
  kill -INT "$pid" && wait "$pid"
  pg -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null
  ROWS+=("$row")
  echo "$row"

  for s in "${SINKS[@]}"; do
    ch "DROP TABLE IF EXISTS analytics.raw_bench_scale" >/dev/null
    servers_start
    t0=$(now)
    sink_pids=() ports=()
    for i in $(seq 1 "$s"); do
      port=$((STREAMSHOP_KAFKA_PORT + 10 + i))
      "$STREAMSHOP" sink --topics "^$prefix\\.[^.]+\\.[^.]+$" --group "scale-$ID-p$p-s$s" --progress off \
        --http-listen "127.0.0.1:$port" 2>"$WORK/sink-p$p-s$s-$i.log" &
      sink_pids+=($!) ports+=("$port")
      PIDS+=($!)
    done
    while :; do
      n=0
      for port in "${ports[@]}"; do n=$((n + $(rows_written "$port"))); done
      ((n >= EVENTS)) && break
      for sp in "${sink_pids[@]}"; do kill -0 "$sp" 2>/dev/null || { cat "$WORK"/sink-p$p-s$s-*.log; exit 1; }; done
      sleep 0.1
    done
    secs=$(echo "$(now) - $t0" | bc)
    rss=0
    for sp in "${sink_pids[@]}"; do r=$(peak_rss_mb "$sp"); if ((r > rss)); then rss=$r; fi; done
    row=$(printf '%-10s %4d %5d %9.0f %12s %9s %9s %9s %8s' sink "$p" "$s" "$(echo "$EVENTS / $secs" | bc -l)" \
      "$(per_event "$(cpu_ticks "${sink_pids[@]}")")" "$(servers_used kafka)" "$(servers_used pg)" \
      "$(servers_used clickhouse)" "$rss")
    kill -INT "${sink_pids[@]}" && wait "${sink_pids[@]}"
    ROWS+=("$row")
    echo "$row"
  done
done
pg -c "SELECT pg_drop_replication_slot('bench_scale_src')" >/dev/null

echo "bench: Kafka path scaling, $EVENTS change events (${BENCH_SHAPE:-small} transactions); each stage alone;" \
  "CPU in µs per change event; RSS: peak of the stage's process (the largest sink)"
printf '%-10s %4s %5s %9s %12s %9s %9s %9s %8s\n' stage parts sinks "events/s" "CPU/ev(us)" "kafka" "postgres" \
  "clickhouse" "RSS(MB)"
printf '%s\n' "${ROWS[@]}"
echo "bench: this machine has $(nproc) core(s), shared by the servers and every streamshop process: events/s here is" \
  "bounded by the cores, not by the number of sinks; the CPU per event is what scales out."
