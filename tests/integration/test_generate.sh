#!/usr/bin/env bash
# `streamshop generate` against a real PostgreSQL: a clear error without the schema; determinism (same seed on
# a fresh schema → identical tables, another seed → different tables); the lifecycle and money invariants of
# the workload in the resulting tables; the achieved rate within 10 % of --rate 1000; a PostgreSQL restart
# survived mid-run (reconnect, continue, invariants still hold); options from the environment; clean exit on
# SIGTERM.
TEST_PORT_BASE=31800
source "$(dirname "$0")/lib.sh" "$1"

gen() { "$STREAMSHOP" generate --progress log "$@"; }

reset_schema() {
  pg -c "DROP TABLE IF EXISTS order_items, orders, products, customers, outbox_events CASCADE" \
    -c "DROP PUBLICATION IF EXISTS streamshop"
  pg -f "$REPO/sql/postgres/schema.sql"
}

# A digest of every generated value of the five tables, in key order (timestamps set by now() excluded; the
# events' ids and payloads included, without the occurred_at PostgreSQL adds).
digest() {
  pg -c "SELECT concat_ws(' ',
    (SELECT md5(coalesce(string_agg(concat_ws('|', customer_id, email, full_name, country, city), E'\n'
       ORDER BY customer_id), '')) FROM customers),
    (SELECT md5(coalesce(string_agg(concat_ws('|', product_id, sku, name, category, price, active), E'\n'
       ORDER BY product_id), '')) FROM products),
    (SELECT md5(coalesce(string_agg(concat_ws('|', order_id, customer_id, status, total), E'\n'
       ORDER BY order_id), '')) FROM orders),
    (SELECT md5(coalesce(string_agg(concat_ws('|', order_id, line_no, product_id, quantity, unit_price), E'\n'
       ORDER BY order_id, line_no), '')) FROM order_items),
    (SELECT md5(coalesce(string_agg(concat_ws('|', id, aggregatetype, aggregateid, type, payload - 'occurred_at'),
       E'\n' ORDER BY id), '')) FROM outbox_events))"
}

# Runs generate with the given args (output to $LOG_DIR/$1.*) and sets SUMMARY, TXNS, SECS, RATE, ERRORS.
run_gen() {
  local name=$1
  shift
  gen "$@" >"$LOG_DIR/$name.out" 2>"$LOG_DIR/$name.log" || { cat "$LOG_DIR/$name.log"; fail "generate ($name) failed"; }
  parse_summary "$name"
}
parse_summary() {
  SUMMARY=$(grep '^generate: ' "$LOG_DIR/$1.out" | tail -n 1)
  [[ $SUMMARY =~ ^generate:\ ([0-9]+)\ transactions\ in\ ([0-9.]+)\ s\ \(([0-9.]+)/s\),\ ([0-9]+)\ errors$ ]] ||
    fail "unexpected summary line for $1: '$SUMMARY'"
  TXNS=${BASH_REMATCH[1]} SECS=${BASH_REMATCH[2]} RATE=${BASH_REMATCH[3]} ERRORS=${BASH_REMATCH[4]}
  log "$1: $SUMMARY"
}

