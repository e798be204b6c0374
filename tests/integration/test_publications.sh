#!/usr/bin/env bash
# What the publication publishes is what ClickHouse holds, no more: a column list keeping a PII column out, a row
# filter crossed by UPDATEs both ways, a row filter made void by TABLES IN SCHEMA, a generated column, partitioned
# tables with publish_via_partition_root on (root only; partitions attached and detached while streaming) and off
# (leaves), a keyless table with REPLICA IDENTITY FULL, and one with DEFAULT identity (skipped with a warning, the
# others keep flowing, `verify` says SKIPPED; replicated once its identity is fixed). Snapshot and streaming;
# `verify` must pass, and say so only where it should.
# clickhouse-engines: server chdb
TEST_PORT_BASE=24400
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE TABLE customers (id int PRIMARY KEY, name text, email text, ssn text);
CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, amount int);
ALTER TABLE orders REPLICA IDENTITY FULL;  -- a row filter's columns must be in the replica identity
-- The filter column is in the key (DEFAULT identity): a row entering the filter comes as an INSERT whose unchanged
-- TOASTed value PostgreSQL leaves out.
CREATE TABLE docs (id int, st text, body text, PRIMARY KEY (id, st));
ALTER TABLE docs ALTER body SET STORAGE EXTERNAL;
CREATE TABLE gen (id int PRIMARY KEY, price int, qty int, total int GENERATED ALWAYS AS (price * qty) STORED);
CREATE TABLE measurements (id int, day int, v text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE m1 PARTITION OF measurements FOR VALUES FROM (0) TO (10);
CREATE TABLE m2 PARTITION OF measurements FOR VALUES FROM (10) TO (20);
CREATE TABLE logs_full (at int, msg text, n int);
ALTER TABLE logs_full REPLICA IDENTITY FULL;
ALTER TABLE logs_full ADD COLUMN body text, ALTER body SET STORAGE EXTERNAL;  -- TOASTed, left unchanged by UPDATEs
CREATE TABLE logs_plain (at int, msg text);
CREATE TABLE kv (k int PRIMARY KEY, v text);  -- its column list leaves the key out
CREATE SCHEMA audit;
CREATE TABLE audit.entries (id int PRIMARY KEY, what text);
-- Not published via the root: its leaves are the published tables (second replicate, own database).
CREATE TABLE readings (id int, day int, v text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE r1 PARTITION OF readings FOR VALUES FROM (0) TO (10);
CREATE TABLE r2 PARTITION OF readings FOR VALUES FROM (10) TO (20);

CREATE PUBLICATION streamshop FOR TABLE customers (id, name), orders WHERE (status <> 'draft'),
  docs WHERE (st <> 'draft'), gen, measurements,
  logs_full, logs_plain, kv (v) WITH (publish_via_partition_root = true);
-- PostgreSQL 15 allows no column list next to TABLES IN SCHEMA, but a row filter, which the schema then voids.
CREATE PUBLICATION leaves FOR TABLE readings, audit.entries WHERE (id > 100), TABLES IN SCHEMA audit
  WITH (publish_via_partition_root = false);

INSERT INTO customers SELECT g, 'name ' || g, 'user' || g || '@example.com', 'SECRET-SSN-' || g
  FROM generate_series(1, 300) g;
INSERT INTO orders SELECT g, CASE WHEN g % 3 = 0 THEN 'draft' ELSE 'paid' END, g FROM generate_series(1, 300) g;
INSERT INTO gen SELECT g, g, 2 FROM generate_series(1, 100) g;
INSERT INTO docs SELECT g, CASE WHEN g % 2 = 0 THEN 'draft' ELSE 'final' END, repeat(md5(g::text), 300)
  FROM generate_series(1, 10) g;
INSERT INTO measurements SELECT g, g % 20, 'v' || g FROM generate_series(1, 400) g;
INSERT INTO logs_full SELECT g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'msg ' || g END, g FROM generate_series(1, 200) g;
UPDATE logs_full SET body = repeat(md5(at::text), 200) WHERE at % 3 = 0;
INSERT INTO logs_plain SELECT g, 'plain ' || g FROM generate_series(1, 50) g;
INSERT INTO audit.entries SELECT g, 'entry ' || g FROM generate_series(1, 200) g;
INSERT INTO readings SELECT g, g % 20, 'r' || g FROM generate_series(1, 300) g;
SQL

start_replicate
ROOT_PID=$REPLICATE_PID
"$STREAMSHOP" replicate --progress off --publication leaves --slot leaves --database analytics_leaf \
  >>"$LOG_DIR/replicate-leaves.log" 2>&1 &
LEAVES_PID=$!
BG_PIDS+=("$LEAVES_PID")
wait_streaming
wait_until 60 "replicate (leaves) did not reach streaming" grep -q "streaming changes" "$LOG_DIR/replicate-leaves.log"

log "keyless table with DEFAULT identity: skipped with a warning naming the fix"
grep -q "table public.logs_plain has no primary key.*it is skipped.*REPLICA IDENTITY FULL" "$LOG_DIR/replicate.log" ||
  fail "no warning naming the fix for logs_plain"

log "changes while streaming"
pg <<'SQL'
UPDATE customers SET name = 'renamed ' || id, ssn = 'SECRET-NEW-' || id WHERE id % 5 = 0;
INSERT INTO customers VALUES (1001, 'new', 'new@example.com', 'SECRET-SSN-1001');
DELETE FROM customers WHERE id % 7 = 0;
-- row filter: in and out by INSERT, across the filter by UPDATE both ways, within it, DELETE on both sides
INSERT INTO orders VALUES (1001, 'draft', 1), (1002, 'paid', 2);
UPDATE orders SET status = 'paid' WHERE id IN (3, 6, 9, 1001);             -- enter the filter
UPDATE orders SET status = 'draft', amount = -1 WHERE id IN (1, 2, 4, 1002); -- leave it
UPDATE orders SET amount = amount * 10 WHERE id IN (5, 7, 12);              -- 5, 7 inside; 12 stays a draft
DELETE FROM orders WHERE id IN (8, 15);                                      -- 8 inside, 15 a draft
UPDATE gen SET qty = 5 WHERE id % 2 = 0;
UPDATE docs SET st = 'final' WHERE id IN (2, 4);  -- enter the filter, body (9.6 kB, TOASTed) unchanged
UPDATE docs SET st = 'draft' WHERE id IN (1, 3);  -- leave it
INSERT INTO measurements SELECT g, g % 20, 'v' || g FROM generate_series(401, 450) g;
UPDATE measurements SET v = 'moved', day = 15 WHERE id = 3;                 -- moves from m1 to m2
DELETE FROM measurements WHERE id % 9 = 0;
INSERT INTO logs_full VALUES (1001, 'new', NULL), (1002, NULL, NULL);
UPDATE logs_full SET msg = 'changed' WHERE at % 10 = 1;
UPDATE logs_full SET n = NULL WHERE at % 10 = 2;
DELETE FROM logs_full WHERE at % 10 = 3 OR at = 1002;
INSERT INTO logs_plain VALUES (1001, 'while skipped');
UPDATE audit.entries SET what = 'changed' WHERE id % 10 = 0;
INSERT INTO readings SELECT g, g % 20, 'r' || g FROM generate_series(301, 350) g;
DELETE FROM readings WHERE id % 11 = 0;
SQL
verify 90
cat "$LOG_DIR/verify.out"
grep -q "public.logs_plain .*SKIPPED" "$LOG_DIR/verify.out" || fail "verify does not report logs_plain as skipped"
grep -q "REPLICA IDENTITY FULL" "$LOG_DIR/verify.out" || fail "verify's skip note does not name the fix"
grep -q "public.kv .*SKIPPED" "$LOG_DIR/verify.out" || fail "verify does not report kv as skipped"
grep -q "leaves out its key column k" "$LOG_DIR/replicate.log" || fail "no warning for kv's column list"
for t in public.customers public.orders public.docs public.gen public.measurements public.logs_full; do
  grep -q "^$t .* OK$" "$LOG_DIR/verify.out" || fail "verify did not compare $t"
done

log "column list: the PII columns do not exist in ClickHouse"
cols=$(ch "SELECT groupArray(name) FROM system.columns WHERE database = 'analytics' AND table = 'raw_customers'")
[[ "$cols" == *"'name'"* && "$cols" != *"ssn"* && "$cols" != *"email"* ]] || fail "raw_customers columns: $cols"
[[ "$(ch "SELECT count() FROM system.columns WHERE database = 'analytics' AND name IN ('ssn', 'email')")" == 0 ]] ||
  fail "a PII column reached ClickHouse"
[[ "$(ch "SELECT count() FROM analytics._streamshop_dead_letters" 2>/dev/null || echo 0)" == 0 ]] ||
  fail "dead letters: $(ch "SELECT * FROM analytics._streamshop_dead_letters")"

log "row filter: exactly the rows with status <> 'draft'"
want=$(pg -c "SELECT count(*) || ' ' || sum(amount) FROM orders WHERE status <> 'draft'")
got=$(ch "SELECT concat(toString(count()), ' ', toString(sum(amount))) FROM analytics.raw_orders FINAL WHERE _deleted = 0")
[[ "$want" == "$got" ]] || fail "raw_orders holds $got, the filtered table $want"
[[ "$(ch "SELECT count() FROM analytics.raw_orders FINAL WHERE _deleted = 0 AND status = 'draft'")" == 0 ]] ||
  fail "draft orders reached ClickHouse"
log "row filter void where the schema is published too: all of audit.entries"
[[ "$(ch "SELECT count() FROM analytics_leaf.raw_audit__entries FINAL WHERE _deleted = 0")" == 200 ]] ||
  fail "audit.entries: the row filter was applied although TABLES IN SCHEMA audit publishes every row"

[[ "$(ch "SELECT groupArray(id) FROM (SELECT id FROM analytics.raw_docs FINAL WHERE _deleted = 0 AND length(body) = 9600 ORDER BY id)")" == "[2,4,5,7,9]" ]] ||
  fail "docs entering the filter lost their unchanged TOASTed body: $(ch "SELECT id, st, length(body) FROM analytics.raw_docs FINAL WHERE _deleted = 0")"

log "generated column: not published, not in ClickHouse"
[[ "$(ch "SELECT count() FROM system.columns WHERE database = 'analytics' AND table = 'raw_gen' AND name = 'total'")" == 0 ]] ||
  fail "generated column total reached ClickHouse"

log "publish_via_partition_root: only the root's raw_ table; off: only the leaves'"
tables=$(ch "SELECT groupArray(name) FROM system.tables WHERE database = 'analytics' AND name LIKE 'raw_%'")
[[ "$tables" == *"'raw_measurements'"* && "$tables" != *"'raw_m1'"* && "$tables" != *"'raw_m2'"* ]] ||
  fail "tables with publish_via_partition_root = true: $tables"
tables=$(ch "SELECT groupArray(name) FROM system.tables WHERE database = 'analytics_leaf' AND name LIKE 'raw_%'")
[[ "$tables" == *"'raw_r1'"* && "$tables" == *"'raw_r2'"* && "$tables" != *"'raw_readings'"* ]] ||
  fail "tables with publish_via_partition_root = false: $tables"
verify_leaves() {
  "$STREAMSHOP" verify --publication leaves --database analytics_leaf --wait 90 >"$LOG_DIR/verify-leaves.out" 2>&1 ||
    { cat "$LOG_DIR/verify-leaves.out"; fail "verify (leaves) failed"; }
  cat "$LOG_DIR/verify-leaves.out"
}
verify_leaves

log "partitions attached and detached while streaming"
pg <<'SQL'
CREATE TABLE m3 (id int, day int, v text, PRIMARY KEY (id, day));
INSERT INTO m3 SELECT g, 20 + g % 10, 'attached ' || g FROM generate_series(1001, 1100) g;
ALTER TABLE measurements ATTACH PARTITION m3 FOR VALUES FROM (20) TO (30);
ALTER TABLE measurements DETACH PARTITION m1;
INSERT INTO measurements SELECT g, 10 + g % 20, 'after ' || g FROM generate_series(2001, 2060) g;
UPDATE measurements SET v = 'upd' WHERE id % 13 = 0;
CREATE TABLE r3 (id int, day int, v text, PRIMARY KEY (id, day));
INSERT INTO r3 SELECT g, 20 + g % 10, 'attached ' || g FROM generate_series(1001, 1100) g;
ALTER TABLE readings ATTACH PARTITION r3 FOR VALUES FROM (20) TO (30);
ALTER TABLE readings DETACH PARTITION r1;
INSERT INTO readings SELECT g, 10 + g % 20, 'after ' || g FROM generate_series(2001, 2060) g;
SQL
wait_until 60 "the root was not copied again after ATTACH/DETACH" \
  grep -q "the row filter or the partitions of public.measurements changed" "$LOG_DIR/replicate.log"
sleep 1
pg -c "INSERT INTO measurements VALUES (3001, 25, 'late')"
verify 90
cat "$LOG_DIR/verify.out"
want=$(pg -c "SELECT count(*) FROM measurements")
wait_until 30 "raw_measurements does not hold the $want rows of the root" \
  test "$(ch "SELECT count() FROM analytics.raw_measurements FINAL WHERE _deleted = 0")" == "$want"
verify_leaves
grep -q "public.r3 .* OK$" "$LOG_DIR/verify-leaves.out" || fail "the attached leaf r3 is not replicated"

log "publication changed while streaming: a wider column list, another row filter"
pg <<'SQL'
BEGIN;
ALTER PUBLICATION streamshop DROP TABLE customers, orders;
ALTER PUBLICATION streamshop ADD TABLE customers (id, name, email), orders WHERE (amount > 100);
COMMIT;
UPDATE customers SET name = name || '!' WHERE id = 1;
UPDATE orders SET amount = amount + 1 WHERE id IN (150, 250);
SQL
wait_until 60 "orders was not copied again after its row filter changed" \
  grep -q "the row filter or the partitions of public.orders changed" "$LOG_DIR/replicate.log"
verify 90
want=$(pg -c "SELECT count(*) || ' ' || sum(amount) FROM orders WHERE amount > 100")
got=$(ch "SELECT concat(toString(count()), ' ', toString(sum(amount))) FROM analytics.raw_orders FINAL WHERE _deleted = 0")
[[ "$want" == "$got" ]] || fail "raw_orders holds $got after the new row filter, PostgreSQL $want"
want=$(pg -c "SELECT count(email) FROM customers")
got=$(ch "SELECT count(email) FROM analytics.raw_customers FINAL WHERE _deleted = 0")
[[ "$want" == "$got" ]] || fail "raw_customers has $got emails after the column list grew, PostgreSQL $want"
[[ "$(ch "SELECT count() FROM system.columns WHERE database = 'analytics' AND name = 'ssn'")" == 0 ]] ||
  fail "ssn reached ClickHouse"

log "DEFAULT identity fixed: the skipped table is copied and replicated"
pg -c "ALTER TABLE logs_plain REPLICA IDENTITY FULL" -c "INSERT INTO logs_plain VALUES (1002, 'after the fix')"
verify 90
grep -q "^public.logs_plain .* OK$" "$LOG_DIR/verify.out" || { cat "$LOG_DIR/verify.out"; fail "logs_plain not replicated after the fix"; }
[[ "$(ch "SELECT count() FROM analytics.raw_logs_plain FINAL WHERE _deleted = 0")" == 52 ]] || fail "logs_plain rows"

log "keyless table: PostgreSQL rows equal in every value are one row in ClickHouse, and verify says so"
pg -c "INSERT INTO logs_full VALUES (7, 'twin', 7), (7, 'twin', 7)"
sleep 2
set +e
"$STREAMSHOP" verify >"$LOG_DIR/verify-dup.out" 2>&1
rc=$?
set -e
((rc == 2)) || { cat "$LOG_DIR/verify-dup.out"; fail "verify exit $rc with duplicate rows in a keyless table, expected 2"; }
grep -q "duplicate row in PostgreSQL" "$LOG_DIR/verify-dup.out" || { cat "$LOG_DIR/verify-dup.out"; fail "duplicates not reported"; }
pg -c "DELETE FROM logs_full WHERE msg = 'twin'"
verify 60

grep -q "raw_m1\|public.m1 joined\|m1 .*announced" "$LOG_DIR/replicate.log" && fail "a leaf partition was announced as a table"
log "a keyless table gets a primary key: stopped, naming the fix, until its raw table is made again"
pg -c "ALTER TABLE logs_full REPLICA IDENTITY DEFAULT" -c "ALTER TABLE logs_full ADD PRIMARY KEY (at)" \
   -c "UPDATE logs_full SET n = 0 WHERE at = 5"
wait_until 30 "no stop for logs_full after its key changed" grep -q "replication of public.logs_full stopped" \
  "$LOG_DIR/replicate.log"
grep "replication of public.logs_full stopped" "$LOG_DIR/replicate.log" | grep -q "DROP TABLE" ||
  fail "the stop of logs_full does not name the fix"

stop_clean "$LEAVES_PID" "replicate (leaves)"
stop_clean "$ROOT_PID" "replicate"

log "row filter changed while replicate is stopped: noticed at start, the table is copied again"
pg -c "BEGIN" -c "ALTER PUBLICATION streamshop DROP TABLE orders" \
   -c "ALTER PUBLICATION streamshop ADD TABLE orders WHERE (status = 'paid')" -c "COMMIT"
ch "DROP TABLE analytics.raw_logs_full"  # the named fix
start_replicate
two_sessions() { (($(grep -c "streaming changes" "$LOG_DIR/replicate.log") >= 2)); }
wait_until 60 "replicate did not reach streaming again" two_sessions
grep -q "the row filter or the partitions of public.orders changed while streamshop was stopped" \
  "$LOG_DIR/replicate.log" || fail "the row filter changed while stopped was not noticed"
verify 60
grep -q "^public.logs_full .* OK$" "$LOG_DIR/verify.out" || fail "logs_full was not copied again with its key"
want=$(pg -c "SELECT count(*) FROM orders WHERE status = 'paid'")
[[ "$(ch "SELECT count() FROM analytics.raw_orders FINAL WHERE _deleted = 0")" == "$want" ]] ||
  fail "raw_orders does not hold the $want rows of the new filter"
stop_replicate
