#!/usr/bin/env bash
# dbt for real: dbt-core + dbt-clickhouse (clickhouse-connect, HTTP) against ClickHouse 26.x (the chdb endpoint of
# `stack up --clickhouse-engine chdb`), over the raw_* tables `streamshop replicate` wrote there — no export:
#   1. PostgreSQL gets the schema, a `streamshop generate` history (seeded: orders, lifecycle updates, price
#      changes) and a product that is not for sale (to be deleted later); replicate snapshots it and streams more;
#      verify;
#   2. `dbt build` (run 1): staging views, contracted marts, the product_prices_snapshot snapshot (first run) and
#      every test; the prices PostgreSQL had at that moment are recorded (the oracle's observation 1);
#   3. more generated transactions (price changes among them), the product deleted, and a schema change in
#      PostgreSQL: `ALTER TABLE customers ADD COLUMN loyalty_tier text` + values; verify (replicate added the column
#      to raw_customers); prices recorded again (observation 2);
#   4. `dbt build` (run 2): the new column is in stg_customers with PostgreSQL's values, the marts still pass their
#      contracts, the snapshot (run 2) holds exactly the SCD2 history the two observations imply (changed prices
#      closed at the change's updated_at, the deleted product closed, new products opened), the marts equal
#      PostgreSQL's own figures, every test passes;
#   5. the snapshot's tests can fail: a second, overlapping current row for a product fails exactly
#      product_prices_snapshot_one_current_row_per_product, assert_product_prices_snapshot_no_overlapping_validity
#      and assert_product_prices_snapshot_current_price_equals_source;
#   6. contracts: an edited copy of the project puts loyalty_tier into dim_customers (not in its contract) and makes
#      fct_orders.order_total a Float64: `dbt run` fails with a contract error on both and leaves both tables as
#      they were; declaring the column in the contract (the documented fix) builds dim_customers with it.
# dbt-clickhouse needs ClickHouse >= 22, so this test always runs on the chdb engine, whatever
# STREAMSHOP_CLICKHOUSE_ENGINE says; the 18.16 path is tests/integration/test_dbt.sh.
TEST_PORT_BASE=27300
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
bash "$ROOT/scripts/bootstrap-python.sh" >/dev/null ||
  { echo "[test_dbt_clickhouse] FAIL: scripts/bootstrap-python.sh failed" >&2; exit 1; }
export STREAMSHOP_CLICKHOUSE_ENGINE=chdb
source "$(dirname "$0")/lib.sh" "$1"

export DBT_CLICKHOUSE_DIR=$STREAMSHOP_STACK_DIR/dbt-clickhouse
WORK=$DBT_CLICKHOUSE_DIR
rm -rf "$WORK" && mkdir -p "$WORK"
phase_started=$SECONDS
phase() { log "$* (+$((SECONDS - phase_started)) s)"; }
# dbt_ch LABEL ARGS…: scripts/dbt_clickhouse.sh ARGS…, output in $LOG_DIR/dbt-LABEL.out; returns dbt's status.
dbt_ch() {
  local label=$1
  shift
  bash "$REPO/scripts/dbt_clickhouse.sh" "$@" >"$LOG_DIR/dbt-$label.out" 2>&1
}
# dbt_ok LABEL ARGS…: dbt must succeed with no error, failure or warning; prints its summary.
dbt_ok() {
  local label=$1
  dbt_ch "$@" || { tail -n 60 "$LOG_DIR/dbt-$label.out"; fail "dbt ${*:2} ($label) failed"; }
  grep -qE "Done\. PASS=[0-9]+ WARN=0 ERROR=0 SKIP=0" "$LOG_DIR/dbt-$label.out" ||
    { tail -n 60 "$LOG_DIR/dbt-$label.out"; fail "dbt ${*:2} ($label): not everything passed"; }
  log "dbt ${*:2}: $(grep -oE "Done\. PASS=.*" "$LOG_DIR/dbt-$label.out")"
}
chq() { ch "$1 FORMAT TSVRaw"; }
# The prices PostgreSQL has now, as observation $1 of the snapshot oracle (a table outside the publication).
observe_prices() {
  pg -c "INSERT INTO test_price_observations SELECT $1, product_id, price, updated_at FROM products"
}

