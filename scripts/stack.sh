#!/usr/bin/env bash
# stack.sh — a private PostgreSQL 15 and ClickHouse 18.16 (and optionally an Apache Kafka 4 broker, KRaft)
# on 127.0.0.1, run as plain processes.
#
# Usage: scripts/stack.sh up [--tls] [--with-kafka] [--clickhouse-engine server|chdb] [--clickhouse-cluster]
#                             [--clickhouse-shards 1|2]
#                          |down|status|restart-postgres|restart-clickhouse|restart-kafka|destroy
#                          |stop-clickhouse-replica N|start-clickhouse-replica N|kill-clickhouse-replica N
#
#   up                  start both services (no-op for one already running), write <dir>/env
#   up --tls            TLS everywhere: a private CA and a server certificate in <dir>/tls (ca.pem), PostgreSQL
#                       accepts TLS connections only (ssl = on, hostssl), ClickHouse serves HTTPS on the HTTP port
#                       (plain HTTP closed; the native port is TLS-only too); same as STREAMSHOP_STACK_TLS=1
#   up --with-kafka     also start a single-node Kafka broker (KRaft, controller+broker in one JVM) whose client
#                       listener is SASL_PLAINTEXT (SASL_SSL with --tls); same as STREAMSHOP_WITH_KAFKA=1; adds
#                       STREAMSHOP_KAFKA_BROKERS and STREAMSHOP_KAFKA_PROP_FILE to <dir>/env
#   up --clickhouse-engine server|chdb
#                       which ClickHouse answers on the HTTP port: `server` (default) the real clickhouse-server
#                       18.16 of Debian; `chdb` ClickHouse 26.x (the chdb engine of the venv) behind
#                       tests/support/chdb_http.py, a test/dev endpoint (docs/MODERN_CLICKHOUSE.md); same as
#                       STREAMSHOP_CLICKHOUSE_ENGINE; no native TCP port with chdb
#   up --clickhouse-cluster
#                       a ClickHouse 18.16 cluster named `streamshop`: ZooKeeper (Debian's, one standalone JVM) and 2
#                       servers, replicas 1 and 2 of one shard (macros {cluster} {shard} {replica}, ON CLUSTER DDL,
#                       <remote_servers> with the stack's password); adds STREAMSHOP_CLICKHOUSE_CLUSTER=streamshop and
#                       STREAMSHOP_CLICKHOUSE_URL_2 (shard 1 replica 2) to <dir>/env; STREAMSHOP_CLICKHOUSE_URL stays
#                       server 1 (shard 1 replica 1). Same as STREAMSHOP_STACK_CLICKHOUSE_CLUSTER=1 (=0: one server
#                       again, after `down`). Not with --clickhouse-engine chdb (in-process, no cluster), nor with
#                       --tls (the cluster's own connections are plain): both are refused.
#   up --clickhouse-shards 2
#                       the cluster with 2 shards of 2 replicas (4 servers; implies --clickhouse-cluster); adds
#                       STREAMSHOP_CLICKHOUSE_URL_3 (shard 2 replica 1) and _URL_4 (shard 2 replica 2); same as
#                       STREAMSHOP_STACK_CLICKHOUSE_SHARDS=2
#   down                stop every service (no-op when stopped), and a Debezium worker of scripts/debezium.sh
#   status              print each service's state; exit 0 when all run, 3 otherwise
#   restart-postgres    stop and start PostgreSQL only
#   restart-clickhouse  stop and start ClickHouse only (with the cluster: every server and ZooKeeper)
#   stop-clickhouse-replica N | start-clickhouse-replica N | kill-clickhouse-replica N
#                       stop (SIGTERM), start, or crash (SIGKILL) cluster server N alone: 1..4, the N of
#                       STREAMSHOP_CLICKHOUSE_URL_N (1: STREAMSHOP_CLICKHOUSE_URL); server N is replica (N-1)%2+1 of
#                       shard (N-1)/2+1
#   restart-kafka       stop and start the Kafka broker only (starting it if it never ran)
#   destroy             down, then remove the state dir's contents (and any /var/tmp data dir), passwords too
#
# Passwords always: the first `up` generates one per login (PostgreSQL `postgres`, `streamshop`, `streamshop_cdc`;
# ClickHouse `default`; Kafka `streamshop`, in <dir>/kafka/scram-password), kept (mode 0600) until `destroy`;
# PostgreSQL authenticates with scram-sha-256 only, ClickHouse with a SHA-256 password hash, Kafka with SASL
# (SCRAM-SHA-512 or PLAIN). Each password holds ?#/@:% (so every run exercises
# percent-encoding and redaction). Everything the stack writes is private to its user (umask 077, dirs 0700).
#
# Environment (so that several stacks can run side by side; nothing here is global):
#   STREAMSHOP_STACK_DIR     state dir (default <repo>/.streamshop)
#   STREAMSHOP_PG_PORT       PostgreSQL port        (default 15432)
#   STREAMSHOP_CH_HTTP_PORT  ClickHouse HTTP port   (default 18123)
#   STREAMSHOP_CH_TCP_PORT   ClickHouse native port (default 19000)
#   STREAMSHOP_WITH_KAFKA    1: `up` also starts Kafka (like --with-kafka)
#   STREAMSHOP_KAFKA_PORT    Kafka client listener  (default 19092)
#   STREAMSHOP_KAFKA_CONTROLLER_PORT  KRaft controller listener (default: Kafka port + 1)
#   STREAMSHOP_KAFKA_HEAP    broker max heap        (default 512m)
#   STREAMSHOP_DEPS_DIR      fetched jars (default <repo>/.streamshop-deps; see scripts/bootstrap-kafka.sh)
#   STREAMSHOP_CLICKHOUSE_ENGINE  server (default) or chdb, like --clickhouse-engine
#   STREAMSHOP_VENV          the venv with chdb (default <repo>/.venv; see scripts/bootstrap-python.sh)
#   STREAMSHOP_STACK_TLS     1: `up` with TLS (like --tls); 0: without
#   STREAMSHOP_STACK_CLICKHOUSE_CLUSTER  1: `up` with the ClickHouse cluster (like --clickhouse-cluster); 0: without
#   STREAMSHOP_STACK_CLICKHOUSE_SHARDS   1 (default) or 2, like --clickhouse-shards
#   STREAMSHOP_CH_CLUSTER_PORT_BASE  P, the cluster's ports (default 18130), 10 of them: P+0 server 1's interserver
#                            port; server N (2..4) HTTP P+3N-5, native TCP P+3N-4, interserver P+3N-3 (server 2:
#                            P+1..P+3, server 3: P+4..P+6, server 4: P+7..P+9). Server 1 keeps STREAMSHOP_CH_HTTP_PORT
#                            and STREAMSHOP_CH_TCP_PORT. (tests/integration/lib.sh: P = the test's base - 10000.)
#   STREAMSHOP_ZOOKEEPER_PORT  ZooKeeper's client port (default 12181; lib.sh: the test's base + 7)
# A port (or the engine, TLS, the cluster) left unset falls back to the one the stack last ran with, then to the
# default. A running ClickHouse keeps its TLS mode, engine and cluster layout: switching any needs `down` first.
#
# Layout: <dir>/secrets/{pg_superuser_password,pg_password,pg_cdc_password,clickhouse_password}   (0600)
#         <dir>/tls/{ca.pem,ca.key,server.pem,server.key}   (tls_ensure; keys 0600)
#         <dir>/postgres/{data,log}   PostgreSQL cluster, log, unix socket
#         <dir>/clickhouse/{config.xml,users.xml,data,tmp,user_files,format_schemas,log}
#                                     (with chdb: <dir>/clickhouse/{chdb,log})
#                                     with the cluster that is server 1; server N in <dir>/clickhouse/replica-N/ (the
#                                     same files); every server's pid in clickhouse-server.pid of its dir
#         <dir>/zookeeper/{zoo.cfg,data,log,zookeeper.pid}   (with the cluster)
#         <dir>/kafka/{server.properties,log4j2.properties,cluster-id,data,log}   (with Kafka; 0700)
#                                     and scram-password (user streamshop), client.properties (Java),
#                                     librdkafka.properties (capture/sink), with --tls keystore.pem, all 0600
#         <dir>/env                   (0600) `source` it for STREAMSHOP_PG_URL, STREAMSHOP_CLICKHOUSE_URL (the
#                                     passwords percent-encoded in them; with TLS also sslmode=verify-full and
#                                     sslrootcert, https and STREAMSHOP_CLICKHOUSE_CA_FILE) (and STREAMSHOP_KAFKA_BROKERS,
#                                     STREAMSHOP_KAFKA_PROP_FILE) (and with the cluster STREAMSHOP_CLICKHOUSE_CLUSTER,
#                                     STREAMSHOP_CLICKHOUSE_URL_2[, _3, _4])
#         <dir>/ports                 the ports of the last `up`
# Requires the packages that scripts/bootstrap.sh installs; Kafka also java 17+ and the jars of
# scripts/bootstrap-kafka.sh (run by `up --with-kafka` when they are missing).
set -euo pipefail
umask 077   # every file and dir the stack (and the servers it starts) creates is its user's alone

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STATE_DIR=$(realpath -m "${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}")
PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=$STATE_DIR/postgres
CH_DIR=$STATE_DIR/clickhouse
CH_CONFIG=$CH_DIR/config.xml
CH_PIDFILE=$CH_DIR/clickhouse-server.pid
CH_CLUSTER_NAME=streamshop                 # the cluster of `up --clickhouse-cluster` (<remote_servers>, ON CLUSTER)
ZK_DIR=$STATE_DIR/zookeeper
ZK_CONFIG=$ZK_DIR/zoo.cfg
ZK_PIDFILE=$ZK_DIR/zookeeper.pid
ZK_CLASSPATH=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
KAFKA_DIR=$STATE_DIR/kafka
KAFKA_CONFIG=$KAFKA_DIR/server.properties
KAFKA_PIDFILE=$KAFKA_DIR/kafka.pid
KAFKA_USER=streamshop                      # the broker's client user (SCRAM-SHA-512 and PLAIN)
KAFKA_SECRET=$KAFKA_DIR/scram-password     # its password (0600), made at format time, kept until destroy
DEPS_DIR=$(realpath -m "${STREAMSHOP_DEPS_DIR:-$REPO/.streamshop-deps}")
KAFKA_LIB=$DEPS_DIR/kafka/lib
VENV=$(realpath -m "${STREAMSHOP_VENV:-$REPO/.venv}")
CHDB_HTTP=$REPO/tests/support/chdb_http.py
SECRETS_DIR=$STATE_DIR/secrets
TLS_DIR=$STATE_DIR/tls
CH_USER=default
START_TIMEOUT=60   # seconds to wait for a service to answer
STOP_TIMEOUT=30    # seconds to wait for ClickHouse (or Kafka) to exit before SIGKILL

