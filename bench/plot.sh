#!/usr/bin/env bash
# Draws the catch-up throughput of every configuration the benchmarks recorded (bench/lib.sh `record`) as a bar
# chart with min–max whiskers.
#   bash bench/plot.sh [RESULTS.tsv] [OUT.png]   (defaults: .streamshop-bench/results.tsv, docs/bench-throughput.png)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
RESULTS=${1:-$REPO/.streamshop-bench/results.tsv}
OUT=${2:-$REPO/docs/bench-throughput.png}
[[ -s "$RESULTS" ]] || { echo "plot: no results in $RESULTS (run make bench first)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "plot: gnuplot is missing (scripts/bootstrap.sh installs it)" >&2; exit 1; }
# The newest figure per configuration, in first-seen order.
data=$(mktemp)
trap 'rm -f "$data"' EXIT
awk -F'\t' '!($1 in v) {order[++n] = $1} {v[$1] = $0} END {for (i = 1; i <= n; i++) print v[order[i]]}' \
  "$RESULTS" >"$data"
gnuplot <<GP
set terminal pngcairo size 1100,$((200 + 34 * $(wc -l <"$data"))) font "sans,10" noenhanced
set output "$OUT"
set datafile separator "\t"
set title "Catch-up throughput, change events/s (median, min–max) — $(nproc) cores, $(date +%Y-%m-%d)"
set style fill solid 0.6
set xlabel "change events per second"
set ytics nomirror
set grid xtics
set yrange [-0.6:$(($(wc -l <"$data") - 1)).6] reverse
set boxwidth 0.6
set xrange [0:*]
plot "$data" using (\$2 / 2):0:(\$2 / 2):(0.3):yticlabels(1) with boxxyerror notitle lc rgb "#4477aa", \
     "$data" using 2:0:3:4 with xerrorbars notitle lc rgb "black" pt 7 ps 0.5, \
     "$data" using 4:0:(sprintf("  %.0fk", \$2 / 1000)) with labels left notitle
GP
echo "plot: wrote $OUT ($(wc -l <"$data") configurations from $RESULTS)"
