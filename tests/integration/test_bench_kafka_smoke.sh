#!/usr/bin/env bash
# The Kafka catch-up benchmark (capture, capture + sink, real Debezium, pg_recvlogical, capture --exactly-once) starts, runs and finishes on a
# tiny backlog, in both backlog shapes (the numbers are not checked here), and the plot is drawn.
TEST_PORT_BASE=23800
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"
export BENCH_RESULTS=$LOG_DIR/results.tsv
for shape in small bulk; do
  out=$(STREAMSHOP="$STREAMSHOP" BENCH_SHAPE=$shape BENCH_TXNS=1000 BENCH_RUNS=1 bash "$REPO/bench/kafka.sh" 2>&1) ||
    { echo "$out"; fail "bench/kafka.sh ($shape) failed"; }
  echo "$out"
  grep -q "capture + sink → ClickHouse .* ratio" <<<"$out" || fail "bench/kafka.sh ($shape) printed no pipeline ratio"
  grep -q "capture / Debezium = " <<<"$out" || fail "bench/kafka.sh ($shape) printed no Debezium comparison"
  grep -q "exactly-once / at-least-once = [0-9]" <<<"$out" || fail "bench/kafka.sh ($shape) printed no exactly-once ratio"
done
(($(wc -l <"$BENCH_RESULTS") == 10)) || fail "expected 10 recorded results: $(cat "$BENCH_RESULTS")"
bash "$REPO/bench/plot.sh" "$BENCH_RESULTS" "$LOG_DIR/throughput.png" || fail "plot failed"
[[ -s "$LOG_DIR/throughput.png" ]] || fail "no plot"
