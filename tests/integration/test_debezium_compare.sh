#!/usr/bin/env bash
# Our `capture` against real Debezium (3.x on Kafka Connect, connectors/postgres-source.json) on the same
# database and workload, compared field by field: record keys (schema and payload), value schemas, envelope
# (op, before, after) and the source block, for every type of sql/sample/workload.sql (the types the pipeline
# supports) under REPLICA IDENTITY DEFAULT (typed) and FULL (pairs), with inserts, updates, primary-key updates,
# NULLs and deletes (with tombstones). Intentional differences are normalised away here, each one named below
# and in docs/DEBEZIUM_COMPATIBILITY.md; anything else fails the test with a diff.
TEST_PORT_BASE=23700
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"
ln -sf "$STREAMSHOP_STACK_DIR/debezium/log/connect.log" "$LOG_DIR/connect.log"

pg -f "$REPO/sql/sample/workload.sql"
pg -c "CREATE PUBLICATION streamshop FOR TABLE typed, pairs"
pg -f "$REPO/sql/postgres/schema.sql"  # the role Debezium connects as (connectors/postgres-source.json)
pg <<'SQL'
GRANT SELECT ON typed, pairs TO streamshop_cdc;
ALTER TABLE pairs REPLICA IDENTITY FULL;
SELECT setseed(0.5);
INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 300);
INSERT INTO pairs SELECT 't' || (i % 3), i, 'label ' || i FROM generate_series(1, 50) i;
INSERT INTO typed (id, exact) SELECT nextval('typed_ids'), v::numeric
  FROM unnest(ARRAY['12.50', '100.000', '0.0', '7', '-0.010', '1e3', '123456789012345678901234567890.100']) v;
SQL

log "Debezium and capture, each with its own slot; both snapshot the same rows"
bash "$REPO/scripts/debezium.sh" start "$REPO/connectors/postgres-source.json" \
  table.include.list=public.typed,public.pairs >"$LOG_DIR/debezium-start.log" 2>&1 ||
  fail "debezium.sh start: $(cat "$LOG_DIR/debezium-start.log")"
start_capture
CAP=$CAPTURE_PID
wait_capture_streaming
# topic_count PREFIX: records in <prefix>.public.typed and .pairs
topic_count() {
  kafka_java org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --topic "^$1\\.public\\.(typed|pairs)\$" 2>/dev/null | awk -F: '{n += $3} END {print n + 0}'
}
dbz_snapshot_done() { (($(topic_count streamshop_dbz) >= 357)); }
wait_until 120 "Debezium did not send its 357 snapshot records" dbz_snapshot_done

log "the same workload seen by both"
pg -c "CALL random_workload(0.7, 300, 5)" >"$LOG_DIR/workload.log" 2>&1 || fail "workload failed"
pg <<'SQL' >>"$LOG_DIR/workload.log"
INSERT INTO typed (id, exact) SELECT nextval('typed_ids'), v::numeric
  FROM unnest(ARRAY['12.50', '100.000', '0.0', '7', '-0.010', '1e3', '123456789012345678901234567890.100']) v;
UPDATE pairs SET label = NULL WHERE seq % 5 = 0;
UPDATE pairs SET seq = seq + 1000 WHERE seq % 7 = 0;
DELETE FROM pairs WHERE seq % 3 = 0;
SQL
same_counts() { (($(topic_count streamshop) == $(topic_count streamshop_dbz))); }
wait_until 120 "capture and Debezium sent different numbers of records" same_counts
records=$(topic_count streamshop)
log "both sent $records records"
# The snapshot alone is 357 records; the workload adds several hundred more.
((records >= 1000)) || fail "only $records records per side: the workload did not reach Kafka"

# dump PREFIX OUT: every record of both tables as one JSON object per line.
dump() {
  kafka_java org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$STREAMSHOP_KAFKA_BROKERS" \
    --include "^$1\\.public\\.(typed|pairs)\$" --from-beginning --timeout-ms 15000 \
    --formatter-property print.key=true --formatter-property key.separator=$'\t' >"$2.tsv" 2>"$2.err" || true
  jq -R -c 'split("\t") | {key: (if .[0] == "null" then null else .[0] | fromjson end),
                           value: (if .[1] == "null" then null else .[1] | fromjson end)}' "$2.tsv" >"$2.jsonl" ||
    fail "cannot parse $2.tsv"
}
dump streamshop "$LOG_DIR/ours"
dump streamshop_dbz "$LOG_DIR/debezium"
for side in ours debezium; do
  dumped=$(wc -l <"$LOG_DIR/$side.jsonl")
  ((dumped == records)) || fail "the dump of $side has $dumped records, its topics hold $records"
done

