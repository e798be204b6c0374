#!/usr/bin/env bash
# The catch-up benchmark starts, runs and finishes on a tiny backlog (the numbers are not checked here).
TEST_PORT_BASE=31500
source "$(dirname "$0")/lib.sh" "$1"
out=$(STREAMSHOP="$STREAMSHOP" BENCH_TXNS=500 BENCH_RUNS=1 bash "$REPO/bench/catchup.sh" 2>&1) || { echo "$out"; fail "bench failed"; }
echo "$out"
grep -q "catch-up ratio" <<<"$out" || fail "bench printed no ratio"
grep -q "verify: all tables match" <<<"$out" || fail "bench data did not verify"
