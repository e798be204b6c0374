#!/usr/bin/env bash
# Type torture: every type and edge value, through the snapshot and through the stream. `verify` must pass
# and spot checks must find the exact PostgreSQL text in ClickHouse (composites: a JSON object of their fields). A value ClickHouse cannot hold (numeric
# NaN in a Decimal column, a timestamp past Int64 µs) keeps its row in the raw table — NULL in the column,
# the PostgreSQL text in _unfit — with a dead letter as the record; verify agrees.
# Table `modern`: the modern mapping (ClickHouse ≥ 23.2, run with STREAMSHOP_CLICKHOUSE_ENGINE=chdb) — Decimal256,
# Array(Nullable(T)) for NOT NULL arrays, LowCardinality enums, non-Nullable NOT NULL columns (delete markers, key
# changes, TOAST, DROP NOT NULL while streaming), json/jsonb and inet kept as text — and the legacy one on 18.16.
# clickhouse-engines: server chdb
TEST_PORT_BASE=22300
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TYPE pair AS (a integer, b text);
CREATE TABLE torture (
  id int PRIMARY KEY,
  n_free numeric, n_dec numeric(12, 3), f4 real, f8 double precision,
  i2 smallint, i4 integer, i8 bigint, b boolean,
  c char(5), vc varchar(8), t text, by bytea, u uuid, j json, jb jsonb,
  d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
  ip inet, net cidr, mac macaddr, cash money, feeling mood, pos posint,
  ints integer[], texts text[], kv hstore, pr pair
);
CREATE PROCEDURE insert_torture(first int) LANGUAGE sql AS $$
  INSERT INTO torture VALUES (first + 0, '0'::numeric, 0.000, 0::real, 0::float8, 0::int2, 0, 0::int8, false, '', '', '', ''::bytea,
         '00000000-0000-0000-0000-000000000000', '{}', '{}', '1970-01-01', '1970-01-01', '1970-01-01 00:00:00+00',
         '00:00', '00:00+00', '0', '0.0.0.0', '0.0.0.0/0', '00:00:00:00:00:00', 0, 'sad', 1, '{}', '{}', '', ROW(0, '')::pair
  ), (first + 1, repeat('9', 500)::numeric + 0.5 ^ 50, 123456789.123, 'NaN', 'Infinity',
         '-32768', '-2147483648', '-9223372036854775808', true, 'ab', 'ünï😀', E'quote'' dq" bs\\ nl\n tab\t cr\r nul-free 😀',
         '\x00010203fffefd'::bytea, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": "ü", "n": [1, 2.5e10]}',
         '{"b": {"c": null}, "a": "😀"}', '4713-01-01 BC', '1900-01-01 00:00:00.000001', '1969-12-31 23:59:59.5-03:30',
         '23:59:59.999999', '12:00+05:30', '1 year 2 mons 3 days 04:05:06.789', '192.168.0.1/24', '10.0.0.0/8',
         '08:00:2b:01:02:03', 1234.56, 'happy', 2147483647, '{1,NULL,3}', '{"a b","c\"d",NULL,""}',
         'a=>1, "b c"=>NULL', ROW(-1, 'x,"y"')::pair
  ), (first + 2, -repeat('1', 200)::numeric, -0.001, '-Infinity', '-0', '32767', 2147483647,
         9223372036854775807, NULL, 'abcde', NULL, repeat('x', 10 * 1024 * 1024), NULL, NULL, NULL, NULL,
         '5874897-12-31', 'infinity', '-infinity', NULL, NULL, '-178000000 years', '::1', 'fe80::/10', NULL, -0.01,
         NULL, NULL, '{}', NULL, NULL, NULL
  ), (first + 3, 'Infinity', NULL, 1e-45, 2.2250738585072014e-308, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL,
         NULL, NULL, NULL, '2262-04-12', '2500-06-30 12:34:56.789', '2262-04-11 23:47:16.854775+00', NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ROW(3, E'tab\t nl\n us\x1f ü 😀 \u2028')::pair)
