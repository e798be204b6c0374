#!/usr/bin/env bash
# Clear errors for what users get wrong: table without primary key (skipped with a warning naming the fix), role
# without REPLICATION, slot in use by another process, ClickHouse unreachable (retries, slot position kept),
# wal_level not logical, bad arguments; graceful exit 0 on SIGINT.
TEST_PORT_BASE=31400
source "$(dirname "$0")/lib.sh" "$1"

# Runs streamshop with a timeout; captures output in $OUT and exit code in $RC.
run() {
  set +e
  OUT=$(timeout "${TIMEOUT:-20}" "$STREAMSHOP" "$@" 2>&1)
  RC=$?
  set -e
}
expect() { grep -qF -- "$1" <<<"$OUT" || { echo "$OUT"; fail "expected output to contain: $1"; }; }

pg -c "CREATE TABLE keyless (a int, b text)"
TIMEOUT=8 run replicate --progress off
((RC == 124)) || fail "keyless table: exit $RC, expected replicate to keep running (the table is skipped)"
expect "table public.keyless has no primary key"
expect "it is skipped"
expect "ADD PRIMARY KEY"
expect "REPLICA IDENTITY FULL"
expect "streaming changes"
pg -c "SELECT pg_drop_replication_slot('streamshop')" >/dev/null
pg -c "ALTER TABLE keyless ADD PRIMARY KEY (a)"

pg -c "CREATE ROLE plain LOGIN PASSWORD 'plain-Pw1'"   # the stack authenticates every login (scram-sha-256)
PGPASSWORD=plain-Pw1 run replicate --progress off --pg "postgresql://plain@127.0.0.1:$STREAMSHOP_PG_PORT/streamshop"
((RC == 1)) || fail "role without REPLICATION: exit $RC"
expect "role 'plain' may not use replication: run ALTER ROLE \"plain\" REPLICATION"

log "ClickHouse unreachable: retries with backoff and keeps the slot position"
pg -c "INSERT INTO keyless VALUES (1, 'one')"
TIMEOUT=6 run replicate --progress off --clickhouse http://127.0.0.1:1
((RC == 124)) || fail "unreachable ClickHouse: replicate should keep retrying until stopped, exit $RC"
expect "ClickHouse at http://127.0.0.1:1/ unreachable"
expect "retrying in"
[[ -z "$(pg -c "SELECT 1 FROM pg_replication_slots")" ]] || fail "a slot was created without ClickHouse"

log "slot in use by another process"
start_replicate
wait_streaming
TIMEOUT=4 run replicate --progress off
((RC == 124)) || fail "slot in use: replicate should wait and retry until stopped, exit $RC"
expect "replication slot 'streamshop' is in use by PostgreSQL backend pid"
log "SIGINT stops cleanly with exit 0"
kill -INT "$REPLICATE_PID"
wait "$REPLICATE_PID" || fail "replicate exited non-zero after SIGINT"
grep -q "stopped cleanly" "$LOG_DIR/replicate.log" || fail "no clean-stop message"
verify 30

log "verify: 2 for differences, 3 when it compared no table (nothing proven)"
run verify --publication no_such_publication
((RC == 3)) || fail "verify of a publication that does not exist: exit $RC, expected 3"
expect "verify compared no tables: publication 'no_such_publication' has none or does not exist"
ch "INSERT INTO analytics.raw_keyless (a, b, _version, _deleted) VALUES (1, 'changed', 18446744073709551615, 0)"
run verify
((RC == 2)) || fail "verify of a changed row: exit $RC, expected 2"
expect "verify: DIFFERENCES FOUND"

log "wal_level not logical"
pg -c "SELECT pg_drop_replication_slot('streamshop')"  # PostgreSQL will not start with a logical slot otherwise
pg -c "ALTER SYSTEM SET wal_level = replica"
bash "$REPO/scripts/stack.sh" restart-postgres >/dev/null
run replicate --progress off
((RC == 1)) || fail "wal_level=replica: exit $RC"
expect "wal_level is 'replica', logical replication needs 'logical'"
pg -c "ALTER SYSTEM RESET wal_level"

run replicate --batch-rows nope
((RC == 105)) || fail "a bad option value: exit $RC, expected CLI11's 105 (validation error)"
expect "--batch-rows: Value nope not in range 1 to 1000000000"
run replicate --help
((RC == 0)) || fail "--help: exit $RC"
expect "--clickhouse"
expect "STREAMSHOP_PG_URL"