# Each query counts violations of one invariant; all must be 0.
check_invariants() {
  local what=$1 q n
  local -a checks=(
    "orders whose total is not the sum of their items|SELECT count(*) FROM orders o WHERE o.total <>
       (SELECT sum(quantity * unit_price) FROM order_items i WHERE i.order_id = o.order_id)"
    "orders without items|SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.order_id)"
    "orders with line numbers other than 1..n (n <= 5) or a product twice|SELECT count(*) FROM (SELECT order_id FROM order_items
       GROUP BY order_id HAVING min(line_no) <> 1 OR max(line_no) <> count(*) OR count(*) > 5
       OR count(DISTINCT product_id) <> count(*)) x"
    "items with a quantity outside 1..5 or a price <= 0|SELECT count(*) FROM order_items WHERE quantity NOT BETWEEN 1 AND 5 OR unit_price <= 0"
    "orders with an invalid status or total <= 0|SELECT count(*) FROM orders WHERE status NOT IN ('new', 'paid', 'shipped', 'delivered', 'cancelled') OR total <= 0"
    "orders still 'new' that were updated|SELECT count(*) FROM orders WHERE status = 'new' AND updated_at <> created_at"
    "orders updated before they were created|SELECT count(*) FROM orders WHERE updated_at < created_at"
    "orders of unknown customers / items of unknown products or orders|SELECT
       (SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = o.customer_id)) +
       (SELECT count(*) FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.product_id = i.product_id)) +
       (SELECT count(*) FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = i.order_id))"
    "products with a price <= 0 or not two decimals|SELECT count(*) FROM products WHERE price <= 0 OR price::text !~ '^[0-9]+\.[0-9]{2}$'"
    "customers whose e-mail does not embed their id|SELECT count(*) FROM customers WHERE email NOT LIKE '%.' || customer_id || '@%'"
  )
  for c in "${checks[@]}"; do
    q=${c#*|}
    n=$(pg -c "$q")
    [[ $n == 0 ]] || fail "$what: $n ${c%%|*}"
  done
  local statuses
  statuses=$(pg -c "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM orders")
  [[ $statuses == "cancelled,delivered,new,paid,shipped" ]] || fail "$what: not every status occurs: $statuses"
  log "$what: invariants hold ($(pg -c "SELECT string_agg(status || '=' || n, ' ' ORDER BY status)
    FROM (SELECT status, count(*) AS n FROM orders GROUP BY status) s"))"
}

log "without the schema: a clear error naming the fix"
set +e
gen --transactions 10 >"$LOG_DIR/noschema.out" 2>"$LOG_DIR/noschema.log"
rc=$?
set -e
((rc == 1)) || fail "generate without the schema exited $rc, expected 1"
grep -q 'psql .*-f sql/postgres/schema.sql' "$LOG_DIR/noschema.log" || fail "error does not name the fix: $(cat "$LOG_DIR/noschema.log")"
grep -q 'customers, products, orders, order_items' "$LOG_DIR/noschema.log" || fail "error does not name the missing tables"

