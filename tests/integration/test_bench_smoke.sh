#!/usr/bin/env bash
# The catch-up benchmark starts, runs and finishes on a tiny backlog (the numbers are not checked here).
TEST_PORT_BASE=31500
source "$(dirname "$0")/lib.sh" "$1"
out=$(STREAMSHOP="$STREAMSHOP" BENCH_TXNS=500 BENCH_RUNS=1 bash "$REPO/bench/catchup.sh" 2>&1) || { echo "$out"; fail "bench failed"; }
echo "$out"
grep -q "catch-up ratio" <<<"$out" || fail "bench printed no ratio"
grep -q "verify: all tables match" <<<"$out" || fail "bench data did not verify"
# The live-latency, snapshot and memory benchmarks start, run and finish on tiny sizes (numbers not checked).
out=$(STREAMSHOP="$STREAMSHOP" BENCH_RATES=200 BENCH_DURATION=5 BENCH_FLUSH_MS=200 BENCH_RUNS=1 bash "$REPO/bench/latency.sh" 2>&1) || { echo "$out"; fail "latency bench failed"; }
echo "$out"
grep -q "live latency p99 at 200 tps" <<<"$out" || fail "latency bench printed no p99"
grep -q "missing=0" <<<"$out" || fail "latency bench markers did not become visible"
out=$(STREAMSHOP="$STREAMSHOP" BENCH_ROWS=20000 BENCH_RUNS=1 bash "$REPO/bench/snapshot.sh" 2>&1) || { echo "$out"; fail "snapshot bench failed"; }
echo "$out"
grep -q "snapshot ratio" <<<"$out" || fail "snapshot bench printed no ratio"
out=$(STREAMSHOP="$STREAMSHOP" BENCH_TXNS=500 BENCH_TXN_MB=8 BENCH_RUNS=1 bash "$REPO/bench/memory.sh" 2>&1) || { echo "$out"; fail "memory bench failed"; }
echo "$out"
grep -q "peak RSS of streamshop replicate" <<<"$out" || fail "memory bench printed no peak RSS"

# The micro-benchmark suite (bench/micro/) runs each benchmark briefly and exits 0. micro_bench is built next to the
# streamshop binary. Google Benchmark 1.7 takes --benchmark_min_time as plain seconds (the "0.01s" form is ≥ 1.8).
MICRO_BENCH="$(dirname "$STREAMSHOP")/micro_bench"
[[ -x "$MICRO_BENCH" ]] || fail "no micro_bench next to $STREAMSHOP"
micro=$("$MICRO_BENCH" --benchmark_min_time=0.01 2>&1) || { echo "$micro"; fail "micro_bench failed"; }
for name in BM_PgoutputDecodeInsert/order6 BM_PgoutputDecodeInsert/wide20 BM_PgoutputDecodeUpdate/order6 \
  BM_PgoutputDecodeUpdate/wide20 BM_RowBinaryAppendValue/int8 BM_RowBinaryAppendValue/numeric_12_2 \
  BM_RowBinaryAppendValue/numeric_20_6 BM_RowBinaryAppendValue/timestamptz BM_RowBinaryAppendValue/date \
  BM_RowBinaryAppendValue/text BM_RowBinaryAppendValue/uuid BM_RowBinaryAppendValue/float8 \
  BM_TableWriterAppendRow/order6 BM_TableWriterAppendRow/wide20 BM_CopyTextParse/order6 BM_CopyTextParse/wide20 \
  BM_DebeziumEncode/order6_create_schema BM_DebeziumEncode/order6_create_noschema \
  BM_DebeziumEncode/order6_update_noschema BM_DebeziumEncode/wide20_create_schema \
  BM_DebeziumEncode/wide20_create_noschema BM_DebeziumParse/order6_schema BM_DebeziumParse/order6_noschema \
  BM_DebeziumParse/wide20_schema BM_DebeziumParse/wide20_noschema; do
  grep -qF "$name " <<<"$micro" || { echo "$micro"; fail "micro_bench printed no $name"; }
done
echo "micro_bench: all benchmarks ran"
