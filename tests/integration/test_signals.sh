#!/usr/bin/env bash
# Signals (replicate --signal-table; docs/OPERATIONS.md, "Signals") while `streamshop generate` writes: a signal
# table missing from the publication (or lacking a column) is refused with the fix; execute-snapshot repairs a
# ClickHouse table a user damaged while replicate runs (values changed by a mutation, rows deleted, ghost rows, a row
# with a version above every real one) while its rows change in PostgreSQL during the copy, and verify passes once
# the writers stop, also after a kill -9 during such a copy; stop-replication skips one table's changes (the others flow; a lost connection keeps it stopped)
# until resume-replication, or a restart, copies it again; log and bad signals are logged, counted, never fatal.
TEST_PORT_BASE=29300
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/postgres/schema.sql" >/dev/null
# data as jsonb (text works too: the unit tests parse text, including malformed JSON)
pg -c "CREATE TABLE streamshop_signals (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data jsonb)"
export STREAMSHOP_SIGNAL_TABLE=public.streamshop_signals
METRICS_PORT=$((TEST_PORT_BASE + 7))
signal() { pg -c "INSERT INTO streamshop_signals VALUES ('$1', '$2', '$3')"; }
mark() { stat -c %s "$LOG_DIR/replicate.log"; }

log "1. the signal table must be in the publication: a clear error naming the fix"
set +e
"$STREAMSHOP" replicate --signal-table 'a.b.c' >"$LOG_DIR/bad-name.log" 2>&1
rc=$?
set -e
((rc != 0)) && grep -q "table name 'a.b.c': expected schema.table" "$LOG_DIR/bad-name.log" ||
  { cat "$LOG_DIR/bad-name.log"; fail "a malformed --signal-table was not refused (exit $rc)"; }
set +e
"$STREAMSHOP" replicate --progress off >"$LOG_DIR/missing.log" 2>&1
rc=$?
set -e
((rc == 1)) || { cat "$LOG_DIR/missing.log"; fail "replicate exited $rc without the signal table in the publication"; }
grep -q "signal table public.streamshop_signals .*not in publication 'streamshop'" "$LOG_DIR/missing.log" &&
  grep -q "ALTER PUBLICATION streamshop ADD TABLE public.streamshop_signals" "$LOG_DIR/missing.log" &&
  grep -q "CREATE TABLE public.streamshop_signals" "$LOG_DIR/missing.log" ||
  { cat "$LOG_DIR/missing.log"; fail "the error does not name the table and the fix"; }
pg -c "CREATE TABLE bad_signals (id text PRIMARY KEY, kind text, data text)" \
  -c "ALTER PUBLICATION streamshop ADD TABLE bad_signals"
set +e
"$STREAMSHOP" replicate --progress off --signal-table public.bad_signals >"$LOG_DIR/bad-columns.log" 2>&1
rc=$?
set -e
((rc == 1)) && grep -q "signal table public.bad_signals has no column type" "$LOG_DIR/bad-columns.log" ||
  { cat "$LOG_DIR/bad-columns.log"; fail "replicate exited $rc with a signal table lacking a column"; }
pg -c "ALTER PUBLICATION streamshop DROP TABLE bad_signals" -c "ALTER PUBLICATION streamshop ADD TABLE streamshop_signals"

log "2. replicate with signals while generate writes"
start_replicate --http-listen "127.0.0.1:$METRICS_PORT"
wait_streaming
grep -q "signals: reading rows inserted into public.streamshop_signals" "$LOG_DIR/replicate.log" || fail "no signals line"
"$STREAMSHOP" generate --rate 200 --duration 0 --seed "$TEST_SEED" --progress log >"$LOG_DIR/generate.log" 2>&1 &
GENERATE_PID=$!
BG_PIDS+=("$GENERATE_PID")
sleep 4
# 100k more orders (ids from 50,000,001, apart from the generator's), so that the copy takes a while.
pg -c "INSERT INTO orders (order_id, customer_id, status, total)
       SELECT 50000000 + g, (SELECT min(customer_id) FROM customers), 'new', g % 1000 FROM generate_series(1, 100000) g"
# Updates and deletes of those orders, during the copy (besides the generator's changes).
churn() {
  for i in $(seq 1 40); do
    pg -c "UPDATE orders SET total = total + 1, status = 'paid' WHERE order_id > 50000000 AND order_id % 1009 = $i" \
      -c "DELETE FROM orders WHERE order_id > 50000000 AND order_id % 2003 = $i" >/dev/null
    sleep 0.1
  done
}