# ------------------------------------------------------------------------------------------ 1. the pipeline
phase "PostgreSQL: schema, history (generate --seed $TEST_SEED); replicate; more changes; verify"
pg -f "$REPO/sql/postgres/schema.sql"
pg -c "CREATE TABLE test_price_observations (run int, product_id bigint, price numeric(12, 2), updated_at timestamptz)"
"$STREAMSHOP" generate --rate 0 --transactions 300 --products 30 --customers 40 --seed "$TEST_SEED" --progress off \
  >"$LOG_DIR/generate-1.out" 2>&1 || { cat "$LOG_DIR/generate-1.out"; fail "generate (history) failed"; }
# Not for sale (generate orders active products only), so no order line keeps it from being deleted in step 3.
pg -c "INSERT INTO products (sku, name, category, price, active) VALUES ('TEST-DISCONTINUED', 'Discontinued', 'Test',
  9.99, false)"
start_replicate --outbox-table public.outbox_events  # the source of fct_order_lifecycle
wait_streaming
"$STREAMSHOP" generate --rate 0 --transactions 300 --seed "$((TEST_SEED + 1))" --progress off \
  >"$LOG_DIR/generate-2.out" 2>&1 || { cat "$LOG_DIR/generate-2.out"; fail "generate (streamed) failed"; }
verify 60
[[ "$(chq "SELECT engine_full FROM system.tables WHERE database = 'analytics' AND name = 'raw_products'")" == \
   "ReplacingMergeTree(_version, _deleted) ORDER BY"* ]] ||
  fail "raw_products is not in the modern dialect: $(chq "SELECT engine_full FROM system.tables
    WHERE database = 'analytics' AND name = 'raw_products'")"

# ------------------------------------------------------------------------------------------ 2. dbt build, run 1
phase "dbt build (run 1) with dbt-clickhouse against ClickHouse $(chq "SELECT version()")"
observe_prices 1
dbt_ok build-1 build
grep -q "OK snapshotted \`analytics\`.\`product_prices_snapshot\`" "$LOG_DIR/dbt-build-1.out" ||
  fail "dbt build did not run the snapshot"
[[ "$(chq "SELECT count() FROM analytics.product_prices_snapshot")" == "$(pg -c "SELECT count(*) FROM products")" ]] ||
  fail "snapshot run 1: expected one row per product"

# ------------------------------------------------------------------------------------------ 3. more changes
phase "more changes: generate (price changes), a product deleted, ADD COLUMN customers.loyalty_tier; verify"
"$STREAMSHOP" generate --rate 0 --transactions 400 --seed "$((TEST_SEED + 2))" --progress off \
  >"$LOG_DIR/generate-3.out" 2>&1 || { cat "$LOG_DIR/generate-3.out"; fail "generate (between runs) failed"; }
deleted=$(pg -c "DELETE FROM products WHERE sku = 'TEST-DISCONTINUED' RETURNING product_id")
pg -c "ALTER TABLE customers ADD COLUMN loyalty_tier text" \
   -c "UPDATE customers SET loyalty_tier = CASE WHEN customer_id % 3 = 0 THEN 'gold' ELSE 'silver' END
       WHERE customer_id % 2 = 0"
verify 60
stop_replicate
[[ "$(chq "SELECT type FROM system.columns WHERE database = 'analytics' AND table = 'raw_customers'
           AND name = 'loyalty_tier'")" == "Nullable(String)" ]] || fail "raw_customers has no loyalty_tier Nullable(String)"
