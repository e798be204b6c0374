#!/usr/bin/env bash
# Catch-up benchmark: drain the same pgoutput backlog with pg_recvlogical (PostgreSQL's own walsender + client,
# the physical limit for one slot) and with `streamshop replicate` into ClickHouse, each from its own copy of
# one slot (pg_copy_logical_replication_slot), and print events/s and the ratio. Uses its own private stack.
# Also per run: the CPU the walsender serving `replicate` spent per event (the server's share) and streamshop's, and
# a second reference: the server decoding the same backlog with no client at all
# (pg_logical_slot_peek_binary_changes on a third copy of the slot).
#   BENCH_TXNS   rounds of 4 change events in the backlog (default 250000 → 1M events)
#   BENCH_SHAPE  small: one transaction per round (default); bulk: 10 big transactions
#   BENCH_RUNS   repetitions; the median ratio is reported (default 3)
#   BENCH_REPLICATE_ARGS  extra options of `replicate`, e.g. "--http-listen 127.0.0.1:9187" (the metrics' overhead)
set -euo pipefail

TXNS=${BENCH_TXNS:-250000}
RUNS=${BENCH_RUNS:-3}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" catchup

echo "bench: building a ${BENCH_SHAPE:-small}-transaction backlog of $((TXNS * 4)) change events"
pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench%'" >/dev/null
pg -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_events" -c "DROP PUBLICATION IF EXISTS bench"
for run in $(seq 1 "$RUNS"); do ch "DROP DATABASE IF EXISTS bench_run_$run" >/dev/null 2>&1 || true; done
TARGET=$(make_backlog bench_events bench bench_src "$TXNS")
EVENTS=$((TXNS * 4))
echo "bench: backlog ready up to $TARGET ($(pg -c "SELECT pg_size_pretty(pg_wal_lsn_diff('$TARGET', confirmed_flush_lsn)) FROM pg_replication_slots WHERE slot_name = 'bench_src'") of WAL)"

ratios=() recv=() ss=() peek=()
TICK_US=$((1000000 / $(getconf CLK_TCK)))
# check_run DATABASE ROUNDS: the run's copy must verify, and hold every key of the backlog (2 per round, one of
# them deleted); then it is dropped.
check_run() {
  VERIFIED=$("$STREAMSHOP" verify --publication bench --database "$1" --wait 30 | tail -n 1) ||
    { echo "bench: $1 does not verify: $VERIFIED" >&2; exit 1; }
  local counts
  # Every key's latest version (not FINAL: on ClickHouse ≥ 23 it hides the keys whose latest version is a delete).
  counts=$(ch "SELECT count(), countIf(NOT deleted) FROM (SELECT argMax(_deleted, _version) AS deleted
               FROM $1.raw_bench_events GROUP BY id) FORMAT TSV")
  [[ "$counts" == "$((2 * $2))"$'\t'"$2" ]] ||
    { echo "bench: $1 holds $counts keys (all, live), expected $((2 * $2)) and $2" >&2; exit 1; }
  ch "DROP DATABASE $1" >/dev/null
}
for run in $(seq 1 "$RUNS"); do
  pg -c "SELECT 1 FROM pg_copy_logical_replication_slot('bench_src', 'bench_recv_$run')" \
     -c "SELECT 1 FROM pg_copy_logical_replication_slot('bench_src', 'bench_ss_$run')" >/dev/null

  # One clock rule for both sides: started just before the process, stopped when its slot's confirmed LSN — what
  # it has told PostgreSQL it is done with — reaches the end of the backlog (polled every 20 ms).
  recv_s=$(recvlogical_seconds "bench_recv_$run")

  # Each run into its own ClickHouse database, so each does the same work and is checked on its own.
  t0=$(now)
  # shellcheck disable=SC2086  # BENCH_REPLICATE_ARGS is a list of words
  "$STREAMSHOP" replicate --slot "bench_ss_$run" --publication bench --database "bench_run_$run" --snapshot never \
    --progress off ${BENCH_REPLICATE_ARGS:-} 2>"$WORK/replicate.log" &
  pid=$!
  until [[ "$(confirmed "$TARGET" "bench_ss_$run")" == t ]]; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/replicate.log"; exit 1; }
    sleep 0.02
  done
  ss_s=$(echo "$(now) - $t0" | bc)
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  walsender=$(pg -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'bench_ss_$run'")
  walsender_us=$(($(cpu_ticks "$walsender") * TICK_US)) streamshop_us=$(($(cpu_ticks "$pid") * TICK_US))
  kill -INT "$pid"
  wait "$pid"
  check_run "bench_run_$run" "$TXNS"
  pg -c "SELECT 1 FROM pg_copy_logical_replication_slot('bench_src', 'bench_peek_$run')" >/dev/null
  t0=$(now)
  pg -c "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('bench_peek_$run', '$TARGET', NULL,
         'proto_version', '1', 'publication_names', 'bench')" >/dev/null
  peek_s=$(echo "$(now) - $t0" | bc)
  pg -c "SELECT pg_drop_replication_slot('bench_peek_$run')" >/dev/null
  peek+=("$peek_s")
  ratio=$(echo "scale=3; $recv_s / $ss_s" | bc)
  ratios+=("$ratio") recv+=("$recv_s") ss+=("$ss_s")
  printf 'bench: run %d: pg_recvlogical %.2f s (%.0f ev/s) | streamshop replicate → ClickHouse %.2f s (%.0f ev/s, peak RSS %d MB) | ratio %s\n' \
    "$run" "$recv_s" "$(echo "$EVENTS / $recv_s" | bc -l)" "$ss_s" "$(echo "$EVENTS / $ss_s" | bc -l)" \
    $((rss_kb / 1024)) "$ratio"
  printf 'bench: run %d: CPU per event: walsender %.2f µs, streamshop %.2f µs | server decode alone (peek) %.2f s (%.0f ev/s)\n' \
    "$run" "$(echo "$walsender_us / $EVENTS" | bc -l)" "$(echo "$streamshop_us / $EVENTS" | bc -l)" "$peek_s" \
    "$(echo "$EVENTS / $peek_s" | bc -l)"
  pg -c "SELECT pg_drop_replication_slot('bench_recv_$run'), pg_drop_replication_slot('bench_ss_$run')" >/dev/null
done
median=$(median "${ratios[@]}")
shape=${BENCH_SHAPE:-small}
record "pg_recvlogical (the limit), $shape txns" "$EVENTS" "${recv[@]}"
record "replicate → ClickHouse, $shape txns" "$EVENTS" "${ss[@]}"
record "server decode alone (peek), $shape txns" "$EVENTS" "${peek[@]}"
echo "bench: catch-up ratio streamshop replicate / pg_recvlogical = $median (median of $RUNS; target ≥ 0.9)"
echo "bench: every run checked (verify and counts); last run: $VERIFIED"
