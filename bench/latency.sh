#!/usr/bin/env bash
# Live-latency benchmark (P2): `streamshop replicate` streams (snapshot done) while `streamshop generate` runs the
# e-commerce workload at a fixed rate; meanwhile a sampler commits one marker row every BENCH_SAMPLE_MS into a
# small published table (bench_probe) and a poller queries ClickHouse (analytics.raw_bench_probe FINAL,
# _deleted = 0) in a tight loop. Latency of a marker = time the poller first saw it − time its COMMIT returned
# to the client (a persistent psql session, synchronous_commit on so the WAL is flushed and can be sent), both
# taken on this machine's clock; the poll period bounds the error (the visible time is an upper bound).
# Prints p50/p99/max per (run, flush-ms, rate), then the median over runs (min–max). Uses its own private stack.
#   BENCH_RATES      generate rates in tps, run in turn (default "1000 4000"; the last is the target's rate)
#   BENCH_DURATION   seconds of generate per rate (default 30; markers are sampled from second 2 to D-2)
#   BENCH_FLUSH_MS   replicate --flush-ms values, one replicate run each (default "200 50"; 200 is the default)
#   BENCH_SAMPLE_MS  interval between markers (default 100)
#   BENCH_POLL_MS    sleep between ClickHouse polls (default 5; each poll is one curl, ~3–5 ms more)
#   BENCH_RUNS       runs of the whole grid (default 3)
set -euo pipefail

