#!/usr/bin/env bash
# Type torture: every type and edge value, through the snapshot and through the stream. `verify` must pass
# and spot checks must find the exact PostgreSQL text in ClickHouse (composites: a JSON object of their fields). A value ClickHouse cannot hold (numeric
# NaN in a Decimal column, a timestamp past Int64 µs) keeps its row in the raw table — NULL in the column,
# the PostgreSQL text in _unfit — with a dead letter as the record; verify agrees.
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
CREATE TABLE unfit (id int PRIMARY KEY, small numeric(3, 2), far timestamp, ok text);
INSERT INTO unfit VALUES (1, 'NaN', '2020-01-01', 'snapshot'), (2, 1.25, '294270-01-01 00:00:00', 'snapshot');
SQL

start_replicate
wait_streaming
log "the same values through the stream, then updates to NULL and back"
pg -c "CALL insert_torture(10)"
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
