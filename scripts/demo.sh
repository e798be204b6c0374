#!/usr/bin/env bash
# demo.sh — the streamshop story on this machine (`make demo` bootstraps and builds, then runs this):
#   1. start the local stack (PostgreSQL 15 + ClickHouse, `streamshop stack up`);
#   2. start over: drop the demo's slot, tables and publication in PostgreSQL and the `analytics` database in
#      ClickHouse, then load sql/postgres/schema.sql (customers, products, orders, order_items);
#   3. history: `streamshop generate` seeds a catalogue and customers and commits DEMO_HISTORY transactions
#      before replication exists;
#   4. `streamshop replicate` copies that history (initial snapshot) and streams from then on, with its live
#      progress line (events/s, lag, rows per table) on a terminal;
#   5. meanwhile `streamshop generate` runs for DEMO_DURATION at DEMO_RATE transactions/s;
#   6. when it ends, `streamshop verify --wait` proves ClickHouse equals PostgreSQL; replicate is stopped;
#   7. the dbt marts: on a modern ClickHouse (>= 22; `STREAMSHOP_CLICKHOUSE_ENGINE=chdb make demo` runs ClickHouse
#      26.x) dbt-clickhouse runs `dbt build` directly against it (staging, contracted marts, the snapshot
#      product_prices_snapshot, tests; a first `dbt snapshot` ran right after the initial copy in step 4, so the
#      live workload's price changes become price history); on the default 18.16 server, which dbt-clickhouse
#      cannot connect to, the way CI proves them (scripts/dbt_on_chdb.sh: real dbt compiles the project, the raw_*
#      rows are exported from the server and the models and tests run on chdb);
#   8. a business summary (orders by status, revenue by day, top 5 customers; with dbt-clickhouse also the price
#      history) from the marts, cross-checked against PostgreSQL and the raw tables, and where to look next.
# The generator is the only writer of the four tables. Re-running starts over (step 2): the previous run's
# data is deleted. The stack stays up afterwards (`streamshop stack down` stops it). Ctrl-C (SIGINT to the
# process group, as a terminal sends it; SIGTERM to this script too) stops generate and replicate with SIGINT
# — both exit 0 — and exits 130.
#
# Environment:
#   DEMO_DURATION     live workload run time (default 60s; e.g. 15s, 2m; must be bounded)
#   DEMO_RATE         live workload transactions/s (default 1000)
#   DEMO_SEED         workload seed (default 1): same seed, same transactions
#   DEMO_HISTORY      transactions committed before replication starts (default 2000)
#   DEMO_VERIFY_WAIT  seconds verify may wait for the pipeline to catch up (default 120)
#   STREAMSHOP        the binary (default <repo>/build/streamshop)
#   STREAMSHOP_STACK_DIR and the port variables of scripts/stack.sh choose the stack (default <repo>/.streamshop)
#   STREAMSHOP_CLICKHOUSE_ENGINE  server (default: ClickHouse 18.16) or chdb (ClickHouse 26.x behind the test/dev
#                     endpoint), as for `streamshop stack up`
# Files: <stack dir>/demo/ (generate and verify output, the dbt work dir: dbt's target/ and logs/, and with 18.16
# the chdb session and dbt docs).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STREAMSHOP=${STREAMSHOP:-$REPO/build/streamshop}
STREAMSHOP_STACK_DIR=$(realpath -m "${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}")
export STREAMSHOP_STACK_DIR
DEMO_DURATION=${DEMO_DURATION:-60s}
DEMO_RATE=${DEMO_RATE:-1000}
DEMO_SEED=${DEMO_SEED:-1}
DEMO_HISTORY=${DEMO_HISTORY:-2000}
DEMO_VERIFY_WAIT=${DEMO_VERIFY_WAIT:-120}
DEMO_DIR=$STREAMSHOP_STACK_DIR/demo
export DBT_ON_CHDB_DIR=$DEMO_DIR/dbt DBT_CLICKHOUSE_DIR=$DEMO_DIR/dbt
SLOT=streamshop          # replication slot and publication (the publication comes from schema.sql)
TABLES=(customers products orders order_items)
TTY=0
[[ -t 1 && -t 2 ]] && TTY=1