say() { echo "stack: $*"; }
die() { echo "stack: error: $*" >&2; exit 1; }

# Port: the environment's, else the one of the last `up` (<dir>/ports), else the default.
saved_port() {
  local v=""
  [[ -f "$STATE_DIR/ports" ]] && v=$(sed -n "s/^$1=\([0-9]*\)$/\1/p" "$STATE_DIR/ports")
  echo "${v:-$2}"
}
load_ports() {
  PG_PORT=${STREAMSHOP_PG_PORT:-$(saved_port PG_PORT 15432)}
  CH_HTTP_PORT=${STREAMSHOP_CH_HTTP_PORT:-$(saved_port CH_HTTP_PORT 18123)}
  CH_TCP_PORT=${STREAMSHOP_CH_TCP_PORT:-$(saved_port CH_TCP_PORT 19000)}
  CH_ENGINE=${STREAMSHOP_CLICKHOUSE_ENGINE:-$(sed -n 's/^CH_ENGINE=\([a-z]*\)$/\1/p' "$STATE_DIR/ports" 2>/dev/null || true)}
  CH_ENGINE=${CH_ENGINE:-server}
  case "${STREAMSHOP_STACK_TLS:-$(saved_port TLS 0)}" in
    1 | true | yes | on) TLS=1 ;;
    0 | false | no | off | "") TLS=0 ;;
    *) die "STREAMSHOP_STACK_TLS must be 1 or 0, not '$STREAMSHOP_STACK_TLS'" ;;
  esac
  local p
  for p in "$PG_PORT" "$CH_HTTP_PORT" "$CH_TCP_PORT"; do
    if ! [[ "$p" =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then die "invalid port '$p'"; fi
  done
  [[ "$CH_HTTP_PORT" != "$CH_TCP_PORT" ]] || die "ClickHouse HTTP and TCP ports are both $CH_TCP_PORT"
  case "${STREAMSHOP_STACK_CLICKHOUSE_CLUSTER:-$(saved_port CH_CLUSTER 0)}" in
    1 | true | yes | on) CH_CLUSTER=1 ;;
    0 | false | no | off | "") CH_CLUSTER=0 ;;
    *) die "STREAMSHOP_STACK_CLICKHOUSE_CLUSTER must be 1 or 0, not '$STREAMSHOP_STACK_CLICKHOUSE_CLUSTER'" ;;
  esac
  CH_SHARDS=${STREAMSHOP_STACK_CLICKHOUSE_SHARDS:-$(saved_port CH_SHARDS 1)}
  CH_CLUSTER_PORT_BASE=${STREAMSHOP_CH_CLUSTER_PORT_BASE:-$(saved_port CH_CLUSTER_PORT_BASE 18130)}
  ZK_PORT=${STREAMSHOP_ZOOKEEPER_PORT:-$(saved_port ZK_PORT 12181)}
  for p in "$CH_CLUSTER_PORT_BASE" "$ZK_PORT"; do
    if ! [[ "$p" =~ ^[0-9]+$ ]] || ((p < 1 || p > 65526)); then die "invalid port '$p'"; fi
  done
  KAFKA_PORT=${STREAMSHOP_KAFKA_PORT:-$(saved_port KAFKA_PORT 19092)}
  if ! [[ "$KAFKA_PORT" =~ ^[0-9]+$ ]] || ((KAFKA_PORT < 1 || KAFKA_PORT > 65535)); then
    die "invalid port '$KAFKA_PORT'"
  fi
  # The controller port follows an explicitly set Kafka port; otherwise the saved one, then Kafka's + 1.
  if [[ -n "${STREAMSHOP_KAFKA_CONTROLLER_PORT:-}" ]]; then
    KAFKA_CONTROLLER_PORT=$STREAMSHOP_KAFKA_CONTROLLER_PORT
  elif [[ -n "${STREAMSHOP_KAFKA_PORT:-}" ]]; then
    KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
  else
    KAFKA_CONTROLLER_PORT=$(saved_port KAFKA_CONTROLLER_PORT $((KAFKA_PORT + 1)))
  fi
  if ! [[ "$KAFKA_CONTROLLER_PORT" =~ ^[0-9]+$ ]] || ((KAFKA_CONTROLLER_PORT < 1 || KAFKA_CONTROLLER_PORT > 65535)); then
    die "invalid Kafka controller port '$KAFKA_CONTROLLER_PORT'; set STREAMSHOP_KAFKA_CONTROLLER_PORT"
  fi
  [[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] ||
    die "Kafka client and controller ports are both $KAFKA_PORT; set STREAMSHOP_KAFKA_CONTROLLER_PORT"
}

# Fails when something else listens on the port; $2 names the variable that moves it.
check_port_free() {
  local port=$1 var=$2 line who
  line=$(ss -Hltnp "sport = :$port" 2>/dev/null | head -n 1)
  [[ -z "$line" ]] && return 0
  who=$(grep -o 'users:(([^)]*))' <<<"$line" | sed -E 's/users:\(\("([^"]*)",pid=([0-9]+).*/\1, pid \2/' || true)
  die "port $port is already in use${who:+ (by $who)}; set $var to a free port"
}

# Waits until "$@" succeeds; fails, showing the log, on timeout or as soon as $alive fails.
wait_until() {
  local what=$1 log=$2 alive=$3; shift 3
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)) || ! $alive; then
      echo "stack: error: $what did not become ready; last lines of $log:" >&2
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

# A zombie (a launcher that died but was not reaped yet) counts as dead.
# shellcheck source=scripts/process.sh
source "$(dirname "${BASH_SOURCE[0]}")/process.sh"
pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# ---------------------------------------------------------------- state dir, passwords, TLS