$$;
CALL insert_torture(0);
CREATE TABLE extremes (
  id int PRIMARY KEY, d38 numeric(38, 0), d38s numeric(38, 38), d38m numeric(38, 10), f4 real, f8 double precision,
  ts timestamp, tstz timestamptz, d date
);
CREATE PROCEDURE insert_extremes(first int) LANGUAGE sql AS $$
  INSERT INTO extremes VALUES
    (first, repeat('9', 38)::numeric, ('0.' || repeat('9', 38))::numeric, -(repeat('9', 28) || '.' || repeat('9', 10))::numeric,
     3.4028235e38, 1.7976931348623157e308, '0044-03-15 12:00:00.000001 BC', '4713-11-24 00:00:00+00 BC', '0001-01-01 BC'),
    (first + 1, -repeat('9', 38)::numeric, ('-0.' || repeat('0', 37) || '1')::numeric, 0.0000000001,
     1.4e-45, 4.9406564584124654e-324, 'infinity', '-infinity', 'infinity'),
    (first + 2, 1, 0, 0, -0::real, '-0', '-infinity', 'infinity', '-infinity'),
    (first + 3, NULL, NULL, NULL, 0.1, 0.1, '294246-12-31 23:59:59.999999', '1970-01-01 00:00:00.000001+00', '1969-12-31'),
    (first + 4, 12345678901234567890123456789012345678, 0.12345678901234567890123456789012345678,
     1234567890123456789012345678.0123456789, 1.00000012, 1.0000000000000002, '1582-10-10', '1900-02-28 23:00:00-01', '0100-02-28')
