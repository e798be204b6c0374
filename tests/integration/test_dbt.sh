#!/usr/bin/env bash
# The dbt project (dbt/streamshop) proven on a modern ClickHouse engine over rows the pipeline produced:
#   1. PostgreSQL gets the OLTP schema and a small deterministic history (tests/dbt/oltp_initial.sql), then
#      `streamshop replicate` snapshots it and streams further changes (tests/dbt/oltp_changes.sql: lifecycle
#      updates, line edits, a primary-key update, cascading deletes) into ClickHouse 18.16 until `verify` passes;
#   2. the real dbt (dbt-core + dbt-clickhouse from .venv) parses and compiles the project; the profile points at
#      a port where nothing listens, which proves that compilation contacts no server;
#   3. every version of every raw_* row is exported from 18.16 (RowBinary + TSV) and loaded into chdb (ClickHouse
#      26.x in-process) in the modern dialect (tests/dbt/run_on_chdb.py load-raw, which checks the round trip);
#   4. the compiled models and tests run on chdb (run_on_chdb.py build): zero failing tests;
#      (steps 2–4 are scripts/dbt_on_chdb.sh compile, export, load, build: the same commands `make demo` runs)
#   5. the marts are compared with the same figures computed by PostgreSQL itself;
#   6. broken fixture rows injected into the chdb raw tables make the named dbt tests fail, and undoing them
#      (with newer versions, as CDC would) makes everything pass again.
# Needs the Python tools of scripts/bootstrap-python.sh (run here first; quick when already installed).
TEST_PORT_BASE=31700
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
bash "$ROOT/scripts/bootstrap-python.sh" || { echo "[test_dbt] FAIL: scripts/bootstrap-python.sh failed" >&2; exit 1; }
source "$(dirname "$0")/lib.sh" "$1"

export DBT_ON_CHDB_DIR=$STREAMSHOP_STACK_DIR/dbt   # target/ (manifest), logs/, raw/ (the export), chdb/ (session)
WORK=$DBT_ON_CHDB_DIR
TARGET=$WORK/target
rm -rf "$WORK"
dbt_on_chdb() { bash "$REPO/scripts/dbt_on_chdb.sh" "$@"; }
chq() { dbt_on_chdb query "$1"; }   # TSVRaw: unescaped, like psql -At
phase_started=$SECONDS
phase() { log "$* (+$((SECONDS - phase_started)) s)"; }

# ------------------------------------------------------------------------------------------ 1. the pipeline
phase "PostgreSQL: schema and the history that exists before replication starts"
pg -f "$REPO/sql/postgres/schema.sql"
pg -f "$REPO/tests/dbt/oltp_initial.sql"

phase "dbt parse + compile (real dbt-core + dbt-clickhouse; profile aimed at a closed port)"
# Compilation must not need a server: the profile is aimed at a loopback port with no listener (the script checks
# that nothing listens there); `--no-populate-cache` skips the one step of `dbt compile` that queries the
# warehouse (listing existing relations), and `--no-introspect` turns any introspective query in a model into an
# error; so nothing connects, and a connection attempt would fail the command (the script also greps the logs).
# `--warn-error`: deprecations and other warnings fail the test too.
DBT_ON_CHDB_CLOSED_PORT=$((TEST_PORT_BASE + 9)) dbt_on_chdb compile >"$LOG_DIR/dbt-compile.out" 2>&1 ||
  { cat "$LOG_DIR/dbt-compile.out"; fail "dbt parse/compile failed"; }
sed 's/^dbt_on_chdb: /[test_dbt] dbt: /' "$LOG_DIR/dbt-compile.out"
grep -q "no server contacted (profile aimed at closed port $((TEST_PORT_BASE + 9)))" "$LOG_DIR/dbt-compile.out" ||
  fail "dbt compile did not use the closed port"
[[ -f "$TARGET/manifest.json" && -f "$TARGET/compiled/streamshop/models/marts/fct_orders.sql" ]] ||
  fail "dbt compile left no manifest/compiled SQL in $TARGET"

phase "replicate: snapshot, then streaming the changes"
start_replicate
wait_streaming
pg -f "$REPO/tests/dbt/oltp_changes.sql"
verify 60
grep -E "OK|match" "$LOG_DIR/verify.out" | sed 's/^/[test_dbt] verify: /' | head -n 8 || true
stop_replicate

