#!/usr/bin/env bash
# Slot loss with the real PostgreSQL: max_slot_wal_keep_size exceeded while replicate is stopped (deletes, updates
# and inserts made meanwhile), so PostgreSQL invalidates the slot (wal_status 'lost'). By default replicate exits
# non-zero with the recovery naming the slot and the publication; with --on-slot-lost resnapshot it drops the slot,
# creates it anew, copies every table again and streams: verify and the independent comparison pass (the rows
# deleted during the gap are gone), streamshop_slot_lost_total is 1 on /metrics. Then the missing slot (dropped
# while replicate was stopped, as after a failover to a server without it): the same error by default, the same
# recovery with resnapshot. Also /metrics' slot health (wal_status, safe_wal_size) while streaming.
# clickhouse-engines: server chdb
TEST_PORT_BASE=28200
source "$(dirname "$0")/lib.sh" "$1"

HTTP_PORT=$((TEST_PORT_BASE + 7))
ENDPOINT=http://127.0.0.1:$HTTP_PORT
metric() {  # metric NAME_WITH_LABELS: its value on /metrics (empty if absent)
  curl -s "$ENDPOINT/metrics" | N="$1" awk 'index($0, ENVIRON["N"] " ") == 1 { print $NF }'
}
run() {  # run ARGS…: streamshop replicate in the foreground (at most 60 s); sets RC and OUT
  RC=0
  OUT=$(timeout 60 "$STREAMSHOP" replicate --progress off "$@" 2>&1) || RC=$?
  printf '%s\n' "$OUT" >>"$LOG_DIR/replicate-foreground.log"
}
expect() { grep -qF -- "$1" <<<"$OUT" || { echo "$OUT"; fail "expected output to contain: $1"; }; }
slot_status() { pg -c "SELECT coalesce((SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'streamshop'), 'none')"; }

pg <<'SQL'
CREATE TABLE items (id int PRIMARY KEY, v text, n int);
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO items SELECT g, 'item ' || g, g FROM generate_series(1, 2000) g;
INSERT INTO notes SELECT g, repeat('n', g % 50) FROM generate_series(1, 500) g;
CREATE SCHEMA filler;  -- not in the publication: only there to write WAL
CREATE TABLE filler.wal (id bigserial PRIMARY KEY, pad text);
ALTER SYSTEM SET max_slot_wal_keep_size = '1MB';
SELECT pg_reload_conf();
SQL

log "streaming: /metrics has the slot's health"
start_replicate --http-listen "127.0.0.1:$HTTP_PORT"
wait_streaming
verify 60
health_known() { [[ "$(metric 'streamshop_slot_wal_status{status="reserved"}')" == 1 ]]; }
wait_until 20 "/metrics did not show streamshop_slot_wal_status{status=\"reserved\"} 1" health_known
[[ "$(metric streamshop_slot_lost_total)" == 0 ]] || fail "streamshop_slot_lost_total is not 0 before any loss"
curl -s "$ENDPOINT/metrics" >"$LOG_DIR/metrics-before.txt"
promtool check metrics <"$LOG_DIR/metrics-before.txt" >"$LOG_DIR/promtool.log" 2>&1 ||
  { cat "$LOG_DIR/promtool.log"; fail "promtool check metrics found problems"; }
log "slot health on /metrics: $(grep -E '^streamshop_slot_' "$LOG_DIR/metrics-before.txt" | tr '\n' ' ')"
stop_replicate

log "replicate stopped; deletes, updates, inserts, then WAL beyond max_slot_wal_keep_size"
pg <<'SQL'
DELETE FROM items WHERE id <= 300;
UPDATE items SET v = 'changed while lost', n = -n WHERE id BETWEEN 301 AND 600;
INSERT INTO items SELECT g, 'new ' || g, g FROM generate_series(2001, 2300) g;
DELETE FROM notes WHERE id % 5 = 0;
UPDATE notes SET body = 'edited' WHERE id % 7 = 0;
SQL
invalidate_slot() {
  local i
  for i in 1 2 3; do
    pg -c "INSERT INTO filler.wal (pad) SELECT repeat('w', 200) FROM generate_series(1, 2000)" \
      -c "SELECT pg_switch_wal()" >/dev/null
  done
  pg -c "CHECKPOINT" >/dev/null
  [[ "$(slot_status)" == lost ]]
}
wait_until 60 "PostgreSQL did not invalidate the slot (wal_status $(slot_status))" invalidate_slot
log "slot 'streamshop' is lost (wal_status 'lost')"
# PostgreSQL's own answer to START_REPLICATION on it (what replicate also recognises when the slot is invalidated
# after it was looked up).
sep='?'
[[ $STREAMSHOP_PG_URL == *\?* ]] && sep='&'
start_out=$(pgurl_run "${STREAMSHOP_PG_URL}${sep}replication=database" psql -X -At \
  -c "START_REPLICATION SLOT streamshop LOGICAL 0/0 (proto_version '1', publication_names '\"streamshop\"')" 2>&1) || true