started=$SECONDS
step=0
say() {  # a step header
  step=$((step + 1))
  if ((TTY)); then printf '\r\033[K\n\033[1m== [%d/8] %s\033[0m\n' "$step" "$*"; else printf '\n== [%d/8] %s\n' "$step" "$*"; fi
}
note() { if ((TTY)); then printf '\r\033[K%s\n' "$*"; else printf '%s\n' "$*"; fi; }  # (clears a progress line)
die() { note "demo: error: $*" >&2; exit 1; }
rel() { [[ "$1" == "$PWD"/* ]] && echo "${1#"$PWD"/}" || echo "$1"; }  # relative when under $PWD

[[ -x "$STREAMSHOP" ]] || die "no streamshop binary at $STREAMSHOP: run \`make demo\` (it builds first) or set STREAMSHOP"
[[ "$DEMO_DURATION" =~ ^[0-9]+(ms|s|m|h)?$ && ! "$DEMO_DURATION" =~ ^0+(ms|s|m|h)?$ ]] ||
  die "DEMO_DURATION must be a bounded run time like 15s, 60s or 2m (got '$DEMO_DURATION')"

# ------------------------------------------------------------------------------------------ children, Ctrl-C
# replicate and generate run in their own session (setsid): a terminal's Ctrl-C reaches only this script, which
# then sends each of them exactly one SIGINT (a second one would make them exit at once, with 130).
REPLICATE_PID="" GENERATE_PID=""
# stop_child NAME VAR: SIGINT to the process whose pid is in $VAR (if any), wait for it, report its exit status.
# Another Ctrl-C while waiting is passed on (forces the exit).
stop_child() {
  local name=$1 pid=${!2} rc
  [[ -n "$pid" ]] || return 0
  kill -INT "$pid" 2>/dev/null || true
  while true; do
    rc=0
    wait "$pid" 2>/dev/null || rc=$?
    ((rc > 128)) && kill -0 "$pid" 2>/dev/null && { kill -INT "$pid" 2>/dev/null || true; continue; }
    break
  done
  printf -v "$2" '%s' ""
  note "$name stopped (exit status $rc)"
  return "$rc"
}
cleanup() {
  local rc=$?
  trap ':' INT TERM HUP
  if [[ -n "$GENERATE_PID$REPLICATE_PID" ]]; then
    ((rc > 128)) && note "" && note "demo: interrupted; stopping generate and replicate (SIGINT)"
    stop_child generate GENERATE_PID || true
    [[ -f "$DEMO_DIR/generate.out" ]] && sed -n 's/^generate: /generate: /p' "$DEMO_DIR/generate.out"
    stop_child replicate REPLICATE_PID || true
  fi
  ((rc > 128)) &&
    note "demo: stopped. The stack is still up ($(rel "$STREAMSHOP") stack down stops it); re-running starts over."
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------------------------------------ 1. stack
say "Starting the local stack (PostgreSQL 15 + ClickHouse) under $STREAMSHOP_STACK_DIR"
"$STREAMSHOP" stack up
# shellcheck disable=SC1091
source "$STREAMSHOP_STACK_DIR/env"
source "$REPO/scripts/clients.sh"   # pg, ch: the stack's clients, no password on a command line
mkdir -p "$DEMO_DIR"
# dbt-clickhouse needs ClickHouse >= 22: with it, dbt runs directly against the stack's ClickHouse (MODERN=1).
CH_VERSION=$(ch "SELECT version()")
MODERN=0
((${CH_VERSION%%.*} >= 22)) && MODERN=1
dbt_ch() { bash "$REPO/scripts/dbt_clickhouse.sh" "$@"; }
pg_counts() {
  pg -c "SELECT concat_ws(' ', 'customers=' || (SELECT count(*) FROM customers), 'products=' || (SELECT count(*) FROM products),
    'orders=' || (SELECT count(*) FROM orders), 'order_items=' || (SELECT count(*) FROM order_items))"
}

# ------------------------------------------------------------------------------------------ 2. start over
say "Starting over: the e-commerce schema (sql/postgres/schema.sql), empty; analytics database dropped"
holder=$(pg -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = '$SLOT' AND active")
[[ -z "$holder" ]] ||
  die "replication slot '$SLOT' is in use by PostgreSQL backend pid $holder (a streamshop replicate still" \
    "running on this stack?): stop it first"
pg -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
pg -c "DROP PUBLICATION IF EXISTS $SLOT" \
  -c "DROP TABLE IF EXISTS order_items, orders, products, customers, outbox_events CASCADE"
pg -f "$REPO/sql/postgres/schema.sql"
ch "DROP DATABASE IF EXISTS analytics"
rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"
note "PostgreSQL: tables $(pg -c "SELECT string_agg(tablename, ', ' ORDER BY tablename) FROM pg_publication_tables
  WHERE pubname = '$SLOT'") in publication '$SLOT'; no slot yet. ClickHouse $CH_VERSION: no analytics database."

# ------------------------------------------------------------------------------------------ 3. history
say "History: $DEMO_HISTORY transactions committed before replication starts (seed $DEMO_SEED)"
"$STREAMSHOP" generate --rate 0 --transactions "$DEMO_HISTORY" --seed "$DEMO_SEED" --progress off \
  >"$DEMO_DIR/history.out" 2>"$DEMO_DIR/history.log" || { cat "$DEMO_DIR/history.log" >&2; die "generate failed"; }
grep -h "seeded\|^generate:" "$DEMO_DIR/history.log" "$DEMO_DIR/history.out" | sed 's/^.*generate: /generate: /'
note "PostgreSQL now holds: $(pg_counts)"

# ------------------------------------------------------------------------------------------ 4. replicate
say "Replicating: initial snapshot of that history, then streaming every change"
REPLICATE_PROGRESS=off
((TTY)) && REPLICATE_PROGRESS=on
t0=$SECONDS
# --outbox-table: every domain event generate writes into outbox_events is also appended to analytics.outbox_events.
setsid "$STREAMSHOP" replicate --slot "$SLOT" --publication "$SLOT" --database analytics --progress "$REPLICATE_PROGRESS" \
  --outbox-table public.outbox_events &
REPLICATE_PID=$!
# The copy is done when ClickHouse holds as many rows as PostgreSQL in every table (nothing writes meanwhile, so
# no streamed version adds to them yet). (The slot's being active says less: replicate holds it from its creation,
# through the copy.)
pg_rows=$(pg -c "SELECT concat_ws(' ', $(printf "(SELECT count(*) FROM %s), " "${TABLES[@]}" | sed 's/, $//'))")
ch_rows() {
  local t out=""
  for t in "${TABLES[@]}"; do out+="${out:+ }$(ch "SELECT count() FROM analytics.raw_$t" 2>/dev/null || echo -)"; done
  echo "$out"
}
until [[ "$(ch_rows)" == "$pg_rows" ]]; do
  kill -0 "$REPLICATE_PID" 2>/dev/null || { wait "$REPLICATE_PID" || true; REPLICATE_PID=""; die "replicate exited"; }
  ((SECONDS - t0 < 300)) || die "replicate did not copy the history within 300 s"
  sleep 0.2
done
counts=""
read -r -a copied <<<"$pg_rows"
for i in "${!TABLES[@]}"; do counts+=" raw_${TABLES[$i]}=${copied[$i]}"; done
note "snapshot copied, streaming after $((SECONDS - t0)) s; ClickHouse rows:$counts"
if ((MODERN)); then  # the price history starts now; step 7's dbt build records the live workload's changes
  bash "$REPO/scripts/bootstrap-python.sh" >/dev/null || die "scripts/bootstrap-python.sh failed"
  rc=0
  dbt_ch snapshot >"$DEMO_DIR/dbt-snapshot.log" 2>&1 || rc=$?
  ((rc == 0)) || { tail -n 30 "$DEMO_DIR/dbt-snapshot.log" >&2; die "dbt snapshot failed (log: $DEMO_DIR/dbt-snapshot.log)"; }
  note "dbt snapshot (dbt-clickhouse): product_prices_snapshot records the current price of" \
    "$(ch "SELECT count() FROM analytics.product_prices_snapshot WHERE dbt_valid_to IS NULL") products"
fi

# ------------------------------------------------------------------------------------------ 5. live workload
say "Live workload: generate at $DEMO_RATE tx/s for $DEMO_DURATION while replicate streams (Ctrl-C stops)"
# On a terminal, generate's log goes to a file so that replicate's progress line stays readable.
# --outbox-cleanup: each domain event is deleted from outbox_events in its own transaction (the usual clean-up);
# replicate --outbox-table still appends every one of them to analytics.outbox_events.
gen=("$STREAMSHOP" generate --rate "$DEMO_RATE" --duration "$DEMO_DURATION" --seed "$DEMO_SEED" --progress log
  --outbox-cleanup)
if ((TTY)); then
  note "(generate's log: $(rel "$DEMO_DIR/generate.log"); the line below is replicate's: events/s, lag, rows per table)"
  setsid "${gen[@]}" >"$DEMO_DIR/generate.out" 2>"$DEMO_DIR/generate.log" &
else
  setsid "${gen[@]}" >"$DEMO_DIR/generate.out" &
fi
GENERATE_PID=$!
rc=0
wait "$GENERATE_PID" || rc=$?
GENERATE_PID=""
((rc == 0)) || { [[ -f "$DEMO_DIR/generate.log" ]] && tail -n 20 "$DEMO_DIR/generate.log" >&2; die "generate exited with $rc"; }
note "$(grep '^generate:' "$DEMO_DIR/generate.out" | tail -n 1)"

# ------------------------------------------------------------------------------------------ 6. verify
say "Verifying: PostgreSQL vs ClickHouse (FINAL, _deleted = 0), row by row, once replicate has caught up"
t0=$SECONDS
rc=0
"$STREAMSHOP" verify --publication "$SLOT" --database analytics --wait "$DEMO_VERIFY_WAIT" \
  >"$DEMO_DIR/verify.out" 2>&1 || rc=$?
stop_child replicate REPLICATE_PID || die "replicate did not stop cleanly"
cat "$DEMO_DIR/verify.out"
((rc == 0)) || die "verify found differences (exit $rc)"
note "(caught up and verified $((SECONDS - t0)) s after the workload ended)"

# ------------------------------------------------------------------------------------------ 7. dbt marts
if ((MODERN)); then
  say "dbt marts: dbt-clickhouse builds dbt/streamshop on ClickHouse $CH_VERSION (models, contracts, snapshot, tests)"
  rc=0
  dbt_ch build >"$DEMO_DIR/dbt-build.log" 2>&1 || rc=$?
  note "$(grep -m1 -oE "Running with dbt=[0-9.]+" "$DEMO_DIR/dbt-build.log" | sed 's/Running with //') +" \
    "$(grep -m1 -oE "Registered adapter: clickhouse=[0-9.]+" "$DEMO_DIR/dbt-build.log" | sed 's/Registered adapter: //')" \
    "against $(sed -E 's#^([a-z]+://)[^@/]*@#\1#' <<<"$STREAMSHOP_CLICKHOUSE_URL") (log: $(rel "$DEMO_DIR/dbt-build.log"))"
  grep -E "OK created|OK snapshotted" "$DEMO_DIR/dbt-build.log" | sed 's/^[0-9:]* */  /' | sort -n -k1,1
  grep -E " (FAIL|WARN|ERROR) " "$DEMO_DIR/dbt-build.log" | sed 's/^[0-9:]* */  /' || true
  ((rc == 0)) || { tail -n 30 "$DEMO_DIR/dbt-build.log" >&2; die "dbt build failed (log: $DEMO_DIR/dbt-build.log)"; }
  grep -E "Done\. PASS=" "$DEMO_DIR/dbt-build.log" | sed 's/^[0-9:]* *//'
  note "dbt: $(grep -oE "[0-9]+ data tests" "$DEMO_DIR/dbt-build.log" | head -n 1) passed (unique, not_null," \
    "relationships, accepted_values, order totals, price history); contracts of dim_customers and fct_orders held"
else
  say "dbt marts: real dbt compiles dbt/streamshop; models + tests run on chdb over the exported raw tables"
  bash "$REPO/scripts/bootstrap-python.sh" >/dev/null || die "scripts/bootstrap-python.sh failed"
  bash "$REPO/scripts/dbt_on_chdb.sh" compile export load
  rc=0
  bash "$REPO/scripts/dbt_on_chdb.sh" build >"$DEMO_DIR/dbt-build.log" 2>&1 || rc=$?
  grep -E "OK created" "$DEMO_DIR/dbt-build.log" | sed 's/^ */  /'
  grep -E " (FAIL|WARN|ERROR) " "$DEMO_DIR/dbt-build.log" | sed 's/^ */  /' || true
  tests_passed=$(sed -n 's/.* PASS=\([0-9]*\) .*/\1/p' "$DEMO_DIR/dbt-build.log")
  ((rc == 0)) || { tail -n 5 "$DEMO_DIR/dbt-build.log" >&2; die "the dbt build failed on chdb (log: $DEMO_DIR/dbt-build.log)"; }
  grep -E "^Done" "$DEMO_DIR/dbt-build.log"
  note "dbt: ${tests_passed:-?} data tests passed (unique, not_null, relationships, accepted_values, order totals)"
fi

# ------------------------------------------------------------------------------------------ 8. summary
PRETTY_SETTINGS="SETTINGS output_format_pretty_row_numbers = 0, output_format_pretty_single_large_number_tip_threshold = 0,
  output_format_decimal_trailing_zeros = 1"
if ((MODERN)); then
  say "Business summary (marts fct_orders, dim_customers and the price history, on ClickHouse $CH_VERSION)"
  mart() { ch "$1 $PRETTY_SETTINGS FORMAT PrettyCompactNoEscapes"; }
  mart_tsv() { ch "$1 FORMAT TSV"; }
else
  say "Business summary (marts fct_orders, dim_customers on chdb)"
  mart() { DBT_ON_CHDB_FORMAT=PrettyCompactNoEscapes bash "$REPO/scripts/dbt_on_chdb.sh" query "$1 $PRETTY_SETTINGS"; }
  mart_tsv() { bash "$REPO/scripts/dbt_on_chdb.sh" query "$1"; }
fi
echo "Orders by status:"
mart "SELECT status, count() AS orders, sum(order_total) AS value, sum(item_count) AS lines
  FROM analytics.fct_orders GROUP BY status
  ORDER BY indexOf(['new', 'paid', 'shipped', 'delivered', 'cancelled'], status)"
echo "Revenue by day (UTC; orders not cancelled):"
mart "SELECT toDate(created_at) AS day, count() AS orders, sum(order_total) AS revenue,
    round(sum(order_total) / count(), 2) AS avg_order
  FROM analytics.fct_orders WHERE status != 'cancelled' GROUP BY day ORDER BY day"
echo "Top 5 customers by lifetime revenue:"
mart "SELECT customer_id, full_name, country, lifetime_orders AS orders, lifetime_revenue
  FROM analytics.dim_customers ORDER BY lifetime_revenue DESC, customer_id LIMIT 5"
if ((MODERN)); then
  # Two snapshot runs (after the initial copy, and dbt build above): a product's history shows its price at each.
  read -r changed products < <(ch "SELECT countIf(dbt_valid_to IS NOT NULL), uniqExact(product_id)
    FROM analytics.product_prices_snapshot FORMAT TSV")
  echo "Price history (snapshot product_prices_snapshot, SCD2): $changed of $products products changed price between" \
    "the snapshot after the initial copy and this one; the biggest change:"
  mart "SELECT product_id, name, price, dbt_valid_from AS valid_from, dbt_valid_to AS valid_to
    FROM analytics.product_prices_snapshot WHERE product_id = (SELECT product_id FROM analytics.product_prices_snapshot
      GROUP BY product_id ORDER BY max(price) / min(price) DESC, product_id LIMIT 1) ORDER BY dbt_valid_from"
fi

echo "Order lifecycle (fct_order_lifecycle, from the outbox's domain events; mean seconds after placement):"
mart "SELECT status, count() AS orders, round(avg(seconds_to_pay), 3) AS to_pay, round(avg(seconds_to_ship), 3) AS to_ship,
    round(avg(seconds_to_deliver), 3) AS to_deliver, round(avg(seconds_to_cancel), 3) AS to_cancel
  FROM analytics.fct_order_lifecycle GROUP BY status
  ORDER BY indexOf(['new', 'paid', 'shipped', 'delivered', 'cancelled'], status)"
read -r events event_types < <(mart_tsv "SELECT count(), uniqExact(type) FROM analytics.outbox_events")
note "Outbox: $events domain events of $event_types types in analytics.outbox_events; PostgreSQL's outbox_events" \
  "keeps $(pg -c "SELECT count(*) FROM outbox_events") of them (the live workload deleted its events right after" \
  "inserting them)."

# The same headline figures three ways: PostgreSQL itself, the server's raw table as the contract reads it
# (FINAL WHERE _deleted = 0), and the marts dbt built.
norm() { awk '{ printf "%d orders, revenue %.2f\n", $1, $2 }'; }
from_pg=$(pg -F ' ' -c "SELECT count(*), coalesce(sum(total) FILTER (WHERE status <> 'cancelled'), 0) FROM orders" | norm)
from_ch=$(ch "SELECT count(), sumIf(total, status != 'cancelled') FROM analytics.raw_orders FINAL WHERE _deleted = 0
  FORMAT TSV" | norm)
from_marts=$(mart_tsv "SELECT (SELECT count() FROM analytics.fct_orders),
  (SELECT sum(lifetime_revenue) FROM analytics.dim_customers)" | norm)
[[ "$from_pg" == "$from_ch" && "$from_ch" == "$from_marts" ]] ||
  die "headline figures differ: PostgreSQL '$from_pg', ClickHouse raw_orders FINAL '$from_ch', marts '$from_marts'"
note "Cross-check: $from_marts — the same in PostgreSQL, in ClickHouse (raw_orders FINAL WHERE _deleted = 0)" \
  "and in the marts."

# ------------------------------------------------------------------------------------------ next
BIN=$(rel "$STREAMSHOP") DBT_SH=$(rel "$REPO/scripts/dbt_on_chdb.sh") PROJECT=$(rel "$REPO/dbt/streamshop")
DBT_CH=$(rel "$REPO/scripts/dbt_clickhouse.sh")
DBT=$(rel "${STREAMSHOP_VENV:-$REPO/.venv}/bin/dbt")
hint() { printf '  %-46s # %s\n' "$1" "$2"; }
echo
echo "Demo finished in $((SECONDS - started)) s. Where to look next (the stack is still up):"
if ((MODERN)); then
  echo "  source $(rel "$STREAMSHOP_STACK_DIR/env"); export DBT_CLICKHOUSE_DIR=$(rel "$DBT_CLICKHOUSE_DIR")"
else
  echo "  source $(rel "$STREAMSHOP_STACK_DIR/env"); export DBT_ON_CHDB_DIR=$(rel "$DBT_ON_CHDB_DIR")"
fi
hint "bash $(rel "$REPO/scripts/clients.sh") psql" "the OLTP source: SELECT status, count(*) FROM orders GROUP BY 1;"
echo "  curl${STREAMSHOP_CLICKHOUSE_CA_FILE:+ --cacert \"\$STREAMSHOP_CLICKHOUSE_CA_FILE\"} \"\$STREAMSHOP_CLICKHOUSE_URL\" --data-binary \\"
echo "    'SELECT status, count() FROM analytics.raw_orders FINAL WHERE _deleted = 0 GROUP BY status FORMAT PrettyCompact'"
hint "$BIN replicate" "resume streaming from the slot (Ctrl-C stops it); meanwhile"
hint "$BIN generate --duration 30s" "more changes (in another terminal), then"
hint "$BIN verify" "prove both sides equal again"
if ((MODERN)); then
  hint "$DBT_CH build" "rebuild the marts, snapshot the new prices, run the tests"
  echo "  curl${STREAMSHOP_CLICKHOUSE_CA_FILE:+ --cacert \"\$STREAMSHOP_CLICKHOUSE_CA_FILE\"} \"\$STREAMSHOP_CLICKHOUSE_URL\" --data-binary \\"
  echo "    'SELECT * FROM analytics.product_prices_snapshot ORDER BY product_id, dbt_valid_from FORMAT PrettyCompact'"
  hint "$DBT_CH docs generate --static" "dbt docs: then open $(rel "$DBT_CLICKHOUSE_DIR/target/static_index.html")"
  echo "  docs/DEMO.md: this demo and the Docker Compose deployment; docs/DBT.md: dbt, snapshots, contracts, schema changes"
else
  hint "$DBT_SH export load build" "rebuild the marts on chdb"
  echo "  $DBT_SH query 'SELECT * FROM analytics.fct_orders ORDER BY order_id DESC LIMIT 5'"
  echo "  dbt docs: open $(rel "$DBT_ON_CHDB_DIR/target/static_index.html") in a browser (one file), or serve them:"
  echo "    $DBT docs serve --project-dir $PROJECT --profiles-dir $PROJECT --port 8080 \\"
  echo "      --target-path $(rel "$DBT_ON_CHDB_DIR/target")"
  echo "  docs/DEMO.md: this demo and the Docker Compose deployment; docs/DBT.md: dbt build on a modern ClickHouse server"
  echo "  STREAMSHOP_CLICKHOUSE_ENGINE=chdb make demo (after \`$BIN stack down\`): the demo on ClickHouse 26.x, with dbt-clickhouse"
fi
hint "$BIN stack down" "stop the local servers"