# ------------------------------------------------------------------------------------------ 2. export + load
phase "export every version of the raw_* rows from ClickHouse $(ch "SELECT version()")"
dbt_on_chdb export >"$LOG_DIR/export.out" 2>&1 || { cat "$LOG_DIR/export.out"; fail "export failed"; }
sed 's/^dbt_on_chdb: /[test_dbt] /' "$LOG_DIR/export.out"
read -r versions deletes < <(awk -F'\t' '{ v += $2; d += $3 } END { print v + 0, d + 0 }' "$WORK/raw/export_stats.tsv")
current=$(pg -c "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM products) +
  (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_items)")
log "exported $versions row versions ($deletes deletes) for $current current PostgreSQL rows"
((versions > current && deletes > 0)) || fail "expected superseded versions and deletes in the raw tables"
[[ -z "$(ch "SELECT name FROM system.tables WHERE database = 'analytics' AND substring(name, 1, 8) = '_export_'")" ]] ||
  fail "the export left its frozen copies behind"

phase "load into chdb (modern dialect)"
dbt_on_chdb load >"$LOG_DIR/chdb-load.out" 2>&1 || { cat "$LOG_DIR/chdb-load.out"; fail "load-raw failed"; }
sed 's/^/[test_dbt] /' "$WORK/logs/chdb-load.log"
[[ "$(chq "SELECT toTypeName(created_at) FROM analytics.raw_orders LIMIT 1")" == "Nullable(DateTime64(6, 'UTC'))" &&
   "$(chq "SELECT toTypeName(active) FROM analytics.raw_products LIMIT 1")" == "Nullable(Bool)" &&
   "$(chq "SELECT toTypeName(price) FROM analytics.raw_products LIMIT 1")" == "Nullable(Decimal(12, 2))" &&
   "$(chq "SELECT engine_full FROM system.tables WHERE database = 'analytics' AND name = 'raw_orders'")" == \
     "ReplacingMergeTree(_version, _deleted) ORDER BY (order_id)"* ]] ||
  fail "chdb raw tables do not have the modern types/engine"

# ------------------------------------------------------------------------------------------ 3. build + test
phase "run the compiled models and tests on chdb"
dbt_on_chdb build >"$LOG_DIR/chdb-build.log" 2>&1 || {
  cat "$LOG_DIR/chdb-build.log"
  fail "dbt models/tests failed on chdb"
}
grep -E "OK created|^Done" "$LOG_DIR/chdb-build.log" | sed 's/^ */[test_dbt]   /'
tests_total=$(sed -n 's/.*TOTAL=\([0-9]*\).*/\1/p' "$LOG_DIR/chdb-build.log")
if ! grep -q "FAIL=0 ERROR=0" "$LOG_DIR/chdb-build.log" || ((tests_total < 40)); then
  fail "expected >= 40 dbt tests, all passing"
fi

# ------------------------------------------------------------------------------------------ 4. marts vs PostgreSQL
phase "marts vs PostgreSQL"
marts_equal_postgres "$WORK"

# The headline figures, and that the fixture really covers what the marts must handle.
pg_summary=$(pg -F ' ' -c "SELECT count(*), sum(total), sum(total) FILTER (WHERE status <> 'cancelled'),
  (SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT FROM orders o WHERE o.customer_id = c.customer_id)),
  (SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT FROM order_items i WHERE i.order_id = o.order_id)),
  (SELECT string_agg(status || '=' || n, ',' ORDER BY status) FROM (SELECT status, count(*) n FROM orders GROUP BY 1) s)
  FROM orders")