# The comparison form of a record. Intentional differences, normalised:
#  - the topic prefix inside schema names ("streamshop" vs "streamshop_dbz") and source.name;
#  - processing timestamps (ts_ms/ts_us/ts_ns of the envelope and of source) and source.version;
#  - snapshot records: source.snapshot (Debezium marks first/last, we send "true"), and the snapshot's position
#    (source.lsn, txId, sequence): each tool takes its own snapshot at its own slot position;
#  - source.sequence's first element (the last commit position): Debezium's comes from its own offset bookkeeping,
#    ours is the end of the previous transaction received (none for the first one after a start); both only
#    order events, the second element (the change's LSN) is compared;
#  - numeric without typmod (io.debezium.data.VariableScaleDecimal): Debezium strips trailing fractional zeros
#    (12.50 → scale 1), we keep PostgreSQL's display scale (scale 2) so the copy stays exact; compared by value;
VSD_JQ=$(cat <<'JQ'
# io.debezium.data.VariableScaleDecimal {scale, value: base64 two's-complement big-endian} → "[-]digits/scale"
# with trailing fractional zeros removed (the numeric value, independent of the display scale).
def b64bytes:
  explode
  | map(if . >= 65 and . <= 90 then . - 65 elif . >= 97 and . <= 122 then . - 71
        elif . >= 48 and . <= 57 then . + 4 elif . == 43 then 62 elif . == 47 then 63 else empty end)
  | [range(0; length; 4) as $i | .[$i:$i + 4]]
  | map(. as $g | [($g[0] * 4 + ($g[1] / 16 | floor)),
                   (if ($g | length) > 2 then ($g[1] % 16) * 16 + ($g[2] / 4 | floor) else empty end),
                   (if ($g | length) > 3 then ($g[2] % 4) * 64 + $g[3] else empty end)])
  | add // [];
def negate: (map(255 - .) | reverse) as $r
  | reduce range(0; $r | length) as $i ({out: [], carry: 1};
      ($r[$i] + .carry) as $s | .out += [$s % 256] | .carry = ($s / 256 | floor)) | .out | reverse;
def digits:  # unsigned big-endian bytes → decimal string
  def step: reduce .[] as $b ({q: [], r: 0}; (.r * 256 + $b) as $v | .q += [($v / 10 | floor)] | .r = $v % 10);
  [recurse(if (. | map(select(. > 0)) | length) == 0 then empty else step | .q end) | step | .r] as $ds
  | ($ds[:-1] | reverse | map(tostring) | join("") | sub("^0+"; "")) | if . == "" then "0" else . end;
def vsd:
  (.value | b64bytes) as $b
  | (if ($b | length) > 0 and $b[0] >= 128 then ["-", ($b | negate)] else ["", $b] end) as [$sign, $mag]
  | ($mag | digits) as $d
  | {d: $d, s: .scale}
  | until(.s <= 0 or (.d | endswith("0") | not) or .d == "0"; .d |= .[:-1] | .s -= 1)
  | if .d == "0" then "0/0" else "\($sign)\(.d)/\(.s)" end;
JQ
)
normalise() {
  jq -S -c --arg p "$1" "$VSD_JQ"'
    def unprefix: if type == "string" then sub("^" + $p + "\\."; "P.") else . end;
    def names: walk(if type == "object" and has("name") then .name |= unprefix else . end);
    walk(if type == "object" and (keys == ["scale", "value"]) then vsd else . end)
    | (.value.payload.op // "tombstone") as $op
    | {op: $op,
       table: (.value.payload.source.table // null),
       key: .key.payload, key_schema: (.key.schema | names),
       value_schema: (if .value then .value.schema | names else null end),
       before: .value.payload.before, after: .value.payload.after,
       source: (if .value then .value.payload.source
                  | del(.ts_ms, .ts_us, .ts_ns, .version, .name)
                  | (if $op == "r" then del(.snapshot, .lsn, .txId, .sequence, .xmin)
                     else .sequence |= (if . then fromjson | .[1] else null end) end)
                else null end)}' "$LOG_DIR/$2.jsonl" | sort >"$LOG_DIR/$2.normalised"
}
normalise streamshop ours
normalise streamshop_dbz debezium
if ! diff "$LOG_DIR/debezium.normalised" "$LOG_DIR/ours.normalised" >"$LOG_DIR/compare.diff"; then
  # Show the first differing record pair field by field.
  first_dbz=$(grep -m1 '^<' "$LOG_DIR/compare.diff" | cut -c3-)
  first_ours=$(grep -m1 '^>' "$LOG_DIR/compare.diff" | cut -c3-)
  diff <(jq -S . <<<"$first_dbz") <(jq -S . <<<"$first_ours") | head -n 40
  fail "$(grep -c '^<' "$LOG_DIR/compare.diff") Debezium records differ from ours (see $LOG_DIR/compare.diff)"
fi
n=$(wc -l <"$LOG_DIR/ours.normalised")
((n == records)) || fail "compared $n records, expected $records"
ops=$(jq -r .op "$LOG_DIR/ours.normalised" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
for op in r c u d tombstone; do
  grep -q "\"op\":\"$op\"" "$LOG_DIR/ours.normalised" || fail "no '$op' record was compared ($ops)"
done
log "all $n records equal field by field ($ops)"
stop_clean "$CAP" "capture"
bash "$REPO/scripts/debezium.sh" stop >/dev/null 2>&1 || true
