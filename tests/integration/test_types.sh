#!/usr/bin/env bash
# Type torture: every type and edge value, through the snapshot and through the stream. `verify` must pass
# and spot checks must find the exact PostgreSQL text in ClickHouse (composites: a JSON object of their fields). A value ClickHouse cannot hold (numeric
# NaN in a Decimal column, a timestamp past Int64 µs) keeps its row in the raw table — NULL in the column,
# the PostgreSQL text in _unfit — with a dead letter as the record; verify agrees.
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
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
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
SQL

start_replicate
wait_streaming
log "the same values through the stream, then updates to NULL and back"
pg -c "CALL insert_torture(10)" -c "CALL insert_extremes(10)"
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
ch "SELECT id, small, _unfit, ok FROM analytics.raw_unfit FINAL WHERE _deleted = 0 ORDER BY id FORMAT TSV" >"$LOG_DIR/unfit.tsv"
diff "$LOG_DIR/unfit.tsv" - <<'EOF' || fail "raw_unfit does not hold every row as documented"
1	\N	{"small":"NaN"}	snapshot
2	\N	{"small":"NaN","far":"294270-01-01 00:00:00"}	updated
3	\N	{"far":"294276-12-31 23:59:59"}	stream
4	0.50	\N	stream
5	9.99	\N	fits
EOF
[[ "$(ch "SELECT count() FROM analytics._streamshop_dead_letters WHERE table = 'public.unfit'")" -ge 4 ]] ||
  fail "not every unfit value has a dead letter"
stop_replicate

log "spot checks: exact PostgreSQL text in ClickHouse"
for col in n_free c vc t u j jb tm tmtz iv ip net mac cash feeling pos ints texts kv; do
  pg -F $'\t' -c "SELECT id, CASE WHEN $col IS NULL THEN 'NULL' ELSE md5(format('%s', $col)) END FROM torture ORDER BY id" >"$LOG_DIR/pg.$col"
  ch "SELECT id, ifNull(lower(hex(MD5(toString($col)))), 'NULL') FROM analytics.raw_torture FINAL WHERE _deleted = 0 ORDER BY id FORMAT TSV" >"$LOG_DIR/ch.$col"
  diff -q "$LOG_DIR/pg.$col" "$LOG_DIR/ch.$col" >/dev/null || fail "column $col differs: diff $LOG_DIR/pg.$col $LOG_DIR/ch.$col"
done
pg -F $'\t' -c "SELECT id, coalesce((d - date '1970-01-01')::text, 'NULL'),
  coalesce(CASE WHEN isfinite(ts) THEN (extract(epoch FROM ts) * 1000000)::numeric(30)::text END, 'inf'),
  coalesce(encode(by, 'hex'), 'NULL') FROM torture ORDER BY id" >"$LOG_DIR/pg.time"
ch "SELECT id, ifNull(toString(d), 'NULL'), if(abs(ts) = 9223372036854775807 OR ts = -9223372036854775808, 'inf', ifNull(toString(ts), 'inf')),
  ifNull(lower(hex(by)), 'NULL') FROM analytics.raw_torture FINAL WHERE _deleted = 0 ORDER BY id FORMAT TSV" >"$LOG_DIR/ch.time"
diff "$LOG_DIR/pg.time" "$LOG_DIR/ch.time" || fail "dates, timestamps or bytea differ"
[[ "$(ch "SELECT length(t) FROM analytics.raw_torture FINAL WHERE id = 12")" == 10485760 ]] || fail "10 MB text truncated"
log "composite values as JSON objects of their fields' PostgreSQL text"
[[ "$(ch "SELECT pr FROM analytics.raw_torture FINAL WHERE id = 11 FORMAT TSVRaw")" == '{"a":"-1","b":"x,\"y\""}' ]] ||
  fail "composite as JSON: $(ch "SELECT pr FROM analytics.raw_torture FINAL WHERE id = 11 FORMAT TSVRaw")"
[[ "$(ch "SELECT pr FROM analytics.raw_torture FINAL WHERE id = 0 FORMAT TSVRaw")" == '{"a":"0","b":""}' ]] || fail "composite of an empty string"

log "the independent oracle agrees, including Decimal128, float bits, integer extremes, BC and infinite times"
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
PUBLICATION=none independent_compare_check >/dev/null 2>&1 && fail "the oracle passed with no table to compare"
log "the oracle caught both"
