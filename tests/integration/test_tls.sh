#!/usr/bin/env bash
# `stack up --tls` and passwords end to end: the stack's private CA, PostgreSQL TLS-only with scram-sha-256,
# ClickHouse HTTPS with a password. Checks: file modes of the state dir, env, secrets and keys; every password holds
# ?#/@:%; PostgreSQL refuses plaintext (sslmode=disable) and a wrong or missing password; ClickHouse refuses plain
# HTTP on its port and a missing or wrong password; replicate runs end to end over TLS and verify agrees;
# /proc/<pid>/cmdline of the running replicate holds no secret, nor any process's while lib.sh's pg runs a query
# (scripts/clients.sh: the URL without its password, the password in PGPASSWORD; every byte percent-decodes exactly);
# no log of the run (test logs, stack output, PostgreSQL's and ClickHouse's logs) holds a password, raw or
# percent-encoded. Then down and up without TLS keeps the passwords (still required, plain connections), and
# destroy + up makes new ones.
# clickhouse-engines: server chdb
TEST_PORT_BASE=27500
STACK_TLS=1
source "$(dirname "$0")/lib.sh" "$1"

DIR=$STREAMSHOP_STACK_DIR
PG_REAL=$(realpath "$DIR/postgres")
export PGPASSFILE=/dev/null PGCONNECT_TIMEOUT=5   # no password from anywhere but the URL under test
unset PGPASSWORD PGSSLMODE PGSSLROOTCERT