log "3. damage raw_orders while replicate runs"
ch "ALTER TABLE analytics.raw_orders UPDATE status = 'corrupted' WHERE order_id % 3 = 0"
ch "ALTER TABLE analytics.raw_orders DELETE WHERE order_id % 7 = 1"
mutations_done() { [[ "$(ch "SELECT count() FROM system.mutations WHERE database = 'analytics' AND NOT is_done")" == 0 ]]; }
wait_until 60 "the ClickHouse mutations did not finish" mutations_done
# Ghost rows (no such order in PostgreSQL), and a real order overwritten by a row whose version beats every change.
ch "INSERT INTO analytics.raw_orders (order_id, customer_id, status, total, _version, _deleted)
    VALUES (900000001, 1, 'ghost', 1, 0, 0), (900000002, 1, 'ghost', 2, 18446744073709551000, 0)"
victim=$(pg -c "SELECT min(order_id) FROM orders")
ch "INSERT INTO analytics.raw_orders (order_id, customer_id, status, total, _version, _deleted)
    VALUES ($victim, 1, 'hijacked', 0, 18446744073709551000, 0)"
set +e
"$STREAMSHOP" verify >"$LOG_DIR/verify-damaged.out" 2>&1
rc=$?
set -e
((rc == 2)) && grep -qE "^public.orders .*DIFFERENT" "$LOG_DIR/verify-damaged.out" ||
  { cat "$LOG_DIR/verify-damaged.out"; fail "verify did not see the damage (exit $rc)"; }
grep -q streamshop_signals "$LOG_DIR/verify-damaged.out" && fail "verify compared the signal table"

log "4. log, bad and execute-snapshot signals"
m=$(mark)
signal log-1 log '{"message": "repairing orders"}'
signal bad-1 pause-snapshot '{}'
signal bad-2 execute-snapshot '{"data-collections": "orders"}'
churn &
CHURN_PID=$!
BG_PIDS+=("$CHURN_PID")
signal bad-3 execute-snapshot '{"data-collections": ["public.nope"]}'
signal snap-1 execute-snapshot '{"data-collections": ["public.orders"], "type": "incremental"}'
wait_until 60 "the re-copy of orders did not finish" log_since_has "$LOG_DIR/replicate.log" "$m" "snapshot of public.orders done"
log_since_has "$LOG_DIR/replicate.log" "$m" "signal log-1 \(log\): repairing orders" || fail "log signal not logged"
log_since_has "$LOG_DIR/replicate.log" "$m" "signal bad-1 skipped: unknown type 'pause-snapshot'" || fail "bad-1 not logged"
log_since_has "$LOG_DIR/replicate.log" "$m" "signal bad-2 skipped: execute-snapshot: .data-collections. is not an array" ||
  fail "bad-2 not logged"
log_since_has "$LOG_DIR/replicate.log" "$m" "signal bad-3 \(execute-snapshot\): public.nope is not a table this replicate replicates" ||
  fail "bad-3 not logged"
grep "snapshot of public.orders done" "$LOG_DIR/replicate.log" | tail -n 1
wait "$CHURN_PID" || fail "the churn failed"
kill -TERM "$GENERATE_PID"
wait "$GENERATE_PID" || fail "generate failed"
verify 90
cat "$LOG_DIR/verify.out"
[[ "$(ch "SELECT count() FROM analytics.raw_orders FINAL WHERE _deleted = 0 AND status IN ('ghost', 'hijacked', 'corrupted')")" == 0 ]] ||
  fail "damaged rows survived"
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$LOG_DIR/metrics-1.txt"
grep '^streamshop_signals_total' "$LOG_DIR/metrics-1.txt"
for expected in 'type="execute-snapshot"} 3' 'type="stop-replication"} 0' 'type="resume-replication"} 0' \
  'type="log"} 1' 'type="unknown"} 1'; do
  grep -qF "streamshop_signals_total{$expected" "$LOG_DIR/metrics-1.txt" || fail "metrics lack streamshop_signals_total{$expected"
done
promtool check metrics <"$LOG_DIR/metrics-1.txt" || fail "promtool check metrics failed"

log "4b. kill -9 while a signal's copy runs (orders churned meanwhile): the restart finishes it, nothing is lost"
ch "INSERT INTO analytics.raw_orders (order_id, customer_id, status, total, _version, _deleted)
    VALUES (900000003, 1, 'ghost', 3, 18446744073709551000, 0)"
m=$(mark)
churn &
CHURN_PID=$!
BG_PIDS+=("$CHURN_PID")
signal snap-3 execute-snapshot '{"data-collections": ["public.orders"], "type": "blocking"}'
wait_until 30 "the copy of snap-3 did not start" log_since_has "$LOG_DIR/replicate.log" "$m" "signal snap-3 \(execute-snapshot\): copying public.orders again"
kill -9 "$REPLICATE_PID"
wait "$REPLICATE_PID" 2>/dev/null || true
log "killed during the copy: $(grep -c "snapshot of public.orders done" <(tail -c +$((m + 1)) "$LOG_DIR/replicate.log")) copy of orders had finished"
m=$(mark)
start_replicate --http-listen "127.0.0.1:$METRICS_PORT"
wait_until 60 "replicate did not stream again after kill -9" log_since_has "$LOG_DIR/replicate.log" "$m" "streaming changes"
wait "$CHURN_PID" || fail "the churn failed"
verify 90
cat "$LOG_DIR/verify.out"
[[ "$(ch "SELECT count() FROM analytics.raw_orders FINAL WHERE _deleted = 0 AND status = 'ghost'")" == 0 ]] ||
  fail "a ghost row survived the interrupted copy"

