#!/usr/bin/env bash
# Schema changes at the edges (issue 11): after each, with no manual step, the table catches up with every row.
# A. ADD COLUMN (with and without a default) and no later change of the table: no Relation message ever comes,
#    yet ClickHouse gets the column (and the default's values); also when the column was added while replicate
#    was down.
# B. ADD COLUMN … DEFAULT on hash-partitioned leaves with large TOASTed values, then an UPDATE of another column
#    (the TOASTed value unchanged): the re-copy must leave ClickHouse a version to take the value from.
# C. ADD COLUMN … DEFAULT (a re-copy) then float4 → float8 of another column, changed in one go: nothing wedges,
#    every table keeps flowing, the widened values arrive exactly. And an insert ClickHouse rejects for one table
#    (a Fatal error of that table) stops only that table; it resumes with a fresh copy once it can.
# clickhouse-engines: server chdb
TEST_PORT_BASE=27100
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE TABLE quiet (id int PRIMARY KEY, v int);
INSERT INTO quiet SELECT g, g FROM generate_series(1, 200) g;
CREATE TABLE busy (id serial PRIMARY KEY, body text);
CREATE TABLE parts (id int PRIMARY KEY, body text, n int) PARTITION BY HASH (id);
CREATE TABLE parts_0 PARTITION OF parts FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES WITH (MODULUS 3, REMAINDER 2);
-- Values of ~4 kB that pglz cannot shrink below 2 kB: stored out of line (TOASTed).
INSERT INTO parts SELECT g, (SELECT string_agg(md5(g::text || '/' || i), '') FROM generate_series(1, 128) i), g
  FROM generate_series(1, 60) g;
CREATE TABLE widen (id int PRIMARY KEY, x float4, note text);
INSERT INTO widen SELECT g, g / 3.0, 'w' || g FROM generate_series(1, 300) g;
CREATE TABLE victim (id int PRIMARY KEY, v int);
INSERT INTO victim SELECT g, g FROM generate_series(1, 200) g;
CREATE PUBLICATION streamshop FOR ALL TABLES;
SQL
start_replicate
wait_streaming
pg -c "INSERT INTO busy (body) SELECT 'start' FROM generate_series(1, 10)"

log "A. ADD COLUMN without and with a default, and no later change of quiet"
pg -c "ALTER TABLE quiet ADD COLUMN c int" -c "ALTER TABLE quiet ADD COLUMN d int NOT NULL DEFAULT 5"
pg -c "ALTER TABLE quiet ADD COLUMN e text DEFAULT 'e'"
# One large transaction of another table first: while replicate decodes it, the statements below commit, so
# each re-copy (run when the stream reaches the table's Relation message) sees the later changes too.
pg -c "INSERT INTO busy (body) SELECT md5(g::text) FROM generate_series(1, 100000) g"
log "B. ADD COLUMN … DEFAULT on the partitions, an UPDATE leaving the TOASTed body unchanged, then deletes"
pg -c "ALTER TABLE parts ADD COLUMN tier int DEFAULT 3" -c "UPDATE parts SET n = n + 1000 WHERE id % 2 = 0" \
  -c "DELETE FROM parts WHERE id % 4 = 0" -c "UPDATE parts SET n = n + 1 WHERE id % 5 = 0"
log "C. ADD COLUMN … DEFAULT (a re-copy), float4 → float8 while it runs, then changes"
pg -c "ALTER TABLE widen ADD COLUMN k int DEFAULT 9" -c "UPDATE widen SET note = note || '?' WHERE id % 3 = 0" \
  -c "ALTER TABLE widen ALTER COLUMN x TYPE float8" \
  -c "UPDATE widen SET x = x * 1.000000001, note = note || '!' WHERE id % 4 = 0" \
  -c "INSERT INTO widen SELECT g, g / 7.0, 'new' FROM generate_series(1001, 1020) g"
log "C. an insert ClickHouse rejects for one table (its raw column changed behind replicate's back) stops only it"
ch "ALTER TABLE analytics.raw_victim MODIFY COLUMN v Nullable(Int64)"
pg -c "UPDATE victim SET v = v + 1 WHERE id <= 50"
wait_until 30 "victim did not stop" grep -q "replication of public.victim stopped" "$LOG_DIR/replicate.log"
pg -c "INSERT INTO busy (body) SELECT 'after' FROM generate_series(1, 100)" -c "DELETE FROM victim WHERE id > 190"

verify 90
cat "$LOG_DIR/verify.out"
independent_compare
[[ "$(ch "SELECT count() FROM analytics.raw_quiet FINAL WHERE _deleted = 0 AND d = 5 AND e = 'e'")" == 200 ]] ||
  fail "quiet's added columns did not get their defaults in ClickHouse"
grep -q "an UPDATE left TOASTed columns unchanged" "$LOG_DIR/replicate.log" && fail "a TOAST lookup failed"
grep "replication of .* stopped" "$LOG_DIR/replicate.log" | grep -qv "public.victim" && fail "a table stopped"
grep -q "replication of public.victim resumes" "$LOG_DIR/replicate.log" || fail "victim did not resume"
kill -0 "$REPLICATE_PID" || fail "replicate exited"

log "A. ADD COLUMN … DEFAULT while replicate is down, no later change of quiet: the start copies it again"
stop_replicate
pg -c "ALTER TABLE quiet ADD COLUMN f int DEFAULT 7"
start_replicate
verify 90
cat "$LOG_DIR/verify.out"
independent_compare quiet
stop_replicate
log "PASS"
