#!/usr/bin/env bash
# WAL safety: while the replicated tables are idle and another database writes WAL, the slot's
# confirmed_flush_lsn keeps advancing (heartbeats + keepalives). Also: logical decoding messages land in
# analytics._streamshop_messages, lag is reported, the lag alarm fires, and a table added to the publication
# without any later change is still copied.
TEST_PORT_BASE=22400
source "$(dirname "$0")/lib.sh" "$1"

pg -c "CREATE TABLE quiet (id int PRIMARY KEY, v text)" -c "INSERT INTO quiet VALUES (1, 'x')"
pg -c "CREATE DATABASE busy"
busy_url=${STREAMSHOP_PG_URL%/*}/busy
pgurl_run "$busy_url" psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE noise (id bigserial PRIMARY KEY, payload text);
CREATE PROCEDURE make_noise(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP INSERT INTO noise (payload) VALUES (repeat(md5(i::text), 20)); COMMIT; END LOOP;
END $$;
SQL

start_replicate --heartbeat-interval 2 --progress on --max-lag-seconds 0.000001
wait_streaming
log "only the other database writes for a while"
pgurl_run "$busy_url" psql -X -q -c "CALL make_noise(20000)"
target=$(pg -c "SELECT pg_current_wal_lsn()")
slot_passed_target() { [[ "$(pg -c "SELECT confirmed_flush_lsn >= '$target' FROM pg_replication_slots WHERE slot_name = 'streamshop'")" == t ]]; }
wait_until 30 "confirmed_flush_lsn did not reach $target while the publication was idle" slot_passed_target
log "confirmed_flush_lsn passed $target with the replicated tables idle"

log "logical decoding messages, transactional and not"
pg -c "SELECT pg_logical_emit_message(true, 'outbox', '{\"order\": 42}')" -c "SELECT pg_logical_emit_message(false, 'audit', 'hello')" >/dev/null
for i in $(seq 1 50); do echo "INSERT INTO quiet VALUES ($((i + 1)), 'row $i');"; done | pg
log "a table with rows added to the publication, and no change after: copied all the same"
pg -c "CREATE SCHEMA extra" -c "CREATE TABLE extra.added (id int PRIMARY KEY, v text)" \
   -c "INSERT INTO extra.added SELECT g, 'v' || g FROM generate_series(1, 300) g" \
   -c "ALTER PUBLICATION streamshop ADD TABLE extra.added"
verify 40
grep -q "extra.added joined the publication" "$LOG_DIR/replicate.log" || fail "extra.added was not adopted"
messages_arrived() { [[ "$(ch "SELECT count() FROM analytics._streamshop_messages WHERE prefix IN ('outbox', 'audit')")" == 2 ]]; }
wait_until 20 "logical messages did not arrive" messages_arrived
[[ "$(ch "SELECT content FROM analytics._streamshop_messages WHERE prefix = 'outbox'")" == '{"order": 42}' ]] || fail "message content differs"
grep -q "| lag " "$LOG_DIR/replicate.log" || fail "no lag in the progress output"
grep -q "LAG ALARM" "$LOG_DIR/replicate.log" || fail "the lag alarm never fired"
stop_replicate
