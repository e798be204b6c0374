#!/usr/bin/env bash
# Least privilege (docs/SECURITY.md): the pipeline runs with exactly the grants the docs list.
#   PostgreSQL: a role with LOGIN REPLICATION and SELECT on the published tables, nothing else, and a publication
#   pre-created by the tables' owner. replicate (snapshot, live changes, heartbeats, an ADD COLUMN by the owner),
#   capture and verify work as that role, and the publication is left exactly as the owner made it; verify also
#   as a role with SELECT only. Errors name the privilege and the fix: a missing publication the role may not
#   create, a table published without GRANT SELECT (it stops alone, resumes once granted), a revoked
#   pg_logical_emit_message (one warning, replication goes on). A member of rds_replication (RDS/Aurora's grant)
#   passes streamshop's own check.
#   ClickHouse 18.16 (no SQL GRANTs): a users.d/ user allowed only the databases analytics and analytics_kafka,
#   loaded without a restart, its password sent as URL userinfo; replicate and sink write as it, another database
#   is refused. (The chdb endpoint has no users: there the PostgreSQL part only.)
# Passwords hold URL-special characters, percent-encoded in the URLs.
# clickhouse-engines: server chdb
TEST_PORT_BASE=27800
WITH_KAFKA=1
source "$(dirname "$0")/lib.sh" "$1"