# The state dir, 0700. One that others may write to (e.g. /tmp itself) is refused, not chmod'ed.
make_state_dir() {
  local given=${STREAMSHOP_STACK_DIR:-$REPO/.streamshop}
  if [[ -L "$given" && "$(stat -c %u "$given")" != "$EUID" ]]; then
    die "state dir $given is a symlink of another user; set STREAMSHOP_STACK_DIR to a private dir"
  fi
  if [[ -e "$STATE_DIR" ]]; then
    [[ -d "$STATE_DIR" && -O "$STATE_DIR" ]] || die "state dir $STATE_DIR is not a directory of $(id -un)"
    (((8#$(stat -c %a "$STATE_DIR") & 8#1022) == 0)) ||
      die "state dir $STATE_DIR is writable by others; set STREAMSHOP_STACK_DIR to a private dir"
  fi
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
}

# A new password: random alphanumerics with each of ? # / @ : % among them ('%' followed by two hex digits, so a
# client that decodes twice gets it wrong). No quote, backslash or space: it goes into SQL and config text as is.
gen_password() {
  local alnum hex specials i out=""
  alnum=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24 || true)
  hex=$(LC_ALL=C tr -dc '0-9a-f' </dev/urandom | head -c 2 || true)
  mapfile -t specials < <(shuf -e '?' '#' '/' '@' ':' "%$hex")
  for i in 0 1 2 3 4 5; do out+=${alnum:i*4:4}${specials[i]}; done
  printf '%s' "$out"
}
# secret NAME: the password in <dir>/secrets/NAME, created on first use.
secret() {
  local f=$SECRETS_DIR/$1
  if [[ ! -s "$f" ]]; then
    mkdir -p "$SECRETS_DIR" && chmod 700 "$SECRETS_DIR"
    gen_password >"$f.tmp" && chmod 600 "$f.tmp" && mv "$f.tmp" "$f"
  fi
  cat "$f"
}
# Percent-encodes $1 for a URL (every byte but A-Z a-z 0-9 - . _ ~; $2 more bytes to keep, e.g. /).
pct() {
  local s=$1 keep=${2:-} out="" c i
  local LC_ALL=C
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    if [[ $c == [A-Za-z0-9._~-] || (-n $keep && $keep == *"$c"*) ]]; then out+=$c; else out+=$(printf '%%%02X' "'$c"); fi
  done
  printf '%s' "$out"
}
# Single-quotes $1 for the shell.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# TLS on or off: --tls / STREAMSHOP_STACK_TLS, else the last `up`'s, else off.
tls_on() { [[ $TLS == 1 ]]; }
on_off() { if [[ $1 == 1 ]]; then echo on; else echo off; fi; }

# The stack's private CA and a server certificate signed by it for localhost / 127.0.0.1 (what every service
# presents), made once by openssl: <dir>/tls/ca.pem, ca.key, server.pem, server.key (keys 0600). Idempotent: kept
# while the server certificate verifies against the CA and stays valid for another day; else made again.
tls_ensure() {
  local d=$TLS_DIR
  if [[ -s $d/ca.pem && -s $d/ca.key && -s $d/server.pem && -s $d/server.key ]] &&
    openssl verify -CAfile "$d/ca.pem" "$d/server.pem" >/dev/null 2>&1 &&
    openssl x509 -in "$d/server.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  command -v openssl >/dev/null || die "openssl not found (Debian package openssl)"
  mkdir -p "$d" && chmod 700 "$d"
  say "tls: a private CA and a server certificate for localhost/127.0.0.1 in $d"
  if ! [[ -s $d/ca.pem && -s $d/ca.key ]] || ! openssl x509 -in "$d/ca.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=streamshop local CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$d/ca.key" -out "$d/ca.pem" >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "tls: CA"; }
  fi
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" -keyout "$d/server.key" \
    -out "$d/server.csr" >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "tls: server key"; }
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$d/server.ext"
  openssl x509 -req -sha256 -days 825 -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -extfile "$d/server.ext" -out "$d/server.pem" >"$d/openssl.log" 2>&1 ||
    { cat "$d/openssl.log" >&2; die "tls: server certificate"; }
  rm -f "$d/server.csr" "$d/server.ext" "$d/openssl.log"
  chmod 600 "$d/ca.key" "$d/server.key"
  chmod 644 "$d/ca.pem" "$d/server.pem"
}

# ---------------------------------------------------------------- PostgreSQL

# PostgreSQL refuses to run as root: as root, its tools run as the `postgres` system user.
# They run from / because the caller's working directory may be closed to that user.
as_pg() { if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

pg_real_dir() { realpath -m "$PG_DIR"; }
pg_data() { echo "$(pg_real_dir)/data"; }
pg_log() { echo "$(pg_real_dir)/log/postgres.log"; }
pg_pid() { head -n 1 "$(pg_data)/postmaster.pid" 2>/dev/null || true; }
# Running = postmaster.pid names a live process that serves this stack's data dir.
pg_running() {
  local pid
  pid=$(pg_pid)
  pid_alive "$pid" && [[ "$(pid_cmdline "$pid")" == *" -D $(pg_data) "* ]]
}
pg_port_running() { sed -n 4p "$(pg_data)/postmaster.pid"; }

# Creates <dir>/postgres (0700). As root the cluster belongs to the `postgres` user, who cannot enter the state dir
# (0700, root's); nor does a unix socket path over ~107 bytes work. Then the data lives in a fresh private dir
# /var/tmp/streamshop-XXXXXXXXXX (mktemp: unpredictable, 0700, owned by the cluster's user) and <dir>/postgres is a
# symlink to its postgres/; a target that is gone, or that is not that user's private dir, is never reused;
# `destroy` removes it.
pg_make_dir() {
  local owner=$(id -un)
  ((EUID == 0)) && owner=postgres
  if [[ -L "$PG_DIR" ]]; then
    local top
    top=$(dirname "$(pg_real_dir)")
    if [[ ! -d "$top" ]]; then
      rm -f "$PG_DIR"   # wiped (e.g. /var/tmp cleaned): a new random dir, never the old name
    elif [[ "$(stat -c '%U %a' "$top")" != "$owner 700" ]]; then
      die "postgres: $top is not a private dir of $owner; remove it and $PG_DIR (or run \`stack destroy\`)"
    fi
  fi
  if [[ ! -e "$PG_DIR" && ! -L "$PG_DIR" ]] && { ((EUID == 0)) || ((${#PG_DIR} > 80)); }; then
    local top
    top=$(mktemp -d /var/tmp/streamshop-XXXXXXXXXX)
    chown "$owner:" "$top"
    ln -s "$top/postgres" "$PG_DIR"
  fi
  [[ -d "$(pg_real_dir)/log" ]] && return 0
  mkdir -p "$(pg_real_dir)/log"
  chmod 700 "$(pg_real_dir)" "$(pg_real_dir)/log"
  if ((EUID == 0)); then chown -R postgres: "$(pg_real_dir)"; fi
}

# initdb with scram-sha-256 for every connection; the superuser `postgres` gets its password from a file that only
# the cluster's user can read, removed right after.
pg_init() {
  if [[ -f "$(pg_data)/PG_VERSION" ]]; then
    [[ -s "$SECRETS_DIR/pg_superuser_password" ]] ||
      die "postgres: the cluster in $(pg_data) predates the stack's passwords (or lost them); run \`stack destroy\`, then \`stack up\`"
    return 0
  fi
  local locale=C pwfile
  locale -a 2>/dev/null | grep -qixE 'c\.utf-?8' && locale=C.UTF-8
  rm -rf "$(pg_data)"   # a half-done earlier initdb
  say "postgres: initdb ($(pg_data), locale $locale, scram-sha-256)"
  pwfile="$(pg_real_dir)/initdb.pw"
  secret pg_superuser_password | as_pg tee "$pwfile" >/dev/null
  as_pg "$PG_BIN/initdb" -D "$(pg_data)" --auth=scram-sha-256 -U postgres --pwfile="$pwfile" --encoding=UTF8 \
    --locale="$locale" >"$(pg_real_dir)/log/initdb.log" 2>&1 ||
    { rm -f "$pwfile"; tail -n 30 "$(pg_real_dir)/log/initdb.log" >&2; die "initdb failed"; }
  rm -f "$pwfile"
  echo "include_if_exists = 'streamshop.conf'" | as_pg tee -a "$(pg_data)/postgresql.conf" >/dev/null
}

pg_start() {
  if pg_running; then
    say "postgres: already running (pid $(pg_pid), port $(pg_port_running))"
    return 0
  fi
  check_port_free "$PG_PORT" STREAMSHOP_PG_PORT
  pg_make_dir
  pg_init
  pg_clear_stale_lock
  # Rewritten on every start so that a changed port (or TLS) takes effect. Durability settings stay default.
  local ssl="ssl = off"
  if tls_on; then
    tls_ensure
    # The key must belong to the cluster's user with mode 0600: a copy in the (private) cluster dir.
    as_pg tee "$(pg_real_dir)/server.key" <"$TLS_DIR/server.key" >/dev/null
    as_pg tee "$(pg_real_dir)/server.pem" <"$TLS_DIR/server.pem" >/dev/null
    as_pg tee "$(pg_real_dir)/ca.pem" <"$TLS_DIR/ca.pem" >/dev/null
    as_pg chmod 600 "$(pg_real_dir)/server.key" "$(pg_real_dir)/server.pem" "$(pg_real_dir)/ca.pem"
    # ssl_ca_file: client certificates signed by the stack's CA verify (pg_hba `cert`, clientcert=verify-full).
    ssl="ssl = on
ssl_cert_file = '$(pg_real_dir)/server.pem'
ssl_key_file = '$(pg_real_dir)/server.key'
ssl_ca_file = '$(pg_real_dir)/ca.pem'
ssl_min_protocol_version = 'TLSv1.2'"
  fi
  as_pg tee "$(pg_data)/streamshop.conf" >/dev/null <<EOF
# written by scripts/stack.sh on every start
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$(pg_real_dir)'
unix_socket_permissions = 0700
password_encryption = scram-sha-256
$ssl
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
EOF
  # scram-sha-256 passwords for every connection (the unix socket too); with TLS, TCP connections only over TLS.
  local host="host   " nossl=""
  if tls_on; then
    host=hostssl
    nossl="hostnossl  all          all  0.0.0.0/0     reject
hostnossl  replication  all  0.0.0.0/0     reject"
  fi
  as_pg tee "$(pg_data)/pg_hba.conf" >/dev/null <<EOF
# written by scripts/stack.sh on every start
local      all          all                  scram-sha-256
$nossl
$host    all          all  127.0.0.1/32  scram-sha-256
$host    replication  all  127.0.0.1/32  scram-sha-256
EOF
  as_pg "$PG_BIN/pg_ctl" -D "$(pg_data)" -l "$(pg_log)" -W start >/dev/null
  local started=$SECONDS
  wait_until postgres "$(pg_log)" pg_running_soon \
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 1
  pg_bootstrap_role
  say "postgres: started (pid $(pg_pid), port $PG_PORT$(tls_on && echo ", TLS only" || true)) in $((SECONDS - started)) s"
}
# 1 when the running cluster was started with TLS, else 0.
pg_tls_running() { if grep -qx 'ssl = on' "$(pg_data)/streamshop.conf" 2>/dev/null; then echo 1; else echo 0; fi; }
# postmaster.pid appears a moment after pg_ctl returns: give it 3 s before judging it dead.
pg_running_soon() { ((SECONDS - started < 3)) || pg_running; }

# After a crash (kill -9) the dead postmaster can linger as a zombie for a while (this machine's
# init reaps late), and PostgreSQL takes a zombie's pid in postmaster.pid for a live server.
# Once no process works in the data dir any more (every backend chdirs there), the lock is stale,
# and so are the socket lock files in the socket dir, which belongs to this stack alone.
pg_clear_stale_lock() {
  local lock deadline=$((SECONDS + 10)) d
  lock="$(pg_data)/postmaster.pid"
  [[ -f "$lock" ]] || return 0
  while :; do
    local busy=""
    for d in /proc/[0-9]*; do
      [[ "$(readlink "$d/cwd" 2>/dev/null)" == "$(pg_data)" ]] && busy+=" ${d#/proc/}"
    done
    [[ -z "$busy" ]] && break
    ((SECONDS < deadline)) || die "postgres: processes$busy still use $(pg_data); stop them first"
    sleep 0.5
  done
  say "postgres: removing stale lock files (pid $(pg_pid) is gone)"
  rm -f "$lock" "$(pg_real_dir)"/.s.PGSQL.*
}

# psql as the superuser; the password reaches it in the environment, never on a command line.
pg_psql() {
  PGPASSWORD=$(cat "$SECRETS_DIR/pg_superuser_password") PGSSLMODE=$(tls_on && echo verify-full || echo disable) \
    PGSSLROOTCERT=$TLS_DIR/ca.pem "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}

# The roles and their passwords (set on every start, so they always match <dir>/secrets): streamshop (SUPERUSER
# REPLICATION: what the tests and the demo use) and streamshop_cdc (LOGIN REPLICATION only; sql/postgres/schema.sql
# grants it SELECT; connectors/postgres-source.json logs in as it). The statements come on stdin, and the session
# logs no statement even on an error: a password reaches neither a command line nor the server log.
pg_bootstrap_role() {
  pg_psql -d postgres >/dev/null <<EOF
SET log_min_error_statement = panic;
SET log_statement = none;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamshop') THEN
    CREATE ROLE streamshop LOGIN SUPERUSER REPLICATION;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'streamshop_cdc') THEN
    CREATE ROLE streamshop_cdc LOGIN REPLICATION;
  END IF;
END \$\$;
ALTER ROLE postgres PASSWORD '$(secret pg_superuser_password)';
ALTER ROLE streamshop PASSWORD '$(secret pg_password)';
ALTER ROLE streamshop_cdc PASSWORD '$(secret pg_cdc_password)';
EOF
  if [[ -z "$(pg_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'streamshop'")" ]]; then
    pg_psql -d postgres -c "CREATE DATABASE streamshop OWNER streamshop" >/dev/null
  fi
}

pg_stop() {
  if ! pg_running; then
    say "postgres: already stopped"
    return 0
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$(pg_data)" -m fast -t "$START_TIMEOUT" -w stop >/dev/null
  say "postgres: stopped"
}

# ---------------------------------------------------------------- ClickHouse

ch_bin() {
  local b
  for b in /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
    [[ -x "$b" ]] && { echo "$b"; return; }
  done
  command -v clickhouse-server || die "clickhouse-server not found; run scripts/bootstrap.sh"
}

ch_pid() { cat "$CH_PIDFILE" 2>/dev/null || true; }
# Running = the pid file's process is alive and was started with this stack's config file (server) or data
# dir (chdb).
ch_running() {
  local pid
  pid=$(ch_pid)
  pid_alive "$pid" && [[ "$(pid_cmdline "$pid")" == *" --config-file=$CH_CONFIG "* ||
    "$(pid_cmdline "$pid")" == *"$CHDB_HTTP --data $CH_DIR/chdb "* ]]
}
# The engine, HTTP port and TCP port of the running ClickHouse.
ch_engine_running() { if [[ "$(pid_cmdline "$(ch_pid)")" == *"$CHDB_HTTP"* ]]; then echo chdb; else echo server; fi; }
ch_port_running() {
  if [[ $(ch_engine_running) == chdb ]]; then
    pid_cmdline "$(ch_pid)" | sed -n 's/.* --port \([0-9]*\) .*/\1/p'
  else
    sed -n 's:.*<https\{0,1\}_port>\(.*\)</https\{0,1\}_port>.*:\1:p' "$CH_CONFIG"
  fi
}
ch_tcp_port_running() {
  if [[ $(ch_engine_running) == chdb ]]; then
    echo none
  else
    sed -n 's:.*<tcp_port\(_secure\)\{0,1\}>\(.*\)</tcp_port.*:\2:p' "$CH_CONFIG"
  fi
}
# 1 when the running ClickHouse serves HTTPS, else 0.
ch_tls_running() {
  if [[ "$(pid_cmdline "$(ch_pid)")" == *" --tls-cert "* ]] ||
    { [[ $(ch_engine_running) == server ]] && grep -q '<https_port>' "$CH_CONFIG" 2>/dev/null; }; then
    echo 1
  else
    echo 0
  fi
}
ch_scheme() { if tls_on; then echo https; else echo http; fi; }
# ch_curl PATH [CURL-ARG…]: a request to this stack's ClickHouse as its user; the credentials reach curl in a config
# on stdin, never on its command line.
ch_curl() {
  local path=$1
  shift
  printf 'user = "%s:%s"\n' "$CH_USER" "$(cat "$SECRETS_DIR/clickhouse_password")" |
    curl -sf --max-time 5 -K - --cacert "$TLS_DIR/ca.pem" "$(ch_scheme)://127.0.0.1:$CH_HTTP_PORT$path" "$@"
}

# ClickHouse 18.16 config: the root element is <yandex>; paths must end with '/'.
# ch_write_config [DIR HTTP-PORT TCP-PORT CLUSTER-XML]: the config of the server in DIR (default: the first server,
# <dir>/clickhouse, on the stack's ports). Without the cluster no interserver_http_port (only used by replicated
# tables), so two stacks never collide on it; CLUSTER-XML (ch_cluster_xml) adds it, the macros, ZooKeeper and the
# cluster's servers.
ch_write_config() {
  local d=${1:-$CH_DIR} http=${2:-$CH_HTTP_PORT} tcp=${3:-$CH_TCP_PORT} cluster=${4:-}
  mkdir -p "$d"/{data,tmp,user_files,format_schemas,log}
  chmod 700 "$d"
  # Plain: HTTP and native TCP. TLS: HTTPS on the HTTP port and TLS on the native port (tcp_port_secure), no
  # plaintext port at all; the stack's server certificate, no client certificate asked for.
  local ports="    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>"
  if tls_on; then
    ports="    <https_port>$http</https_port>
    <tcp_port_secure>$tcp</tcp_port_secure>
    <openSSL>
        <server>
            <certificateFile>$TLS_DIR/server.pem</certificateFile>
            <privateKeyFile>$TLS_DIR/server.key</privateKeyFile>
            <verificationMode>none</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>"
  fi
  cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<!-- written by scripts/stack.sh on every start -->
<yandex>
    <logger>
        <level>information</level>
        <log>$d/log/clickhouse-server.log</log>
        <errorlog>$d/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
$ports
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <users_config>$d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mlock_executable>false</mlock_executable>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <query_log>
        <database>system</database>
        <table>query_log</table>
        <partition_by>toYYYYMM(event_date)</partition_by>
        <flush_interval_milliseconds>7500</flush_interval_milliseconds>
    </query_log>
${cluster:+$cluster
}</yandex>
EOF
  cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<!-- written by scripts/stack.sh on every start -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>10000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <!-- the stack's password: <dir>/secrets/clickhouse_password -->
            <password_sha256_hex>$(printf '%s' "$(secret clickhouse_password)" | sha256sum | cut -c1-64)</password_sha256_hex>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

ch_ping() { [[ "$(curl -sf --max-time 2 --cacert "$TLS_DIR/ca.pem" "$(ch_scheme)://127.0.0.1:$CH_HTTP_PORT/ping")" == "Ok." ]]; }

ch_start() {
  if ch_running; then
    [[ $(ch_engine_running) == "$CH_ENGINE" ]] ||
      die "clickhouse: the $(ch_engine_running) engine runs here; run \`stack down\` before switching to $CH_ENGINE"
    say "clickhouse: already running (pid $(ch_pid), port $(ch_port_running), engine $CH_ENGINE)"
    return 0
  fi
  tls_on && tls_ensure
  [[ $CH_ENGINE == chdb ]] && { chdb_start; return; }
  check_port_free "$CH_HTTP_PORT" STREAMSHOP_CH_HTTP_PORT
  check_port_free "$CH_TCP_PORT" STREAMSHOP_CH_TCP_PORT
  ((CH_CLUSTER)) && check_port_free "$(chr_interserver_port 1)" STREAMSHOP_CH_CLUSTER_PORT_BASE
  ch_write_config "$CH_DIR" "$CH_HTTP_PORT" "$CH_TCP_PORT" "$(ch_cluster_xml 1)"
  local bin started=$SECONDS
  bin=$(ch_bin)
  # setsid: own session, so the server outlives the caller and its process group. Without job
  # control the subshell is no group leader, so setsid execs in place and $! is the server's pid.
  # (18.16 writes --pid-file only with --daemon, which would also send early errors to /dev/null.)
  (cd "$CH_DIR" && exec setsid nohup "$bin" --config-file="$CH_CONFIG" \
    </dev/null >>"$CH_DIR/log/stdout.log" 2>&1) &
  echo $! >"$CH_PIDFILE"
  wait_until clickhouse "$CH_DIR/log/clickhouse-server.log" ch_running_soon ch_ping
  ch_running || die "clickhouse answers on port $CH_HTTP_PORT but pid $(ch_pid) is not it"
  say "clickhouse: started (pid $(ch_pid), $(ch_scheme) port $CH_HTTP_PORT, tcp$(tls_on && echo "+tls" || true) port $CH_TCP_PORT) in $((SECONDS - started)) s"
}
# ClickHouse 26.x: the chdb engine behind tests/support/chdb_http.py (a test/dev endpoint; no native TCP port).
chdb_start() {
  [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import chdb' 2>/dev/null ||
    die "clickhouse: no chdb in $VENV: run scripts/bootstrap-python.sh (or set STREAMSHOP_VENV)"
  check_port_free "$CH_HTTP_PORT" STREAMSHOP_CH_HTTP_PORT
  mkdir -p "$CH_DIR"/{chdb,log}
  chmod 700 "$CH_DIR"
  secret clickhouse_password >/dev/null
  local started=$SECONDS tls=()
  tls_on && tls=(--tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key")
  # The password reaches it in a file (0600), not on its command line.
  (cd "$CH_DIR" && exec setsid nohup "$VENV/bin/python" "$CHDB_HTTP" --data "$CH_DIR/chdb" --port "$CH_HTTP_PORT" \
    --host 127.0.0.1 --user "$CH_USER" --password-file "$SECRETS_DIR/clickhouse_password" "${tls[@]}" \
    </dev/null >>"$CH_DIR/log/chdb-http.log" 2>&1) &
  echo $! >"$CH_PIDFILE"
  wait_until clickhouse "$CH_DIR/log/chdb-http.log" ch_running_soon ch_ping
  ch_running || die "clickhouse answers on port $CH_HTTP_PORT but pid $(ch_pid) is not it"
  say "clickhouse: started chdb $(ch_curl "/?query=SELECT%20version()") (pid $(ch_pid), $(ch_scheme) port $CH_HTTP_PORT) in $((SECONDS - started)) s"
}
# Until the launcher has exec'd the server, its cmdline is still the shell's.
ch_running_soon() {
  ((SECONDS - started < 3)) && pid_alive "$(ch_pid)" || ch_running ||
    { tail -n 30 "$CH_DIR/log/stdout.log" "$CH_DIR/log/chdb-http.log" 2>/dev/null >&2; return 1; }
}

ch_stop() {
  if ! ch_running; then
    rm -f "$CH_PIDFILE"
    say "clickhouse: already stopped"
    return 0
  fi
  stop_process "clickhouse:" "$(ch_pid)" "$CH_PIDFILE" "$STOP_TIMEOUT"
}

# ---------------------------------------------------------------- ClickHouse cluster (--clickhouse-cluster)

# Servers 1..$(ch_servers): server n is replica ((n-1) % 2 + 1) of shard ((n-1) / 2 + 1). Server 1 is the stack's
# one ClickHouse (<dir>/clickhouse, STREAMSHOP_CH_HTTP_PORT/TCP_PORT, STREAMSHOP_CLICKHOUSE_URL); server n ≥ 2 lives
# in <dir>/clickhouse/replica-n on ports of STREAMSHOP_CH_CLUSTER_PORT_BASE (P): server 1's interserver port P+0,
# server n's HTTP, TCP and interserver ports P+3n-5, P+3n-4, P+3n-3 (P+1..P+9 for servers 2..4). All of them use the
# stack's ZooKeeper (STREAMSHOP_ZOOKEEPER_PORT), started before them and stopped after them.
ch_servers() { echo $((CH_CLUSTER ? 2 * CH_SHARDS : 1)); }
chr_dir() { if (($1 == 1)); then echo "$CH_DIR"; else echo "$CH_DIR/replica-$1"; fi; }
chr_config() { echo "$(chr_dir "$1")/config.xml"; }
chr_pidfile() { echo "$(chr_dir "$1")/clickhouse-server.pid"; }
chr_pid() { cat "$(chr_pidfile "$1")" 2>/dev/null || true; }
chr_http_port() { if (($1 == 1)); then echo "$CH_HTTP_PORT"; else echo $((CH_CLUSTER_PORT_BASE + 3 * $1 - 5)); fi; }
chr_tcp_port() { if (($1 == 1)); then echo "$CH_TCP_PORT"; else echo $((CH_CLUSTER_PORT_BASE + 3 * $1 - 4)); fi; }
chr_interserver_port() { if (($1 == 1)); then echo "$CH_CLUSTER_PORT_BASE"; else echo $((CH_CLUSTER_PORT_BASE + 3 * $1 - 3)); fi; }
chr_shard() { echo $((($1 - 1) / 2 + 1)); }
chr_replica() { echo $((($1 - 1) % 2 + 1)); }
chr_running() {
  local pid
  pid=$(chr_pid "$1")
  pid_alive "$pid" && [[ "$(pid_cmdline "$pid")" == *" --config-file=$(chr_config "$1") "* ]]
}
# The cluster of a server's config (of the running server, or the last one): its number of shards, 0 without one.
chr_shards_configured() { grep -c '<internal_replication>' "$(chr_config "$1")" 2>/dev/null || true; }
chr_port_configured() { sed -n "s:.*<$2>\(.*\)</$2>.*:\1:p" "$(chr_config "$1")" 2>/dev/null; }

# The cluster part of server n's config: its interserver port and host (replicas fetch parts from each other over
# it), its macros ({cluster}, {shard}, {replica}: replica names are unique in the whole cluster), ZooKeeper, the
# queue of ON CLUSTER statements, and the cluster `streamshop` in <remote_servers> (one <shard> per shard, its
# replicas on their native ports, as the stack's user with its password: Distributed tables and ON CLUSTER log in
# with it). Empty without the cluster.
ch_cluster_xml() {
  ((CH_CLUSTER)) || return 0
  local n=$1 s r m pw
  pw=$(secret clickhouse_password)
  cat <<EOF
    <!-- the stack's ClickHouse cluster: server $n of $(ch_servers), shard $(chr_shard "$n") replica $(chr_replica "$n") -->
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>$(chr_interserver_port "$n")</interserver_http_port>
    <macros>
        <cluster>$CH_CLUSTER_NAME</cluster>
        <shard>$(chr_shard "$n")</shard>
        <replica>s$(chr_shard "$n")r$(chr_replica "$n")</replica>
    </macros>
    <zookeeper>
        <node>
            <host>127.0.0.1</host>
            <port>$ZK_PORT</port>
        </node>
        <session_timeout_ms>10000</session_timeout_ms>
    </zookeeper>
    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
    <remote_servers>
        <$CH_CLUSTER_NAME>
EOF
  for ((s = 1; s <= CH_SHARDS; s++)); do
    echo "            <shard>"
    echo "                <internal_replication>true</internal_replication>"
    for r in 1 2; do
      m=$((2 * s - 2 + r))
      cat <<EOF
                <replica>
                    <host>127.0.0.1</host>
                    <port>$(chr_tcp_port "$m")</port>
                    <user>$CH_USER</user>
                    <password>$pw</password>
                </replica>
EOF
    done
    echo "            </shard>"
  done
  cat <<EOF
        </$CH_CLUSTER_NAME>
    </remote_servers>
EOF
}

# Server n ≥ 2 of the cluster (server 1 is ch_start's): chr_launch starts it, chr_wait waits until it answers (so
# that several servers start side by side); chr_start does both.
CHR_STARTED=()   # the second each server was launched at; unset when it was running already
chr_launch() {
  local n=$1 d http tcp inter bin
  d=$(chr_dir "$n") http=$(chr_http_port "$n") tcp=$(chr_tcp_port "$n") inter=$(chr_interserver_port "$n")
  unset "CHR_STARTED[$n]"
  if chr_running "$n"; then
    say "clickhouse-$n: already running (pid $(chr_pid "$n"), port $(chr_port_configured "$n" http_port))"
    return 0
  fi
  check_port_free "$http" STREAMSHOP_CH_CLUSTER_PORT_BASE
  check_port_free "$tcp" STREAMSHOP_CH_CLUSTER_PORT_BASE
  check_port_free "$inter" STREAMSHOP_CH_CLUSTER_PORT_BASE
  ch_write_config "$d" "$http" "$tcp" "$(ch_cluster_xml "$n")"
  bin=$(ch_bin)
  (cd "$d" && exec setsid nohup "$bin" --config-file="$d/config.xml" </dev/null >>"$d/log/stdout.log" 2>&1) &
  echo $! >"$(chr_pidfile "$n")"
  CHR_STARTED[n]=$SECONDS
}
chr_wait() {
  local n=$1 http
  [[ -n "${CHR_STARTED[n]:-}" ]] || return 0
  http=$(chr_http_port "$n")
  CHR_N=$n
  wait_until "clickhouse-$n" "$(chr_dir "$n")/log/clickhouse-server.log" chr_running_soon ch_ping_port "$http"
  chr_running "$n" || die "clickhouse-$n answers on port $http but pid $(chr_pid "$n") is not it"
  say "clickhouse-$n: started (pid $(chr_pid "$n"), http port $http, tcp port $(chr_tcp_port "$n"), interserver port" \
    "$(chr_interserver_port "$n"); shard $(chr_shard "$n") replica $(chr_replica "$n")) in $((SECONDS - CHR_STARTED[n])) s"
}
chr_start() { chr_launch "$1" && chr_wait "$1"; }
# Until the launcher has exec'd the server, its cmdline is still the shell's.
chr_running_soon() {
  ((SECONDS - CHR_STARTED[CHR_N] < 3)) && pid_alive "$(chr_pid "$CHR_N")" || chr_running "$CHR_N" ||
    { tail -n 30 "$(chr_dir "$CHR_N")/log/stdout.log" 2>/dev/null >&2; return 1; }
}
ch_ping_port() { [[ "$(curl -sf --max-time 2 "http://127.0.0.1:$1/ping")" == "Ok." ]]; }

chr_stop() {
  local n=$1
  if ! chr_running "$n"; then
    rm -f "$(chr_pidfile "$n")"
    say "clickhouse-$n: already stopped"
    return 0
  fi
  stop_process "clickhouse-$n:" "$(chr_pid "$n")" "$(chr_pidfile "$n")" "$STOP_TIMEOUT"
}

# Every ClickHouse process of the stack: ZooKeeper first (with the cluster), then the servers, side by side.
ch_start_all() {
  if ((CH_CLUSTER)); then
    zk_start
    local n
    for ((n = 2; n <= $(ch_servers); n++)); do chr_launch "$n"; done
    ch_start
    for ((n = 2; n <= $(ch_servers); n++)); do chr_wait "$n"; done
  else
    ch_start
  fi
}
# Stops every server that runs (the cluster's too, whatever this start asks for), then ZooKeeper.
ch_stop_all() {
  ch_stop
  local n
  for n in 2 3 4; do [[ -d "$(chr_dir "$n")" ]] && chr_stop "$n"; done
  [[ -d "$ZK_DIR" ]] && zk_stop
  return 0
}

# A running ClickHouse keeps its cluster layout: switching needs `down` first (like TLS and the engine).
check_cluster_switch() {
  ch_running || return 0
  local running want
  running=$(chr_shards_configured 1)
  want=$((CH_CLUSTER ? CH_SHARDS : 0))
  ((running == want)) && return 0
  describe() { if (($1 == 0)); then echo "a single server"; else echo "a cluster of $1 shard(s) of 2 replicas"; fi; }
  die "clickhouse runs as $(describe "$running"); run \`stack down\` before starting it as $(describe "$want")"
}

# The cluster's limits: a real server (chdb is in-process, one engine, no cluster) without TLS (the interserver
# HTTP, Distributed and ON CLUSTER connections would need TLS configs of their own; not done).
check_cluster_supported() {
  ((CH_CLUSTER)) || return 0
  [[ $CH_ENGINE == server ]] ||
    die "--clickhouse-cluster needs --clickhouse-engine server: chdb is an in-process engine, it has no cluster"
  tls_on && die "--clickhouse-cluster with --tls is not supported (the cluster's interserver, Distributed and" \
    "ON CLUSTER connections are plain); start it without --tls (STREAMSHOP_STACK_TLS=0)"
  return 0
}

# A server number N of the cluster for stop-/start-/kill-clickhouse-replica.
check_server_number() {
  ((CH_CLUSTER)) || die "no ClickHouse cluster here (\`stack up --clickhouse-cluster\` makes one)"
  [[ "${1:-}" =~ ^[1-9]$ ]] && (($1 <= $(ch_servers))) ||
    die "no ClickHouse server '${1:-}': 1 to $(ch_servers) (the N of STREAMSHOP_CLICKHOUSE_URL_N)"
}
cmd_stop_replica() {
  check_server_number "$1"
  if (($1 == 1)); then ch_stop; else chr_stop "$1"; fi
}
cmd_start_replica() {
  check_server_number "$1"
  check_cluster_supported
  make_state_dir
  zk_running || die "zookeeper does not run; \`stack up\` starts the whole stack"
  if (($1 == 1)); then ch_start; else chr_start "$1"; fi
}
# SIGKILL, as a crash: no clean shutdown; the pid file stays until the next start.
cmd_kill_replica() {
  check_server_number "$1"
  local pid
  if (($1 == 1)); then pid=$(ch_pid); else pid=$(chr_pid "$1"); fi
  if { (($1 == 1)) && ch_running; } || { (($1 > 1)) && chr_running "$1"; }; then
    kill -KILL "$pid"
    while pid_alive "$pid"; do sleep 0.1; done
    say "clickhouse-$1: killed (pid $pid)"
  else
    say "clickhouse-$1: not running"
  fi
}

# ---------------------------------------------------------------- ZooKeeper (for the ClickHouse cluster)

# Debian's zookeeper (3.8) as a plain JVM, standalone: <dir>/zookeeper/{zoo.cfg,data,log}, client port on
# 127.0.0.1 only (no admin server, no quorum ports), small heap; logs through slf4j-simple to log/zookeeper.log (not
# rotated: a few lines per client session).
# zookeeper.jar's manifest names the Debian jars it needs.
zk_pid() { cat "$ZK_PIDFILE" 2>/dev/null || true; }
zk_running() {
  local pid
  pid=$(zk_pid)
  pid_alive "$pid" && [[ "$(pid_cmdline "$pid")" == *" org.apache.zookeeper.server.quorum.QuorumPeerMain $ZK_CONFIG "* ]]
}
zk_port_running() { sed -n 's/^clientPort=\([0-9]*\)$/\1/p' "$ZK_CONFIG" 2>/dev/null; }
# Ready: answers the four-letter word `ruok` with `imok`.
zk_ready() {
  local answer
  answer=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf ruok >&3 && cat <&3' _ "$1" 2>/dev/null) || true
  [[ $answer == imok ]]
}
zk_start() {
  if zk_running; then
    say "zookeeper: already running (pid $(zk_pid), port $(zk_port_running))"
    return 0
  fi
  [[ -f /usr/share/java/zookeeper.jar && -f /usr/share/java/slf4j-simple.jar ]] ||
    die "zookeeper not found (/usr/share/java/zookeeper.jar): run scripts/bootstrap.sh (Debian package zookeeper)"
  command -v java >/dev/null || die "java not found; ZooKeeper needs Java (Debian: openjdk-17-jre-headless)"
  check_port_free "$ZK_PORT" STREAMSHOP_ZOOKEEPER_PORT
  mkdir -p "$ZK_DIR"/{data,log}
  chmod 700 "$ZK_DIR" "$ZK_DIR"/{data,log}
  cat >"$ZK_CONFIG" <<EOF
# written by scripts/stack.sh on every start: one standalone server for the stack's ClickHouse cluster
tickTime=1000
dataDir=$ZK_DIR/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr
# transaction log files preallocated 4 MB at a time (not 64); old snapshots and logs purged hourly
preAllocSize=4096
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
  local started=$SECONDS
  (cd "$ZK_DIR" && umask 077 && exec setsid nohup java -Xmx128m -Xms16m -XX:+UseSerialGC \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd HH:mm:ss.SSS" -Dzookeeper.jmx.log4j.disable=true \
    -cp "$ZK_CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZK_CONFIG" \
    </dev/null >>"$ZK_DIR/log/zookeeper.log" 2>&1) &
  echo $! >"$ZK_PIDFILE"
  wait_until zookeeper "$ZK_DIR/log/zookeeper.log" zk_running_soon zk_ready "$ZK_PORT"
  zk_running || die "zookeeper answers on port $ZK_PORT but pid $(zk_pid) is not it"
  say "zookeeper: started (pid $(zk_pid), port $ZK_PORT) in $((SECONDS - started)) s"
}
zk_running_soon() { ((SECONDS - started < 3)) && pid_alive "$(zk_pid)" || zk_running; }
zk_stop() {
  if ! zk_running; then
    rm -f "$ZK_PIDFILE"
    say "zookeeper: already stopped"
    return 0
  fi
  stop_process "zookeeper:" "$(zk_pid)" "$ZK_PIDFILE" "$STOP_TIMEOUT"
}

# ---------------------------------------------------------------- Kafka

# One JVM is controller and broker (KRaft combined mode) with a static voter set
# (controller.quorum.voters), so the ports may change between starts. Jars: scripts/bootstrap-kafka.sh.
# Passwords always: the client listener is SASL_PLAINTEXT (SASL_SSL with --tls) for user streamshop (created at
# format time, with SCRAM-SHA-512 or PLAIN), and the controller listener SASL_PLAINTEXT (SASL_SSL with --tls) with
# PLAIN for a user that only this JVM knows (its password is new on every start and lives in server.properties):
# no local user can reach either listener without a secret. The two modes differ only in SSL vs PLAINTEXT and the
# keystore/truststore lines.
kafka_pid() { cat "$KAFKA_PIDFILE" 2>/dev/null || true; }
# Running = the pid file's process is alive and was started with this stack's server.properties.
kafka_running() {
  local pid
  pid=$(kafka_pid)
  pid_alive "$pid" && [[ "$(pid_cmdline "$pid")" == *" kafka.Kafka $KAFKA_CONFIG "* ]]
}
kafka_port_running() { sed -n 's|^advertised.listeners=[A-Z_]*://.*:\([0-9]*\)$|\1|p' "$KAFKA_CONFIG"; }
kafka_controller_port_running() { sed -n 's|^controller.quorum.voters=1@.*:\([0-9]*\)$|\1|p' "$KAFKA_CONFIG"; }
# The client listener's security protocol in the broker's config (of the running broker, or the last one):
# SASL_SSL, SASL_PLAINTEXT, or PLAINTEXT (a broker of an older stack.sh, without passwords).
kafka_protocol_running() { sed -n 's|^advertised.listeners=\([A-Z_]*\)://.*|\1|p' "$KAFKA_CONFIG" 2>/dev/null; }
# The client listener's security protocol this start asks for.
kafka_protocol() { if ((TLS)); then echo SASL_SSL; else echo SASL_PLAINTEXT; fi; }

# Ready (a Metadata request needs SASL first, so the stack does not send one): since this start the broker has
# logged that it started (which it does once unfenced, after opening its listeners), and the client listener
# accepts a connection; with --tls it completes a TLS handshake whose certificate the stack's CA verifies for
# 127.0.0.1. Polling starts no JVM.
kafka_ready() {
  grep -q 'Kafka Server started' < <(tail -c +$((log_mark + 1)) "$KAFKA_DIR/log/server.log" 2>/dev/null) || return 1
  if ((TLS)); then
    openssl s_client -connect "127.0.0.1:$1" -CAfile "$TLS_DIR/ca.pem" -verify_ip 127.0.0.1 \
      -verify_return_error -brief </dev/null >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# A new random password: seven runs of 6 random letters and digits joined by ?#/@:% (characters that break naive
# URL handling and redaction; none that the property and JAAS syntaxes would need escaped).
kafka_new_password() {
  local a c p=""
  a=$(head -c 1024 /dev/urandom | tr -dc 'A-Za-z0-9')
  for c in '?' '#' '/' '@' ':' '%' ''; do
    p+=${a:0:6}$c
    a=${a:6}
  done
  printf '%s' "$p"
}

# Creates (empty, 0600) file $1 before a secret is written into it.
private_file() { : >"$1" && chmod 600 "$1"; }

kafka_write_config() {
  mkdir -p "$KAFKA_DIR"/{data,log}
  # The data (row data) and the configs (secrets with --tls) are the owner's alone.
  chmod 700 "$KAFKA_DIR" "$KAFKA_DIR"/{data,log}
  private_file "$KAFKA_CONFIG"
  {
    cat <<EOF
# written by scripts/stack.sh on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
EOF
    local proto listener controller_password
    proto=$(kafka_protocol)
    listener=${proto,,}   # the client listener is named after its protocol: listener.name.sasl_ssl.…
    controller_password=$(head -c 512 /dev/urandom | tr -dc 'A-Za-z0-9')
    controller_password=${controller_password:0:32}
    cat <<EOF
listeners=$proto://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$proto://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=$proto
listener.security.protocol.map=CONTROLLER:$proto,$proto:$proto
# clients: user $KAFKA_USER with SCRAM-SHA-512 (its credentials are in the metadata log since format)
# or PLAIN (for librdkafka < 2.6.1, whose SCRAM Kafka 4 rejects; see kafka_write_client_configs)
listener.name.$listener.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.$listener.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_USER" password="$(cat "$KAFKA_SECRET")";
listener.name.$listener.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_USER="$(cat "$KAFKA_SECRET")";
# controller: PLAIN (KRaft controllers cannot use SCRAM) for a user only this JVM knows
listener.name.controller.sasl.enabled.mechanisms=PLAIN
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$controller_password" user_controller="$controller_password";
EOF
    if ((TLS)); then
      cat <<EOF
ssl.keystore.type=PEM
ssl.keystore.location=$KAFKA_DIR/keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
EOF
    fi
    cat <<EOF
log.dirs=$KAFKA_DIR/data
# one node: every topic, internal ones included, has one replica
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
# one node: a few internal partitions start faster than the default 50 and serve as well
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
# no 3 s wait for more members before a consumer group's first rebalance
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
  } >"$KAFKA_CONFIG"
  # Kafka 4 logs through log4j2; the file is size-capped like ClickHouse's.
  private_file "$KAFKA_DIR/log4j2.properties"
  cat >"$KAFKA_DIR/log4j2.properties" <<EOF
# written by scripts/stack.sh on every start
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $KAFKA_DIR/log/server.log
appender.file.filePattern = $KAFKA_DIR/log/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 100MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  # For one-shot tools (format here; the console tools in tests): warnings to stderr only.
  private_file "$KAFKA_DIR/tools-log4j2.properties"
  cat >"$KAFKA_DIR/tools-log4j2.properties" <<EOF
# written by scripts/stack.sh on every start
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
EOF
  kafka_write_client_configs
}

# The client configs of user streamshop, both 0600 (with --tls also the broker's key and certificate chain as one
# PEM keystore, the key as PKCS#8, which Kafka's PEM keystore requires):
#   <dir>/kafka/client.properties     Java clients: Kafka's tools (--command-config), the Debezium worker;
#                                     SCRAM-SHA-512
#   <dir>/kafka/librdkafka.properties streamshop capture/sink (STREAMSHOP_KAFKA_PROP_FILE in <dir>/env); PLAIN:
#                                     librdkafka before 2.6.1 (Debian 12 has 2.0.2) repeats the client nonce in its
#                                     SCRAM final message, which Kafka 4 rejects as invalid credentials
# (PLAIN without --tls sends the password in clear over loopback, which only root can sniff.)
kafka_write_client_configs() {
  local proto
  proto=$(kafka_protocol)
  rm -f "$KAFKA_DIR/keystore.pem"
  if ((TLS)); then
    private_file "$KAFKA_DIR/keystore.pem"
    { openssl pkey -in "$TLS_DIR/server.key" && cat "$TLS_DIR/server.pem"; } >"$KAFKA_DIR/keystore.pem" ||
      die "kafka: cannot read the server key $TLS_DIR/server.key"
  fi
  private_file "$KAFKA_DIR/client.properties"
  {
    cat <<EOF
# written by scripts/stack.sh: the stack's Kafka broker ($proto) for Java clients
security.protocol=$proto
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_USER" password="$(cat "$KAFKA_SECRET")";
EOF
    if ((TLS)); then printf 'ssl.truststore.type=PEM\nssl.truststore.location=%s\n' "$TLS_DIR/ca.pem"; fi
  } >"$KAFKA_DIR/client.properties"
  private_file "$KAFKA_DIR/librdkafka.properties"
  {
    cat <<EOF
# written by scripts/stack.sh: the stack's Kafka broker ($proto) for librdkafka (--kafka-prop-file)
security.protocol=$proto
sasl.mechanisms=PLAIN
sasl.username=$KAFKA_USER
sasl.password=$(cat "$KAFKA_SECRET")
EOF
    if ((TLS)); then printf 'ssl.ca.location=%s\n' "$TLS_DIR/ca.pem"; fi
  } >"$KAFKA_DIR/librdkafka.properties"
}

# Formats the log dir once (what `kafka-storage.sh format` does); the cluster id stays in <dir>/kafka/cluster-id.
# It also creates the SCRAM user streamshop with the password of <dir>/kafka/scram-password; the tool reads that
# argument from a 0600 file (a java @argfile), so the password never shows in a process list.
kafka_format() {
  [[ -f "$KAFKA_DIR/data/meta.properties" ]] && return 0
  # A Kafka Uuid: 16 random bytes, base64url without padding. Like Kafka's own Uuid.randomUuid, never one that
  # starts with '-' (1 in 64): the tool's argument parser would take it for an option.
  local id
  id=$(cat "$KAFKA_DIR/cluster-id" 2>/dev/null || true)
  while [[ -z "$id" || "$id" == -* ]]; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)
  done
  printf '%s\n' "$id" >"$KAFKA_DIR/cluster-id"
  rm -rf "$KAFKA_DIR/data" && mkdir -m 700 -p "$KAFKA_DIR/data"   # a half-done earlier format
  local args=$KAFKA_DIR/format.args
  private_file "$args"
  printf 'kafka.tools.StorageTool format --cluster-id %s --config "%s"\n' "$id" "$KAFKA_CONFIG" >"$args"
  printf -- '--add-scram "SCRAM-SHA-512=[name=%s,password=%s]"\n' "$KAFKA_USER" "$(cat "$KAFKA_SECRET")" >>"$args"
  say "kafka: formatting $KAFKA_DIR/data (cluster id $id, SCRAM user $KAFKA_USER)"
  # (format.log shows the SCRAM user's salted keys: 0600 like every file the broker writes.)
  private_file "$KAFKA_DIR/log/format.log"
  local rc=0
  (umask 077 && exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.properties" -cp "$KAFKA_LIB/*" "@$args" \
    >"$KAFKA_DIR/log/format.log" 2>&1) || rc=$?
  rm -f "$args"
  ((rc == 0)) || { tail -n 30 "$KAFKA_DIR/log/format.log" >&2; die "kafka: format failed"; }
}

kafka_start() {
  if kafka_running; then
    local running
    running=$(kafka_protocol_running)
    if [[ $running == PLAINTEXT ]]; then
      die "kafka: the running broker has no passwords (PLAINTEXT, started by an older scripts/stack.sh); run" \
        "\`stack destroy\` (which deletes its topics), then \`up --with-kafka\`"
    elif [[ $running != "$(kafka_protocol)" ]]; then
      die "kafka: the running broker uses $running; run \`stack down\` before starting it $( ((TLS)) && echo with || echo without) --tls"
    fi
    say "kafka: already running (pid $(kafka_pid), port $(kafka_port_running), $running)"
    return 0
  fi
  command -v java >/dev/null || die "java not found; Kafka needs Java 17+ (Debian: openjdk-17-jre-headless)"
  check_port_free "$KAFKA_PORT" STREAMSHOP_KAFKA_PORT
  check_port_free "$KAFKA_CONTROLLER_PORT" STREAMSHOP_KAFKA_CONTROLLER_PORT
  # A no-op (no JVM, milliseconds) when the jars are in place.
  STREAMSHOP_DEPS_DIR=$DEPS_DIR bash "$REPO/scripts/bootstrap-kafka.sh" --quiet kafka >&2 ||
    die "kafka: the jars are missing and scripts/bootstrap-kafka.sh failed"
  if ((TLS)); then tls_ensure; fi
  if [[ ! -s "$KAFKA_SECRET" ]]; then
    [[ -f "$KAFKA_DIR/data/meta.properties" ]] &&
      die "kafka: its log $KAFKA_DIR/data was formatted without the SCRAM user $KAFKA_USER (by an older" \
        "scripts/stack.sh), so no client could log in; \`stack destroy\` (which deletes its topics), then \`up --with-kafka\`"
    mkdir -p "$KAFKA_DIR" && chmod 700 "$KAFKA_DIR"
    private_file "$KAFKA_SECRET"
    kafka_new_password >"$KAFKA_SECRET"
  fi
  kafka_write_config
  kafka_format
  local started=$SECONDS log_mark
  log_mark=$(stat -c %s "$KAFKA_DIR/log/server.log" 2>/dev/null || echo 0)
  # As for ClickHouse: setsid, so the broker outlives the caller; $! is the JVM's pid. umask 077: the log
  # segments it writes are the owner's alone.
  (cd "$KAFKA_DIR" && umask 077 && exec setsid nohup java -Xmx"${STREAMSHOP_KAFKA_HEAP:-512m}" -Xms128m \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -Dkafka.logs.dir="$KAFKA_DIR/log" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_CONFIG" </dev/null >>"$KAFKA_DIR/log/stdout.log" 2>&1) &
  echo $! >"$KAFKA_PIDFILE"
  wait_until kafka "$KAFKA_DIR/log/server.log" kafka_running_soon kafka_ready "$KAFKA_PORT"
  kafka_running || die "kafka answers on port $KAFKA_PORT but pid $(kafka_pid) is not it"
  say "kafka: started (pid $(kafka_pid), port $KAFKA_PORT $(kafka_protocol), controller port $KAFKA_CONTROLLER_PORT) in $((SECONDS - started)) s"
}
# Until the launcher has exec'd java, its cmdline is still the shell's.
kafka_running_soon() {
  ((SECONDS - started < 3)) && pid_alive "$(kafka_pid)" || kafka_running ||
    { tail -n 30 "$KAFKA_DIR/log/stdout.log" >&2; return 1; }
}

kafka_stop() {
  if ! kafka_running; then
    rm -f "$KAFKA_PIDFILE"
    say "kafka: already stopped"
    return 0
  fi
  stop_process "kafka:" "$(kafka_pid)" "$KAFKA_PIDFILE" "$STOP_TIMEOUT"
}

# The Kafka Connect worker of scripts/debezium.sh, if one ran on this stack, goes down with it.
debezium_stop() {
  [[ -f "$STATE_DIR/debezium/connect.pid" ]] || return 0
  STREAMSHOP_STACK_DIR=$STATE_DIR bash "$REPO/scripts/debezium.sh" stop
}

# ---------------------------------------------------------------- commands

write_ports() {
  printf 'PG_PORT=%s\nCH_HTTP_PORT=%s\nCH_TCP_PORT=%s\nKAFKA_PORT=%s\nKAFKA_CONTROLLER_PORT=%s\nWITH_KAFKA=%s\nCH_ENGINE=%s\nTLS=%s\n' \
    "$PG_PORT" "$CH_HTTP_PORT" "$CH_TCP_PORT" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$WITH_KAFKA" "$CH_ENGINE" "$TLS" \
    >"$STATE_DIR/ports"
  if ((CH_CLUSTER)); then
    printf 'CH_CLUSTER=1\nCH_SHARDS=%s\nCH_CLUSTER_PORT_BASE=%s\nZK_PORT=%s\n' "$CH_SHARDS" "$CH_CLUSTER_PORT_BASE" \
      "$ZK_PORT" >>"$STATE_DIR/ports"
  fi
}
# Changes one line of <dir>/ports.
set_saved() {
  local f="$STATE_DIR/ports"
  [[ -f "$f" ]] && sed -i "/^$1=/d" "$f"
  echo "$1=$2" >>"$f"
}

# <dir>/env (0600): the URLs with the passwords percent-encoded in them (and, with TLS, what verifies the server).
write_env() {
  local pg_url ch_url
  pg_url="postgresql://streamshop:$(pct "$(secret pg_password)")@127.0.0.1:$PG_PORT/streamshop"
  tls_on && pg_url+="?sslmode=verify-full&sslrootcert=$(pct "$TLS_DIR/ca.pem" /)"
  ch_url="$(ch_scheme)://$CH_USER:$(pct "$(secret clickhouse_password)")@127.0.0.1:$CH_HTTP_PORT"
  {
    echo "# written by scripts/stack.sh up: the passwords are in <dir>/secrets; keep this file private (0600)"
    echo "export STREAMSHOP_PG_URL=$(shq "$pg_url")"
    echo "export STREAMSHOP_CLICKHOUSE_URL=$(shq "$ch_url")"
    if tls_on; then echo "export STREAMSHOP_CLICKHOUSE_CA_FILE=$(shq "$TLS_DIR/ca.pem")"; fi
    if ((CH_CLUSTER)); then
      # STREAMSHOP_CLICKHOUSE_URL is server 1 (shard 1 replica 1), _URL_2 shard 1 replica 2; with 2 shards _URL_3
      # shard 2 replica 1, _URL_4 shard 2 replica 2.
      echo "export STREAMSHOP_CLICKHOUSE_CLUSTER=$CH_CLUSTER_NAME"
      local n
      for ((n = 2; n <= $(ch_servers); n++)); do
        echo "export STREAMSHOP_CLICKHOUSE_URL_$n=$(shq "${ch_url%:*}:$(chr_http_port "$n")")"
      done
    fi
  } >"$STATE_DIR/env.tmp"
  chmod 600 "$STATE_DIR/env.tmp"
  mv "$STATE_DIR/env.tmp" "$STATE_DIR/env"
  env_set_kafka
}
# STREAMSHOP_KAFKA_BROKERS is in <dir>/env while this stack's broker runs (or was left running), and
# STREAMSHOP_KAFKA_PROP_FILE, the librdkafka properties (SASL_PLAINTEXT or SASL_SSL, user streamshop) for capture
# and sink.
env_set_kafka() {
  [[ -f "$STATE_DIR/env" ]] || return 0
  sed -i '/^export STREAMSHOP_KAFKA_\(BROKERS\|PROP_FILE\)=/d' "$STATE_DIR/env"
  if kafka_running; then
    echo "export STREAMSHOP_KAFKA_BROKERS=127.0.0.1:$(kafka_port_running)" >>"$STATE_DIR/env"
    if [[ -f "$KAFKA_DIR/librdkafka.properties" ]]; then
      echo "export STREAMSHOP_KAFKA_PROP_FILE=$KAFKA_DIR/librdkafka.properties" >>"$STATE_DIR/env"
    fi
  fi
}

# A running service keeps its TLS mode: switching needs `down` first (checked before anything is written).
check_tls_switch() {
  if [[ -e "$PG_DIR" ]] && pg_running && [[ "$(pg_tls_running)" != "$TLS" ]]; then
    die "postgres runs with TLS $(on_off "$(pg_tls_running)"); run \`stack down\` before switching TLS $(on_off "$TLS")"
  fi
  if ch_running && [[ "$(ch_tls_running)" != "$TLS" ]]; then
    die "clickhouse runs with TLS $(on_off "$(ch_tls_running)"); run \`stack down\` before switching TLS $(on_off "$TLS")"
  fi
}

cmd_up() {
  make_state_dir
  check_cluster_supported
  check_tls_switch
  check_cluster_switch
  write_ports
  pg_start
  ch_start_all
  ((WITH_KAFKA)) && kafka_start
  write_env
  say "up: $STATE_DIR"
  say "  postgres:   postgresql://streamshop:***@127.0.0.1:$PG_PORT/streamshop$(tls_on && echo " (TLS only, CA $TLS_DIR/ca.pem)" || true)"
  if [[ $CH_ENGINE == chdb ]]; then
    say "  clickhouse: $(ch_scheme)://$CH_USER:***@127.0.0.1:$CH_HTTP_PORT (ClickHouse 26.x: the chdb test/dev endpoint; no native tcp)"
  else
    say "  clickhouse: $(ch_scheme)://$CH_USER:***@127.0.0.1:$CH_HTTP_PORT (native tcp$(tls_on && echo "+tls" || true) $CH_TCP_PORT)"
  fi
  if ((CH_CLUSTER)); then
    local n
    say "  cluster:    $CH_CLUSTER_NAME, $CH_SHARDS shard(s) of 2 replicas; zookeeper 127.0.0.1:$ZK_PORT"
    for ((n = 2; n <= $(ch_servers); n++)); do
      say "  clickhouse-$n: http://$CH_USER:***@127.0.0.1:$(chr_http_port "$n") (native tcp $(chr_tcp_port "$n");" \
        "shard $(chr_shard "$n") replica $(chr_replica "$n"); STREAMSHOP_CLICKHOUSE_URL_$n)"
    done
  fi
  say "  passwords:  $SECRETS_DIR (mode 0600)"
  kafka_running && say "  kafka:      127.0.0.1:$(kafka_port_running) (controller $(kafka_controller_port_running));" \
    "$(kafka_protocol_running), SCRAM-SHA-512 user $KAFKA_USER: $KAFKA_DIR/client.properties"
  say "  source $STATE_DIR/env"
}

cmd_down() {
  [[ -d "$STATE_DIR" ]] || { say "nothing at $STATE_DIR; already down"; return 0; }
  debezium_stop
  [[ -d "$KAFKA_DIR" ]] && kafka_stop
  ch_stop_all
  pg_stop
}

cmd_status() {
  local ok=0
  if [[ -e "$PG_DIR" ]] && pg_running; then
    say "postgres:   running  port $(pg_port_running)  pid $(pg_pid)$( ((!$(pg_tls_running))) || echo "  (TLS only)")"
  else
    say "postgres:   stopped  port $PG_PORT"; ok=3
  fi
  local cluster_note=""
  ((CH_CLUSTER)) && cluster_note="  shard 1 replica 1 (interserver $(chr_interserver_port 1))"
  if ch_running; then
    say "clickhouse: running  port $(ch_port_running)  pid $(ch_pid)  (tcp $(ch_tcp_port_running))$( ((!$(ch_tls_running))) || echo "  (TLS only)")$cluster_note"
  else
    say "clickhouse: stopped  port $CH_HTTP_PORT$cluster_note"; ok=3
  fi
  # The cluster's servers and ZooKeeper count when the last `up` asked for the cluster; otherwise they are reported
  # only while they run.
  local n
  for n in 2 3 4; do
    if chr_running "$n"; then
      say "clickhouse-$n: running  port $(chr_port_configured "$n" http_port)  pid $(chr_pid "$n")" \
        " (tcp $(chr_port_configured "$n" tcp_port), interserver $(chr_port_configured "$n" interserver_http_port))" \
        " shard $(chr_shard "$n") replica $(chr_replica "$n")"
    elif ((n <= $(ch_servers))); then
      say "clickhouse-$n: stopped  port $(chr_http_port "$n")  shard $(chr_shard "$n") replica $(chr_replica "$n")"; ok=3
    fi
  done
  if zk_running; then
    say "zookeeper:  running  port $(zk_port_running)  pid $(zk_pid)"
  elif ((CH_CLUSTER)); then
    say "zookeeper:  stopped  port $ZK_PORT"; ok=3
  fi
  # Kafka counts when the last `up` asked for it; otherwise it is reported only if it has been set up.
  local wanted
  wanted=$(saved_port WITH_KAFKA 0)
  if kafka_running; then
    say "kafka:      running  port $(kafka_port_running)  pid $(kafka_pid)  (controller $(kafka_controller_port_running))"
  elif ((wanted)) || [[ -d "$KAFKA_DIR" ]]; then
    say "kafka:      stopped  port $KAFKA_PORT"
    ((wanted)) && ok=3
  fi
  return $ok
}

cmd_restart_kafka() {
  make_state_dir
  kafka_stop
  kafka_start
  set_saved KAFKA_PORT "$KAFKA_PORT"
  set_saved KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  set_saved WITH_KAFKA 1
  env_set_kafka
}

cmd_destroy() {
  cmd_down
  local target=""
  [[ -L "$PG_DIR" ]] && target=$(dirname "$(realpath -m "$PG_DIR")")
  # Only what this script created goes, so a state dir pointed at e.g. /tmp is not wiped.
  rm -rf "$PG_DIR" "$CH_DIR" "$ZK_DIR" "$KAFKA_DIR" "$STATE_DIR/debezium" "$STATE_DIR/env" "$STATE_DIR/ports" "$SECRETS_DIR" \
    "$TLS_DIR"
  [[ "$target" == /var/tmp/streamshop-* ]] && rm -rf "$target"
  rmdir "$STATE_DIR" 2>/dev/null || true
  say "destroyed $STATE_DIR"
}

usage() { sed -n '4,/^#   destroy /s/^# \{0,1\}//p' "$0" >&2; exit 2; }

main() {
  load_ports
  local action=${1:-}
  (($# > 0)) && shift
  WITH_KAFKA=0
  [[ "${STREAMSHOP_WITH_KAFKA:-}" =~ ^(1|true|yes|on)$ ]] && WITH_KAFKA=1
  if [[ "$action" == up ]]; then
    while (($# > 0)); do
      case "$1" in
        --with-kafka) WITH_KAFKA=1 ;;
        --tls) TLS=1 ;;
        --clickhouse-engine) CH_ENGINE=${2:-}; shift ;;
        --clickhouse-engine=*) CH_ENGINE=${1#*=} ;;
        --clickhouse-cluster) CH_CLUSTER=1 ;;
        # 2 shards imply the cluster; 1 does not (`streamshop stack up` passes STREAMSHOP_STACK_CLICKHOUSE_SHARDS on).
        --clickhouse-shards) CH_SHARDS=${2:-}; [[ $CH_SHARDS == 1 ]] || CH_CLUSTER=1; shift ;;
        --clickhouse-shards=*) CH_SHARDS=${1#*=}; [[ $CH_SHARDS == 1 ]] || CH_CLUSTER=1 ;;
        *) echo "stack: error: unknown option '$1' for up" >&2; usage ;;
      esac
      shift
    done
  fi
  local server=""
  if [[ "$action" == @(stop|start|kill)-clickhouse-replica ]]; then
    server=${1:-}
    (($# > 0)) && shift
  fi
  (($# == 0)) || { echo "stack: error: unexpected argument '$1'" >&2; usage; }
  [[ $CH_SHARDS == [12] ]] ||
    die "--clickhouse-shards (STREAMSHOP_STACK_CLICKHOUSE_SHARDS) must be 1 or 2, not '$CH_SHARDS'"
  [[ $CH_ENGINE == server || $CH_ENGINE == chdb ]] ||
    die "unknown ClickHouse engine '$CH_ENGINE' (--clickhouse-engine / STREAMSHOP_CLICKHOUSE_ENGINE): server or chdb"
  case "$action" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    restart-postgres) make_state_dir; pg_stop; pg_start ;;
    restart-clickhouse) check_cluster_supported; make_state_dir; ch_stop_all; ch_start_all ;;
    stop-clickhouse-replica) cmd_stop_replica "$server" ;;
    start-clickhouse-replica) cmd_start_replica "$server" ;;
    kill-clickhouse-replica) cmd_kill_replica "$server" ;;
    restart-kafka) cmd_restart_kafka ;;
    destroy) cmd_destroy ;;
    *) usage ;;
  esac
}

main "$@"
