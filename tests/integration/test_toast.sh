#!/usr/bin/env bash
# An UPDATE that does not touch a TOASTed column (REPLICA IDENTITY DEFAULT: PostgreSQL sends it as
# "unchanged") must leave that column's value in ClickHouse exactly as it was: 100 updates of another column,
# a primary-key update, and rows whose big value was itself streamed rather than snapshotted.
# clickhouse-engines: server chdb
TEST_PORT_BASE=22200
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE TABLE docs (id int PRIMARY KEY, counter int, body text, meta jsonb);
-- ~64 kB of barely compressible text: stored out of line (TOAST)
CREATE FUNCTION big_text(seed int) RETURNS text LANGUAGE sql AS
  $$ SELECT string_agg(md5((seed * 1000 + g)::text), '') FROM generate_series(1, 2000) g $$;
INSERT INTO docs SELECT g, 0, big_text(g), jsonb_build_object('blob', big_text(g + 100)) FROM generate_series(1, 5) g;
SQL
[[ "$(pg -c "SELECT pg_relation_size(reltoastrelid) > 100000 FROM pg_class WHERE relname = 'docs'")" == t ]] || fail "body is not TOASTed"

start_replicate --flush-ms 50
wait_streaming
log "rows streamed (not snapshotted) with TOASTed values, then 100 updates of another column"
pg -c "INSERT INTO docs SELECT g, 0, big_text(g), jsonb_build_object('blob', big_text(g + 100)) FROM generate_series(6, 8) g"
for i in $(seq 1 100); do echo "UPDATE docs SET counter = counter + 1 WHERE id IN (1, 6, $((1 + i % 8)));"; done | pg
log "a primary-key update that leaves the TOASTed columns unchanged, and one that changes them"
pg -c "UPDATE docs SET id = 100 WHERE id = 2" -c "UPDATE docs SET counter = -1 WHERE id = 100"
pg -c "UPDATE docs SET body = big_text(999) WHERE id = 3" -c "UPDATE docs SET counter = 7 WHERE id = 3"
verify 60
cat "$LOG_DIR/verify.out"
stop_replicate

log "independent check: lengths and hashes of the TOASTed columns"
pg -F $'\t' -c "SELECT id, counter, md5(body), md5(meta::text) FROM docs ORDER BY id" >"$LOG_DIR/pg.tsv"
ch "SELECT id, counter, lower(hex(MD5(body))), lower(hex(MD5(meta))) FROM analytics.raw_docs FINAL WHERE _deleted = 0 ORDER BY id FORMAT TSV" >"$LOG_DIR/ch.tsv"
diff "$LOG_DIR/pg.tsv" "$LOG_DIR/ch.tsv" || fail "TOASTed values differ"
[[ "$(ch "SELECT min(length(body)) FROM analytics.raw_docs FINAL WHERE _deleted = 0")" == 64000 ]] || fail "a body is not 64000 bytes"
