#!/usr/bin/env bash
# demo.sh — the whole story on this machine: local stack, sample tables, snapshot + live replication into
# ClickHouse while a workload runs, then `verify` and a short summary. Run through `make demo`, which
# bootstraps and builds first. Re-running starts over with fresh sample tables.
#   DEMO_TXNS   transactions in the live workload (default 20000)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STREAMSHOP=$REPO/build/streamshop
DEMO_TXNS=${DEMO_TXNS:-20000}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting the local stack (PostgreSQL 15 + ClickHouse) under ${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}"
"$STREAMSHOP" stack up
source "${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}/env"
pg() { psql "$STREAMSHOP_PG_URL" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
ch() { curl -sS --fail-with-body "$STREAMSHOP_CLICKHOUSE_URL/" --data-binary "$1"; }

say "Creating the sample tables and 2000 pre-existing transactions"
pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'streamshop' AND NOT active" >/dev/null
pg -c "DROP TABLE IF EXISTS typed, pairs CASCADE" -c "DROP SEQUENCE IF EXISTS typed_ids, moved_ids"
pg -f "$REPO/sql/sample/workload.sql"
pg -c "CALL random_workload(0.1, 2000, 10)"

say "Replicating: initial snapshot, then live changes while $DEMO_TXNS transactions run"
LOG=${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}/replicate.log
"$STREAMSHOP" replicate --progress on 2> >(tee "$LOG" >&2) &
REPLICATE_PID=$!
trap 'kill -INT $REPLICATE_PID 2>/dev/null; wait $REPLICATE_PID 2>/dev/null; exit 130' INT TERM
start=$SECONDS
pg -c "CALL random_workload(0.2, $DEMO_TXNS, 6)"
echo >&2
echo "workload: $DEMO_TXNS transactions committed in $((SECONDS - start)) s" >&2

say "Verifying: PostgreSQL vs ClickHouse (FINAL, _deleted = 0), row by row"
"$STREAMSHOP" verify --wait 120
kill -INT "$REPLICATE_PID"
wait "$REPLICATE_PID"
trap - INT TERM

say "What landed in ClickHouse"
ch "SELECT 'raw_typed' AS table, count() AS live_rows, min(day) AS min_day_since_1970, sum(price) AS sum_price
    FROM analytics.raw_typed FINAL WHERE _deleted = 0 FORMAT PrettyCompact"
ch "SELECT 'raw_pairs' AS table, tenant, count() AS live_rows FROM analytics.raw_pairs FINAL WHERE _deleted = 0
    GROUP BY tenant ORDER BY tenant FORMAT PrettyCompact"
ch "SELECT count() AS versions_stored, countIf(_deleted = 1) AS delete_markers FROM analytics.raw_typed FORMAT PrettyCompact"
cat <<MSG

Next: source ${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}/env, then
  psql "\$STREAMSHOP_PG_URL"                       # change rows, then
  build/streamshop replicate                       # stream them (Ctrl-C stops cleanly)
  build/streamshop verify                          # prove both sides equal
  curl "\$STREAMSHOP_CLICKHOUSE_URL" --data-binary 'SELECT * FROM analytics.raw_typed FINAL WHERE _deleted = 0 LIMIT 5 FORMAT Vertical'
  build/streamshop stack down                      # stop the local servers
MSG
