#!/usr/bin/env bash
# Client certificates, tested rather than passed through (`stack up --tls`): PostgreSQL logs in a role by its
# certificate alone (pg_hba `cert`; libpq's sslcert/sslkey in the URL streamshop is given) and refuses it without
# one; ClickHouse, asked to check the certificates clients present, refuses streamshop's --clickhouse-cert-file from
# a foreign CA and accepts the one the stack's CA signed. replicate runs end to end with both, and verify agrees.
TEST_PORT_BASE=27600
STACK_TLS=1
source "$(dirname "$0")/lib.sh" "$1"

DIR=$STREAMSHOP_STACK_DIR
CERTS=$LOG_DIR/certs
mkdir -p "$CERTS"
as_pg() { if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
# client_cert NAME CN CA_PEM CA_KEY: NAME.pem / NAME.key signed by the CA (keys 0600, as libpq demands).
client_cert() {
  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$CERTS/$1.key" -out "$CERTS/$1.csr" 2>/dev/null
  openssl x509 -req -days 2 -in "$CERTS/$1.csr" -CA "$3" -CAkey "$4" -CAcreateserial -out "$CERTS/$1.pem" \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
  chmod 600 "$CERTS/$1.key"
}
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=foreign CA" -keyout "$CERTS/foreign-ca.key" \
  -out "$CERTS/foreign-ca.pem" 2>/dev/null
client_cert certuser certuser "$DIR/tls/ca.pem" "$DIR/tls/ca.key"
client_cert foreign certuser "$CERTS/foreign-ca.pem" "$CERTS/foreign-ca.key"

log "PostgreSQL: role certuser logs in by certificate only"
pg -c "CREATE ROLE certuser LOGIN REPLICATION" \
  -c "CREATE TABLE certs_t (id int PRIMARY KEY, v text)" \
  -c "INSERT INTO certs_t SELECT g, 'v' || g FROM generate_series(1, 100) g" \
  -c "GRANT SELECT ON certs_t TO certuser" -c "CREATE PUBLICATION certs FOR TABLE certs_t"
HBA="$(realpath "$DIR/postgres")/data/pg_hba.conf"
as_pg sed -i '1a hostssl all certuser 127.0.0.1/32 cert\nhostssl replication certuser 127.0.0.1/32 cert' "$HBA"
pg -c "SELECT pg_reload_conf()" >/dev/null
BASE="postgresql://certuser@127.0.0.1:$STREAMSHOP_PG_PORT/streamshop?sslmode=verify-full&sslrootcert=$DIR/tls/ca.pem"
CERT_URL="$BASE&sslcert=$CERTS/certuser.pem&sslkey=$CERTS/certuser.key"
PGPASSFILE=$CERTS/none psql "$CERT_URL" -Atc "SELECT current_user" | grep -qx certuser || fail "certuser's certificate was not accepted"
! PGPASSFILE=$CERTS/none psql "$BASE&sslcert=$CERTS/foreign.pem&sslkey=$CERTS/foreign.key" -Atc "SELECT 1" 2>/dev/null ||
  fail "a certificate from a foreign CA was accepted"

log "ClickHouse: the client's certificate is checked (verificationMode relaxed + the stack's CA)"
mkdir -p "$DIR/clickhouse/config.d"
cat >"$DIR/clickhouse/config.d/client-certs.xml" <<XML
<?xml version="1.0"?>
<yandex><openSSL><server>
  <verificationMode>relaxed</verificationMode>
  <caConfig>$DIR/tls/ca.pem</caConfig>
</server></openSSL></yandex>
XML
bash "$REPO/scripts/stack.sh" restart-clickhouse >"$LOG_DIR/restart-clickhouse.log" 2>&1 || fail "ClickHouse did not restart"
# Without a certificate ClickHouse answers (relaxed: one presented is checked), so the refusal below is the cert's.
rc=0
"$STREAMSHOP" verify --publication certs --pg "$CERT_URL" >"$LOG_DIR/verify-nocert.log" 2>&1 || rc=$?
((rc == 2)) || fail "verify without a client certificate did not reach ClickHouse (rc $rc): $(cat "$LOG_DIR/verify-nocert.log")"
"$STREAMSHOP" verify --publication certs --pg "$CERT_URL" --clickhouse-cert-file "$CERTS/foreign.pem" \
  --clickhouse-key-file "$CERTS/foreign.key" >"$LOG_DIR/verify-foreign.log" 2>&1 &&
  fail "ClickHouse accepted a client certificate from a foreign CA"
grep -q "ClickHouse at https://127.0.0.1:$STREAMSHOP_CH_HTTP_PORT/" "$LOG_DIR/verify-foreign.log" || fail "the refusal does not name ClickHouse: $(cat "$LOG_DIR/verify-foreign.log")"

log "replicate with both client certificates; verify agrees"
REPLICATE_ARGS=(--publication certs --slot certs --pg "$CERT_URL" --clickhouse-cert-file "$CERTS/certuser.pem"
  --clickhouse-key-file "$CERTS/certuser.key")
"$STREAMSHOP" replicate "${REPLICATE_ARGS[@]}" --progress off >"$LOG_DIR/replicate.log" 2>&1 &
BG_PIDS+=($!)
wait_streaming
pg -c "UPDATE certs_t SET v = 'changed' WHERE id <= 10" -c "DELETE FROM certs_t WHERE id > 90"
"$STREAMSHOP" verify --wait 60 --publication certs --pg "$CERT_URL" --clickhouse-cert-file "$CERTS/certuser.pem" \
  --clickhouse-key-file "$CERTS/certuser.key" >"$LOG_DIR/verify.out" 2>&1 || { cat "$LOG_DIR/verify.out"; fail "verify failed"; }
grep -q "all tables match" "$LOG_DIR/verify.out" || fail "verify did not match"
