#!/usr/bin/env bash
# Publication semantics through Kafka: `capture` (snapshot and stream) → `sink` → ClickHouse holds what the
# publication publishes — a column list keeps a PII column out, a row filter holds crossed by UPDATEs (a row entering
# it keeps its unchanged TOASTed value), a partitioned table published via its root is one topic (no topic, no table
# for its leaves), a keyless table with REPLICA IDENTITY FULL travels with a null key and is stored by its values, a
# keyless DEFAULT one is skipped with a warning; `verify` passes.
TEST_PORT_BASE=24500
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE TABLE customers (id int PRIMARY KEY, name text, ssn text);
CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, amount int);
ALTER TABLE orders REPLICA IDENTITY FULL;
CREATE TABLE docs (id int, st text, body text, PRIMARY KEY (id, st));
ALTER TABLE docs ALTER body SET STORAGE EXTERNAL;
CREATE TABLE measurements (id int, day int, v text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE m1 PARTITION OF measurements FOR VALUES FROM (0) TO (10);
CREATE TABLE m2 PARTITION OF measurements FOR VALUES FROM (10) TO (20);
CREATE TABLE logs_full (at int, msg text);
ALTER TABLE logs_full REPLICA IDENTITY FULL;
ALTER TABLE logs_full ADD COLUMN body text, ALTER body SET STORAGE EXTERNAL;  -- TOASTed, left unchanged by UPDATEs
CREATE TABLE logs_plain (at int, msg text);
CREATE PUBLICATION streamshop FOR TABLE customers (id, name), orders WHERE (status <> 'draft'),
  docs WHERE (st <> 'draft'), measurements,
  logs_full, logs_plain WITH (publish_via_partition_root = true);
INSERT INTO customers SELECT g, 'name ' || g, 'SECRET-SSN-' || g FROM generate_series(1, 200) g;
INSERT INTO orders SELECT g, CASE WHEN g % 3 = 0 THEN 'draft' ELSE 'paid' END, g FROM generate_series(1, 200) g;
INSERT INTO measurements SELECT g, g % 20, 'v' || g FROM generate_series(1, 200) g;
INSERT INTO docs SELECT g, CASE WHEN g % 2 = 0 THEN 'draft' ELSE 'final' END, repeat(md5(g::text), 300)
  FROM generate_series(1, 10) g;
INSERT INTO logs_full SELECT g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'msg ' || g END FROM generate_series(1, 100) g;
UPDATE logs_full SET body = repeat(md5(at::text), 200) WHERE at % 3 = 0;
INSERT INTO logs_plain SELECT g, 'plain ' || g FROM generate_series(1, 20) g;
SQL

start_capture
CAP=$CAPTURE_PID
start_sink a --flush-ms 100
SINK=$SINK_PID
wait_capture_streaming
grep -q "table public.logs_plain has no primary key.*it is skipped" "$LOG_DIR/capture.log" ||
  fail "capture did not warn about logs_plain"

pg <<'SQL'
UPDATE customers SET name = 'renamed', ssn = 'SECRET-NEW' WHERE id % 5 = 0;
DELETE FROM customers WHERE id % 7 = 0;
INSERT INTO orders VALUES (1001, 'draft', 1), (1002, 'paid', 2);
UPDATE orders SET status = 'paid' WHERE id IN (3, 6, 1001);
UPDATE orders SET status = 'draft' WHERE id IN (1, 2, 1002);
DELETE FROM orders WHERE id IN (4, 9);
UPDATE docs SET st = 'final' WHERE id IN (2, 4);  -- enter the filter, the TOASTed body unchanged
UPDATE docs SET st = 'draft' WHERE id IN (1, 3);
INSERT INTO measurements SELECT g, g % 20, 'v' || g FROM generate_series(201, 250) g;
UPDATE measurements SET day = 15 WHERE id = 3;
DELETE FROM measurements WHERE id % 9 = 0;
UPDATE logs_full SET msg = 'changed' WHERE at % 10 = 1;
DELETE FROM logs_full WHERE at % 10 = 3;
INSERT INTO logs_plain VALUES (1001, 'while skipped');
SQL
verify 120
cat "$LOG_DIR/verify.out"
for t in public.customers public.orders public.docs public.measurements public.logs_full; do
  grep -q "^$t .* OK$" "$LOG_DIR/verify.out" || fail "verify did not compare $t"
done
grep -q "^public.logs_plain .*SKIPPED" "$LOG_DIR/verify.out" || fail "verify does not report logs_plain as skipped"

[[ "$(ch "SELECT count() FROM system.columns WHERE database = 'analytics' AND name = 'ssn'")" == 0 ]] ||
  fail "the PII column ssn reached ClickHouse through Kafka"
want=$(pg -c "SELECT count(*) FROM orders WHERE status <> 'draft'")
[[ "$(ch "SELECT count() FROM analytics.raw_orders FINAL WHERE _deleted = 0")" == "$want" ]] || fail "raw_orders"
tables=$(ch "SELECT groupArray(name) FROM system.tables WHERE database = 'analytics' AND name LIKE 'raw_%'")
[[ "$tables" == *"'raw_measurements'"* && "$tables" != *"'raw_m1'"* && "$tables" != *"'raw_m2'"* ]] ||
  fail "tables with publish_via_partition_root = true: $tables"
grep -q "public.m1\|public.m2" "$LOG_DIR/capture.log" && fail "capture announced a leaf partition"
grep -q "dead letter" "$LOG_DIR"/sink-*.log && fail "the sink dead-lettered records"

stop_clean "$SINK" "sink"
stop_clean "$CAP" "capture"
