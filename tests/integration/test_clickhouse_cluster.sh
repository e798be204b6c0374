#!/usr/bin/env bash
# replicate into a ClickHouse 18.16 cluster (`stack up --clickhouse-cluster`: the env names the cluster and the second
# replica, so --clickhouse-cluster and --clickhouse-replica-url come from it):
# - two replicas of one shard: every table streamshop owns is Replicated*MergeTree on both; while `generate` and a
#   random workload (primary-key updates included) write, server 1 — the one replicate talks to — is killed -9 and
#   restarted; replicate carries on through server 2; afterwards verify (each server) and the independent oracle
#   against each server agree with PostgreSQL; replicate restarted against server 2 alone finds its state there;
#   a cluster the server does not know is refused with the fix;
# - the sink path (capture → Kafka → sink) into the same cluster, server 2 killed -9 and restarted meanwhile;
# - two shards of two replicas: raw_* is a Distributed table over `raw_*%local`; primary-key updates, then verify,
#   the oracle, and every key's rows (each version, delete markers too) on one shard only.
# ctest-timeout: 1500
TEST_PORT_BASE=29900
CLICKHOUSE_CLUSTER=1
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

STACK=(bash "$REPO/scripts/stack.sh")
[[ $STREAMSHOP_CLICKHOUSE_CLUSTER == streamshop && -n $STREAMSHOP_CLICKHOUSE_URL_2 ]] || fail "the env lacks the cluster"

# oracle_on N: the independent comparison against server N alone.
oracle_on() {
  local var=STREAMSHOP_CLICKHOUSE_URL
  (($1 == 1)) || var=STREAMSHOP_CLICKHOUSE_URL_$1
  (STREAMSHOP_CLICKHOUSE_URL=${!var} independent_compare_check) >"$LOG_DIR/oracle-$1.out" 2>&1 ||
    { cat "$LOG_DIR/oracle-$1.out"; fail "independent comparison against server $1 failed"; }
}
# verify_all WHAT: verify (each server given, in its own section) must pass.
verify_all() {
  verify 240
  grep -q "verify: all tables match on every server" "$LOG_DIR/verify.out" ||
    { cat "$LOG_DIR/verify.out"; fail "$1: verify did not compare every server"; }
  (($(grep -c '^ClickHouse server ' "$LOG_DIR/verify.out") == 2)) || fail "$1: verify did not report two servers"
}
engines_on() { ch_on "$1" "SELECT name, engine FROM system.tables WHERE database = 'analytics' ORDER BY name FORMAT TSV"; }

pg -f "$REPO/sql/postgres/schema.sql" >/dev/null
pg -f "$REPO/sql/sample/workload.sql" >/dev/null
pg -c "ALTER PUBLICATION streamshop ADD TABLE typed, pairs"  # schema.sql made it for generate's tables
pg -c "CALL random_workload($(pg_seed 1), 200, 8)"

# ---- one shard, two replicas: replicate, server 1 killed and restarted mid-run
started=$SECONDS
start_replicate
wait_streaming 120
"$STREAMSHOP" generate --rate 300 --duration 40s --seed "$TEST_SEED" >"$LOG_DIR/generate.log" 2>&1 &
GEN_PID=$!
BG_PIDS+=("$GEN_PID")
pg -c "CALL random_workload($(pg_seed 2), 800, 6)"
log "killing server 1 (the one replicate talks to) with SIGKILL"
ch_replica kill 1 >>"$LOG_DIR/replica.log" 2>&1
pg -c "CALL random_workload($(pg_seed 3), 800, 6)"
sleep 5
ch_replica start 1 >>"$LOG_DIR/replica.log" 2>&1 || fail "server 1 did not start again"
log "server 1 restarted"
pg -c "CALL random_workload($(pg_seed 4), 400, 6)"
wait "$GEN_PID" || fail "generate failed: $(tail -n 5 "$LOG_DIR/generate.log")"
grep -q "sending the request to the replica at" "$LOG_DIR/replicate.log" || fail "replicate never failed over to server 2"
verify_all "one shard"
log "verify: every table equal on both replicas ($((SECONDS - started)) s since replicate started)"
for n in 1 2; do oracle_on "$n"; done
log "independent comparison agrees on both replicas"
for n in 1 2; do
  engines=$(engines_on "$n")
  for t in raw_customers raw_typed raw_pairs _streamshop_snapshots _streamshop_dead_letters _streamshop_messages \
    _streamshop_publication_shapes; do
    grep -qP "^$t\tReplicated(Replacing)?MergeTree$" <<<"$engines" || fail "server $n: $t is not replicated: $engines"
  done
done
stop_replicate

# The pipeline's state is on every replica: replicate started against server 2 alone resumes without copying.
mark=$(wc -c <"$LOG_DIR/replicate.log")
start_replicate --clickhouse "$STREAMSHOP_CLICKHOUSE_URL_2"
wait_until 60 "replicate on server 2 did not stream" log_since_has "$LOG_DIR/replicate.log" "$mark" "streaming changes"
! log_since_has "$LOG_DIR/replicate.log" "$mark" "snapshot of" || fail "replicate on server 2 copied tables again"
pg -c "CALL random_workload($(pg_seed 10), 200, 6)"
verify_all "restarted on server 2"
stop_replicate
log "replicate restarted against server 2 found its state there (no copy) and verify passes"