observe_prices 2
changed=$(pg -c "SELECT count(*) FROM test_price_observations a JOIN test_price_observations b USING (product_id)
  WHERE a.run = 1 AND b.run = 2 AND a.price <> b.price")
added=$(pg -c "SELECT count(*) FROM test_price_observations b WHERE run = 2 AND NOT EXISTS
  (SELECT FROM test_price_observations a WHERE a.run = 1 AND a.product_id = b.product_id)")
log "between the runs: $changed product price(s) changed, $added product(s) added, product $deleted deleted"
((changed > 0)) || fail "the workload changed no price between the snapshot runs"

# ------------------------------------------------------------------------------------------ 4. dbt build, run 2
phase "dbt build (run 2): the new column in staging, contracts, snapshot history, marts"
dbt_ok build-2 build
pg -F $'\t' -c "SELECT customer_id, coalesce(loyalty_tier, 'NULL') FROM customers ORDER BY 1" >"$WORK/pg_loyalty.tsv"
chq "SELECT customer_id, ifNull(loyalty_tier, 'NULL') FROM analytics.stg_customers ORDER BY 1" >"$WORK/ch_loyalty.tsv"
diff "$WORK/pg_loyalty.tsv" "$WORK/ch_loyalty.tsv" >"$LOG_DIR/loyalty.diff" ||
  { head -n 20 "$LOG_DIR/loyalty.diff"; fail "stg_customers.loyalty_tier differs from PostgreSQL"; }
log "stg_customers.loyalty_tier equals PostgreSQL ($(grep -cvE $'\tNULL$' "$WORK/pg_loyalty.tsv") values)"

# The oracle: the SCD2 rows the two observations imply, computed by PostgreSQL; each row is product, price in
# cents, valid_from and valid_to in µs ('open' while current, 'deleted' when closed by the deletion, whose time is
# the snapshot run's own).
pg -F $'\t' -c "WITH o1 AS (SELECT * FROM test_price_observations WHERE run = 1),
                     o2 AS (SELECT * FROM test_price_observations WHERE run = 2)
  SELECT * FROM (
    SELECT o1.product_id, (o1.price * 100)::bigint, (extract(epoch FROM o1.updated_at) * 1000000)::bigint,
      CASE WHEN o2.product_id IS NULL THEN 'deleted' WHEN o2.price <> o1.price
           THEN ((extract(epoch FROM o2.updated_at) * 1000000)::bigint)::text ELSE 'open' END
    FROM o1 LEFT JOIN o2 USING (product_id)
    UNION ALL
    SELECT o2.product_id, (o2.price * 100)::bigint, (extract(epoch FROM o2.updated_at) * 1000000)::bigint, 'open'
    FROM o2 LEFT JOIN o1 USING (product_id) WHERE o1.product_id IS NULL OR o1.price <> o2.price) x
  ORDER BY 1, 3" >"$WORK/pg_price_history.tsv"
chq "SELECT product_id, toInt64(price * 100), toUnixTimestamp64Micro(dbt_valid_from),
    multiIf(dbt_valid_to IS NULL, 'open',
            product_id NOT IN (SELECT product_id FROM analytics.product_prices_snapshot WHERE dbt_valid_to IS NULL)
              AND dbt_valid_to > dbt_valid_from, 'deleted',
            toString(toUnixTimestamp64Micro(dbt_valid_to)))
  FROM analytics.product_prices_snapshot ORDER BY 1, 3" >"$WORK/ch_price_history.tsv"
diff "$WORK/pg_price_history.tsv" "$WORK/ch_price_history.tsv" >"$LOG_DIR/price_history.diff" ||
  { head -n 20 "$LOG_DIR/price_history.diff"; fail "product_prices_snapshot is not the history PostgreSQL implies"; }
log "product_prices_snapshot: $(wc -l <"$WORK/ch_price_history.tsv") rows, exactly the SCD2 history of the two" \
  "observations ($(grep -c $'\topen$' "$WORK/ch_price_history.tsv") current)"

marts_equal_postgres "$WORK"
log "marts equal PostgreSQL: $(wc -l <"$WORK/pg_dim_customers.tsv") customers, $(wc -l <"$WORK/pg_fct_orders.tsv") orders"
# fct_order_lifecycle, built from the outbox's events alone (replicate --outbox-table): every order of PostgreSQL is
# there with its current status; its timestamps are PostgreSQL's created_at / updated_at of the order's changes.
pg -F $'\t' -c "SELECT order_id, status, (extract(epoch FROM created_at) * 1000000)::bigint FROM orders ORDER BY 1" \
  >"$WORK/pg_lifecycle.tsv"
chq "SELECT order_id, status, toUnixTimestamp64Micro(placed_at) FROM analytics.fct_order_lifecycle
  WHERE order_id IN (SELECT order_id FROM analytics.fct_orders) ORDER BY order_id" >"$WORK/ch_lifecycle.tsv"
diff "$WORK/pg_lifecycle.tsv" "$WORK/ch_lifecycle.tsv" >"$LOG_DIR/lifecycle.diff" ||
  { head -n 20 "$LOG_DIR/lifecycle.diff"; fail "fct_order_lifecycle disagrees with PostgreSQL's orders"; }
log "fct_order_lifecycle: $(chq "SELECT count() FROM analytics.fct_order_lifecycle") orders from" \
  "$(chq "SELECT count() FROM analytics.outbox_events") events; each current order's status and placement time" \
  "equal PostgreSQL's"

# ------------------------------------------------------------------------------------------ 5. tests can fail
phase "negative: a second, overlapping current price row must fail the snapshot's tests"
read -r p_id p_from < <(chq "SELECT product_id, toUnixTimestamp64Micro(dbt_valid_from)
  FROM analytics.product_prices_snapshot WHERE dbt_valid_to IS NULL ORDER BY product_id LIMIT 1")
ch "INSERT INTO analytics.product_prices_snapshot (product_id, sku, name, category, price, updated_at, dbt_scd_id,
    dbt_updated_at, dbt_valid_from, dbt_valid_to)
  SELECT product_id, sku, name, category, price + 1, updated_at, 42, dbt_updated_at,
    fromUnixTimestamp64Micro($((p_from + 1000000)), 'UTC'), NULL
  FROM analytics.product_prices_snapshot WHERE product_id = $p_id AND dbt_valid_to IS NULL"
rc=0
dbt_ch test-broken test --select product_prices_snapshot || rc=$?
((rc == 1)) || { tail -n 40 "$LOG_DIR/dbt-test-broken.out"; fail "dbt test exited $rc on a broken snapshot, expected 1"; }
failed=$(sed -nE 's/.* FAIL [0-9]+ ([a-z0-9_]+) \.+.*/\1/p' "$LOG_DIR/dbt-test-broken.out" | sort | paste -sd ' ')
[[ "$failed" == "assert_product_prices_snapshot_current_price_equals_source assert_product_prices_snapshot_no_overlapping_validity product_prices_snapshot_one_current_row_per_product" ]] ||
  { tail -n 40 "$LOG_DIR/dbt-test-broken.out"; fail "expected exactly the three snapshot tests to fail, got: '$failed'"; }
log "broken snapshot row caught by: $failed"
ch "DELETE FROM analytics.product_prices_snapshot WHERE dbt_scd_id = 42"

# ------------------------------------------------------------------------------------------ 6. contracts
phase "contracts: an incompatible mart change fails the build and leaves the marts as they were"
EDIT=$WORK/project-edited
rm -rf "$EDIT" && mkdir -p "$EDIT"
(cd "$REPO/dbt/streamshop" && tar --exclude=./target --exclude=./logs -cf - .) | (cd "$EDIT" && tar -xf -)
sed -i 's/^    cast(c.city as String) as city,$/&\n    c.loyalty_tier as loyalty_tier,/' "$EDIT/models/marts/dim_customers.sql"
sed -i 's/^    cast(o.total as Decimal(12, 2)) as order_total,$/    toFloat64(o.total) as order_total,/' \
  "$EDIT/models/marts/fct_orders.sql"
grep -q "c.loyalty_tier as loyalty_tier" "$EDIT/models/marts/dim_customers.sql" &&
  grep -q "toFloat64(o.total) as order_total" "$EDIT/models/marts/fct_orders.sql" || fail "could not edit the marts"
shape() { chq "SELECT count(), (SELECT groupArray(name || ' ' || type) FROM system.columns WHERE database = 'analytics'
  AND table = '$1') FROM analytics.$1"; }
before_dim=$(shape dim_customers) before_fct=$(shape fct_orders)
rc=0
DBT_PROJECT_DIR=$EDIT dbt_ch contract-broken run --select dim_customers fct_orders || rc=$?
((rc == 1)) || { tail -n 40 "$LOG_DIR/dbt-contract-broken.out"; fail "dbt run exited $rc on broken contracts, expected 1"; }
# dbt's contract report: the column, the SQL's type, the contract's type, why.
dim_report=$(grep -A8 "Compilation Error in model dim_customers" "$LOG_DIR/dbt-contract-broken.out" || true)
fct_report=$(grep -A8 "Compilation Error in model fct_orders" "$LOG_DIR/dbt-contract-broken.out" || true)
# (A NOT NULL PostgreSQL column is Nullable in ClickHouse only on legacy servers: docs/TYPE_MAPPING.md.)
grep -qE "\| loyalty_tier +\| (Nullable\()?String\)? +\| +\| missing in contract +\|" <<<"$dim_report" &&
  grep -qE "\| order_total +\| (Nullable\()?Float64\)? +\| Decimal\(12, 2\) +\| data type mismatch +\|" <<<"$fct_report" ||
  { tail -n 50 "$LOG_DIR/dbt-contract-broken.out"; fail "no contract errors naming loyalty_tier and order_total"; }
grep -qE "Done\. PASS=0 WARN=0 ERROR=2 " "$LOG_DIR/dbt-contract-broken.out" ||
  { tail -n 20 "$LOG_DIR/dbt-contract-broken.out"; fail "expected both models to fail"; }
[[ "$(shape dim_customers)" == "$before_dim" && "$(shape fct_orders)" == "$before_fct" ]] ||
  fail "a failed contract changed a mart"
log "contract errors: $(grep -oE "Compilation Error in model [a-z_]+" "$LOG_DIR/dbt-contract-broken.out" | sort |
  paste -sd ';' | sed 's/;/; /g'); the tables are unchanged"

# The fix, as docs/DBT.md describes it: declare the new column in the contract.
sed -i 's/^    cast(c.city as String) as city,$/&\n    cast(c.loyalty_tier as Nullable(String)) as loyalty_tier,/;
        /^    c.loyalty_tier as loyalty_tier,$/d' "$EDIT/models/marts/dim_customers.sql"
sed -i 's/^      - name: city$/      - name: loyalty_tier\n        data_type: "Nullable(String)"\n        description: Loyalty tier.\n&/' \
  "$EDIT/models/marts/_marts.yml"
DBT_PROJECT_DIR=$EDIT dbt_ok contract-fixed run --select dim_customers
chq "SELECT customer_id, ifNull(loyalty_tier, 'NULL') FROM analytics.dim_customers ORDER BY 1" >"$WORK/dim_loyalty.tsv"
diff "$WORK/pg_loyalty.tsv" "$WORK/dim_loyalty.tsv" >/dev/null || fail "dim_customers.loyalty_tier differs from PostgreSQL"
log "with loyalty_tier in its contract, dim_customers builds and carries it"
phase "done"