log "5. stop-replication of customers: its changes are skipped, the others flow, also across a lost connection"
m=$(mark)
signal stop-1 stop-replication '{"data-collections": ["public.customers"]}'
wait_until 30 "customers did not stop" log_since_has "$LOG_DIR/replicate.log" "$m" "stopping replication of public.customers"
change_customers() {
  pg -c "UPDATE customers SET city = city || ' (moved)' WHERE customer_id % 4 = $1" \
    -c "INSERT INTO customers (email, full_name, country, city) SELECT 'late$1.' || g || '@example.com', 'Late ' || g, 'NL', 'Delft' FROM generate_series(1, 25) g" \
    -c "UPDATE products SET price = price + 1 WHERE product_id % 2 = 0"
}
change_customers 0
lsn=$(pg -c "SELECT pg_current_wal_lsn()")
slot_passed() { [[ "$(pg -c "SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots WHERE slot_name = 'streamshop'")" == t ]]; }
wait_until 60 "the slot was not acknowledged past the changes of a stopped table" slot_passed
# A lost connection (a new session of the same process) keeps the table stopped.
m=$(mark)
pg -c "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'streamshop'" >/dev/null
wait_until 60 "replicate did not stream again after the lost connection" log_since_has "$LOG_DIR/replicate.log" "$m" "streaming changes"
log_since_has "$LOG_DIR/replicate.log" "$m" "replication of public.customers stopped: stopped by a stop-replication signal" ||
  fail "the new session did not keep customers stopped"
signal snap-2 execute-snapshot '{"data-collections": ["public.customers"]}'
wait_until 30 "no warning for a snapshot of a stopped table" log_since_has "$LOG_DIR/replicate.log" "$m" "public.customers is stopped; it is copied again when it resumes"
sleep 11 # past a publication check: a table stopped by a signal is not retried by itself
[[ "$(ch "SELECT count() FROM analytics.raw_customers FINAL WHERE _deleted = 0 AND city LIKE '% (moved)'")" == 0 ]] ||
  fail "changes of the stopped customers reached ClickHouse"
set +e
"$STREAMSHOP" verify >"$LOG_DIR/verify-stopped.out" 2>&1
rc=$?
set -e
cat "$LOG_DIR/verify-stopped.out"
((rc == 2)) && grep -qE "^public.customers .*DIFFERENT" "$LOG_DIR/verify-stopped.out" &&
  grep -qE "^public.products .* OK$" "$LOG_DIR/verify-stopped.out" || fail "verify while customers is stopped (exit $rc)"

log "6. resume-replication copies customers again"
m=$(mark)
signal resume-1 resume-replication '{"data-collections": ["public.customers"]}'
wait_until 60 "customers did not resume" log_since_has "$LOG_DIR/replicate.log" "$m" "snapshot of public.customers done"
verify 60
cat "$LOG_DIR/verify.out"

log "7. a stop lasts until a restart of replicate: the new process copies the table"
m=$(mark)
signal stop-2 stop-replication '{"data-collections": ["customers"]}'
wait_until 30 "customers did not stop again" log_since_has "$LOG_DIR/replicate.log" "$m" "stopping replication of public.customers"
change_customers 1
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$LOG_DIR/metrics.txt"
stop_replicate
start_replicate --http-listen "127.0.0.1:$METRICS_PORT"
verify 60
cat "$LOG_DIR/verify.out"

log "8. counted on /metrics (of the process started after kill -9: snap-3 again if it was not confirmed, snap-2)"
grep '^streamshop_signals_total' "$LOG_DIR/metrics.txt"
promtool check metrics <"$LOG_DIR/metrics.txt" || fail "promtool check metrics failed"
for expected in 'type="stop-replication"} 2' 'type="resume-replication"} 1' 'type="log"} 0' 'type="unknown"} 0'; do
  grep -qF "streamshop_signals_total{$expected" "$LOG_DIR/metrics.txt" || fail "metrics lack streamshop_signals_total{$expected"
done
grep -qE '^streamshop_signals_total\{type="execute-snapshot"\} [12]$' "$LOG_DIR/metrics.txt" ||
  fail "execute-snapshot signals miscounted"
kill -0 "$REPLICATE_PID" || fail "replicate exited"
stop_replicate
