#!/usr/bin/env bash
# A table stopped by an incompatible type change loses nothing. While it is stopped its changes are skipped, the
# other tables flow and the slot is acknowledged past them; the log and verify name table, column and fix. When it
# can be held again — type changed back while streaming (with or without a later change of the table), type changed
# back while replicate was down, or the raw table dropped as the error says (no restart) — it is copied again and
# catches up with every row, with no ghost of a row deleted meanwhile.
# clickhouse-engines: server chdb
TEST_PORT_BASE=26200
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, name text, qty int);
CREATE TABLE gadgets (id int PRIMARY KEY, level int, note text);
CREATE TABLE other (id serial PRIMARY KEY, body text);
INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 1000) g;
INSERT INTO gadgets SELECT g, g % 5, 'g' || g FROM generate_series(1, 500) g;
-- Inserts, updates, deletes and key changes of items, in one transaction per call.
CREATE PROCEDURE churn_items(round int) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO items SELECT 10000 * round + g, 'new ' || round, g FROM generate_series(1, 50) g;
  UPDATE items SET qty = qty + 1000, name = name || ' u' || round WHERE id::int % 7 = round % 7;
  DELETE FROM items WHERE id::int % 11 = round % 11;
  UPDATE items SET id = id::int + 100000 * (round + 1) WHERE id::int % 13 = round % 13 AND id::int < 100000;
END $$;
SQL
start_replicate
wait_streaming

slot_passed() { # slot_passed LSN: the slot's confirmed position is at or past LSN
  [[ "$(pg -c "SELECT confirmed_flush_lsn >= '$1' FROM pg_replication_slots WHERE slot_name = 'streamshop'")" == t ]]
}
# Changes of a stopped table must not hold the slot back: other tables flow and everything is acknowledged.
check_flowing() {
  pg -c "INSERT INTO other (body) SELECT 'while ' || '$1' FROM generate_series(1, 100)"
  local lsn
  lsn=$(pg -c "SELECT pg_current_wal_lsn()")
  wait_until 60 "the slot was not acknowledged past the changes of a stopped table ($1)" slot_passed "$lsn"
  [[ "$(ch "SELECT count() FROM analytics.raw_other FINAL WHERE _deleted = 0")" == "$(pg -c "SELECT count(*) FROM other")" ]] ||
    fail "other did not keep flowing ($1)"
}
stops_at_least() { (($(grep -c "replication of public.items stopped" "$LOG_DIR/replicate.log") >= $1)); }
# The table's verify line and the verify exit code while it is stopped.
verify_stopped() {
  set +e
  "$STREAMSHOP" verify >"$LOG_DIR/verify-stopped.out" 2>&1
  local rc=$?
  set -e
  cat "$LOG_DIR/verify-stopped.out"
  ((rc == 2)) || fail "verify exited $rc while $1 is stopped (expected 2)"
  grep -E "^public.$1 .*DIFFERENT" "$LOG_DIR/verify-stopped.out" >/dev/null || fail "verify does not report $1"
  grep -E "^public.other .* OK$" "$LOG_DIR/verify-stopped.out" >/dev/null || fail "verify: other is not OK"
}

log "1. key column int → text stops items; changes while stopped; others flow and are acknowledged"
pg -c "ALTER TABLE items ALTER COLUMN id TYPE text" -c "CALL churn_items(1)"
wait_until 30 "items did not stop" grep -q "replication of public.items stopped" "$LOG_DIR/replicate.log"
grep "replication of public.items stopped" "$LOG_DIR/replicate.log" | grep -q "column id" || fail "the log does not name the column"
grep "replication of public.items stopped" "$LOG_DIR/replicate.log" | grep -q "DROP TABLE" || fail "the log does not name the fix"
check_flowing "items stopped"
verify_stopped items
grep -q "column id" "$LOG_DIR/verify-stopped.out" || fail "verify does not name the column"

log "2. restart while stopped: still stopped, still flowing"
stop_replicate
pg -c "CALL churn_items(2)"
start_replicate
wait_until 60 "items not stopped after the restart" stops_at_least 2
pg -c "CALL churn_items(3)"
check_flowing "after the restart"

log "3. the type changed back while streaming: items is copied again and catches up"
pg -c "ALTER TABLE items ALTER COLUMN id TYPE int USING id::int" -c "CALL churn_items(4)"
verify 90
cat "$LOG_DIR/verify.out"
grep -q "replication of public.items resumes" "$LOG_DIR/replicate.log" || fail "no re-copy logged"

log "4. stopped again, then changed back while replicate is down: the restart copies it"
pg -c "ALTER TABLE items ALTER COLUMN qty TYPE boolean USING qty > 500" \
  -c "INSERT INTO items (id, name, qty) SELECT 50000 + g, 'while boolean', g % 2 = 0 FROM generate_series(1, 40) g" \
  -c "UPDATE items SET name = name || ' s', qty = NOT qty WHERE id % 5 = 0" -c "DELETE FROM items WHERE id % 17 = 0" \
  -c "UPDATE items SET id = id + 700000 WHERE id % 19 = 0"
wait_until 30 "items did not stop on int → boolean" stops_at_least 3
check_flowing "items stopped again"
stop_replicate
pg -c "ALTER TABLE items ALTER COLUMN qty TYPE int USING qty::int" -c "CALL churn_items(6)"
start_replicate
verify 90
cat "$LOG_DIR/verify.out"

log "5. changed back while streaming, and no change of the table follows: it catches up by itself"
pg -c "ALTER TABLE items ALTER COLUMN qty TYPE boolean USING qty > 500" \
  -c "INSERT INTO items (id, name, qty) SELECT 90000 + g, 'while boolean again', true FROM generate_series(1, 30) g" \
  -c "DELETE FROM items WHERE id % 23 = 0"
wait_until 30 "items did not stop again" stops_at_least 4
check_flowing "items stopped a third time"
pg -c "ALTER TABLE items ALTER COLUMN qty TYPE int USING qty::int"
verify 90
cat "$LOG_DIR/verify.out"

log "6. the named fix, without a restart: DROP TABLE of the raw table; the table is copied with its new type"
pg -c "ALTER TABLE gadgets ALTER COLUMN level TYPE boolean USING level > 2" \
  -c "UPDATE gadgets SET note = 'changed' WHERE id % 3 = 0" -c "DELETE FROM gadgets WHERE id % 4 = 0"
wait_until 30 "gadgets did not stop" grep -q "replication of public.gadgets stopped" "$LOG_DIR/replicate.log"
check_flowing "gadgets stopped"
ch "DROP TABLE analytics.raw_gadgets"
verify 90
cat "$LOG_DIR/verify.out"
boolean=UInt8
((CH_MODERN)) && boolean=Bool
[[ "$(ch "SELECT type FROM system.columns WHERE database = 'analytics' AND table = 'raw_gadgets' AND name = 'level'")" == "Nullable($boolean)" ]] ||
  fail "gadgets.level was not re-created with the new type"
kill -0 "$REPLICATE_PID" || fail "replicate exited"
stop_replicate
