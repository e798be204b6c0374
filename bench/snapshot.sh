#!/usr/bin/env bash
# Snapshot benchmark (P3): one table of BENCH_ROWS rows (bigint pk, int, numeric(12,2), text, timestamptz),
# measured three ways on the same machine in one run, each reported as rows/s:
#   COPY        `COPY (SELECT * FROM bench_snap) TO STDOUT` through psql to /dev/null — PostgreSQL's read rate
#   ClickHouse  inserting the same rows (exported from the replicated table, all its columns) into a copy of
#               analytics.raw_bench_snap: via clickhouse-client (native TCP, FORMAT TSV) and via HTTP
#               (curl, FORMAT RowBinary); the faster of the two counts as ClickHouse's insert rate
#   streamshop  `streamshop replicate` on a new slot, --snapshot-workers 1 and 2 (BENCH_WORKERS): from the
#               start of the process until the log says the snapshot of public.bench_snap is done and
#               SELECT count() FROM analytics.raw_bench_snap = BENCH_ROWS; then it is stopped
# and prints streamshop / min(COPY, ClickHouse insert) per worker count. Uses its own private stack; the
# PostgreSQL table is kept between runs (reused when it has BENCH_ROWS rows).
#   BENCH_ROWS     rows in the table (default 5000000)
#   BENCH_RUNS     repetitions of each measurement; medians are reported (default 3)
#   BENCH_WORKERS  --snapshot-workers values (default "1 2")
set -euo pipefail

ROWS=${BENCH_ROWS:-5000000}
RUNS=${BENCH_RUNS:-3}
WORKERS=${BENCH_WORKERS:-1 2}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" snapshot
trap 'rm -rf "$WORK"/rows.*; bench_cleanup' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
rate() { echo "$ROWS / ($2 - $1)" | bc -l | xargs printf '%.0f\n'; }
drop_slots() {
  pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench_snap%'" >/dev/null
  # and what replicate recorded of them: a slot missing while its state remains is a lost slot (docs/OPERATIONS.md)
  ch "DROP TABLE IF EXISTS analytics._streamshop_snapshots" >/dev/null 2>&1 || true
}

drop_slots
pg -c "SET client_min_messages = warning" -c "DROP PUBLICATION IF EXISTS bench_snap"
if [[ "$(pg -c "SELECT count(*) FROM bench_snap" 2>/dev/null)" != "$ROWS" ]]; then
  echo "bench: creating bench_snap with $ROWS rows"
  pg -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_snap"
  pg -c "CREATE TABLE bench_snap (id bigint PRIMARY KEY, account integer, amount numeric(12, 2), note text,
                                  created_at timestamptz)" \
     -c "INSERT INTO bench_snap SELECT g, g % 1000, (g % 1000000) * 0.01, 'order ' || md5(g::text),
                 timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series(1, $ROWS) g"
  pg -c "VACUUM (FREEZE, ANALYZE) bench_snap"
fi
pg -c "CREATE PUBLICATION bench_snap FOR TABLE bench_snap"
echo "bench: bench_snap has $ROWS rows, $(pg -c "SELECT pg_size_pretty(pg_table_size('bench_snap'))") on disk"

# (a) PostgreSQL's own read rate.
for run in $(seq 1 "$RUNS"); do
  t0=$(now)
  pg -c "COPY (SELECT * FROM bench_snap) TO STDOUT" >/dev/null
  rate "$t0" "$(now)"
done >"$WORK/copy"
COPY_RATE=$(median <"$WORK/copy")
echo "bench: COPY TO STDOUT (psql → /dev/null): $COPY_RATE rows/s (median of $RUNS: $(paste -sd ' ' "$WORK/copy"))"

