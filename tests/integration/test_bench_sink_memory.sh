#!/usr/bin/env bash
# The sink's memory while catching up stays under the §4 limit (≤ 128 MB): bench/sink_memory.sh on a scaled-down
# backlog (200k change events, ~0.5 GB of Debezium JSON in Kafka: far more than the limit, so an unbounded prefetch
# fails here) exits 0 only if the sink's peak RSS is within the limit. bench/scale.sh runs on a tiny backlog and prints
# its table (numbers not checked).
TEST_PORT_BASE=31900
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"
out=$(STREAMSHOP="$STREAMSHOP" BENCH_EVENTS=200000 bash "$REPO/bench/sink_memory.sh" 2>&1) ||
  { echo "$out"; fail "bench/sink_memory.sh: the sink's peak RSS is above the limit (or the run failed)"; }
echo "$out"
grep -q "ratio .* to the limit 128 MB: met" <<<"$out" || fail "bench/sink_memory.sh printed no verdict"
out=$(STREAMSHOP="$STREAMSHOP" BENCH_EVENTS=4000 BENCH_PARTITIONS="1 3" bash "$REPO/bench/scale.sh" 2>&1) ||
  { echo "$out"; fail "bench/scale.sh failed"; }
echo "$out"
(($(grep -c '^sink ' <<<"$out") == 8)) || fail "bench/scale.sh: expected 4 sink rows, printed and tabulated"
(($(grep -c '^capture ' <<<"$out") == 4)) || fail "bench/scale.sh: expected 2 capture rows, printed and tabulated"