ch_summary=$(chq "SELECT (SELECT count() FROM analytics.fct_orders),
  (SELECT toString(sum(order_total)) FROM analytics.fct_orders),
  (SELECT toString(sum(lifetime_revenue)) FROM analytics.dim_customers),
  (SELECT countIf(lifetime_orders = 0) FROM analytics.dim_customers),
  (SELECT countIf(item_count = 0) FROM analytics.fct_orders),
  (SELECT arrayStringConcat(groupArray(s), ',') FROM (SELECT status || '=' || toString(count()) s
     FROM analytics.fct_orders GROUP BY status ORDER BY status))" | tr '\t' ' ')
normalize() { awk '{ for (i = 2; i <= 3; i++) $i = sprintf("%.2f", $i); print }' <<<"$1"; }
[[ "$(normalize "$pg_summary")" == "$(normalize "$ch_summary")" ]] ||
  fail "summary differs: PostgreSQL '$pg_summary' vs marts '$ch_summary'"
read -r n_orders sum_total revenue no_order_customers empty_orders by_status <<<"$pg_summary"
log "marts match PostgreSQL: $n_orders orders ($by_status), total $sum_total, revenue excl. cancelled $revenue,"
log "  $(wc -l <"$WORK/pg_dim_customers.tsv") customers ($no_order_customers without orders)," \
  "$empty_orders order(s) without lines"
for s in new paid shipped delivered cancelled; do
  [[ "$by_status" == *"$s="* ]] || fail "no '$s' order in the fixture"
done
((no_order_customers > 0 && empty_orders > 0)) || fail "fixture lacks a customer without orders or an empty order"

# ------------------------------------------------------------------------------------------ 5. tests can fail
phase "negative: broken fixture rows must make the dbt tests fail"
expect_failures() {  # $1 = label; remaining = test-name patterns that must FAIL (and nothing else may)
  local label=$1 rc=0 pattern
  shift
  dbt_on_chdb build >"$LOG_DIR/chdb-build-$label.log" 2>&1 || rc=$?
  ((rc == 1)) ||
    { cat "$LOG_DIR/chdb-build-$label.log"; fail "$label: harness exited $rc, expected 1 (test failures)"; }
  for pattern in "$@"; do
    grep -qE "FAIL $pattern " "$LOG_DIR/chdb-build-$label.log" ||
      { cat "$LOG_DIR/chdb-build-$label.log"; fail "$label: test '$pattern' did not fail"; }
  done
  local failed
  failed=$(grep -cE "^ *[0-9]+ of [0-9]+ FAIL " "$LOG_DIR/chdb-build-$label.log" || true)
  ((failed == $#)) ||
    { grep " FAIL " "$LOG_DIR/chdb-build-$label.log"; fail "$label: $failed tests failed, expected $#"; }
  log "$label: caught by $(grep -E "^ *[0-9]+ of [0-9]+ FAIL " "$LOG_DIR/chdb-build-$label.log" |
    sed -E 's/^ *[0-9]+ of [0-9]+ FAIL ([^ ]+) \(([0-9]+) .*/\1 (\2 rows)/' | paste -sd ';' | sed 's/;/; /g')"
}
BIG=9000000000000000000   # a _version above any WAL LSN here: this row is the newest version of its key

# (a) An order line pointing at a product that does not exist: the relationship test on product_id must fail,
#     and the order's lines no longer add up to its total.
victim=$(chq "SELECT order_id FROM analytics.fct_orders WHERE item_count > 0 ORDER BY order_id LIMIT 1")
[[ -n "$victim" ]] || fail "no order with lines in fct_orders"
chq "INSERT INTO analytics.raw_order_items (order_id, line_no, product_id, quantity, unit_price, _version, _deleted)
     VALUES ($victim, 999, 987654321, 1, 10.00, $BIG, 0)"
expect_failures missing-product stg_order_items_product_id_in_stg_products \
  assert_fct_orders_items_total_equals_order_total

# Undo it the way CDC would: a newer version of that key that deletes it.
chq "INSERT INTO analytics.raw_order_items (order_id, line_no, _version, _deleted)
     VALUES ($victim, 999, $((BIG + 1)), 1)"

# (b) An order whose newest version has a status outside the lifecycle.
read -r o_id o_cust o_total o_created o_updated < <(chq "SELECT order_id, customer_id, toString(total),
  toString(toUnixTimestamp64Micro(created_at)), toString(toUnixTimestamp64Micro(updated_at))
  FROM analytics.raw_orders FINAL WHERE _deleted = 0 AND status = 'delivered' ORDER BY order_id LIMIT 1")
[[ -n "${o_updated:-}" ]] || fail "no delivered order in the chdb raw_orders"
chq "INSERT INTO analytics.raw_orders (order_id, customer_id, status, total, created_at, updated_at, _version, _deleted)
     VALUES ($o_id, $o_cust, 'refunded', toDecimal64('$o_total', 2), fromUnixTimestamp64Micro($o_created, 'UTC'),
             fromUnixTimestamp64Micro($o_updated, 'UTC'), $BIG, 0)"
expect_failures bad-status stg_orders_status_in_lifecycle fct_orders_status_in_lifecycle

# (c) A wrong order total (an application bug the marts must expose): only the singular test fails.
chq "INSERT INTO analytics.raw_orders (order_id, customer_id, status, total, created_at, updated_at, _version, _deleted)
     VALUES ($o_id, $o_cust, 'delivered', toDecimal64('$o_total', 2) + toDecimal64('0.01', 2),
             fromUnixTimestamp64Micro($o_created, 'UTC'), fromUnixTimestamp64Micro($o_updated, 'UTC'), $((BIG + 1)), 0)"
expect_failures wrong-total assert_fct_orders_items_total_equals_order_total

# Restored with a newer correct version: everything passes again, so the failures above came from those rows.
chq "INSERT INTO analytics.raw_orders (order_id, customer_id, status, total, created_at, updated_at, _version, _deleted)
     VALUES ($o_id, $o_cust, 'delivered', toDecimal64('$o_total', 2), fromUnixTimestamp64Micro($o_created, 'UTC'),
             fromUnixTimestamp64Micro($o_updated, 'UTC'), $((BIG + 2)), 0)"
dbt_on_chdb build >"$LOG_DIR/chdb-build-restored.log" 2>&1 ||
  { cat "$LOG_DIR/chdb-build-restored.log"; fail "after restoring the rows, the dbt tests should pass again"; }
log "restored: $(grep -E '^Done' "$LOG_DIR/chdb-build-restored.log" | sed 's/.*: //')"
phase "done"
