#!/usr/bin/env bash
# Memory benchmark (P4): peak RSS (VmHWM of /proc/PID/status) of `streamshop replicate` in two situations,
# each on its own slot with --snapshot never and the default batch limits:
#   (a) catch-up of a backlog of small transactions (bench/catchup.sh's shape: 4 change events each), from
#       the start of the process until the slot's confirmed LSN reaches the end of the backlog — the steady
#       working set of the streaming path;
#   (b) one large transaction of about BENCH_TXN_MB of row data (a single INSERT … SELECT generate_series of
#       ~1 kB text rows) committed while replicate is streaming, until its rows are confirmed — pgoutput
#       sends the whole transaction at its commit, so memory stays bounded only if the replicator flushes
#       mid-transaction (--batch-rows / --batch-bytes) instead of holding it.
# Prints peak RSS in MB per run and the median (min–max) against the targets (≤ 64 MB steady, ≤ 256 MB worst
# case). Uses its own private stack.
#   BENCH_TXNS     small transactions in the backlog of (a) (default 100000 → 400k change events)
#   BENCH_TXN_MB   row data of the large transaction of (b), in MB (default 1024)
#   BENCH_RUNS     runs of (a) and (b) (default 3)
set -euo pipefail

TXNS=${BENCH_TXNS:-100000}
TXN_MB=${BENCH_TXN_MB:-1024}
RUNS=${BENCH_RUNS:-3}
ROW_BYTES=1000   # id (8 B) + payload (992 B of text)
BIG_ROWS=$((TXN_MB * 1024 * 1024 / ROW_BYTES))

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" memory
drop_all() {
  pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench_mem%'" >/dev/null
  pg -c "SET client_min_messages = warning" -c "DROP PUBLICATION IF EXISTS bench_mem_a" \
     -c "DROP PUBLICATION IF EXISTS bench_mem_b" -c "DROP TABLE IF EXISTS bench_mem_events, bench_big"
  ch "DROP TABLE IF EXISTS analytics.raw_bench_mem_events" >/dev/null
  ch "DROP TABLE IF EXISTS analytics.raw_bench_big" >/dev/null
}
start_replicate() {  # slot publication log → sets RPID
  : >"$3"
  "$STREAMSHOP" replicate --slot "$1" --publication "$2" --snapshot never --progress off 2>"$3" &
  RPID=$!
  PIDS+=("$RPID")
}
wait_confirmed() {  # target slot log
  until [[ "$(confirmed "$1" "$2")" == t ]]; do
    kill -0 "$RPID" 2>/dev/null || { cat "$3" >&2; exit 1; }
    sleep 0.05
  done
}
stop_replicate() { kill -INT "$RPID"; wait "$RPID"; }

PEAK_A=() PEAK_B=()
for ((run = 1; run <= RUNS; run++)); do
  drop_all

  # (a) catch-up of a backlog of small transactions.
  echo "bench: (a) building a backlog of $TXNS transactions ($((TXNS * 4)) change events)"
  TARGET=$(make_backlog bench_mem_events bench_mem_a bench_mem_a "$TXNS")
  t0=$(now)
  start_replicate bench_mem_a bench_mem_a "$WORK/replicate-a$run.log"
  wait_confirmed "$TARGET" bench_mem_a "$WORK/replicate-a$run.log"
  secs=$(echo "$(now) - $t0" | bc)
  PEAK_A+=($(peak_rss_mb "$RPID"))
  stop_replicate
  printf 'bench: run %d (a) catch-up of %d change events in %.2f s: peak RSS %d MB\n' "$run" $((TXNS * 4)) "$secs" "${PEAK_A[-1]}"

  # (b) one large transaction, committed while replicate streams.
  echo "bench: (b) one transaction inserting $BIG_ROWS rows of ~$ROW_BYTES B (~$TXN_MB MB of row data)"
  pg -c "CREATE TABLE bench_big (id bigint PRIMARY KEY, payload text)" -c "CREATE PUBLICATION bench_mem_b FOR TABLE bench_big"
  pg -c "SELECT pg_create_logical_replication_slot('bench_mem_b', 'pgoutput')" >/dev/null
  start_replicate bench_mem_b bench_mem_b "$WORK/replicate-b$run.log"
  until grep -q "streaming changes of publication" "$WORK/replicate-b$run.log"; do
    kill -0 "$RPID" 2>/dev/null || { cat "$WORK/replicate-b$run.log" >&2; exit 1; }
    sleep 0.05
  done
  HWM_BEFORE=$(peak_rss_mb "$RPID")
  t0=$(now)
  # 992 B of text per row: 31 md5 hex strings (32 B each), different per row; below the TOAST threshold.
  pg -c "INSERT INTO bench_big SELECT g, repeat(md5(g::text), 31) FROM generate_series(1, $BIG_ROWS) g"
  TARGET=$(pg -c "SELECT pg_current_wal_lsn()")
  ins_s=$(echo "$(now) - $t0" | bc)
  wait_confirmed "$TARGET" bench_mem_b "$WORK/replicate-b$run.log"
  secs=$(echo "$(now) - $t0" | bc)
  PEAK_B+=($(peak_rss_mb "$RPID"))
  stop_replicate
  got=$(ch "SELECT count() FROM analytics.raw_bench_big")
  [[ "$got" == "$BIG_ROWS" ]] || { echo "bench: ClickHouse has $got of $BIG_ROWS rows" >&2; exit 1; }
  printf 'bench: run %d (b) %d rows (%d MB) committed in %.1f s, in ClickHouse %.1f s after the INSERT began: peak RSS %d MB (%d MB before the transaction)\n' \
    "$run" "$BIG_ROWS" "$TXN_MB" "$ins_s" "$secs" "${PEAK_B[-1]}" "$HWM_BEFORE"

done
drop_all

# summary VALUES…: "median MB (min–max)"
summary() { printf '%s MB (%s)' "$(median "$@")" "$(range "$@")"; }
A=$(median "${PEAK_A[@]}") B=$(median "${PEAK_B[@]}")
echo "bench: peak RSS of streamshop replicate, median of $RUNS (min–max): catch-up $(summary "${PEAK_A[@]}") (target ≤ 64 MB steady: $(
  ((A <= 64)) && echo met || echo NOT met)); one $TXN_MB MB transaction $(summary "${PEAK_B[@]}") (target ≤ 256 MB worst case: $(
  ((B <= 256)) && echo met || echo NOT met))"
