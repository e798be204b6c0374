#!/usr/bin/env bash
# capture --outbox-table against real Debezium 3.6 with io.debezium.transforms.outbox.EventRouter on the same
# database and outbox workload (each with its own slot), compared record by record: topic, key and value bytes and
# headers. Two settings on each side:
#   default    EventRouter's defaults + type:header:eventType, JsonConverter schemas.enable=true
#              (capture --outbox-table … --outbox-additional-placement type:header:eventType)
#   expanded   table.expand.json.payload=true, schemas.enable=false, route.topic.replacement <p>.${routedByValue}
#              (capture --schemas off --outbox-expand-json-payload on --outbox-route-topic-replacement …)
# The workload: events present at start (both route their snapshot rows), inserts, updates and deletes of the
# outbox, events inserted and deleted in one transaction, NULL payloads. Payloads are objects of integers, strings,
# booleans and nested objects: what Debezium's expansion can infer a schema for (docs/DEBEZIUM_COMPATIBILITY.md).
# Normalised, as documented there: Debezium's __debezium.context.* headers (connector name, task, run id), which
# capture does not send; the topic prefix of the expanded setting.
TEST_PORT_BASE=30600
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"
ln -sf "$STREAMSHOP_STACK_DIR/debezium/log/connect.log" "$LOG_DIR/connect.log"

