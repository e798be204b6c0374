#!/usr/bin/env bash
# `stack up --clickhouse-cluster` runs a real ClickHouse 18.16 cluster: ZooKeeper and 2 replicas of one shard that
# replicate an ON CLUSTER ReplicatedReplacingMergeTree table both ways, a replica crashed (SIGKILL) and restarted
# catches up, `down` leaves no process; then `--clickhouse-shards 2` (4 servers) with a Distributed table written
# with insert_distributed_sync=1; `destroy` leaves nothing. What the stack refuses (chdb, TLS, switching the layout
# of a running ClickHouse) is refused with a message.
TEST_PORT_BASE=29800
CLICKHOUSE_CLUSTER=1
source "$(dirname "$0")/lib.sh" "$1"

STACK=(bash "$REPO/scripts/stack.sh")
PG_REAL=$(realpath -m "$STREAMSHOP_STACK_DIR/postgres")

# Every live process of this stack: its command line names the state dir (ClickHouse's --config-file,
# ZooKeeper's zoo.cfg) or PostgreSQL's data dir (under /var/tmp when run as root).
stack_processes() {
  local d cmd
  for d in /proc/[0-9]*; do
    cmd=$({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) || continue
    [[ $cmd == *"$STREAMSHOP_STACK_DIR/"* || $cmd == *"$PG_REAL/"* ]] || continue
    [[ $d == "/proc/$$" || $d == "/proc/$BASHPID" ]] && continue
    [[ "$(ps -o stat= -p "${d#/proc/}" 2>/dev/null)" == [!Z]* ]] && echo "${d#/proc/} $cmd"
  done
  return 0
}
expect_no_process() {
  local left
  left=$(stack_processes | grep -v -e ' grep ' -e "$TEST_NAME" || true)
  [[ -z $left ]] || fail "$1: processes left: $left"
}

# down_and_destroy WHAT: `down` leaves no process of the stack, `destroy` nothing of its state.
down_and_destroy() {
  "${STACK[@]}" down >"$LOG_DIR/down.log" 2>&1 || fail "down failed: $(cat "$LOG_DIR/down.log")"
  expect_no_process "down ($1)"
  "${STACK[@]}" destroy >"$LOG_DIR/destroy.log" 2>&1 || fail "destroy failed"
  local left
  left=$(find "$STREAMSHOP_STACK_DIR" -mindepth 1 -maxdepth 1 ! -name test-logs)
  [[ -z $left && ! -e $PG_REAL ]] || fail "destroy left: $left"
}
status_has() { grep -qE -- "$1" <<<"$STATUS"; }
# The same rows on every server given: count() and the sum of the versions.
same_rows() {
  local table=$1 want=$2 n
  shift 2
  for n in "$@"; do [[ "$(ch_on "$n" "SELECT count(), sum(_version) FROM $table")" == "$want" ]] || return 1; done
}

# ---- one shard, two replicas
STATUS=$("${STACK[@]}" status) || fail "status exits $? with the cluster up: $STATUS"
for p in '^stack: postgres: +running' '^stack: clickhouse: +running .*shard 1 replica 1' \
  '^stack: clickhouse-2: +running .*shard 1 replica 2' '^stack: zookeeper: +running'; do
  status_has "$p" || fail "status lacks /$p/: $STATUS"
done
status_has 'clickhouse-3' && fail "status shows a third server with one shard: $STATUS"
[[ $STREAMSHOP_CLICKHOUSE_CLUSTER == streamshop && -n $STREAMSHOP_CLICKHOUSE_URL_2 && -z ${STREAMSHOP_CLICKHOUSE_URL_3:-} ]] ||
  fail "env: STREAMSHOP_CLICKHOUSE_CLUSTER=$STREAMSHOP_CLICKHOUSE_CLUSTER, URL_2 set, no URL_3 expected"
[[ "$(ch_on 2 "SELECT shard_num, replica_num FROM system.clusters WHERE cluster = 'streamshop' AND port = $((STREAMSHOP_CH_CLUSTER_PORT_BASE + 2))")" == $'1\t2' ]] ||
  fail "server 2 is not replica 2 of shard 1 in system.clusters"
log "cluster up: $(grep -c running <<<"$STATUS") processes running"

# What is not supported is refused, and a running ClickHouse keeps its layout.
out=$("${STACK[@]}" up --clickhouse-engine chdb 2>&1) && fail "up --clickhouse-cluster --clickhouse-engine chdb succeeded"
grep -q "chdb is an in-process engine, it has no cluster" <<<"$out" || fail "chdb not refused clearly: $out"
out=$("${STACK[@]}" up --tls 2>&1) && fail "up --clickhouse-cluster --tls succeeded"
grep -q "with --tls is not supported" <<<"$out" || fail "TLS not refused clearly: $out"
out=$(STREAMSHOP_STACK_CLICKHOUSE_CLUSTER=0 "${STACK[@]}" up 2>&1) && fail "up without the cluster over a running cluster succeeded"
grep -q "run \`stack down\` before starting it as a single server" <<<"$out" || fail "layout switch not refused clearly: $out"
"${STACK[@]}" up >"$LOG_DIR/up-again.log" 2>&1 || fail "a second up (the cluster remembered) failed: $(cat "$LOG_DIR/up-again.log")"
grep -q "clickhouse-2: already running" "$LOG_DIR/up-again.log" || fail "a second up did not find server 2 running"

# ON CLUSTER: the table on both replicas; rows written on either replica reach the other.
ch "CREATE DATABASE analytics ON CLUSTER streamshop" >"$LOG_DIR/ddl.out"
ch "CREATE TABLE analytics.raw_t ON CLUSTER streamshop (id Int64, v String, _version UInt64, _deleted UInt8)
    ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/raw_t', '{replica}', _version)
    ORDER BY id" >>"$LOG_DIR/ddl.out"
for n in 1 2; do
  [[ "$(ch_on "$n" "SELECT engine FROM system.tables WHERE database = 'analytics' AND name = 'raw_t'")" == ReplicatedReplacingMergeTree ]] ||
    fail "ON CLUSTER did not create analytics.raw_t on server $n"
done
ch_on 1 "INSERT INTO analytics.raw_t SELECT number, 'one', number + 1, 0 FROM system.numbers LIMIT 500"
ch_on 2 "INSERT INTO analytics.raw_t SELECT number + 500, 'two', 1, 0 FROM system.numbers LIMIT 300"
want=$'800\t125550'
wait_until 30 "the replicas did not converge on $want" same_rows analytics.raw_t "$want" 1 2
log "replication both ways: $want on both replicas"

# Replica 2 crashes (SIGKILL); rows written meanwhile on replica 1 reach it once it runs again.
pid=$(ch_replica_pid 2)
ch_replica kill 2 >>"$LOG_DIR/replica.log"
! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o stat= -p "$pid")" == Z* ]] || fail "server 2 (pid $pid) survived the kill"
rc=0; STATUS=$("${STACK[@]}" status) || rc=$?
((rc == 3)) && status_has '^stack: clickhouse-2: +stopped' || fail "status with server 2 down (rc $rc): $STATUS"
ch_on 1 "INSERT INTO analytics.raw_t SELECT number, 'updated', 1000, 0 FROM system.numbers LIMIT 200"
ch_on 1 "INSERT INTO analytics.raw_t SELECT number + 800, 'new', 1, 0 FROM system.numbers LIMIT 100"
started=$SECONDS
ch_replica start 2 >>"$LOG_DIR/replica.log" || fail "start-clickhouse-replica 2 failed"
want=$(ch_on 1 "SELECT count(), sum(_version) FROM analytics.raw_t")
wait_until 45 "server 2 did not catch up with server 1 ($want) after its restart" same_rows analytics.raw_t "$want" 2
[[ "$(ch_on 2 "SELECT count() FROM analytics.raw_t FINAL WHERE v = 'updated' AND _version = 1000")" == 200 ]] ||
  fail "server 2 lacks the versions written while it was down"
log "server 2 caught up $((SECONDS - started)) s after its restart ($want)"

down_and_destroy "one shard"

# ---- two shards of two replicas, a Distributed table
out=$("${STACK[@]}" up --clickhouse-shards 2 2>&1) || { echo "$out" >&2; fail "up --clickhouse-shards 2 failed"; }
printf '%s\n' "$out" >"$LOG_DIR/stack-up-2.log"
source "$STREAMSHOP_STACK_DIR/env"
STATUS=$("${STACK[@]}" status) || fail "status exits $? with 2 shards up: $STATUS"
for p in '^stack: clickhouse: +running' '^stack: clickhouse-2: +running .*shard 1 replica 2' \
  '^stack: clickhouse-3: +running .*shard 2 replica 1' '^stack: clickhouse-4: +running .*shard 2 replica 2' \
  '^stack: zookeeper: +running'; do
  status_has "$p" || fail "status lacks /$p/: $STATUS"
done
[[ -n ${STREAMSHOP_CLICKHOUSE_URL_3:-} && -n ${STREAMSHOP_CLICKHOUSE_URL_4:-} ]] || fail "env lacks URL_3/URL_4"
ch "CREATE DATABASE analytics ON CLUSTER streamshop" >"$LOG_DIR/ddl.out"
ch "CREATE TABLE analytics.raw_t ON CLUSTER streamshop (id Int64, v String, _version UInt64, _deleted UInt8)
    ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/analytics/raw_t', '{replica}', _version)
    ORDER BY id" >>"$LOG_DIR/ddl.out"
ch "CREATE TABLE analytics.raw_t_all ON CLUSTER streamshop AS analytics.raw_t
    ENGINE = Distributed(streamshop, analytics, raw_t, cityHash64(id))" >>"$LOG_DIR/ddl.out"
for n in 1 2 3 4; do
  [[ "$(ch_on "$n" "SELECT count() FROM system.tables WHERE database = 'analytics' AND name LIKE 'raw_t%'")" == 2 ]] ||
    fail "ON CLUSTER did not create both tables on server 4"
done
# insert_distributed_sync=1 (a setting in the URL: 18.16's INSERT has no SETTINGS clause): written to each shard
# before the INSERT returns.
curl -sS --fail-with-body -K <(ch_curl_config "?insert_distributed_sync=1") \
  --data-binary "INSERT INTO analytics.raw_t_all SELECT number, 'd', 1, 0 FROM system.numbers LIMIT 1000" ||
  fail "the synchronous Distributed insert failed"
# (internal_replication: each shard's part went to one of its replicas, picked at random; the other fetches it.)
shard_rows() {
  local a b
  a=$(ch_on "$1" "SELECT count() FROM analytics.raw_t") b=$(ch_on "$2" "SELECT count() FROM analytics.raw_t")
  echo $((a > b ? a : b))
}
s1=$(shard_rows 1 2)
s2=$(shard_rows 3 4)
((s1 > 0 && s2 > 0 && s1 + s2 == 1000)) || fail "shards hold $s1 + $s2 rows right after the sync insert, not 1000 split"
wait_until 30 "shard 1's replicas differ" same_rows analytics.raw_t "$(ch_on 1 "SELECT count(), sum(_version) FROM analytics.raw_t")" 2
wait_until 30 "shard 2's replicas differ" same_rows analytics.raw_t "$(ch_on 3 "SELECT count(), sum(_version) FROM analytics.raw_t")" 4
[[ "$(ch_on 4 "SELECT count() FROM analytics.raw_t_all FINAL")" == 1000 ]] || fail "the Distributed table does not read 1000 rows"
[[ "$(ch_on 2 "SELECT count() FROM analytics.raw_t WHERE cityHash64(id) % 2 != 0")" == 0 ]] ||
  fail "shard 1 holds rows of shard 2"
log "2 shards: the Distributed sync insert split 1000 rows $s1 + $s2, replicas equal"

down_and_destroy "two shards"
log "down left no process, destroy nothing"
