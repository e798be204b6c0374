#!/usr/bin/env bash
# capture --outbox-table routes outbox_events like Debezium's EventRouter (docs/DEBEZIUM_COMPATIBILITY.md, "Outbox
# (EventRouter)"): rows present at start (snapshot) and every later insert become exactly one record on
# outbox.event.<aggregatetype>, key = aggregateid, value = the jsonb payload as a JSON string, headers id and (here)
# eventType; updates, deletes and a truncate of the table send nothing, an event inserted and deleted in one
# transaction is still delivered, and nothing goes to the table's own CDC topic while other tables keep theirs.
# Expected events are logged in PostgreSQL (outbox_log, outside the publication) by the same statements.
# A missing column is refused with the table, column and flag named.
TEST_PORT_BASE=30500
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/postgres/schema.sql" >/dev/null
pg <<'SQL' >/dev/null
CREATE TABLE outbox_log AS SELECT * FROM outbox_events WITH NO DATA;
-- emit(n, tag): n events over three aggregate types, logged as they are inserted.
CREATE FUNCTION emit(n int, tag text) RETURNS void LANGUAGE sql AS $$
  WITH ins AS (
    INSERT INTO outbox_events (id, aggregatetype, aggregateid, type, payload)
    SELECT gen_random_uuid(), (ARRAY['order', 'customer', 'product'])[1 + g % 3], tag || '-' || (g % 17),
           'Ev' || tag,
           CASE WHEN g % 23 = 0 THEN NULL
                ELSE jsonb_build_object('n', g, 'tag', tag, 'amount', g * 1.25, 'items', jsonb_build_array(g, 'x'),
                                        'text', E'line "one"\n\u00e9') END
    FROM generate_series(1, n) g RETURNING *)
  INSERT INTO outbox_log SELECT * FROM ins;
$$;
SELECT emit(60, 'snap');
SQL

log "missing column: refused naming table, column and flag"
rc=0
timeout 60 "$STREAMSHOP" capture --progress off --slot bad_outbox --outbox-table public.outbox_events \
  --outbox-payload-column body >"$LOG_DIR/capture-bad.log" 2>&1 || rc=$?
((rc != 0 && rc != 124)) || fail "capture with --outbox-payload-column body exited with $rc"
grep -q 'outbox table public.outbox_events has no column "body" (set by --outbox-payload-column)' \
  "$LOG_DIR/capture-bad.log" || fail "unclear error: $(tail -n 3 "$LOG_DIR/capture-bad.log")"
pg -c "SELECT pg_drop_replication_slot('bad_outbox') FROM pg_replication_slots WHERE slot_name = 'bad_outbox'" \
  >/dev/null

log "capture with the outbox; snapshot of 60 events, then the workload"
start_capture --outbox-table public.outbox_events --outbox-additional-placement type:header:eventType
wait_capture_streaming
pg <<'SQL' >"$LOG_DIR/workload.log"
SELECT emit(200, 'a');
UPDATE outbox_events SET type = 'Changed', payload = '{"changed": true}' WHERE aggregateid LIKE 'a-1%';
DELETE FROM outbox_events WHERE aggregateid LIKE 'a-2%' OR aggregateid LIKE 'snap-%';
BEGIN;
SELECT emit(40, 'tx');
DELETE FROM outbox_events WHERE type = 'Evtx';  -- the clean-up pattern: inserted and deleted in one transaction
COMMIT;
BEGIN;
SELECT emit(30, 'b');
INSERT INTO customers (email, full_name, country, city) VALUES ('outbox@example.com', 'O B', 'NL', 'Delft');
COMMIT;
TRUNCATE outbox_events;
SELECT emit(25, 'c');
SQL
expected=$(pg -c "SELECT count(*) FROM outbox_log")
((expected == 355)) || fail "the workload logged $expected events, expected 355"