pg -f "$REPO/sql/postgres/schema.sql" >/dev/null
pg <<'SQL' >/dev/null
CREATE FUNCTION emit(n int, tag text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO outbox_events (id, aggregatetype, aggregateid, type, payload)
  SELECT gen_random_uuid(), (ARRAY['order', 'customer'])[1 + g % 2], tag || '-' || (g % 7), 'Ev' || tag,
         CASE WHEN g % 11 = 0 THEN NULL
              ELSE jsonb_build_object('n', g, 'tag', tag, 'ok', g % 3 = 0,
                                      'nested', jsonb_build_object('k', 'v' || g, 'big', g::bigint * 1000000000),
                                      'text', E'say "hi"\n\u00e9 \\ /') END
  FROM generate_series(1, n) g;
$$;
SELECT emit(30, 'snap');
SQL

log "Debezium (EventRouter, two settings) and capture (the same two), each with its own slot"
cat >"$LOG_DIR/dbz-default.json" <<'JSON'
{"name": "dbz-outbox-default", "config": {"slot.name": "dbz_outbox_default", "topic.prefix": "dbz_default"}}
JSON
cat >"$LOG_DIR/dbz-expanded.json" <<'JSON'
{"name": "dbz-outbox-expanded", "config": {"slot.name": "dbz_outbox_expanded", "topic.prefix": "dbz_expanded",
 "key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
 "transforms.outbox.route.topic.replacement": "dbz_expanded.${routedByValue}",
 "transforms.outbox.table.expand.json.payload": "true"}}
JSON
common=(table.include.list=public.outbox_events transforms=outbox
  transforms.outbox.type=io.debezium.transforms.outbox.EventRouter)
for setting in default expanded; do
  jq -s '.[0] * .[1]' "$REPO/connectors/postgres-source.json" "$LOG_DIR/dbz-$setting.json" \
    >"$LOG_DIR/connector-$setting.json"
  extra=()
  [[ $setting == default ]] && extra=(transforms.outbox.table.fields.additional.placement=type:header:eventType)
  bash "$REPO/scripts/debezium.sh" start "$LOG_DIR/connector-$setting.json" "${common[@]}" "${extra[@]}" \
    >"$LOG_DIR/debezium-start-$setting.log" 2>&1 ||
    fail "debezium.sh start ($setting): $(cat "$LOG_DIR/debezium-start-$setting.log")"
done
start_capture --slot ours_default --outbox-table public.outbox_events \
  --outbox-additional-placement type:header:eventType
CAPTURE_DEFAULT=$CAPTURE_PID
start_capture --slot ours_expanded --outbox-table public.outbox_events --schemas off \
  --outbox-expand-json-payload on --outbox-route-topic-replacement 'ours_expanded.${routedByValue}'
wait_capture_streaming 2

count() {
  kafka_java org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --topic "$1" 2>/dev/null | awk -F: '{n += $3} END {print n + 0}'
}
SIDES=('^outbox\.event\.(order|customer)$' '^ours_expanded\..*' '^dbz_expanded\.(order|customer)$')
snapshots_sent() { for s in "${SIDES[@]}"; do (($(count "$s") >= 30)) || return 1; done; }
wait_until 120 "Debezium or capture did not send the 30 snapshot events" snapshots_sent

log "the same workload seen by all four"
pg <<'SQL' >"$LOG_DIR/workload.log"
SELECT emit(100, 'a');
UPDATE outbox_events SET type = 'Changed' WHERE aggregateid LIKE 'a-1%';
DELETE FROM outbox_events WHERE aggregateid LIKE 'a-2%' OR aggregateid LIKE 'snap-%';
BEGIN;
SELECT emit(20, 'tx');
DELETE FROM outbox_events WHERE type = 'Evtx';
COMMIT;
SELECT emit(30, 'b');
SQL
# Events: 30 + 100 + 20 + 30. The default side has ours and Debezium's on the same topics: twice that.
EXPECTED=180
all_sent() {
  (($(count "${SIDES[0]}") >= 2 * EXPECTED && $(count "${SIDES[1]}") >= EXPECTED &&
    $(count "${SIDES[2]}") >= EXPECTED))
}
wait_until 180 "not every side sent the $EXPECTED events" all_sent
sleep 3
for s in "${SIDES[@]}"; do
  n=$(count "$s")
  want=$EXPECTED
  [[ $s == "${SIDES[0]}" ]] && want=$((2 * EXPECTED))
  ((n == want)) || fail "$s holds $n records, expected $want"
done

# raw TOPIC…: "<topic suffix>\t<headers, \x1f-separated>\t<key>\t<value>" for every record of each topic.
# Each consumer stops once it has read as many records as the topic held (ends.txt), or after 60 s of silence.
kafka_java org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
  --topic '^(outbox\.event|ours_expanded|dbz_expanded)\..*' >"$LOG_DIR/ends.txt" 2>/dev/null
raw() {
  local t n
  for t in "$@"; do
    n=$(awk -F: -v t="$t" '$1 == t {n += $3} END {print n + 0}' "$LOG_DIR/ends.txt")
    kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
      --topic "$t" --from-beginning --max-messages "$n" --timeout-ms 60000 --formatter-property print.key=true \
      --formatter-property print.headers=true --formatter-property key.separator=$'\t' \
      --formatter-property headers.separator=$'\x1f' 2>>"$LOG_DIR/dump.err" | sed "s/^/${t##*.}\t/"
  done
}
# The comparison form: Debezium's context headers dropped, the other headers sorted, "name:value;…".
norm() {
  perl -ne 'chomp; my ($t, $h, $k, $v) = split /\t/, $_, 4;
    my @h = sort grep { !/^__debezium\.context\./ } split /\x1f/, $h;
    print join("\t", $t, join(";", @h), $k, $v), "\n"' | sort
}
raw outbox.event.order outbox.event.customer >"$LOG_DIR/default-raw.tsv"
# Ours and Debezium's default records share the topics: Debezium's carry the context headers.
grep -P '\t__debezium\.context\.|\x1f__debezium\.context\.' "$LOG_DIR/default-raw.tsv" | norm >"$LOG_DIR/dbz-default.tsv" || true
grep -vP '\t__debezium\.context\.|\x1f__debezium\.context\.' "$LOG_DIR/default-raw.tsv" | norm >"$LOG_DIR/ours-default.tsv" || true
dbz_default=$(wc -l <"$LOG_DIR/dbz-default.tsv")
((dbz_default == EXPECTED)) || fail "$dbz_default records of Debezium on the default topics, expected $EXPECTED"
for side in dbz ours; do
  raw "${side}_expanded.order" "${side}_expanded.customer" | norm >"$LOG_DIR/$side-expanded.tsv"
done

compare() {
  local n
  n=$(wc -l <"$LOG_DIR/ours-$1.tsv")
  ((n == EXPECTED)) || fail "$1: $n records of capture dumped, expected $EXPECTED"
  if ! diff "$LOG_DIR/dbz-$1.tsv" "$LOG_DIR/ours-$1.tsv" >"$LOG_DIR/compare-$1.diff"; then
    head -n 6 "$LOG_DIR/compare-$1.diff"
    fail "$1: $(grep -c '^<' "$LOG_DIR/compare-$1.diff") Debezium records differ from ours (see $LOG_DIR/compare-$1.diff)"
  fi
  grep -qE '(	null|"payload":null\})$' "$LOG_DIR/ours-$1.tsv" || fail "$1: no NULL payload was compared"
  log "$1: all $n records equal (topic, key, value bytes, headers)"
}
compare default
compare expanded
stop_clean "$CAPTURE_DEFAULT" "capture (default)"
stop_clean "$CAPTURE_PID" "capture (expanded)"
bash "$REPO/scripts/debezium.sh" stop >/dev/null 2>&1 || true