$$;
CALL insert_extremes(0);
CREATE TABLE unfit (id int PRIMARY KEY, small numeric(3, 2), far timestamp, ok text);
INSERT INTO unfit VALUES (1, 'NaN', '2020-01-01', 'snapshot'), (2, 1.25, '294270-01-01 00:00:00', 'snapshot');
CREATE TYPE level AS ENUM ('low', 'high', 'it''s "x", \ y');
CREATE TABLE modern (
  id int PRIMARY KEY,
  big76 numeric(76, 0), big60 numeric(60, 20) NOT NULL, big39 numeric(39, 2),
  ints int[] NOT NULL, texts text[] NOT NULL, decs numeric(5, 2)[] NOT NULL, dates date[] NOT NULL,
  tss timestamptz[] NOT NULL, nints int[], j json, jb jsonb NOT NULL, lvl level NOT NULL, lvl_null level,
  ip inet, ip_nn inet NOT NULL, n int NOT NULL, s text NOT NULL, d date NOT NULL, ts timestamp NOT NULL,
  u uuid NOT NULL, b boolean NOT NULL, f float8 NOT NULL
);
ALTER TABLE modern ALTER COLUMN s SET STORAGE EXTERNAL;
CREATE PROCEDURE insert_modern(first int) LANGUAGE sql AS $$
  INSERT INTO modern VALUES
  (first, repeat('9', 76)::numeric, -(repeat('9', 40) || '.' || repeat('9', 20))::numeric, -1.5,
   '{1,NULL,-3}', ARRAY['a,b', 'say "hi"', E'back\\slash', NULL, 'NULL', '', '{braces}', ' spaced ', 'ü😀', E'tab\there'],
   '{1.50,NULL,-2}', '{1970-01-02,infinity,-infinity,0044-03-15 BC,NULL}', '{"2020-01-01 00:00:00.000001+00",NULL}',
   '{1,2}', '{"b": 1, "a": 2, "a": 3, "big": 123456789012345678901234567890, "f": 1.50, "e": 1e2, "a.b": {"c": [1, [2, null]]}, "z": {}}',
   '{"b": 1, "a": 2, "big": 123456789012345678901234567890, "f": 1.50, "e": 1e2, "a.b": {"c": [1, [2, null]]}, "z": {}, "n": null, "m": -0}',
   'it''s "x", \ y', NULL, '192.168.0.1/24', '::ffff:1.2.3.4', 1,
   (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 3000) i), '4713-01-01 BC', 'infinity',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, 'NaN'),
  (first + 1, -repeat('9', 76)::numeric, 0, NULL, '{}', '{}', '{}', '{}', '{}', NULL, '[1, "x", [2, null]]',
   '"just a string"', 'low', 'high', '10.0.0.1', '2001:db8::1/64', -2147483648, 'x', 'infinity', '-infinity',
   '00000000-0000-0000-0000-000000000000', false, '-Infinity'),
  (first + 2, 'NaN', 'NaN', 0.01, '{{1,2},{3,4}}', '[0:1]={a,b}', '{NaN}', '{infinity}', '{}', '{{1},{2}}', 'null',
   '[]', 'high', NULL, '::1', '10.1.2.3/8', 0, '', '2000-02-29', '294270-01-01 00:00:00',
   'ffffffff-ffff-ffff-ffff-ffffffffffff', false, 0.1),
  (first + 3, 1, 1, 1, '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{}', NULL, '{}', 'low', NULL, NULL, '0.0.0.0/0',
   2147483647, ' ', '1970-01-01', '1970-01-01 00:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, -0)
$$;
CALL insert_modern(0);
SQL

start_replicate
wait_streaming
log "the same values through the stream, then updates to NULL and back"
pg -c "CALL insert_torture(10)" -c "CALL insert_extremes(10)" -c "CALL insert_modern(10)"
pg -c "UPDATE torture SET n_free = NULL, kv = NULL, texts = '{}' WHERE id = 11" -c "UPDATE torture SET n_free = 'NaN' WHERE id = 11"
log "numeric NaN in numeric(12,3) cannot be a ClickHouse Decimal: the row is kept (NULL + _unfit), a dead letter records it"
pg -c "INSERT INTO torture (id, n_dec) VALUES (99, 'NaN')" -c "INSERT INTO torture (id, t) VALUES (100, 'after the dead letter')"
dead_letter_written() { [[ "$(ch "SELECT count() FROM analytics._streamshop_dead_letters WHERE table = 'public.torture' AND key = 'id=99'" 2>/dev/null)" == 1 ]]; }
wait_until 30 "no dead letter for id=99" dead_letter_written
ch "SELECT reason FROM analytics._streamshop_dead_letters WHERE key = 'id=99'" | grep -q "n_dec" || fail "dead letter reason does not name the column"
[[ "$(ch "SELECT isNull(n_dec), _unfit FROM analytics.raw_torture FINAL WHERE _deleted = 0 AND id = 99 FORMAT TSVRaw")" == $'1\t{"n_dec":"NaN"}' ]] ||
  fail "row 99 is not in raw_torture with n_dec NULL and its text in _unfit"
log "numeric(3,2) NaN and a timestamp past Int64 µs, by snapshot and stream; an update to a value that fits"
pg -c "INSERT INTO unfit VALUES (3, NULL, '294276-12-31 23:59:59', 'stream'), (4, 'NaN', NULL, 'stream')" \
  -c "UPDATE unfit SET small = 'NaN', ok = 'updated' WHERE id = 2" -c "INSERT INTO unfit VALUES (5, 9.99, '2000-01-01', 'fits')" \
  -c "UPDATE unfit SET small = 0.5 WHERE id = 4"
verify 60
cat "$LOG_DIR/verify.out"
grep -q "3 row(s) hold values ClickHouse cannot store" "$LOG_DIR/verify.out" || fail "verify does not report the unfit rows"
# (Modern servers drop a Decimal's trailing zeros from text output unless told.)
ch "SELECT id, small, _unfit, ok FROM analytics.raw_unfit FINAL WHERE _deleted = 0 ORDER BY id
    $(ch_settings_decimal_zeros) FORMAT TSV" >"$LOG_DIR/unfit.tsv"
diff "$LOG_DIR/unfit.tsv" - <<'EOF' || fail "raw_unfit does not hold every row as documented"
1	\N	{"small":"NaN"}	snapshot
2	\N	{"small":"NaN","far":"294270-01-01 00:00:00"}	updated
3	\N	{"far":"294276-12-31 23:59:59"}	stream
4	0.50	\N	stream
5	9.99	\N	fits
EOF
[[ "$(ch "SELECT count() FROM analytics._streamshop_dead_letters WHERE table = 'public.unfit'")" -ge 4 ]] ||
  fail "not every unfit value has a dead letter"

modern=0
if ch_is_modern; then modern=1; fi
log "modern: key changes, deletes and TOAST with NOT NULL columns (modern server: $modern)"
pg -c "UPDATE modern SET id = id + 100 WHERE id = 11" -c "DELETE FROM modern WHERE id = 12" \
  -c "UPDATE modern SET n = n + 1 WHERE id = 10" -c "UPDATE modern SET id = 110 WHERE id = 10"
verify 60
ch_type() { ch "SELECT type FROM system.columns WHERE database = 'analytics' AND table = 'raw_modern' AND name = '$1' FORMAT TSVRaw"; }
# column → ClickHouse type on modern servers | on legacy servers
expect_types() {
  local spec col want legacy
  for spec in "$@"; do
    IFS='|' read -r col want legacy <<<"$spec"
    ((modern)) || want=$legacy
    [[ "$(ch_type "$col")" == "$want" ]] || fail "raw_modern.$col is $(ch_type "$col"), expected $want"
  done
}
expect_types "big76|Nullable(Decimal(76, 0))|Nullable(String)" "big60|Decimal(60, 20)|Nullable(String)" \
  "big39|Nullable(Decimal(39, 2))|Nullable(String)" "ints|Array(Nullable(Int32))|Nullable(String)" \
  "texts|Array(Nullable(String))|Nullable(String)" "decs|Array(Nullable(Decimal(5, 2)))|Nullable(String)" \
  "dates|Array(Nullable(Date32))|Nullable(String)" "tss|Array(Nullable(DateTime64(6, 'UTC')))|Nullable(String)" \
  "nints|Nullable(String)|Nullable(String)" "j|Nullable(String)|Nullable(String)" "jb|String|Nullable(String)" \
  "lvl|LowCardinality(String)|Nullable(String)" "lvl_null|LowCardinality(Nullable(String))|Nullable(String)" \
  "ip|Nullable(String)|Nullable(String)" "ip_nn|String|Nullable(String)" "n|Int32|Nullable(Int32)" \
  "s|String|Nullable(String)" "d|Date32|Nullable(Int32)" "ts|DateTime64(6)|Nullable(Int64)" "u|UUID|Nullable(UUID)" \
  "b|Bool|Nullable(UInt8)" "f|Float64|Nullable(Float64)"
if ((modern)); then
  log "values a NOT NULL column cannot hold: its default, the text in _unfit (and a dead letter)"
  [[ "$(ch "SELECT big60, ints, texts, decs, ts, _unfit FROM analytics.raw_modern FINAL WHERE id = 2 FORMAT TSVRaw")" == \
    $'0\t[]\t[]\t[]\t1970-01-01 00:00:00.000000\t{"big76":"NaN","big60":"NaN","ints":"{{1,2},{3,4}}","texts":"[0:1]={a,b}","decs":"{NaN}","ts":"294270-01-01 00:00:00"}' ]] ||
    fail "row 2 of raw_modern: $(ch "SELECT big60, ints, texts, decs, ts, _unfit FROM analytics.raw_modern FINAL WHERE id = 2 FORMAT TSVRaw")"
  log "a delete marker and the old key of a key change carry the NOT NULL columns' defaults"
  [[ "$(ch "SELECT n, s, ints, lvl FROM analytics.raw_modern WHERE id = 12 AND _deleted = 1 FORMAT TSVRaw")" == $'0\t\t[]\t' ]] ||
    fail "delete marker of id 12: $(ch "SELECT * FROM analytics.raw_modern WHERE id = 12 FORMAT TSV")"
fi
[[ "$(ch "SELECT length(s) FROM analytics.raw_modern FINAL WHERE id = 110 AND _deleted = 0")" == 96000 ]] ||
  fail "the unchanged TOASTed NOT NULL text of id 10 (now 110) is not in ClickHouse"
log "DROP NOT NULL while streaming: the ClickHouse columns become Nullable without stopping the table"
pg -c "ALTER TABLE modern ALTER COLUMN n DROP NOT NULL, ALTER COLUMN lvl DROP NOT NULL, ALTER COLUMN big60 DROP NOT NULL" \
  -c "INSERT INTO modern (id, big60, ints, texts, decs, dates, tss, jb, ip_nn, s, d, ts, u, b, f)
      VALUES (50, NULL, '{5}', '{}', '{}', '{}', '{}', '{}', '::2', 'dropped', '2020-01-01', '2020-01-01', gen_random_uuid(), true, 1)" \
  -c "UPDATE modern SET n = NULL, lvl = NULL WHERE id = 13"
verify 60
expect_types "n|Nullable(Int32)|Nullable(Int32)" "lvl|LowCardinality(Nullable(String))|Nullable(String)" \
  "big60|Nullable(Decimal(60, 20))|Nullable(String)"
log "DROP NOT NULL of a native array: ClickHouse has no Nullable(Array), so it becomes the text (copied again)"
pg -c "ALTER TABLE modern ALTER COLUMN ints DROP NOT NULL" -c "UPDATE modern SET ints = NULL WHERE id = 1"
verify 60
expect_types "ints|Nullable(String)|Nullable(String)"
! grep -q "replication of public.modern stopped" "$LOG_DIR/replicate.log" || fail "DROP NOT NULL stopped the table"
stop_replicate

log "spot checks: exact PostgreSQL text in ClickHouse"
for col in n_free c vc t u j jb tm tmtz iv ip net mac cash feeling pos ints texts kv; do  # (text in both dialects)
  pg -F $'\t' -c "SELECT id, CASE WHEN $col IS NULL THEN 'NULL' ELSE md5(format('%s', $col)) END FROM torture ORDER BY id" >"$LOG_DIR/pg.$col"
  ch "SELECT id, ifNull(lower(hex(MD5(toString($col)))), 'NULL') FROM analytics.raw_torture FINAL WHERE _deleted = 0 ORDER BY id FORMAT TSV" >"$LOG_DIR/ch.$col"
  diff -q "$LOG_DIR/pg.$col" "$LOG_DIR/ch.$col" >/dev/null || fail "column $col differs: diff $LOG_DIR/pg.$col $LOG_DIR/ch.$col"
done
pg -F $'\t' -c "SELECT id, coalesce((d - date '1970-01-01')::text, 'NULL'),
  coalesce(CASE WHEN isfinite(ts) THEN (extract(epoch FROM ts) * 1000000)::numeric(30)::text END, 'inf'),
  coalesce(encode(by, 'hex'), 'NULL') FROM torture ORDER BY id" >"$LOG_DIR/pg.time"
# Legacy servers hold Int32 days and Int64 µs; modern ones Date32 and DateTime64(6), read back as those numbers.
d=d ts=ts
((modern)) && d="toInt32(d)" ts="toUnixTimestamp64Micro(ts)"
ch "SELECT id, ifNull(toString($d), 'NULL'), if(abs($ts) = 9223372036854775807 OR $ts = -9223372036854775808, 'inf', ifNull(toString($ts), 'inf')),
  ifNull(lower(hex(by)), 'NULL') FROM analytics.raw_torture FINAL WHERE _deleted = 0 ORDER BY id FORMAT TSV" >"$LOG_DIR/ch.time"
diff "$LOG_DIR/pg.time" "$LOG_DIR/ch.time" || fail "dates, timestamps or bytea differ"
[[ "$(ch "SELECT length(t) FROM analytics.raw_torture FINAL WHERE id = 12")" == 10485760 ]] || fail "10 MB text truncated"
log "composite values as JSON objects of their fields' PostgreSQL text"
[[ "$(ch "SELECT pr FROM analytics.raw_torture FINAL WHERE id = 11 FORMAT TSVRaw")" == '{"a":"-1","b":"x,\"y\""}' ]] ||
  fail "composite as JSON: $(ch "SELECT pr FROM analytics.raw_torture FINAL WHERE id = 11 FORMAT TSVRaw")"
[[ "$(ch "SELECT pr FROM analytics.raw_torture FINAL WHERE id = 0 FORMAT TSVRaw")" == '{"a":"0","b":""}' ]] || fail "composite of an empty string"

log "modern: json/jsonb and inet stay PostgreSQL's exact text"
for col in j jb ip ip_nn nints; do
  pg -F $'\t' -c "SELECT id, CASE WHEN $col IS NULL THEN 'NULL' ELSE md5(format('%s', $col)) END FROM modern ORDER BY id" >"$LOG_DIR/pg.m.$col"
  ch "SELECT id, ifNull(lower(hex(MD5(toString($col)))), 'NULL') FROM analytics.raw_modern FINAL WHERE _deleted = 0 ORDER BY id FORMAT TSV" >"$LOG_DIR/ch.m.$col"
  diff -q "$LOG_DIR/pg.m.$col" "$LOG_DIR/ch.m.$col" >/dev/null || fail "column $col differs: diff $LOG_DIR/pg.m.$col $LOG_DIR/ch.m.$col"
done

log "the independent oracle agrees, including Decimal128/256, arrays, float bits, integer extremes, BC and infinite times"
independent_compare
log "the oracle must catch a one-ulp float change and a last-digit Decimal128 change (newer versions in ClickHouse)"
# tamper TABLE ID COLUMN EXPRESSION: a newer version of one row, equal but for one column.
tamper() {
  local select
  select=$(ch "SELECT arrayStringConcat(groupArray(if(name = '$3', '$4', if(name = '_version', '_version + 1',
    concat('\`', name, '\`')))), ', ') FROM system.columns WHERE database = 'analytics' AND table = 'raw_$1' FORMAT TSVRaw")
  ch "INSERT INTO analytics.raw_$1 SELECT $select FROM analytics.raw_$1 FINAL WHERE id = $2 AND _deleted = 0"
}
tamper torture 13 f8 'f8 * (1 + pow(2, -52))'
independent_compare_check torture >"$LOG_DIR/tampered-float.out" && { cat "$LOG_DIR/tampered-float.out"; fail "a one-ulp float change went unnoticed"; }
cat "$LOG_DIR/tampered-float.out"
grep -q "key 13: f8=0010000000000000 (ClickHouse: 0010000000000001)" "$LOG_DIR/tampered-float.out" ||
  fail "the oracle did not name the tampered row and column"
