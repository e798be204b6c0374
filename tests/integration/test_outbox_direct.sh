#!/usr/bin/env bash
# `replicate --outbox-table public.outbox_events` (direct mode of the outbox): every event PostgreSQL committed
# into the outbox ends up exactly once in analytics.outbox_events, in commit (LSN) order, even when the source
# deleted it in the same transaction (`generate --outbox-cleanup`) and although replicate is killed with -9
# mid-run — once deterministically in the middle of one big transaction (a COPY of 60,000 events, whose
# multi-insert records give many events one WAL position) whose first part was already stored (the replay must
# skip exactly that part), then at random points under a live workload.
# The oracle is independent of streamshop: a test_decoding slot created before the first event lists every
# insert into outbox_events PostgreSQL decoded, in commit order.
# Also: the events present before replicate started (the initial snapshot) are appended once; the raw mirror
# (raw_outbox_events) still equals PostgreSQL (verify, independent_compare); a missing outbox table is a clear error.
# clickhouse-engines: server chdb
TEST_PORT_BASE=26800
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/postgres/schema.sql" >/dev/null
pg -c "SELECT pg_create_logical_replication_slot('outbox_oracle', 'test_decoding')" >/dev/null
gen() {
  local name=$1
  shift
  "$STREAMSHOP" generate --progress off --seed "$TEST_SEED" "$@" >"$LOG_DIR/$name.out" 2>"$LOG_DIR/$name.log" ||
    { cat "$LOG_DIR/$name.log"; fail "generate ($name) failed"; }
}
ch_events() { ch "SELECT count() FROM analytics.outbox_events"; }

log "a missing outbox table: a clear error naming the fix"
set +e
"$STREAMSHOP" replicate --progress off --outbox-table public.no_such_outbox >"$LOG_DIR/missing.out" 2>&1
rc=$?
set -e
((rc == 1)) || fail "replicate with a missing outbox table exited $rc, expected 1"
grep -q "outbox table public.no_such_outbox does not exist or is not in publication 'streamshop'.*ALTER PUBLICATION" \
  "$LOG_DIR/missing.out" || fail "unclear error: $(cat "$LOG_DIR/missing.out")"
pg -c "SELECT pg_drop_replication_slot('streamshop')" >/dev/null 2>&1 || true

log "history without clean-up (these events are copied by the initial snapshot)"
gen history --rate 0 --transactions 300 --products 30 --customers 40
history=$(pg -c "SELECT count(*) FROM outbox_events")
((history == 370)) || fail "expected 370 events in PostgreSQL after the history (30 + 40 seeded + 300), found $history"

start_replicate --outbox-table public.outbox_events --flush-ms 100
wait_streaming 120
snapshot_appended() { (($(ch_events) >= history)); }
wait_until 60 "the snapshot's events did not reach analytics.outbox_events" snapshot_appended
[[ $(ch "SELECT count() FROM analytics.outbox_events WHERE _commit_lsn = 0") == "$history" ]] ||
  fail "the $history events of the snapshot are not in analytics.outbox_events (at position 0)"

log "kill -9 inside one big transaction, after part of it was stored: the replay must not duplicate it"
stop_replicate
start_replicate --outbox-table public.outbox_events --batch-rows 500 --flush-ms 100
wait_streaming 60
# COPY: PostgreSQL logs its rows as multi-insert records, so many events share one WAL position (LSN).
pg -c "COPY (SELECT gen_random_uuid(), 'batch', g::text, 'BulkImported', jsonb_build_object('n', g)
  FROM generate_series(1, 60000) g) TO STDOUT" >"$LOG_DIR/big.tsv"
pg -c "BEGIN" -c "\\copy outbox_events (id, aggregatetype, aggregateid, type, payload) FROM '$LOG_DIR/big.tsv'" \
  -c "DELETE FROM outbox_events WHERE aggregatetype = 'batch'" -c "COMMIT" >"$LOG_DIR/big.log" 2>&1 &
BIG_PID=$!
BG_PIDS+=("$BIG_PID")
big_partly_stored() {
  local n
  n=$(ch "SELECT count() FROM analytics.outbox_events WHERE aggregatetype = 'batch'")
  ((n >= 1000 && n < 60000))
}
wait_until 120 "no part of the big transaction was stored before it was complete" big_partly_stored
kill -9 "$REPLICATE_PID"
wait "$REPLICATE_PID" 2>/dev/null || true
stored=$(ch "SELECT count() FROM analytics.outbox_events WHERE aggregatetype = 'batch'")
log "killed with $stored of the 60000 events of the big transaction stored"
((stored < 60000)) || fail "the whole big transaction was stored before the kill"
wait "$BIG_PID" || fail "the big transaction failed: $(cat "$LOG_DIR/big.log")"
start_replicate --outbox-table public.outbox_events --batch-rows 500 --flush-ms 100
big_stored() { [[ $(ch "SELECT count() FROM analytics.outbox_events WHERE aggregatetype = 'batch'") == 60000 ]]; }
wait_until 180 "the restart did not store the rest of the big transaction" big_stored
stop_replicate
[[ $(ch "SELECT uniqExact(id) FROM analytics.outbox_events WHERE aggregatetype = 'batch'") == 60000 ]] ||
  fail "the big transaction's events are not each stored once"