log "file modes: state dir, env, secrets, TLS keys, service dirs"
mode() { stat -c %a "$1"; }
expect_mode() { [[ "$(mode "$2")" == "$1" ]] || fail "$2 has mode $(mode "$2"), expected $1"; }
expect_mode 700 "$DIR"
expect_mode 600 "$DIR/env"
expect_mode 700 "$DIR/secrets"
for f in "$DIR"/secrets/*; do expect_mode 600 "$f"; done
expect_mode 700 "$DIR/tls"
expect_mode 600 "$DIR/tls/ca.key"
expect_mode 600 "$DIR/tls/server.key"
expect_mode 700 "$DIR/clickhouse"
expect_mode 700 "$PG_REAL"
expect_mode 700 "$(dirname "$PG_REAL")"
if ((EUID == 0)); then
  [[ "$(stat -c %U "$PG_REAL/data")" == postgres ]] || fail "PostgreSQL's data is not the postgres user's"
fi
# Nothing the stack wrote (logs included) is readable by others.
others=$(find "$DIR" "$PG_REAL" -xdev -perm -o=r ! -type l ! -name '*.pem' -print 2>/dev/null | head -n 5)
[[ -z "$others" ]] || fail "readable by others: $others"

log "passwords: each holds ?#/@:%, the env's URLs carry them percent-encoded, TLS verified"
PASSWORDS=()
for f in "$DIR"/secrets/*; do
  p=$(cat "$f")
  for c in '?' '#' '/' '@' ':' '%'; do [[ $p == *"$c"* ]] || fail "$(basename "$f") has no '$c'"; done
  PASSWORDS+=("$p")
done
((${#PASSWORDS[@]} >= 4)) || fail "expected 4 passwords in $DIR/secrets, found ${#PASSWORDS[@]}"
PG_PASSWORD=$(cat "$DIR/secrets/pg_password")
CH_PASSWORD=$(cat "$DIR/secrets/clickhouse_password")
enc() { jq -rn --arg p "$1" '$p | @uri'; }
[[ $STREAMSHOP_PG_URL == "postgresql://streamshop:$(enc "$PG_PASSWORD")@127.0.0.1:$STREAMSHOP_PG_PORT/streamshop?sslmode=verify-full&sslrootcert=$DIR/tls/ca.pem" ]] ||
  fail "STREAMSHOP_PG_URL is not the TLS URL with the password percent-encoded"
[[ $STREAMSHOP_CLICKHOUSE_URL == "https://default:$(enc "$CH_PASSWORD")@127.0.0.1:$STREAMSHOP_CH_HTTP_PORT" ]] ||
  fail "STREAMSHOP_CLICKHOUSE_URL is not the https URL with the password percent-encoded"
[[ $STREAMSHOP_CLICKHOUSE_CA_FILE == "$DIR/tls/ca.pem" ]] || fail "STREAMSHOP_CLICKHOUSE_CA_FILE is not the stack's CA"
openssl verify -CAfile "$DIR/tls/ca.pem" "$DIR/tls/server.pem" >/dev/null || fail "server.pem does not verify"
openssl x509 -in "$DIR/tls/server.pem" -noout -ext subjectAltName | grep -q 'DNS:localhost, IP Address:127.0.0.1' ||
  fail "server.pem lacks SAN DNS:localhost,IP:127.0.0.1"
[[ "$(pg -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")" == t ]] || fail "psql with the env's URL is not on TLS"

log "psql of the scripts and tests: the password in PGPASSWORD, not on its command line (scripts/clients.sh)"
# Every byte percent-decodes exactly (libpq refuses %00, and so does pgurl).
all_bytes=$(printf '%%%02X' $(seq 1 255))
pgurl_split "postgresql://u:$all_bytes@h/db?a=b" || fail "pgurl_split refused every byte"
[[ $PGURL_WITHOUT_PASSWORD == "postgresql://u@h/db?a=b" ]] || fail "pgurl_split left: $PGURL_WITHOUT_PASSWORD"
cmp -s <(printf '%s' "$PGURL_PASSWORD") <(printf "$(printf '\\x%02x' $(seq 1 255))") ||
  fail "pgurl_split did not decode every byte exactly"
if pgurl_split "postgresql://u:a%00b@h/db" 2>/dev/null || pgurl_split "postgresql://u:a%4@h/db" 2>/dev/null; then
  fail "pgurl_split accepted %00 or a truncated escape"
fi
unset PGURL_PASSWORD PGURL_WITHOUT_PASSWORD
# While lib.sh's pg runs a query, no process's arguments hold the password, raw or percent-encoded (grep takes the
# forms on a pipe, so that its own command line holds none either).
pg -c "SELECT pg_sleep(2)" >/dev/null &
sleeping_pg=$!
sleeping() { [[ "$(pg -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(2)'")" == 1 ]]; }
wait_until 10 "the background pg did not start its query" sleeping
[[ -n "$(grep -lF -f <(echo 'SELECT pg_sleep(2)') /proc/[0-9]*/cmdline 2>/dev/null)" ]] ||
  fail "no process runs the background pg's query: the scan below would prove nothing"
hits=$(grep -ilF -f <(printf '%s\n' "$PG_PASSWORD" "$(enc "$PG_PASSWORD")") /proc/[0-9]*/cmdline 2>/dev/null || true)
[[ -z "$hits" ]] || fail "the PostgreSQL password is on the command line of: $(cat ${hits//cmdline/comm} 2>/dev/null | paste -sd ' ')"
wait "$sleeping_pg" || fail "the background pg failed"

log "PostgreSQL refuses plaintext and wrong or missing passwords"
PG_HOST="127.0.0.1:$STREAMSHOP_PG_PORT/streamshop"
refused_pg() {  # EXPECTED-TEXT URL
  local out
  if out=$(pgurl_run "$2" psql -X -At -c "SELECT 1" 2>&1 </dev/null); then fail "PostgreSQL accepted $3"; fi
  grep -qF -- "$1" <<<"$out" || fail "PostgreSQL refused $3, but not with '$1': $out"
}
refused_pg "no encryption" "postgresql://streamshop:$(enc "$PG_PASSWORD")@$PG_HOST?sslmode=disable" "plaintext"
refused_pg "password authentication failed" \
  "postgresql://streamshop:$(enc "${PG_PASSWORD}x")@$PG_HOST?sslmode=verify-full&sslrootcert=$DIR/tls/ca.pem" "a wrong password"