# (c) streamshop replicate's initial snapshot; a new slot each run.
snapshot_run() {  # workers run → rows/s
  local w=$1 run=$2 slot=bench_snap_w$1_r$2 log=$WORK/replicate-w$1-r$2.log t0 t1 pid
  ch "DROP TABLE IF EXISTS analytics.raw_bench_snap" >/dev/null
  : >"$log"
  t0=$(now)
  "$STREAMSHOP" replicate --slot "$slot" --publication bench_snap --snapshot-workers "$w" --progress off 2>"$log" &
  pid=$!
  PIDS+=("$pid")
  until grep -q "snapshot of public.bench_snap done" "$log" &&
        [[ "$(ch "SELECT count() FROM analytics.raw_bench_snap" 2>/dev/null)" == "$ROWS" ]]; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.02
  done
  t1=$(now)
  kill -INT "$pid"
  wait "$pid" || true
  pg -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null
  rate "$t0" "$t1"
}
declare -A SS
for w in $WORKERS; do
  for run in $(seq 1 "$RUNS"); do snapshot_run "$w" "$run"; done >"$WORK/ss-$w"
  SS[$w]=$(median <"$WORK/ss-$w")
  echo "bench: streamshop replicate snapshot, --snapshot-workers $w: ${SS[$w]} rows/s (median of $RUNS: $(paste -sd ' ' "$WORK/ss-$w"))"
done

# (b) ClickHouse's insert rate of the same rows, into an empty copy of the replicated table.
ch "SELECT * FROM analytics.raw_bench_snap FORMAT TSV" >"$WORK/rows.tsv"
ch "SELECT * FROM analytics.raw_bench_snap FORMAT RowBinary" >"$WORK/rows.bin"
fresh_copy() {
  ch "DROP TABLE IF EXISTS analytics.bench_snap_insert" >/dev/null
  ch "CREATE TABLE analytics.bench_snap_insert AS analytics.raw_bench_snap" >/dev/null
}
check_copy() {
  [[ "$(ch "SELECT count() FROM analytics.bench_snap_insert")" == "$ROWS" ]] || { echo "bench: insert lost rows" >&2; exit 1; }
}
for run in $(seq 1 "$RUNS"); do
  fresh_copy
  t0=$(now)
  clickhouse-client --config-file "$(ch_client_config)" --host 127.0.0.1 --port "$STREAMSHOP_CH_TCP_PORT" \
    --query "INSERT INTO analytics.bench_snap_insert FORMAT TSV" <"$WORK/rows.tsv"
  rate "$t0" "$(now)"
  check_copy
done >"$WORK/ch-tsv"
for run in $(seq 1 "$RUNS"); do
  fresh_copy
  t0=$(now)
  curl -sS --fail-with-body -X POST -T "$WORK/rows.bin" \
    -K <(ch_curl_config "?query=INSERT%20INTO%20analytics.bench_snap_insert%20FORMAT%20RowBinary") >/dev/null
  rate "$t0" "$(now)"
  check_copy
done >"$WORK/ch-rowbinary"
CH_TSV=$(median <"$WORK/ch-tsv")
CH_RB=$(median <"$WORK/ch-rowbinary")
echo "bench: ClickHouse insert, clickhouse-client native TCP FORMAT TSV ($(du -m "$WORK/rows.tsv" | cut -f1) MB): $CH_TSV rows/s (median of $RUNS: $(paste -sd ' ' "$WORK/ch-tsv"))"
echo "bench: ClickHouse insert, HTTP FORMAT RowBinary ($(du -m "$WORK/rows.bin" | cut -f1) MB): $CH_RB rows/s (median of $RUNS: $(paste -sd ' ' "$WORK/ch-rowbinary"))"
if ((CH_RB >= CH_TSV)); then CH_RATE=$CH_RB CH_PATH="HTTP RowBinary"; else CH_RATE=$CH_TSV CH_PATH="native TSV"; fi
ch "DROP TABLE IF EXISTS analytics.bench_snap_insert" >/dev/null
ch "DROP TABLE IF EXISTS analytics.raw_bench_snap" >/dev/null

LIMIT=$((COPY_RATE < CH_RATE ? COPY_RATE : CH_RATE))
LIMIT_NAME=$([[ $LIMIT == "$COPY_RATE" ]] && echo "COPY" || echo "ClickHouse insert ($CH_PATH)")
line=""
for w in $WORKERS; do
  line+="${line:+; }$w worker(s) $(echo "scale=3; ${SS[$w]} / $LIMIT" | bc | sed 's/^\./0./')"
done
echo "bench: snapshot ratio streamshop / min(COPY $COPY_RATE, ClickHouse insert $CH_RATE) = $LIMIT_NAME $LIMIT rows/s: $line (target ≥ 0.7)"
