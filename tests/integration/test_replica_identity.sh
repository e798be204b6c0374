#!/usr/bin/env bash
# Replica identity DEFAULT, FULL, USING INDEX (no primary key) and NOTHING (insert-only), with updates,
# key updates and deletes; then TRUNCATE of several tables at once, including CASCADE. `verify` must pass.
# clickhouse-engines: server chdb
TEST_PORT_BASE=22600
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE TABLE rid_default (id int PRIMARY KEY, v text, n int);
CREATE TABLE rid_full (id int PRIMARY KEY, v text, n int);
ALTER TABLE rid_full REPLICA IDENTITY FULL;
CREATE TABLE rid_index (code text NOT NULL, region int NOT NULL, v text, n int);
CREATE UNIQUE INDEX rid_index_key ON rid_index (region, code);
ALTER TABLE rid_index REPLICA IDENTITY USING INDEX rid_index_key;
CREATE TABLE rid_nothing (id int PRIMARY KEY, v text);
ALTER TABLE rid_nothing REPLICA IDENTITY NOTHING;
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id));
INSERT INTO rid_default SELECT g, 'v' || g, g FROM generate_series(1, 200) g;
INSERT INTO rid_full SELECT g, 'v' || g, g FROM generate_series(1, 200) g;
INSERT INTO rid_index SELECT 'c' || g, g % 7, 'v' || g, g FROM generate_series(1, 200) g;
INSERT INTO parent SELECT generate_series(1, 50);
INSERT INTO child SELECT g, 1 + g % 50 FROM generate_series(1, 100) g;
SQL
start_replicate
wait_streaming
for t in rid_default rid_full; do
  pg -c "UPDATE $t SET v = NULL, n = n * 2 WHERE id % 3 = 0" -c "UPDATE $t SET id = id + 1000 WHERE id % 7 = 0" \
     -c "DELETE FROM $t WHERE id % 5 = 0" -c "INSERT INTO $t VALUES (5000, 'new', 1)"
done
pg -c "UPDATE rid_index SET v = NULL WHERE n % 3 = 0" -c "UPDATE rid_index SET code = code || 'x' WHERE n % 7 = 0" \
   -c "UPDATE rid_index SET region = region + 100 WHERE n % 11 = 0" -c "DELETE FROM rid_index WHERE n % 5 = 0"
pg -c "INSERT INTO rid_nothing SELECT g, 'v' || g FROM generate_series(1, 100) g"
verify 60
cat "$LOG_DIR/verify.out"
independent_compare

log "TRUNCATE of several tables, with CASCADE, then new rows"
pg -c "TRUNCATE rid_default, rid_full" -c "TRUNCATE parent CASCADE" \
   -c "INSERT INTO rid_default VALUES (1, 'after', 1)" -c "INSERT INTO parent VALUES (7)" -c "INSERT INTO child VALUES (1, 7)"
verify 60
cat "$LOG_DIR/verify.out"
independent_compare
[[ "$(ch "SELECT count() FROM analytics.raw_child FINAL WHERE _deleted = 0")" == 1 ]] || fail "CASCADE truncate of child not applied"
stop_replicate