# A cluster the server does not know: refused, naming what it knows and the fix.
rc=0
"$STREAMSHOP" verify --clickhouse-cluster nosuch >"$LOG_DIR/unknown-cluster.out" 2>&1 || rc=$?
((rc != 0)) || fail "verify --clickhouse-cluster nosuch succeeded"
grep -q "knows no cluster of that name (its system.clusters lists: streamshop); name one of those with --clickhouse-cluster" \
  "$LOG_DIR/unknown-cluster.out" || fail "an unknown cluster is not refused clearly: $(cat "$LOG_DIR/unknown-cluster.out")"

# ---- the sink path into the same cluster: capture → Kafka → sink, server 2 killed and restarted meanwhile
started=$SECONDS
start_capture --slot streamshop_capture
wait_capture_streaming
start_sink main --clickhouse "$STREAMSHOP_CLICKHOUSE_URL_2" --clickhouse-replica-url "$STREAMSHOP_CLICKHOUSE_URL" \
  --database sinked
pg -c "CALL random_workload($(pg_seed 5), 600, 6)"
ch_replica kill 2 >>"$LOG_DIR/replica.log" 2>&1
log "killed server 2 (the one sink talks to)"
pg -c "CALL random_workload($(pg_seed 6), 600, 6)"
sleep 3
ch_replica start 2 >>"$LOG_DIR/replica.log" 2>&1 || fail "server 2 did not start again"
grep -q "sending the request to the replica at" "$LOG_DIR/sink-main.log" || fail "sink never failed over to server 1"
"$STREAMSHOP" verify --database sinked --wait 240 >"$LOG_DIR/verify.out" 2>&1 ||
  { cat "$LOG_DIR/verify.out"; fail "verify of the sink's tables failed"; }
grep -q "verify: all tables match on every server" "$LOG_DIR/verify.out" || fail "sink: verify did not compare every server"
for n in 1 2; do (CH_DATABASE=sinked oracle_on "$n"); done
log "sink path: verify and the oracle agree on both replicas ($((SECONDS - started)) s)"
stop_clean "$SINK_PID" sink
stop_clean "$CAPTURE_PID" capture

# ---- two shards of two replicas: a Distributed table over local tables, primary-key updates
"${STACK[@]}" destroy >"$LOG_DIR/destroy.log" 2>&1 || fail "destroy failed"
out=$(STREAMSHOP_WITH_KAFKA=0 "${STACK[@]}" up --clickhouse-shards 2 2>&1)  # (no broker needed from here on) || { echo "$out" >&2; fail "up --clickhouse-shards 2 failed"; }
printf '%s\n' "$out" >"$LOG_DIR/stack-up-2.log"
unset STREAMSHOP_KAFKA_BROKERS STREAMSHOP_KAFKA_PROP_FILE  # the first stack's broker is gone
source "$STREAMSHOP_STACK_DIR/env"
started=$SECONDS
pg -f "$REPO/sql/sample/workload.sql" >/dev/null
pg -c "CALL random_workload($(pg_seed 7), 300, 8)"
start_replicate
wait_streaming 120
pg -c "CALL random_workload($(pg_seed 8), 1500, 6)"
# Every key of pairs moves (both sides of a key change: a delete of the old key, an insert of the new one).
pg -c "UPDATE pairs SET seq = seq + 100000"
pg -c "UPDATE typed SET id = id + 5000000000000 WHERE id % 3 = 0"
pg -c "CALL random_workload($(pg_seed 9), 300, 6)"
verify_all "two shards"
for n in 1 3; do oracle_on "$n"; done
for n in 1 2 3 4; do
  engines=$(engines_on "$n")
  grep -qP '^raw_typed\tDistributed$' <<<"$engines" && grep -qP '^raw_typed%local\tReplicatedReplacingMergeTree$' <<<"$engines" ||
    fail "server $n: raw_typed is not a Distributed table over raw_typed%local: $engines"
done
# Every version of a key on one shard (read from each shard's replica that has all of them).
for spec in "typed:toString(id)" "pairs:concat(tenant, '/', toString(seq))"; do
  t=${spec%%:*} key=${spec#*:}
  for n in 1 3; do
    ch_on "$n" "SYSTEM SYNC REPLICA analytics.\`raw_$t%local\`" >/dev/null
    ch_on "$n" "SELECT DISTINCT $key FROM analytics.\`raw_$t%local\` FORMAT TSV" | LC_ALL=C sort >"$LOG_DIR/keys-$t-$n"
  done
  both=$(LC_ALL=C comm -12 "$LOG_DIR/keys-$t-1" "$LOG_DIR/keys-$t-3" | wc -l)
  s1=$(wc -l <"$LOG_DIR/keys-$t-1") s2=$(wc -l <"$LOG_DIR/keys-$t-3")
  ((s1 > 0 && s2 > 0)) || fail "$t: a shard holds no keys ($s1, $s2)"
  ((both == 0)) || fail "$t: $both keys have rows on both shards"
  log "$t: $s1 + $s2 keys (every version, delete markers too), none on both shards"
done
stop_replicate
log "two shards: verify and the oracle agree ($((SECONDS - started)) s)"
