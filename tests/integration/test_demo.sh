#!/usr/bin/env bash
# The README's main command (scripts/demo.sh, what `make demo` runs after building), non-interactively:
#   1. interrupted: the demo runs in its own process group with a long DEMO_DURATION and gets SIGINT on the whole
#      group (what a terminal's Ctrl-C sends) during the live workload; generate and replicate must report exit
#      status 0, the demo must exit 130 and leave no replication or workload connection behind;
#   2. complete, re-run on the same stack (so starting over after an interrupted run works): DEMO_DURATION=10s
#      with no TTY must exit 0 with verify passing, every dbt test passing (18.16: compiled SQL on chdb over an
#      export; with STREAMSHOP_CLICKHOUSE_ENGINE=chdb: dbt-clickhouse's `dbt build` directly against ClickHouse 26.x,
#      snapshot and contracts included, and the price history printed), the business summary and the cross-check
#      printed, and only the demo's four raw_* tables replicated into ClickHouse.
# clickhouse-engines: server chdb
TEST_PORT_BASE=31600
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
bash "$ROOT/scripts/bootstrap-python.sh" >/dev/null ||
  { echo "[test_demo] FAIL: scripts/bootstrap-python.sh failed" >&2; exit 1; }
source "$(dirname "$0")/lib.sh" "$1"

