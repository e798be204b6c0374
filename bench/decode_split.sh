#!/usr/bin/env bash
# What a slot costs PostgreSQL for the changes it does NOT publish: the ceiling of splitting one database's tables
# over several publications and slots (docs/SCALING.md). Every logical slot decodes the whole WAL of its database;
# pgoutput drops the changes of unpublished tables only after they were decoded and reassembled per transaction.
# One backlog of BENCH_TXNS rounds (4 change events each, bench/lib.sh's make_backlog) behind one slot, copied; each
# copy is decoded server-side without a client (pg_logical_slot_peek_binary_changes, one backend, one core) with
#   all    the publication holding the backlog's table (every change decoded and sent),
#   none   a publication of another table (every change decoded, none sent),
# and prints the seconds and CPU of each and the ratio none/all: a slot that publishes a fraction f of a database's
# changes spends about (f + (1 - f) * ratio) of a full slot's decoding work on each of them.
#   BENCH_TXNS   rounds (default 250000 → 1M events)   BENCH_SHAPE small|bulk   BENCH_RUNS (default 3)
set -euo pipefail

TXNS=${BENCH_TXNS:-250000}
RUNS=${BENCH_RUNS:-3}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" decode_split

echo "bench: building a ${BENCH_SHAPE:-small}-transaction backlog of $((TXNS * 4)) change events"
pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'bench%'" >/dev/null
pg -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_events, bench_other" \
  -c "DROP PUBLICATION IF EXISTS bench" -c "DROP PUBLICATION IF EXISTS bench_none"
pg -c "CREATE TABLE bench_other (id bigint PRIMARY KEY); CREATE PUBLICATION bench_none FOR TABLE bench_other" >/dev/null
TARGET=$(make_backlog bench_events bench bench_src "$TXNS")
echo "bench: backlog up to $TARGET ($(pg -c "SELECT pg_size_pretty(pg_wal_lsn_diff('$TARGET', confirmed_flush_lsn)) FROM pg_replication_slots WHERE slot_name = 'bench_src'") of WAL)"

# decode PUBLICATION RUN: seconds and backend CPU seconds of decoding a fresh copy of the slot up to $TARGET.
decode() {
  local slot=bench_${1}_$2 t0 ticks0 ticks1 pid messages
  pg -c "SELECT pg_copy_logical_replication_slot('bench_src', '$slot')" >/dev/null
  coproc PSQL { pg 2>&1; }   # one session: its backend's pid first, then its CPU around the decoding
  echo "SELECT pg_backend_pid();" >&"${PSQL[1]}"
  read -r pid <&"${PSQL[0]}"
  ticks0=$(cpu_ticks "$pid")
  t0=$(now)
  echo "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('$slot', '$TARGET', NULL, 'proto_version', '1', 'publication_names', '$1');" >&"${PSQL[1]}"
  read -r messages <&"${PSQL[0]}"
  local secs
  secs=$(echo "$(now) - $t0" | bc)
  ticks1=$(cpu_ticks "$pid")
  exec {PSQL[1]}>&-
  wait "$PSQL_PID" 2>/dev/null || true
  pg -c "SELECT pg_drop_replication_slot('$slot')" >/dev/null
  printf '%s %s %s\n' "$secs" "$(echo "($ticks1 - $ticks0) / $(getconf CLK_TCK)" | bc -l)" "$messages"
}

all=() none=() all_cpu=() none_cpu=()
for run in $(seq 1 "$RUNS"); do
  read -r s c m < <(decode bench "$run")
  all+=("$s") all_cpu+=("$c")
  printf 'run %d  all:  %6.2f s  (%.2f s CPU, %s messages, %.0f events/s)\n' "$run" "$s" "$c" "$m" "$(echo "$TXNS * 4 / $s" | bc -l)"
  read -r s c m < <(decode bench_none "$run")
  none+=("$s") none_cpu+=("$c")
  printf 'run %d  none: %6.2f s  (%.2f s CPU, %s messages, %.0f events/s of the database decoded)\n' "$run" "$s" "$c" "$m" \
    "$(echo "$TXNS * 4 / $s" | bc -l)"
done
# The CPU ratio is the one to read on a shared machine (the wall clock includes waiting for a core).
printf 'decode_split: median all %.2f s (%.2f s CPU), none %.2f s (%.2f s CPU); ratio none/all: CPU %.2f, wall %.2f\n' \
  "$(median "${all[@]}")" "$(median "${all_cpu[@]}")" "$(median "${none[@]}")" "$(median "${none_cpu[@]}")" \
  "$(echo "$(median "${none_cpu[@]}") / $(median "${all_cpu[@]}")" | bc -l)" \
  "$(echo "$(median "${none[@]}") / $(median "${all[@]}")" | bc -l)"
echo "decode_split: (a change a slot does not publish costs PostgreSQL that share of one it does)"