shared=$(ch "SELECT count() FROM (SELECT _lsn FROM analytics.outbox_events WHERE aggregatetype = 'batch'
  GROUP BY _lsn HAVING count() > 1)")
((shared > 0)) || fail "no two events of the COPY share a WAL position: the test does not cover multi-insert records"
grep -q "stored up to commit [0-9A-F]*/[0-9A-F]*[1-9A-F][0-9A-F]*, event [1-9][0-9]* of it" "$LOG_DIR/replicate.log" ||
  fail "the restart did not report the stored position it skips up to"

log "a live workload with clean-up (events deleted in their own transaction); kill -9 at random points"
"$STREAMSHOP" generate --progress off --seed "$((TEST_SEED + 1))" --rate 400 --duration 16s --outbox-cleanup \
  >"$LOG_DIR/live.out" 2>"$LOG_DIR/live.log" &
GEN_PID=$!
BG_PIDS+=("$GEN_PID")
for i in 1 2 3; do
  sessions=$(grep -c "streaming changes" "$LOG_DIR/replicate.log" || true)
  start_replicate --outbox-table public.outbox_events --batch-rows 300 --flush-ms 50
  wait_until 120 "replicate did not reach streaming after restart $i" \
    bash -c "(( \$(grep -c 'streaming changes' '$LOG_DIR/replicate.log') > $sessions ))"
  sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
  kill -9 "$REPLICATE_PID"
  wait "$REPLICATE_PID" 2>/dev/null || true
  log "kill $i done"
done
wait "$GEN_PID" || { cat "$LOG_DIR/live.log"; fail "generate (live) failed"; }
[[ $(pg -c "SELECT count(*) FROM outbox_events") == "$history" ]] || fail "--outbox-cleanup left rows in PostgreSQL"

log "more events without clean-up, replicate running to the end"
start_replicate --outbox-table public.outbox_events --flush-ms 100
gen tail --rate 0 --transactions 200
verify 180
independent_compare
stop_replicate

log "analytics.outbox_events holds exactly the events PostgreSQL committed"
# The oracle: every INSERT into outbox_events that PostgreSQL decoded, in commit order (test_decoding, not pgoutput).
pg -c "SELECT substring(data from 'id\[uuid\]:''([0-9a-f-]+)''') FROM pg_logical_slot_peek_changes('outbox_oracle', NULL, NULL)
  WHERE data LIKE 'table public.outbox_events: INSERT:%'" >"$LOG_DIR/oracle.ids"
ch "SELECT toString(id) FROM analytics.outbox_events WHERE _commit_lsn > 0 ORDER BY _commit_lsn, _seq" >"$LOG_DIR/streamed.ids"
ch "SELECT toString(id) FROM analytics.outbox_events WHERE _commit_lsn = 0" | sort >"$LOG_DIR/snapshot.ids"
total=$(wc -l <"$LOG_DIR/oracle.ids")
committed_live=$(grep -o '[0-9]* transactions' "$LOG_DIR/live.out" | grep -o '[0-9]*')
log "PostgreSQL committed $total events (60000 in one transaction, $committed_live live transactions); ClickHouse holds $(ch_events)"
((total >= history + 60000 + committed_live + 200)) || fail "the oracle saw only $total events"
[[ $(ch_events) == "$total" ]] || fail "analytics.outbox_events holds $(ch_events) events, PostgreSQL committed $total"
[[ $(ch "SELECT uniqExact(id) FROM analytics.outbox_events") == "$total" ]] || fail "duplicate event ids in analytics.outbox_events"
# The snapshot's events are the first ones PostgreSQL committed (before the slot existed); the rest were streamed,
# in exactly PostgreSQL's commit order.
head -n "$history" "$LOG_DIR/oracle.ids" | sort | cmp -s - "$LOG_DIR/snapshot.ids" ||
  fail "the snapshot's events differ from the first $history committed"
tail -n +"$((history + 1))" "$LOG_DIR/oracle.ids" | cmp -s - "$LOG_DIR/streamed.ids" ||
  fail "the streamed events differ from PostgreSQL's, or are not in commit order (diff: $(tail -n +"$((history + 1))" \
    "$LOG_DIR/oracle.ids" | diff - "$LOG_DIR/streamed.ids" | head -n 5))"
# Commit times and LSNs are set; the source deleted most events, the analytics table kept them.
[[ $(ch "SELECT count() FROM analytics.outbox_events WHERE _commit_lsn > 0 AND (_lsn = 0 OR _seq = 0 OR toInt64(_commit_time) = 0)") == 0 ]] ||
  fail "streamed events without an LSN, a sequence number or a commit time"
((total > $(pg -c "SELECT count(*) FROM outbox_events") + 60000)) || fail "the clean-up deletes did not happen"
placed=0
while IFS=$'\t' read -r aggregateid payload; do
  [[ $payload == *"\"order_id\": $aggregateid,"* ]] || fail "OrderPlaced of order $aggregateid with payload $payload"
  placed=$((placed + 1))
done < <(ch "SELECT aggregateid, payload FROM analytics.outbox_events WHERE type = 'OrderPlaced' LIMIT 200 FORMAT TSV")
((placed > 0)) || fail "no OrderPlaced event"
log "ok: $total events, each once, in commit order; PostgreSQL keeps $(pg -c "SELECT count(*) FROM outbox_events")"