demo() { STREAMSHOP=$STREAMSHOP bash "$REPO/scripts/demo.sh" </dev/null; }
# Connections to the stack's PostgreSQL other than ours: walsenders (replicate) and client backends (generate,
# verify). A backend leaves pg_stat_activity a moment after its client disconnected: allow 5 s.
no_clients_left() {
  local n deadline=$((SECONDS + 5))
  while true; do
    n=$(pg -c "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
                 AND backend_type IN ('client backend', 'walsender')")
    ((n == 0)) && return 0
    ((SECONDS < deadline)) || fail "$n connection(s) left after $1"
    sleep 0.2
  done
}

# ------------------------------------------------------------------------------------------ 1. Ctrl-C
log "interrupted run: SIGINT to the demo's process group during the live workload"
# Job control on: the demo runs in its own process group, and without SIGINT ignored (bash ignores SIGINT in the
# background jobs of a shell without job control, and a script cannot trap a signal ignored on entry).
set -m
DEMO_DURATION=10m demo >"$LOG_DIR/demo-interrupted.out" 2>&1 &
DEMO_PID=$!
set +m
BG_PIDS+=("$DEMO_PID")
deadline=$((SECONDS + 120))
until grep -q "^== \[5/8\]" "$LOG_DIR/demo-interrupted.out" &&
      grep -qE "INFO generate: [0-9]+ transactions committed" "$LOG_DIR/demo-interrupted.out"; do
  kill -0 "$DEMO_PID" 2>/dev/null || { cat "$LOG_DIR/demo-interrupted.out"; fail "the demo ended before its live workload"; }
  ((SECONDS < deadline)) || { cat "$LOG_DIR/demo-interrupted.out"; fail "the live workload did not start"; }
  sleep 0.5
done
kill -INT -- "-$DEMO_PID"
rc=0
timeout 60 tail --pid="$DEMO_PID" -f /dev/null || fail "the demo did not stop within 60 s of SIGINT"
wait "$DEMO_PID" || rc=$?
tail -n 8 "$LOG_DIR/demo-interrupted.out" | sed 's/^/[test_demo]   /'
((rc == 130)) || fail "interrupted demo exited $rc, expected 130"
grep -q "^generate stopped (exit status 0)" "$LOG_DIR/demo-interrupted.out" || fail "generate did not exit 0 on SIGINT"
grep -q "^replicate stopped (exit status 0)" "$LOG_DIR/demo-interrupted.out" || fail "replicate did not exit 0 on SIGINT"
grep -q "stopped cleanly; slot 'streamshop' confirmed" "$LOG_DIR/demo-interrupted.out" ||
  fail "replicate did not report a clean stop"
no_clients_left "the interrupted demo"
[[ "$(pg -c "SELECT count(*) FROM pg_replication_slots WHERE active")" == 0 ]] || fail "a slot is still active"

# ------------------------------------------------------------------------------------------ 2. complete run
log "complete run, again on the same stack: DEMO_DURATION=10s, no TTY"
started=$SECONDS
DEMO_DURATION=10s demo >"$LOG_DIR/demo.out" 2>&1 || { tail -n 60 "$LOG_DIR/demo.out"; fail "demo failed"; }
log "demo exited 0 in $((SECONDS - started)) s"
expect() { grep -qE "$1" "$LOG_DIR/demo.out" || { tail -n 80 "$LOG_DIR/demo.out"; fail "demo output lacks: $2"; }; }
expect "^verify: all tables match$" "verify passing"
if [[ $STREAMSHOP_CLICKHOUSE_ENGINE == chdb ]]; then
  expect "^dbt snapshot \(dbt-clickhouse\): product_prices_snapshot records the current price of [1-9][0-9]* products$" \
    "the first dbt snapshot"
  expect "^dbt=1\.[0-9.]+ \+ clickhouse=1\.[0-9.]+ against http://" "dbt-clickhouse against the stack's ClickHouse"
  expect "OK snapshotted \`analytics\`\.\`product_prices_snapshot\`" "the snapshot in dbt build"
  expect "^Done\. PASS=[0-9]+ WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=[0-9]+$" "dbt build with zero failures"
  passed=$(sed -n 's/^Done\. PASS=\([0-9]*\) .*/\1/p' "$LOG_DIR/demo.out")
  ((passed >= 60)) || fail "expected >= 60 passing dbt nodes, got '${passed:-none}'"
  expect "^Price history \(snapshot product_prices_snapshot, SCD2\): [1-9][0-9]* of [0-9]+ products changed price" \
    "the price history"
  raw_filter="AND substring(name, 1, 4) = 'raw_'"   # dbt's models live in the same database
else
  expect "^Done on chdb .* FAIL=0 ERROR=0 TOTAL=[0-9]+$" "the dbt build on chdb with zero failures"
  passed=$(sed -n 's/^Done on chdb .* PASS=\([0-9]*\) .*/\1/p' "$LOG_DIR/demo.out")
  ((passed >= 40)) || fail "expected >= 40 passing dbt tests, got '${passed:-none}'"
  expect "^dbt_on_chdb: compiled with dbt-core" "the real dbt compile"
  raw_filter=""
fi
expect "^Orders by status:$" "the orders-by-status summary"
expect "│ delivered +│ +[0-9]+ │" "a delivered row in the orders-by-status table"
expect "^Revenue by day" "the revenue-by-day summary"
expect "^Top 5 customers by lifetime revenue:$" "the top-customers summary"
expect "^Order lifecycle \(fct_order_lifecycle" "the order-lifecycle summary"
expect "│ delivered +│ +[1-9][0-9]* │" "delivered orders in the lifecycle"
expect "^Outbox: [1-9][0-9]* domain events of [1-9][0-9]* types in analytics.outbox_events" "the outbox summary"
expect "^Cross-check: [0-9]+ orders, revenue [0-9.]+ — the same in PostgreSQL" "the three-way cross-check"
expect "^Demo finished in [0-9]+ s. Where to look next" "where to look next"
expect "^generate: [0-9]+ transactions in [0-9.]+ s" "the workload summary"
top=$(sed -n '/^Top 5 customers/,/^└/p' "$LOG_DIR/demo.out" | grep -c '^│')
((top == 5)) || fail "expected 5 top customers, got $top"
# Only the demo's five tables are replicated (the old sample tables stay out), and the outbox's events appended to
# outbox_events; `_streamshop_*` are the pipeline's own.
tables=$(ch "SELECT arrayStringConcat(groupArray(name), ' ') FROM (SELECT name FROM system.tables
  WHERE database = 'analytics' AND substring(name, 1, 11) != '_streamshop' $raw_filter ORDER BY name)")
expected_tables="raw_customers raw_order_items raw_orders raw_outbox_events raw_products"
[[ -z $raw_filter ]] && expected_tables="outbox_events $expected_tables"
[[ "$tables" == "$expected_tables" ]] ||
  fail "unexpected ClickHouse tables after the demo: $tables"
no_clients_left "the demo"
sed -n '/^== \[6\/8\]/,$p' "$LOG_DIR/demo.out" | sed 's/^/[test_demo]   /'