# pct STRING: STRING percent-encoded for a URL's userinfo (every byte but unreserved ones).
pct() {
  local s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [A-Za-z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}
# with_userinfo URL USER PASSWORD: URL with its userinfo replaced by USER:PASSWORD (percent-encoded).
with_userinfo() {
  local scheme=${1%%://*} rest=${1#*://}
  [[ ${rest%%/*} == *@* ]] && rest=${rest#*@}
  printf '%s://%s:%s@%s' "$scheme" "$(pct "$2")" "$(pct "$3")" "$rest"
}

CDC_ROLE=lp_cdc
CDC_PASSWORD='cdc?#/@:% pw'
PG_RESTRICTED_URL=$(with_userinfo "$STREAMSHOP_PG_URL" "$CDC_ROLE" "$CDC_PASSWORD")
# The restricted runs get their credentials from these URLs only, not from the stack's environment:
# `restricted COMMAND…`, or in the background `env "${RESTRICTED_ENV[@]}" COMMAND… &` (so $! is the command's pid).
restricted_env() {
  RESTRICTED_ENV=(-u PGPASSWORD -u PGPASSFILE -u PGUSER -u STREAMSHOP_PG_PASSWORD -u STREAMSHOP_PG_PASSWORD_FILE
    -u STREAMSHOP_CLICKHOUSE_USER -u STREAMSHOP_CLICKHOUSE_PASSWORD -u STREAMSHOP_CLICKHOUSE_PASSWORD_FILE
    STREAMSHOP_PG_URL="$PG_RESTRICTED_URL" STREAMSHOP_CLICKHOUSE_URL="$CH_RESTRICTED_URL"
    STREAMSHOP_PUBLICATION=lp_pub STREAMSHOP_SLOT=lp_slot)
}
restricted() { env "${RESTRICTED_ENV[@]}" "$@"; }
# start_restricted_replicate LOG ARGS…: replicate as lp_cdc in the background, logging to LOG; sets REPLICATE_PID.
start_restricted_replicate() {
  local log_file=$1
  shift
  env "${RESTRICTED_ENV[@]}" "$STREAMSHOP" replicate --progress off "$@" >>"$log_file" 2>&1 &
  REPLICATE_PID=$!
  BG_PIDS+=("$REPLICATE_PID")
}

log "PostgreSQL: tables owned by the superuser, a publication of two of them, a role with REPLICATION + SELECT"
pg -v pw="$CDC_PASSWORD" <<'SQL'
CREATE TABLE lp_customers (id int PRIMARY KEY, name text);
CREATE TABLE lp_orders (id int PRIMARY KEY, customer_id int, amount numeric(10, 2), note text);
CREATE TABLE lp_secret (id int PRIMARY KEY, ssn text);  -- neither published nor granted
INSERT INTO lp_customers SELECT g, 'customer ' || g FROM generate_series(1, 200) g;
INSERT INTO lp_orders SELECT g, g % 200 + 1, g * 1.25, 'order ' || g FROM generate_series(1, 1000) g;
INSERT INTO lp_secret VALUES (1, 'SECRET');
CREATE PUBLICATION lp_pub FOR TABLE lp_customers, lp_orders;
CREATE ROLE lp_cdc LOGIN REPLICATION PASSWORD :'pw';
GRANT SELECT ON lp_customers, lp_orders TO lp_cdc;
SQL
publication_state() {
  pg -c "SELECT p.pubname, p.pubowner::regrole, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete,
           p.pubtruncate, p.pubviaroot, coalesce(string_agg(r.prrelid::regclass::text, ',' ORDER BY r.prrelid::regclass::text), '')
         FROM pg_publication p LEFT JOIN pg_publication_rel r ON r.prpubid = p.oid
         WHERE p.pubname = 'lp_pub' GROUP BY p.oid"
}
PUBLICATION_BEFORE=$(publication_state)
[[ "$(pg -c "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles WHERE rolname = 'lp_cdc'")" == f ]] ||
  fail "lp_cdc has more than LOGIN REPLICATION"
# An observer slot, created before replicate's: heartbeats (logical messages) emitted by lp_cdc show up in it.
pg -c "SELECT pg_create_logical_replication_slot('lp_watch', 'pgoutput')" >/dev/null

if [[ $STREAMSHOP_CLICKHOUSE_ENGINE == server ]]; then
  log "ClickHouse 18.16: a users.d/ user allowed only the databases analytics and analytics_kafka (reloaded without a restart)"
  CH_USER=lp_writer
  CH_PASSWORD='ch?#/@:% pw'
  CH_USERS_D=$STREAMSHOP_STACK_DIR/clickhouse/users.d
  mkdir -p "$CH_USERS_D"
  cat >"$CH_USERS_D/lp_writer.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <users>
        <$CH_USER>
            <password>$CH_PASSWORD</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
            <allow_databases><database>analytics</database><database>analytics_kafka</database></allow_databases>
        </$CH_USER>
    </users>
</yandex>
EOF
  CH_RESTRICTED_URL=$(with_userinfo "$STREAMSHOP_CLICKHOUSE_URL" "$CH_USER" "$CH_PASSWORD")
  chr() { curl -sS --fail-with-body ${STREAMSHOP_CLICKHOUSE_CA_FILE:+--cacert "$STREAMSHOP_CLICKHOUSE_CA_FILE"} \
    "$CH_RESTRICTED_URL/" --data-binary "$1"; }
  ch_user_loaded() { chr "SELECT 1" >/dev/null 2>&1; }
  # The server reloads its users configuration (users.xml and users.d/*.xml) without a restart.
  wait_until 30 "ClickHouse did not load users.d/lp_writer.xml" ch_user_loaded
  # On 18.16 a user may create the databases it is allowed (analytics): not pre-created here.
  ch "CREATE DATABASE lp_other"
  chr "SELECT count() FROM lp_other.nothing" >"$LOG_DIR/ch-denied.out" 2>&1 && fail "lp_writer may read lp_other"
  grep -q "lp_writer.*lp_other\|lp_other.*lp_writer\|ACCESS_DENIED\|Access denied" "$LOG_DIR/ch-denied.out" ||
    { cat "$LOG_DIR/ch-denied.out"; fail "lp_writer's read of lp_other was not refused for access"; }
else
  CH_RESTRICTED_URL=$STREAMSHOP_CLICKHOUSE_URL  # the chdb endpoint has no users
fi
restricted_env

log "a missing publication the role may not create: an error naming it, the privilege and the command"
rc=0
restricted "$STREAMSHOP" replicate --progress off --publication lp_missing --slot lp_missing_slot \
  >"$LOG_DIR/missing.log" 2>&1 || rc=$?
((rc != 0)) || fail "replicate ran without its publication"
for want in "publication 'lp_missing' does not exist and role 'lp_cdc' could not create it" \
  "FOR TABLES IN SCHEMA needs a superuser" 'run `CREATE PUBLICATION "lp_missing" FOR TABLES IN SCHEMA public`'; do
  grep -qF "$want" "$LOG_DIR/missing.log" || { cat "$LOG_DIR/missing.log"; fail "the error does not say '$want'"; }
done
[[ -z "$(pg -c "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'lp_missing_slot'")" ]] ||
  fail "a slot was created although the publication is missing"

log "a member of rds_replication (Amazon RDS/Aurora's replication grant) passes streamshop's own check"
# Plain PostgreSQL gives that role no replication right, so its walsender refuses: once, not retried forever.
pg -v pw="$CDC_PASSWORD" <<'SQL'
CREATE ROLE rds_replication NOLOGIN;
CREATE ROLE lp_rds LOGIN PASSWORD :'pw' IN ROLE rds_replication;
GRANT SELECT ON lp_customers, lp_orders TO lp_rds;
SQL
rc=0
timeout 30 env "${RESTRICTED_ENV[@]}" STREAMSHOP_PG_URL="$(with_userinfo "$STREAMSHOP_PG_URL" lp_rds "$CDC_PASSWORD")" \
  "$STREAMSHOP" replicate --progress off --slot lp_rds_slot >"$LOG_DIR/rds.log" 2>&1 || rc=$?
((rc == 1)) || { cat "$LOG_DIR/rds.log"; fail "replicate as lp_rds: exit $rc, expected 1 (PostgreSQL's refusal, not retried)"; }
grep -q "may not use replication" "$LOG_DIR/rds.log" && { cat "$LOG_DIR/rds.log"; fail "rds_replication membership was refused"; }
grep -qE "replication role|permission denied to start WAL sender" "$LOG_DIR/rds.log" ||
  { cat "$LOG_DIR/rds.log"; fail "expected PostgreSQL's walsender refusal"; }

log "replicate as lp_cdc: snapshot, then live changes, heartbeats and an ADD COLUMN by the owner"
start_restricted_replicate "$LOG_DIR/replicate.log" --heartbeat-interval 1
wait_streaming 90
pg <<'SQL'
INSERT INTO lp_orders SELECT g, g % 200 + 1, g * 0.5, 'live ' || g FROM generate_series(1001, 1300) g;
UPDATE lp_orders SET note = 'updated' WHERE id % 7 = 0;
DELETE FROM lp_orders WHERE id % 11 = 0;
ALTER TABLE lp_orders ADD COLUMN channel text;
INSERT INTO lp_orders VALUES (5000, 1, 9.99, 'after the new column', 'web');
UPDATE lp_orders SET channel = 'shop' WHERE id BETWEEN 1 AND 50;
UPDATE lp_customers SET name = name || ' (renamed)' WHERE id % 5 = 0;
SQL
heartbeats_seen() {
  (($(pg -c "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('lp_watch', NULL, NULL,
        'proto_version', '1', 'publication_names', 'lp_pub', 'messages', 'true')
        WHERE position('streamshop.heartbeat'::bytea IN data) > 0") >= 2))
}
wait_until 30 "no heartbeat from lp_cdc's session reached the WAL" heartbeats_seen
restricted "$STREAMSHOP" verify --wait 60 >"$LOG_DIR/verify.out" 2>&1 || { cat "$LOG_DIR/verify.out"; fail "verify as lp_cdc failed"; }
PUBLICATION=lp_pub independent_compare lp_customers lp_orders
[[ "$(ch "SELECT count() FROM analytics.raw_lp_orders FINAL WHERE _deleted = 0 AND channel = 'shop'")" == \
  "$(pg -c "SELECT count(*) FROM lp_orders WHERE channel = 'shop'")" ]] || fail "the column added by the owner did not arrive"
if grep -iE "warn|error|denied" "$LOG_DIR/replicate.log" >"$LOG_DIR/replicate-warnings.txt"; then
  cat "$LOG_DIR/replicate-warnings.txt"
  fail "replicate as lp_cdc logged warnings or errors"
fi
[[ "$(publication_state)" == "$PUBLICATION_BEFORE" ]] || fail "the publication was changed: $(publication_state)"
[[ "$(ch "SELECT count() FROM system.tables WHERE database = 'analytics' AND name = 'raw_lp_secret'")" == 0 ]] ||
  fail "an unpublished table reached ClickHouse"
pg -c "SELECT pg_drop_replication_slot('lp_watch')" >/dev/null
log "lp_cdc (REPLICATION + SELECT) replicated and verified; the publication is unchanged"

log "the owner publishes a table without granting SELECT on it: that table stops with the GRANT to run"
pg <<'SQL'
CREATE TABLE lp_late (id int PRIMARY KEY, v text);
INSERT INTO lp_late SELECT g, 'late ' || g FROM generate_series(1, 100) g;
ALTER PUBLICATION lp_pub ADD TABLE lp_late;
INSERT INTO lp_late VALUES (101, 'streamed');
INSERT INTO lp_orders VALUES (6000, 1, 1, 'after lp_late', NULL);
SQL
late_stopped() { grep -qF 'GRANT SELECT ON "public"."lp_late" TO lp_cdc' "$LOG_DIR/replicate.log"; }
wait_until 30 "no error naming the missing SELECT on lp_late and its GRANT" late_stopped
order_6000() { [[ "$(ch "SELECT count() FROM analytics.raw_lp_orders WHERE id = 6000")" == 1 ]]; }
wait_until 30 "the other tables stopped flowing" order_6000
pg -c "GRANT SELECT ON lp_late TO lp_cdc" -c "UPDATE lp_late SET v = 'granted' WHERE id = 1"
restricted "$STREAMSHOP" verify --wait 60 >"$LOG_DIR/verify-late.out" 2>&1 ||
  { cat "$LOG_DIR/verify-late.out"; fail "lp_late did not resume after GRANT SELECT"; }
stop_replicate

log "EXECUTE on pg_logical_emit_message revoked: one warning naming the GRANT, replication goes on without heartbeats"
pg -c "REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) FROM PUBLIC"
start_restricted_replicate "$LOG_DIR/replicate-2.log" --heartbeat-interval 1
wait_until 60 "replicate did not reach streaming again" grep -q "streaming changes" "$LOG_DIR/replicate-2.log"
hb_warned() { grep -q "heartbeat (pg_logical_emit_message) failed" "$LOG_DIR/replicate-2.log"; }
wait_until 30 "no warning about the failed heartbeat" hb_warned
pg -c "INSERT INTO lp_orders VALUES (7000, 2, 2, 'without heartbeats', 'web')" -c "DELETE FROM lp_late WHERE id = 2"
sleep 3  # a few more heartbeat intervals: still one warning
for want in 'GRANT EXECUTE ON FUNCTION pg_catalog.pg_logical_emit_message(boolean,text,text) TO lp_cdc' \
  '--heartbeat-interval 0'; do
  grep -qF -- "$want" "$LOG_DIR/replicate-2.log" || { cat "$LOG_DIR/replicate-2.log"; fail "the warning does not say '$want'"; }
done
(($(grep -c "heartbeat (pg_logical_emit_message) failed" "$LOG_DIR/replicate-2.log") == 1)) ||
  fail "the heartbeat warning repeats"
restricted "$STREAMSHOP" verify --wait 60 >"$LOG_DIR/verify-2.out" 2>&1 || { cat "$LOG_DIR/verify-2.out"; fail "verify failed"; }
PUBLICATION=lp_pub independent_compare lp_customers lp_orders lp_late
stop_replicate

log "capture → Kafka → sink: capture as lp_cdc (EXECUTE on the heartbeat function granted as the warning said), sink as lp_writer"
pg -c "GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO lp_cdc"
env "${RESTRICTED_ENV[@]}" "$STREAMSHOP" capture --progress off --slot lp_capture --heartbeat-interval 1 \
  >>"$LOG_DIR/capture.log" 2>&1 &
CAPTURE_PID=$!
BG_PIDS+=("$CAPTURE_PID")
env "${RESTRICTED_ENV[@]}" "$STREAMSHOP" sink --progress off --database analytics_kafka --flush-ms 100 \
  --topics '^streamshop\.public\.lp_.*' >>"$LOG_DIR/sink.log" 2>&1 &
SINK_PID=$!
BG_PIDS+=("$SINK_PID")
wait_capture_streaming
pg -c "UPDATE lp_orders SET note = 'via kafka' WHERE id % 13 = 0" -c "DELETE FROM lp_customers WHERE id = 3"
restricted "$STREAMSHOP" verify --database analytics_kafka --wait 90 >"$LOG_DIR/verify-kafka.out" 2>&1 ||
  { cat "$LOG_DIR/verify-kafka.out"; fail "verify of the Kafka path failed"; }
sleep 2  # two more heartbeat intervals
# (A fresh broker's transient warnings, e.g. "Coordinator load in progress", are not what this looks for.)
if grep -iE "heartbeat|denied|privilege| ERROR " "$LOG_DIR/capture.log" "$LOG_DIR/sink.log"; then
  fail "capture or sink logged a privilege or heartbeat problem, or an error"
fi
stop_clean "$SINK_PID" "sink"
stop_clean "$CAPTURE_PID" "capture"

log "verify needs SELECT only: a role without REPLICATION"
pg -v pw="$CDC_PASSWORD" <<'SQL'
CREATE ROLE lp_reader LOGIN PASSWORD :'pw';
GRANT SELECT ON lp_customers, lp_orders, lp_late TO lp_reader;
SQL
restricted env STREAMSHOP_PG_URL="$(with_userinfo "$STREAMSHOP_PG_URL" lp_reader "$CDC_PASSWORD")" \
  "$STREAMSHOP" verify --database analytics_kafka >"$LOG_DIR/verify-reader.out" 2>&1 || { cat "$LOG_DIR/verify-reader.out"; fail "verify as lp_reader failed"; }