topics_count() {
  kafka_java org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --topic '^outbox\.event\..*' 2>/dev/null | awk -F: '{n += $3} END {print n + 0}'
}
all_there() { (($(topics_count) >= expected)); }
wait_until 120 "capture did not send the $expected outbox events" all_there
# customers was empty at the start: its one record is the insert in the outbox transaction.
customer_sent() {
  (($(kafka_java org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --topic '^streamshop\.public\.customers$' 2>/dev/null | awk -F: '{n += $3} END {print n + 0}') == 1))
}
wait_until 60 "the business change in the outbox transaction did not reach streamshop.public.customers" customer_sent
sleep 3  # anything extra would arrive now
got=$(topics_count)
((got == expected)) || fail "the outbox topics hold $got records, expected exactly $expected"

kafka_java org.apache.kafka.tools.TopicCommand --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" --list \
  >"$LOG_DIR/topics.txt" 2>/dev/null
grep -qx 'streamshop.public.outbox_events' "$LOG_DIR/topics.txt" && fail "capture created the outbox's CDC topic"
for t in order customer product; do
  grep -qx "outbox.event.$t" "$LOG_DIR/topics.txt" || fail "no topic outbox.event.$t"
done

log "every event once, on its topic, with its key, payload and headers"
: >"$LOG_DIR/got.txt"
kafka_java org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic '^outbox\.event\..*' >"$LOG_DIR/ends.txt" 2>/dev/null
for t in order customer product; do
  # Each consumer stops once it has read what the topic holds (or after 60 s of silence on a loaded machine).
  n=$(awk -F: -v t="outbox.event.$t" '$1 == t {n += $3} END {print n + 0}' "$LOG_DIR/ends.txt")
  kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --topic "outbox.event.$t" --from-beginning --max-messages "$n" --timeout-ms 60000 \
    --formatter-property print.key=true \
    --formatter-property print.headers=true --formatter-property key.separator=$'\t' \
    --formatter-property headers.separator='|' >"$LOG_DIR/$t.tsv" 2>"$LOG_DIR/$t.err" || true
  # headers \t key \t value → topic \t aggregateid \t id \t type \t payload text (<null> for NULL)
  jq -R -r --arg t "outbox.event.$t" 'split("\t") as [$h, $k, $v]
    | ($h | split("|") | map(capture("^(?<key>[^:]*):(?<value>.*)$")) | from_entries) as $hs
    | ($k | fromjson) as $key | ($v | fromjson) as $value
    | if ($key.schema != {"type": "string", "optional": false}) then error("key schema \($key.schema)")
      elif ($value.schema != {"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1})
      then error("value schema \($value.schema)")
      elif (($hs | keys) != ["eventType", "id"]) then error("headers \($hs)")
      else [$t, $key.payload, $hs.id, $hs.eventType, ($value.payload // "<null>")] | @tsv end' \
    "$LOG_DIR/$t.tsv" >>"$LOG_DIR/got.txt" || fail "unexpected record on outbox.event.$t (see $LOG_DIR/$t.tsv)"
done
pg -c "SELECT 'outbox.event.' || aggregatetype, aggregateid, id, type, coalesce(payload::text, '<null>')
       FROM outbox_log" | sed 's/|/\t/g' >"$LOG_DIR/want-raw.txt"
# psql -A prints jsonb text as is; @tsv escapes backslashes, tabs and newlines: compare in that form.
jq -R -r 'split("\t") | @tsv' "$LOG_DIR/want-raw.txt" | sort >"$LOG_DIR/want.txt"
sort -o "$LOG_DIR/got.txt" "$LOG_DIR/got.txt"
if ! diff "$LOG_DIR/want.txt" "$LOG_DIR/got.txt" >"$LOG_DIR/events.diff"; then
  head -n 10 "$LOG_DIR/events.diff"
  fail "$(grep -c '^<' "$LOG_DIR/events.diff") expected events missing or different, $(grep -c '^>' \
    "$LOG_DIR/events.diff") unexpected (see $LOG_DIR/events.diff)"
fi
nulls=$(grep -c $'\t<null>$' "$LOG_DIR/got.txt" || true)
((nulls > 0)) || fail "no event with a NULL payload was checked"
log "all $expected events exactly once ($nulls with a NULL payload, 40 inserted and deleted in one transaction)"
stop_clean "$CAPTURE_PID" "capture"
