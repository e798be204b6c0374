#!/usr/bin/env bash
# Key identity is the encoded key, never its rendering: primary-key updates on a composite text key whose values
# look like separators (", b=", "=", quotes, 'NULL', empty strings) — through the snapshot, the stream, REPLICA
# IDENTITY FULL and unchanged TOASTed values — leave no ghost row (verify and a direct count agree). A key value
# ClickHouse cannot hold (numeric NaN) is reported by verify and kept in the dead letters.
# clickhouse-engines: server chdb
TEST_PORT_BASE=26100
source "$(dirname "$0")/lib.sh" "$1"

pg <<'SQL'
CREATE TABLE pairs (a text, b text, v int, PRIMARY KEY (a, b));
CREATE TABLE pairs_full (a text, b text, v int, doc text, PRIMARY KEY (a, b));
ALTER TABLE pairs_full REPLICA IDENTITY FULL;
CREATE TABLE pairs_toast (a text, b text, doc text, PRIMARY KEY (a, b));
ALTER TABLE pairs_toast ALTER COLUMN doc SET STORAGE EXTERNAL;
CREATE TABLE nkeys (id numeric(3, 2) PRIMARY KEY, v int);
INSERT INTO pairs VALUES ('x, b=y', 'z', 1), ('s', 'snap, b=t', 2);
SQL
start_replicate
wait_streaming

log "primary-key updates whose old and new keys render alike"
for t in pairs pairs_full; do
  pg <<SQL
INSERT INTO $t (a, b, v) VALUES ('k1, b=k2', 'k3', 10), ('=', '', 11), ('''q''', 'NULL', 12), ('', 'e', 13), ('m', 'n', 14);
-- a and b change so that "a=…, b=…" is the same text before and after
UPDATE $t SET a = 'k1', b = 'k2, b=k3' WHERE a = 'k1, b=k2';
-- values move between the columns
UPDATE $t SET a = '', b = '=' WHERE a = '=' AND b = '';
-- only one column changes, to separator-like and NULL-like text
UPDATE $t SET b = 'NULL, b=' WHERE a = '''q''';
UPDATE $t SET a = 'e', b = '' WHERE a = '' AND b = 'e';
UPDATE $t SET a = 'm, b=n' , b = '' WHERE a = 'm';
-- a key change and back within one transaction, then the same key rewritten
BEGIN; UPDATE $t SET a = 'k1, b' WHERE a = 'k1'; UPDATE $t SET a = 'k1' WHERE a = 'k1, b'; COMMIT;
UPDATE $t SET a = a, v = v + 1;
SQL
done
pg -c "UPDATE pairs SET a = 'x', b = 'y, b=z' WHERE a = 'x, b=y'" -c "UPDATE pairs SET a = 's, b=snap', b = 't' WHERE a = 's'"
log "primary-key update that leaves a TOASTed value unchanged"
pg -c "INSERT INTO pairs_toast SELECT 'p, b=q', 'r', string_agg(md5(g::text), '') FROM generate_series(1, 400) g"
pg -c "UPDATE pairs_toast SET a = 'p', b = 'q, b=r'"

verify 60
cat "$LOG_DIR/verify.out"
# Independent of verify: no ghost (live rows per table equal PostgreSQL's, old keys deleted).
for t in pairs pairs_full pairs_toast; do
  pg_n=$(pg -c "SELECT count(*) FROM $t")
  ch_n=$(ch "SELECT count() FROM analytics.raw_$t FINAL WHERE _deleted = 0")
  [[ "$pg_n" == "$ch_n" ]] || fail "$t: PostgreSQL has $pg_n rows, ClickHouse $ch_n (ghost rows)"
done
[[ "$(ch "SELECT count() FROM analytics.raw_pairs FINAL WHERE _deleted = 0 AND a = 'k1, b=k2'")" == 0 ]] ||
  fail "the old key 'k1, b=k2' is still live in raw_pairs"
[[ "$(ch "SELECT length(doc) FROM analytics.raw_pairs_toast FINAL WHERE _deleted = 0 AND a = 'p'")" == 12800 ]] ||
  fail "the TOASTed value did not follow the key change"

log "a key value ClickHouse cannot hold: dead letter, reported by verify; the other rows flow"
pg -c "INSERT INTO nkeys VALUES (1.5, 1), ('NaN', 2), (2.25, 3)"
dead_letter() { [[ "$(ch "SELECT count() FROM analytics._streamshop_dead_letters WHERE table = 'public.nkeys'" 2>/dev/null)" -ge 1 ]]; }
wait_until 30 "no dead letter for the NaN key" dead_letter
ch "SELECT reason FROM analytics._streamshop_dead_letters WHERE table = 'public.nkeys'" | grep -q "only copy" ||
  fail "the dead letter does not say it is the row's only copy"
set +e
"$STREAMSHOP" verify >"$LOG_DIR/verify-nan.out" 2>&1
rc=$?
set -e
cat "$LOG_DIR/verify-nan.out"
((rc == 2)) || fail "verify exited $rc with a key ClickHouse cannot hold (expected 2)"
grep -q "id=NaN (only in the dead letters" "$LOG_DIR/verify-nan.out" || fail "verify does not report the NaN key row"
grep -E "^public.pairs .* OK$" "$LOG_DIR/verify-nan.out" >/dev/null || fail "other tables are not OK"
[[ "$(ch "SELECT count() FROM analytics.raw_nkeys FINAL WHERE _deleted = 0")" == 2 ]] || fail "the other nkeys rows are missing"
pg -c "DELETE FROM nkeys WHERE id = 'NaN'"
verify 60
stop_replicate
