#!/usr/bin/env bash
# Schema changes while streaming, with no restart: ADD COLUMN (with and without default), DROP COLUMN, type
# widening (int4→int8, varchar(n)→text, numeric precision), a new table, and an incompatible change that
# stops only its own table (named in the error with the fix) while another table keeps flowing.
# clickhouse-engines: server chdb
TEST_PORT_BASE=22100
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE TABLE accounts (id int PRIMARY KEY, qty int, price numeric(10, 2), label varchar(10), flags int, score float8);
CREATE TABLE events (id bigserial PRIMARY KEY, body text);
INSERT INTO accounts SELECT g, g, g * 1.5, 'a' || g, g % 3, g * power(10.0, g % 40 - 20) FROM generate_series(1, 2000) g;
CREATE PROCEDURE churn(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    INSERT INTO events (body) VALUES (md5(i::text));
    UPDATE accounts SET qty = qty + 1 WHERE id = 1 + (i * 7919) % 2000;
    COMMIT;
  END LOOP;
END $$;
SQL
start_replicate
wait_streaming
pg -c "CALL churn(300)"

log "ADD COLUMN without and with a default, DROP COLUMN"
pg -c "ALTER TABLE accounts ADD COLUMN note text" -c "UPDATE accounts SET note = 'n' || id WHERE id % 10 = 0"
pg -c "ALTER TABLE accounts ADD COLUMN tier int NOT NULL DEFAULT 7" -c "CALL churn(200)"
pg -c "ALTER TABLE accounts DROP COLUMN flags" -c "CALL churn(200)"
log "type widening: int4 → int8, varchar(10) → text, numeric(10,2) → numeric(14,2)"
pg -c "ALTER TABLE accounts ALTER COLUMN qty TYPE bigint" -c "UPDATE accounts SET qty = qty + 5000000000 WHERE id <= 10"
pg -c "ALTER TABLE accounts ALTER COLUMN label TYPE text" -c "UPDATE accounts SET label = repeat('x', 40) WHERE id = 2"
pg -c "ALTER TABLE accounts ALTER COLUMN price TYPE numeric(14, 2)" -c "UPDATE accounts SET price = 123456789012.34 WHERE id = 3"
log "float8 → text: existing rows must hold PostgreSQL's text of the number (1e+20), not ClickHouse's"
pg -c "ALTER TABLE accounts ALTER COLUMN score TYPE text" -c "UPDATE accounts SET score = 'text now' WHERE id = 4"
log "a new table with rows"
pg -c "CREATE TABLE late (k text PRIMARY KEY, v int)" -c "INSERT INTO late SELECT 'k' || g, g FROM generate_series(1, 500) g"
pg -c "CALL churn(200)"
verify 60
cat "$LOG_DIR/verify.out"
independent_compare
grep -q "widening column qty" "$LOG_DIR/replicate.log" || fail "qty was not widened"
grep -q "column tier was added to public.accounts with a default" "$LOG_DIR/replicate.log" || fail "no re-copy for a default"
grep -q "column score of public.accounts became text" "$LOG_DIR/replicate.log" || fail "no re-copy for float → text"
[[ "$(ch "SELECT type FROM system.columns WHERE database = 'analytics' AND table = 'raw_accounts' AND name = 'qty'")" == "Nullable(Int64)" ]] ||
  fail "qty is not Int64 in ClickHouse"

log "incompatible change: int → boolean stops accounts only; events keeps flowing"
pg -c "ALTER TABLE accounts ALTER COLUMN qty TYPE boolean USING qty > 5" -c "UPDATE accounts SET note = 'z' WHERE id = 5"
pg -c "INSERT INTO events (body) SELECT 'after' FROM generate_series(1, 100)"
wait_until 30 "the incompatible change did not stop public.accounts" \
  grep -q "replication of public.accounts stopped" "$LOG_DIR/replicate.log"
grep "replication of public.accounts stopped" "$LOG_DIR/replicate.log" | grep -q "column qty" || fail "the error does not name the column"
grep "replication of public.accounts stopped" "$LOG_DIR/replicate.log" | grep -q "DROP TABLE" || fail "the error does not name the fix"
kill -0 "$REPLICATE_PID" || fail "replicate exited on an incompatible change"
rc=0
"$STREAMSHOP" verify --wait 30 >"$LOG_DIR/verify-stopped.out" 2>&1 || rc=$?
cat "$LOG_DIR/verify-stopped.out"
((rc == 2)) || fail "verify exited $rc while accounts is stopped, expected 2 (differences)"
independent_compare events
independent_compare_check accounts >"$LOG_DIR/independent-stopped.out" &&
  fail "the independent comparison passed for the stopped table accounts"
grep -E "^public.events .* OK$" "$LOG_DIR/verify-stopped.out" >/dev/null || fail "events did not keep flowing"
grep -E "^public.accounts .*DIFFERENT" "$LOG_DIR/verify-stopped.out" >/dev/null || fail "accounts should differ while stopped"

log "the named fix: drop the ClickHouse table and restart → copied again, verify passes"
stop_replicate
ch "DROP TABLE analytics.raw_accounts"
start_replicate
verify 60
cat "$LOG_DIR/verify.out"
independent_compare
stop_replicate
