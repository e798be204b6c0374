#!/usr/bin/env bash
# Snapshot of pre-existing rows, then streaming of a random mix of inserts, updates (incl. primary-key
# updates), deletes and NULLs over every supported type, in many small and a few large transactions.
# `verify` must pass, an independent SQL comparison must agree, and verify must catch a tampered row.
# clickhouse-engines: server chdb
# ctest-timeout: 1500
TEST_PORT_BASE=31100
source "$(dirname "$0")/lib.sh" "$1"

pg -f "$REPO/sql/sample/workload.sql"
log "pre-existing rows: 300 transactions + one bulk transaction"
pg -c "CALL random_workload($(pg_seed 1), 300, 10)"
pg -c "INSERT INTO typed SELECT (typed_row(nextval('typed_ids'))).* FROM generate_series(1, 20000)"

start_replicate
wait_streaming
log "streaming: 3000 small transactions and 3 large ones"
pg -c "CALL random_workload($(pg_seed 2), 3000, 6)"
pg -c "CALL random_workload($(pg_seed 3), 3, 20000)"
pg -c "UPDATE typed SET big = NULL, code = 'bulk' WHERE id % 10 = 3"
verify 120
cat "$LOG_DIR/verify.out"
stop_replicate

log "independent comparison: PostgreSQL text vs ClickHouse toString per row"
pg -F $'\t' -c "SELECT id, coalesce(flag::int::text, 'NULL'), coalesce(small::text, 'NULL'), coalesce(num::text, 'NULL'),
  coalesce(big::text, 'NULL'), coalesce(price::text, 'NULL'), coalesce(code, 'NULL'), coalesce(ref::text, 'NULL'),
  coalesce((day - date '1970-01-01')::text, 'NULL'), coalesce((extract(epoch FROM at_tz) * 1000000)::bigint::text, 'NULL'),
  coalesce(md5(body), 'NULL'), coalesce(encode(blob, 'hex'), 'NULL') FROM typed ORDER BY id" >"$LOG_DIR/pg.tsv"
# Legacy columns hold days and µs as integers; modern ones are Date32/DateTime64, and print Decimals without
# trailing zeros.
price=price day=day at_tz=at_tz
((CH_MODERN)) && price="toDecimalString(price, 2)" day="toInt32(day)" at_tz="toUnixTimestamp64Micro(at_tz)"
ch "SELECT id, ifNull(toString(toUInt8(flag)), 'NULL'), ifNull(toString(small), 'NULL'), ifNull(toString(num), 'NULL'),
  ifNull(toString(big), 'NULL'), ifNull(toString($price), 'NULL'), ifNull(code, 'NULL'), ifNull(toString(ref), 'NULL'),
  ifNull(toString($day), 'NULL'), ifNull(toString($at_tz), 'NULL'), ifNull(lower(hex(MD5(body))), 'NULL'),
  ifNull(lower(hex(blob)), 'NULL') FROM analytics.raw_typed FINAL WHERE _deleted = 0 ORDER BY id FORMAT TSV" >"$LOG_DIR/ch.tsv"
rows=$(wc -l <"$LOG_DIR/pg.tsv")
((rows > 10000)) || fail "expected more than 10000 rows in typed, got $rows"
diff -q "$LOG_DIR/pg.tsv" "$LOG_DIR/ch.tsv" >/dev/null || fail "independent comparison differs: diff $LOG_DIR/pg.tsv $LOG_DIR/ch.tsv"
[[ "$(pg -c "SELECT sum(price) FROM typed")" == "$(ch "SELECT toString(${price/price/sum(price)}) FROM analytics.raw_typed FINAL WHERE _deleted = 0")" ]] ||
  fail "sum(price) differs"
log "independent comparison agrees on $rows rows"
independent_compare

log "verify must notice a changed value, a lost row and an extra row"
victim=$(pg -c "SELECT id FROM typed WHERE code IS NOT NULL ORDER BY id LIMIT 1")
ch "INSERT INTO analytics.raw_typed (id, code, _version, _deleted) VALUES ($victim, 'tampered', 18446744073709551615, 0)"
ch "INSERT INTO analytics.raw_pairs (tenant, seq, _version, _deleted) VALUES ('zz', 1, 1, 0)"
gone=$(pg -c "SELECT tenant || ',' || seq FROM pairs ORDER BY 1 LIMIT 1")
ch "INSERT INTO analytics.raw_pairs (tenant, seq, _version, _deleted) VALUES ('${gone%,*}', ${gone#*,}, 18446744073709551615, 1)"
set +e
"$STREAMSHOP" verify >"$LOG_DIR/verify-tampered.out" 2>&1
rc=$?
set -e
cat "$LOG_DIR/verify-tampered.out"
((rc == 2)) || fail "verify exited $rc on tampered data, expected 2"
grep -q "id=$victim (values differ)" "$LOG_DIR/verify-tampered.out" || fail "verify did not name the changed key"
grep -q "tenant=zz, seq=1 (only in ClickHouse)" "$LOG_DIR/verify-tampered.out" || fail "verify did not name the extra key"
grep -q "(missing in ClickHouse)" "$LOG_DIR/verify-tampered.out" || fail "verify did not name the missing key"