RATES=${BENCH_RATES:-1000 4000}
DURATION=${BENCH_DURATION:-30}
FLUSHES=${BENCH_FLUSH_MS:-200 50}
SAMPLE_MS=${BENCH_SAMPLE_MS:-100}
POLL_MS=${BENCH_POLL_MS:-5}
RUNS=${BENCH_RUNS:-3}
((DURATION >= 5)) || { echo "bench: BENCH_DURATION must be ≥ 5 s" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" latency

echo "bench: fresh workload schema, bench_probe, publication bench_lat, slot bench_lat"
pg -c "SELECT pg_drop_replication_slot('bench_lat') FROM pg_replication_slots WHERE slot_name = 'bench_lat'" >/dev/null
# and what replicate recorded of it: a slot missing while its state remains is a lost slot (docs/OPERATIONS.md).
ch "DROP TABLE IF EXISTS analytics._streamshop_snapshots" >/dev/null 2>&1 || true
pg -c "SET client_min_messages = warning" -c "DROP PUBLICATION IF EXISTS bench_lat" \
   -c "DROP TABLE IF EXISTS order_items, orders, products, customers, bench_probe CASCADE"
for t in customers products orders order_items bench_probe; do ch "DROP TABLE IF EXISTS analytics.raw_$t" >/dev/null 2>&1 || true; done
pg -f "$REPO/sql/postgres/schema.sql" >/dev/null
pg -c "CREATE TABLE bench_probe (id bigint PRIMARY KEY, committed_at timestamptz DEFAULT clock_timestamp())" \
   -c "CREATE PUBLICATION bench_lat FOR TABLE customers, products, orders, order_items, bench_probe"
# Seed the catalogue and customers (part of the snapshot, not of the measured stream).
"$STREAMSHOP" generate --transactions 1 --progress off >/dev/null 2>&1

# sampler OUT NEXT_ID COUNT: commits markers NEXT_ID.. every SAMPLE_MS, writes "id commit_time" lines.
sampler() {
  local out=$1 id=$2 n=$3 line next i
  coproc PSQL { pgurl_run "$STREAMSHOP_PG_URL" psql -X -q -At -c "SET synchronous_commit = on" -f - 2>&1; }
  next=${EPOCHREALTIME/./}
  for ((i = 0; i < n; i++, id++)); do
    next=$((next + SAMPLE_MS * 1000))
    echo "INSERT INTO bench_probe (id) VALUES ($id); SELECT $id;" >&"${PSQL[1]}"
    read -r -t 10 line <&"${PSQL[0]}" || { echo "bench: sampler lost psql" >&2; return 1; }
    [[ "$line" == "$id" ]] || { echo "bench: sampler: $line" >&2; return 1; }
    echo "$id $EPOCHREALTIME" >>"$out"
    local wait_us=$((next - ${EPOCHREALTIME/./}))
    ((wait_us > 0)) && sleep "$(printf '0.%06d' "$wait_us")"
  done
  exec {PSQL[1]}>&-
  wait "$PSQL_PID" 2>/dev/null || true
}

# poller OUT FIRST LAST: polls ClickHouse until ids FIRST..LAST are all visible (or 30 s after the stop file).
poller() {
  local out=$1 last=$(($2 - 1)) want=$3 ids t deadline=""
  while ((last < want)); do
    ids=$(curl -sS -K <(ch_curl_config) --data-binary \
      "SELECT id FROM analytics.raw_bench_probe FINAL WHERE _deleted = 0 AND id > $last ORDER BY id FORMAT TSV")
    t=$EPOCHREALTIME
    for i in $ids; do echo "$i $t" >>"$out"; last=$i; done
    if [[ -f "$WORK/stop" ]]; then
      [[ -n "$deadline" ]] || deadline=$((${t%.*} + 30))
      ((${t%.*} < deadline)) || break
    fi
    sleep "0.$(printf '%03d' "$POLL_MS")"
  done
}

next_id=1
: >"$WORK/stats"   # one line per (run, flush, rate): flush rate n missing p50 p99 max
for ((run = 1; run <= RUNS; run++)); do
  for flush in $FLUSHES; do
    log=$WORK/replicate-run$run-flush$flush.log
    "$STREAMSHOP" replicate --slot bench_lat --publication bench_lat --flush-ms "$flush" --progress off 2>"$log" &
    rpid=$!
    PIDS+=("$rpid")
    until grep -q "streaming changes of publication" "$log"; do
      kill -0 "$rpid" 2>/dev/null || { cat "$log"; exit 1; }
      sleep 0.05
    done
    for rate in $RATES; do
      tag=run$run-flush$flush-rate$rate
      rm -f "$WORK/stop"
      "$STREAMSHOP" generate --rate "$rate" --duration "${DURATION}s" --progress off \
        >"$WORK/generate-$tag.out" 2>"$WORK/generate-$tag.log" &
      gpid=$!
      PIDS+=("$gpid")
      sleep 2
      samples=$(((DURATION - 4) * 1000 / SAMPLE_MS))
      first=$next_id last=$((next_id + samples - 1))
      next_id=$((last + 1))
      poller "$WORK/visible-$tag" "$first" "$last" &
      ppid=$!
      sampler "$WORK/commit-$tag" "$first" "$samples"
      touch "$WORK/stop"
      wait "$gpid" || { cat "$WORK/generate-$tag.log"; exit 1; }
      wait "$ppid"
      kill -0 "$rpid" 2>/dev/null || { cat "$log"; exit 1; }
      gen=$(grep '^generate: ' "$WORK/generate-$tag.out" | tail -n 1)
      tps=$(sed -n 's/.*(\([0-9.]*\)\/s).*/\1/p' <<<"$gen")
      stats=$(awk 'NR == FNR { c[$1] = $2; next } ($1 in c) { print ($2 - c[$1]) * 1000 }' \
                "$WORK/commit-$tag" "$WORK/visible-$tag" | sort -n |
              awk -v want="$samples" '{ a[NR] = $1 }
                END { if (NR == 0) { print "n=0"; exit }
                      p50 = a[int(NR * 0.50 + 0.999999)]; p99 = a[int(NR * 0.99 + 0.999999)]
                      printf "n=%d missing=%d p50=%.0f p99=%.0f max=%.0f", NR, want - NR, p50, p99, a[NR] }')
      printf 'bench: run %d, flush-ms %s, generate --rate %s (achieved %s tps): commit→visible %s (ms)\n' \
        "$run" "$flush" "$rate" "${tps:-?}" "$stats"
      # A run with markers that never became visible counts as infinitely slow.
      [[ "$stats" == *missing=0* ]] || stats="n=0 missing=$samples p50=999999 p99=999999 max=999999"
      echo "$flush $rate $stats" | sed 's/[a-z0-9]*=//g' >>"$WORK/stats"
    done
    kill -INT "$rpid"
    wait "$rpid"
  done
done

# Per (flush, rate): the median over runs of p50, p99 and max, with the min–max of p99.
col() { awk -v c="$1" '{ print $c }' "$WORK/cell"; }  # column N of the current cell's runs
for flush in $FLUSHES; do
  for rate in $RATES; do
    awk -v f="$flush" -v r="$rate" '$1 == f && $2 == r { print $5, $6, $7 }' "$WORK/stats" >"$WORK/cell"
    printf 'bench: flush-ms %s, rate %s, median of %d runs: p50 %s ms, p99 %s ms (%s), max %s ms\n' "$flush" "$rate" \
      "$RUNS" "$(median $(col 1))" "$(median $(col 2))" "$(range $(col 2))" "$(median $(col 3))"
  done
done
last_rate=${RATES##* }
top=() worst=0
for flush in $FLUSHES; do
  p99=$(median $(awk -v f="$flush" -v r="$last_rate" '$1 == f && $2 == r { print $6 }' "$WORK/stats"))
  top+=("flush-ms $flush: $p99 ms")
  if ((p99 > worst)); then worst=$p99; fi
done
# The target with default settings (adaptive batching: a batch is stored as soon as the stream has nothing more ready).
TARGET_MS=100
verdict=$( ((worst <= TARGET_MS)) && echo met || echo "NOT met")
echo "bench: live latency p99 at $last_rate tps (median of $RUNS runs), commit→visible in ClickHouse FINAL: $(
  printf '%s\n' "${top[@]}" | paste -sd ';' - | sed 's/;/; /g') (target ≤ $TARGET_MS ms: $verdict)"