refused_pg "no password supplied" "postgresql://streamshop@$PG_HOST?sslmode=verify-full&sslrootcert=$DIR/tls/ca.pem" \
  "no password"
refused_pg "password authentication failed" \
  "postgresql://postgres:$(enc "$PG_PASSWORD")@$PG_HOST?sslmode=require" "the superuser with another role's password"

log "ClickHouse refuses plain HTTP on its port and a missing or wrong password"
CH_HOST=127.0.0.1:$STREAMSHOP_CH_HTTP_PORT
if curl -sS --max-time 5 "http://$CH_HOST/" --data-binary "SELECT 1" >"$LOG_DIR/plain-http.out" 2>&1; then
  fail "ClickHouse answered plain HTTP on its port: $(cat "$LOG_DIR/plain-http.out")"
fi
ch_status() {  # URL: the HTTP status of SELECT 1 over https with the CA
  curl -s -o "$LOG_DIR/ch-refused.out" -w '%{http_code}' --max-time 5 --cacert "$DIR/tls/ca.pem" "$1" \
    --data-binary "SELECT 1" || true
}
[[ "$(ch_status "https://$CH_HOST/")" == 401 ]] || fail "ClickHouse without a password: $(cat "$LOG_DIR/ch-refused.out")"
[[ "$(ch_status "https://default:$(enc "${CH_PASSWORD}x")@$CH_HOST/")" == 401 ]] ||
  fail "ClickHouse with a wrong password: $(cat "$LOG_DIR/ch-refused.out")"
[[ "$(ch_status "https://default:$(enc "$CH_PASSWORD")@$CH_HOST/")" == 200 ]] ||
  fail "ClickHouse with the password: $(cat "$LOG_DIR/ch-refused.out")"
if curl -sS --max-time 5 "https://$CH_HOST/ping" >/dev/null 2>&1; then
  fail "curl trusted the stack's certificate without its CA (it should verify against ca.pem only)"
fi
if [[ $STREAMSHOP_CLICKHOUSE_ENGINE == server ]]; then
  # The native port speaks TLS only (tcp_port_secure).
  echo | timeout 5 openssl s_client -connect "127.0.0.1:$STREAMSHOP_CH_TCP_PORT" -CAfile "$DIR/tls/ca.pem" \
    -verify_return_error -brief >"$LOG_DIR/native-tls.out" 2>&1 || fail "native port: no TLS: $(cat "$LOG_DIR/native-tls.out")"
fi

log "streamshop with a wrong password: refused, and the password not shown (its output joins the log scan)"
if timeout 30 "$STREAMSHOP" verify --wait 0 --clickhouse "https://default:$(enc "${CH_PASSWORD}x")@$CH_HOST" \
  >"$LOG_DIR/verify-wrong-clickhouse.log" 2>&1; then
  fail "verify passed with a wrong ClickHouse password"
fi
grep -q "401" "$LOG_DIR/verify-wrong-clickhouse.log" || fail "no 401: $(cat "$LOG_DIR/verify-wrong-clickhouse.log")"
if timeout 30 "$STREAMSHOP" verify --wait 0 --pg "postgresql://streamshop:$(enc "${PG_PASSWORD}x")@$PG_HOST?sslmode=verify-full&sslrootcert=$DIR/tls/ca.pem" \
  >"$LOG_DIR/verify-wrong-postgres.log" 2>&1; then
  fail "verify passed with a wrong PostgreSQL password"
fi
grep -q "password authentication failed" "$LOG_DIR/verify-wrong-postgres.log" ||
  fail "not refused for its password: $(cat "$LOG_DIR/verify-wrong-postgres.log")"

log "replicate end to end over TLS, then verify"
pg -f "$REPO/sql/sample/workload.sql"
pg -c "CALL random_workload($(pg_seed 1), 50, 10)"
start_replicate
wait_streaming
pg -c "CALL random_workload($(pg_seed 2), 200, 6)"
# A secret on the command line of a running pipeline would be visible to every local user.
cmdline=$(tr '\0' ' ' <"/proc/$REPLICATE_PID/cmdline")
for p in "${PASSWORDS[@]}"; do
  [[ $cmdline != *"$p"* && ${cmdline,,} != *"$(enc "$p" | tr 'A-Z' 'a-z')"* ]] ||
    fail "a password is on replicate's command line: /proc/$REPLICATE_PID/cmdline"
done
verify 120
stop_replicate
[[ "$(ch "SELECT count() FROM analytics.raw_typed FINAL WHERE _deleted = 0")" -gt 0 ]] || fail "nothing replicated"
independent_compare

# capture → Kafka (SASL_SSL) → sink on a --tls stack: tests/integration/test_kafka_tls.sh.

log "down, then up without TLS: the same passwords, still required; plain connections"
bash "$REPO/scripts/stack.sh" down >"$LOG_DIR/stack-down.log" 2>&1 || fail "stack down: $(cat "$LOG_DIR/stack-down.log")"
STREAMSHOP_STACK_TLS=0 bash "$REPO/scripts/stack.sh" up >"$LOG_DIR/stack-up-plain.log" 2>&1 ||
  fail "stack up without TLS: $(cat "$LOG_DIR/stack-up-plain.log")"
for f in "$DIR"/secrets/*; do
  [[ " ${PASSWORDS[*]} " == *" $(cat "$f") "* ]] || fail "$(basename "$f") changed across down/up"
done
unset STREAMSHOP_CLICKHOUSE_CA_FILE
source "$DIR/env"
[[ -z "${STREAMSHOP_CLICKHOUSE_CA_FILE:-}" && $STREAMSHOP_CLICKHOUSE_URL == http://default:* &&
  $STREAMSHOP_PG_URL != *sslmode* ]] || fail "the env after up without TLS still names TLS"
[[ "$(pg -c "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")" == f ]] || fail "PostgreSQL without TLS"
refused_pg "no password supplied" "postgresql://streamshop@$PG_HOST?sslmode=disable" "no password (plain)"
refused_pg "password authentication failed" "postgresql://streamshop:$(enc "${PG_PASSWORD}x")@$PG_HOST" \
  "a wrong password (plain)"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$CH_HOST/" --data-binary "SELECT 1")" == 401 ]] ||
  fail "ClickHouse over plain HTTP without a password was not refused"
[[ "$(ch "SELECT count() FROM analytics.raw_typed FINAL WHERE _deleted = 0")" -gt 0 ]] || fail "the data did not survive"
verify 60

log "no password, raw or percent-encoded, in any log of the run"
logs=("$LOG_DIR" "$PG_REAL/log" "$DIR/clickhouse/log")
[[ -d "$DIR/kafka/log" ]] && logs+=("$DIR/kafka/log")
[[ -d "$DIR/debezium/log" ]] && logs+=("$DIR/debezium/log")
for p in "${PASSWORDS[@]}"; do
  for form in "$p" "$(enc "$p")" "$(enc "$p" | tr 'A-Z' 'a-z')"; do
    hits=$(grep -rlF -- "$form" "${logs[@]}" 2>/dev/null || true)
    [[ -z "$hits" ]] || fail "a password is in: $hits"
  done
done
log "scanned $(find "${logs[@]}" -type f | wc -l) log files"

log "destroy, then up: new passwords"
bash "$REPO/scripts/stack.sh" destroy >/dev/null 2>&1
[[ ! -e "$PG_REAL" ]] || fail "destroy left $PG_REAL"
bash "$REPO/scripts/stack.sh" up >/dev/null 2>&1 || fail "stack up after destroy failed"
[[ " ${PASSWORDS[*]} " != *" $(cat "$DIR/secrets/pg_password") "* ]] || fail "destroy kept the passwords"