log "determinism: seed 42, 4000 transactions on a fresh schema, twice"
reset_schema
run_gen seed42a --seed 42 --transactions 4000 --rate 0
((TXNS == 4000 && ERRORS == 0)) || fail "expected 4000 transactions and 0 errors: $SUMMARY"
first=$(digest)
counts=$(pg -c "SELECT (SELECT count(*) FROM customers) || ' customers, ' || (SELECT count(*) FROM products) || ' products, '
  || (SELECT count(*) FROM orders) || ' orders, ' || (SELECT count(*) FROM order_items) || ' items'")
log "seed 42: $counts, digest $first"
[[ $(pg -c "SELECT count(*) FROM orders") -gt 500 ]] || fail "too few orders: $counts"
reset_schema
# With durable commits this time: the commit mode must not change what is written.
run_gen seed42b --seed 42 --transactions 4000 --rate 0 --synchronous-commit on
second=$(digest)
[[ $first == "$second" ]] || fail "same seed, different tables: $first vs $second"
reset_schema
run_gen seed43 --seed 43 --transactions 4000 --rate 0
third=$(digest)
log "seed 43: digest $third"
[[ $first != "$third" ]] || fail "seed 42 and seed 43 produced identical tables"
# Digests per table differ too (not just one table).
read -r -a a <<<"$first"
read -r -a b <<<"$third"
for i in 0 1 2 3; do [[ ${a[$i]} != "${b[$i]}" ]] || fail "table #$i identical for seeds 42 and 43"; done

log "outbox: one event per business change; --outbox-cleanup leaves none behind; --outbox off writes none"
events=$(pg -c "SELECT count(*) FROM outbox_events")
# Seeding: one event per product (500) and customer (2000) seeded; then one per transaction.
((events == 6500)) || fail "seed 43: $events events in outbox_events, expected 6500 (2500 seeded rows + 4000)"
# (Orders deleted with their customer keep their events.)
[[ $(pg -c "SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM outbox_events e
      WHERE e.type = 'OrderPlaced' AND e.aggregateid = o.order_id::text) <> 1") == 0 ]] || fail "not one OrderPlaced per order"
bad=$(pg -c "SELECT count(*) FROM outbox_events WHERE aggregatetype = 'order' AND (payload->>'order_id') <> aggregateid")
((bad == 0)) || fail "$bad order events whose payload names another order"
run_gen cleanup --seed 44 --transactions 500 --rate 0 --outbox-cleanup
((TXNS == 500 && ERRORS == 0)) || fail "expected 500 transactions and 0 errors with --outbox-cleanup: $SUMMARY"
[[ $(pg -c "SELECT count(*) FROM outbox_events") == "$events" ]] || fail "--outbox-cleanup left outbox rows behind"
run_gen nooutbox --seed 45 --transactions 100 --rate 0 --outbox off
[[ $(pg -c "SELECT count(*) FROM outbox_events") == "$events" ]] || fail "--outbox off wrote events"

log "a longer run continuing on existing data, then the invariants"
run_gen more --seed 7 --transactions 20000 --rate 0
((TXNS == 20000 && ERRORS == 0)) || fail "expected 20000 transactions and 0 errors: $SUMMARY"
log "unpaced: $RATE transactions/s"
check_invariants "after 24000 transactions"
[[ $(pg -c "SELECT max(customer_id) > count(*) FROM customers") == t ]] || fail "no customer was ever deleted"
[[ $(pg -c "SELECT count(*) FROM products WHERE updated_at > created_at") -gt 0 ]] || fail "no price ever changed"
# The identity sequences were moved past the generator's ids: a default-id insert does not collide.
pg -c "INSERT INTO customers (email, full_name, country, city) VALUES ('x@example.com', 'X', 'Y', 'Z')" >/dev/null ||
  fail "an insert relying on the identity default collided with generated ids"
pg -c "DELETE FROM customers WHERE email = 'x@example.com'" >/dev/null

log "rate: --rate 1000 for 10 s"
run_gen rate --seed 9 --rate 1000/s --duration 10s
awk -v r="$RATE" -v s="$SECS" 'BEGIN { exit !(r >= 900 && r <= 1100 && s >= 9.9 && s <= 11) }' ||
  fail "achieved rate $RATE/s over $SECS s is not within 10 % of 1000/s"
((ERRORS == 0)) || fail "errors during the rate run: $SUMMARY"

log "PostgreSQL restarted during a run: generate reconnects and continues"
# The binary itself in the background (not the gen function, whose subshell would get the signals).
"$STREAMSHOP" generate --progress log --seed 11 --rate 500 --duration 14s >"$LOG_DIR/restart.out" 2>"$LOG_DIR/restart.log" &
gen_pid=$!
BG_PIDS+=("$gen_pid")
sleep 4
before=$(pg -c "SELECT count(*) FROM orders")
bash "$REPO/scripts/stack.sh" restart-postgres >/dev/null
sleep 4
after_restart=$(pg -c "SELECT count(*) FROM orders")
rc=0
wait "$gen_pid" || rc=$?
((rc == 0)) || { cat "$LOG_DIR/restart.log"; fail "generate exited $rc across a PostgreSQL restart"; }
parse_summary restart
grep -q "reconnecting" "$LOG_DIR/restart.log" || fail "generate did not notice the restart"
final=$(pg -c "SELECT count(*) FROM orders")
((final > after_restart && after_restart >= before)) ||
  fail "no progress after the restart (orders: $before before, $after_restart after, $final at the end)"
((TXNS > 3000)) || fail "too few transactions across the restart: $SUMMARY"
check_invariants "after the restart"

log "options from the environment; SIGTERM ends a run cleanly"
STREAMSHOP_GENERATE_TRANSACTIONS=250 STREAMSHOP_GENERATE_RATE=0 run_gen env --seed 5
((TXNS == 250)) || fail "STREAMSHOP_GENERATE_TRANSACTIONS=250 ran $TXNS transactions"
"$STREAMSHOP" generate --progress log --rate 200 --duration 0 >"$LOG_DIR/sigterm.out" 2>"$LOG_DIR/sigterm.log" &
gen_pid=$!
BG_PIDS+=("$gen_pid")
sleep 2
kill -TERM "$gen_pid"
rc=0
wait "$gen_pid" || rc=$?
((rc == 0)) || fail "generate exited $rc after SIGTERM (expected a clean 0)"
parse_summary sigterm
((TXNS > 100 && ERRORS == 0)) || fail "unexpected summary after SIGTERM: $SUMMARY"
check_invariants "at the end"