grep -qF 'cannot read from logical replication slot "streamshop"' <<<"$start_out" ||
  fail "unexpected answer of START_REPLICATION on the lost slot: $start_out"
log "START_REPLICATION on it: $(tr '\n' ' ' <<<"$start_out")"

log "default (--on-slot-lost fail): exits non-zero naming the slot, the publication and the recovery"
run
((RC == 1)) || fail "replicate on a lost slot: exit $RC, expected 1"
expect "replication slot 'streamshop' of database 'streamshop' was invalidated by PostgreSQL"
expect "max_slot_wal_keep_size"
expect "streamshop replicate --on-slot-lost resnapshot"
expect "SELECT pg_drop_replication_slot('streamshop')"
expect "publication 'streamshop'"
[[ "$(slot_status)" == lost ]] || fail "the default run changed the slot (wal_status $(slot_status))"
log "error: $(grep -m1 -o 'replication slot .*' <<<"$OUT" | cut -c1-160)…"

log "--on-slot-lost resnapshot: new slot, every table copied again, ClickHouse equal to PostgreSQL"
offset=$(stat -c %s "$LOG_DIR/replicate.log")
STREAMSHOP_ON_SLOT_LOST=resnapshot start_replicate --http-listen "127.0.0.1:$HTTP_PORT"
wait_until 60 "replicate did not stream again after the resnapshot" \
  log_since_has "$LOG_DIR/replicate.log" "$offset" "streaming changes"
log_since_has "$LOG_DIR/replicate.log" "$offset" "dropping the lost slot, creating it anew" ||
  fail "no log line saying the lost slot is dropped and recreated"
[[ "$(slot_status)" == reserved ]] || fail "the new slot's wal_status is $(slot_status)"
pg -c "UPDATE items SET v = 'after recovery' WHERE id BETWEEN 1000 AND 1010" -c "DELETE FROM items WHERE id = 2300" \
  -c "INSERT INTO notes VALUES (1000, 'after recovery')" >/dev/null
verify 60
independent_compare
gone=$(ch "SELECT count() FROM analytics.raw_items FINAL WHERE _deleted = 0 AND id <= 300")
((gone == 0)) || fail "$gone rows deleted while the slot was lost are still live in ClickHouse"
[[ "$(metric streamshop_slot_lost_total)" == 1 ]] ||
  fail "streamshop_slot_lost_total is '$(metric streamshop_slot_lost_total)', expected 1"
log "recovered: verify and the independent comparison pass, streamshop_slot_lost_total 1"
stop_replicate

log "missing slot: dropped while replicate was stopped (as after a failover to a server without it)"
pg -c "SELECT pg_drop_replication_slot('streamshop')" \
  -c "DELETE FROM items WHERE id BETWEEN 700 AND 799" -c "UPDATE notes SET body = 'gap' WHERE id < 50" >/dev/null
run
((RC == 1)) || fail "replicate with its slot missing: exit $RC, expected 1"
expect "replication slot 'streamshop' does not exist in database 'streamshop'"
expect "analytics._streamshop_snapshots"
expect "--on-slot-lost resnapshot"
[[ "$(slot_status)" == none ]] || fail "a slot was created silently (wal_status $(slot_status))"
offset=$(stat -c %s "$LOG_DIR/replicate.log")
start_replicate --on-slot-lost resnapshot --http-listen "127.0.0.1:$HTTP_PORT"
wait_until 60 "replicate did not stream after recreating the missing slot" \
  log_since_has "$LOG_DIR/replicate.log" "$offset" "streaming changes"
verify 60
independent_compare
[[ "$(metric streamshop_slot_lost_total)" == 1 ]] ||
  fail "streamshop_slot_lost_total is '$(metric streamshop_slot_lost_total)', expected 1"
stop_replicate
log "missing slot recovered with --on-slot-lost resnapshot"