tamper extremes 4 d38 'd38 - 1'
independent_compare_check extremes >"$LOG_DIR/tampered-decimal.out" && { cat "$LOG_DIR/tampered-decimal.out"; fail "a Decimal128 change went unnoticed"; }
grep -Eq "key 4: d38=0949b0f6f0023313c4499050de38f34e \(ClickHouse: 0949b0f6f0023313c4499050de38f34d\)" "$LOG_DIR/tampered-decimal.out" ||
  { cat "$LOG_DIR/tampered-decimal.out"; fail "the oracle did not show the tampered Decimal128"; }
if ((modern)); then
  log "the oracle must catch a last-digit Decimal256 change and an array element change"
  tamper modern 0 big76 'big76 - 1'
  independent_compare_check modern >"$LOG_DIR/tampered-d256.out" && { cat "$LOG_DIR/tampered-d256.out"; fail "a Decimal256 change went unnoticed"; }
  grep -q "key 0: big76=" "$LOG_DIR/tampered-d256.out" || { cat "$LOG_DIR/tampered-d256.out"; fail "the oracle did not show the tampered Decimal256"; }
  tamper modern 3 decs '[toDecimal32(0.01, 2)]'
  independent_compare_check modern >"$LOG_DIR/tampered-array.out" && { cat "$LOG_DIR/tampered-array.out"; fail "an array change went unnoticed"; }
  grep -q "key 3: .*decs=" "$LOG_DIR/tampered-array.out" || { cat "$LOG_DIR/tampered-array.out"; fail "the oracle did not show the tampered array"; }
fi
PUBLICATION=none independent_compare_check >/dev/null 2>&1 && fail "the oracle passed with no table to compare"
log "the oracle caught both"
