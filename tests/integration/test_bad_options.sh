#!/usr/bin/env bash
# Nonsense options are refused before anything connects, with an error naming the option (and, for a config file,
# the closest valid key); good ones still pass. No servers: every command points at a closed port, and a refused
# option must fail fast (exit 105 for a value out of range, 110 for a config file error, 1 for an unusable URL),
# never start work or retry.
set -euo pipefail
STREAMSHOP=$(realpath "${1:?usage: test_bad_options.sh path/to/streamshop}")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/streamshop-test_bad_options.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log() { echo "[test_bad_options] $*"; }
fail() { echo "[test_bad_options] FAIL: $*" >&2; exit 1; }
unset STREAMSHOP_PG_URL STREAMSHOP_CLICKHOUSE_URL STREAMSHOP_KAFKA_BROKERS STREAMSHOP_CONFIG
PG=(--pg postgresql://u@127.0.0.1:1/db)
CH=(--clickhouse http://127.0.0.1:1)
KAFKA=(--kafka 127.0.0.1:1)

# refused RC PATTERN ARGS…: streamshop ARGS exits RC within 5 s, and its stderr matches PATTERN.
refused() {
  local want=$1 pattern=$2 rc=0
  shift 2
  timeout 5 "$STREAMSHOP" "$@" >"$WORK/out" 2>&1 || rc=$?
  ((rc == want)) || fail "streamshop $* exited $rc, expected $want: $(head -c 300 "$WORK/out")"
  grep -Eq -- "$pattern" "$WORK/out" || fail "streamshop $*: no '$pattern' in: $(head -c 300 "$WORK/out")"
}

log "numeric options out of range"
while read -r cmd option value; do
  case $cmd in
    replicate) args=("${PG[@]}" "${CH[@]}") ;;
    capture) args=("${PG[@]}" "${KAFKA[@]}") ;;
    sink) args=("${KAFKA[@]}" "${CH[@]}") ;;
    verify) args=("${PG[@]}" "${CH[@]}") ;;
    generate) args=("${PG[@]}") ;;
  esac
  refused 105 "^$option: Value $value not in range" "$cmd" "$option" "$value" "${args[@]}"
done <<'TABLE'
replicate --batch-rows -1
replicate --batch-rows 0
replicate --batch-bytes -5
replicate --flush-ms 0
replicate --snapshot-workers 0
replicate --snapshot-chunk-pages -1
replicate --heartbeat-interval -1
replicate --max-lag-bytes -1
replicate --max-lag-seconds -0.5
capture --partitions 0
capture --replication-factor -1
capture --heartbeat-interval 100000
sink --batch-rows -1
sink --batch-bytes 0
sink --flush-ms -10
sink --max-message-bytes 0
sink --max-lsn-jump -1
verify --wait -1
generate --transactions -1
generate --products 0
generate --customers -3
TABLE
refused 105 "--seed" generate --seed -1 "${PG[@]}"
refused 105 "--batch-rows" replicate --batch-rows abc "${PG[@]}" "${CH[@]}"

log "config file: unknown, misspelled and misplaced keys and sections"
config() { printf '%b' "$1" >"$WORK/c.toml"; chmod 600 "$WORK/c.toml"; }
config '[sink]\ndead-letter-topik = "dlq"\n'
refused 110 "unknown key 'dead-letter-topik' in \[sink\] \(did you mean dead-letter-topic\?\)" \
  --config "$WORK/c.toml" sink "${KAFKA[@]}" "${CH[@]}"
config '[replicate]\nbatch-rowz = 5\n'
refused 110 "unknown key 'batch-rowz' in \[replicate\] \(did you mean batch-rows\?\)" \
  --config "$WORK/c.toml" replicate "${PG[@]}" "${CH[@]}"
config 'batch-rowz = 5\n'
refused 110 "unknown key 'batch-rowz' at the top level \(did you mean \[(replicate|sink)\] batch-rows\?\)" \
  --config "$WORK/c.toml" verify "${PG[@]}" "${CH[@]}"
config 'pg = "postgresql://u@127.0.0.1:1/db"\n'
refused 110 "unknown key 'pg' at the top level \(it is an option of \[replicate\], \[capture\], \[verify\], \[generate\]" \
  --config "$WORK/c.toml" verify "${PG[@]}" "${CH[@]}"
config '[sinkk]\ngroup = "g"\n'
refused 110 "unknown section \[sinkk\] \(did you mean \[sink\]\?\)" --config "$WORK/c.toml" sink "${KAFKA[@]}" "${CH[@]}"
config '[sink]\nmax-message-bytes = 0\n'
refused 105 "max-message-bytes" --config "$WORK/c.toml" sink "${KAFKA[@]}" "${CH[@]}"
STREAMSHOP_CONFIG=$WORK/c.toml refused 105 "max-message-bytes" sink "${KAFKA[@]}" "${CH[@]}"

log "a config file holding a secret must be private to its owner"
config '[verify]\npg = "postgresql://u:Secr3t@127.0.0.1:1/db"\nclickhouse = "http://127.0.0.1:1"\n'
chmod 644 "$WORK/c.toml"
refused 110 "config file .*c.toml holds a secret \(in key 'pg'\) and others may read it \(mode 0644\): run chmod 600" \
  --config "$WORK/c.toml" verify
config '[sink]\nkafka-prop = ["sasl.password=Secr3t"]\n'
chmod 640 "$WORK/c.toml"
refused 110 "holds a secret \(in key 'kafka-prop'\)" --config "$WORK/c.toml" sink "${KAFKA[@]}" "${CH[@]}"
! grep -q Secr3t "$WORK/out" || fail "the secret was shown: $(cat "$WORK/out")"

log "URLs: only http(s) for ClickHouse; a password that needs percent-encoding is refused without showing it"
refused 1 "ClickHouse URL file:///etc/passwd/ is not usable: Unsupported protocol" \
  sink "${KAFKA[@]}" --clickhouse file:///etc/passwd
refused 1 "ClickHouse URL http://u:\*\*\*@127.0.0.1:1/ is not usable" sink "${KAFKA[@]}" --clickhouse 'http://u:Se?cr3t@127.0.0.1:1'
refused 1 "invalid PostgreSQL URL postgresql://u:\*\*\*@127.0.0.1:1/db" \
  verify --pg 'postgresql://u:Se?cr/3t#x@127.0.0.1:1/db' "${CH[@]}"
! grep -Eq "Se\?cr|cr/3t|3t#x" "$WORK/out" || fail "a piece of the password was shown: $(cat "$WORK/out")"

log "secrets from files: private files only, one source per secret, never shown"
printf 'Fi1e?Secr3t\n' >"$WORK/pw" && chmod 644 "$WORK/pw"
refused 1 "pw holds a secret and others may read it \(mode 0644\): run chmod 600" \
  verify "${PG[@]}" "${CH[@]}" --clickhouse-password-file "$WORK/pw"
STREAMSHOP_PG_PASSWORD_FILE=$WORK/pw refused 1 "run chmod 600 .*pw" verify "${PG[@]}" "${CH[@]}"
chmod 600 "$WORK/pw"
STREAMSHOP_CLICKHOUSE_PASSWORD=x refused 1 "STREAMSHOP_CLICKHOUSE_PASSWORD and a password file .* are both set: use one" \
  verify "${PG[@]}" "${CH[@]}" --clickhouse-password-file "$WORK/pw"
printf '# client\nsecurity.protocol=SASL_SSL\nsasl.password=Fi1e?Secr3t\n' >"$WORK/k.properties"
chmod 604 "$WORK/k.properties"
refused 1 "k.properties holds a secret and others may read it \(mode 0604\)" \
  sink "${KAFKA[@]}" "${CH[@]}" --kafka-prop-file "$WORK/k.properties"
printf 'acks=all\nlinger.ms\n' >"$WORK/k.properties"
STREAMSHOP_KAFKA_PROP_FILE=$WORK/k.properties refused 1 "k.properties:2: expected key=value" capture "${PG[@]}" "${KAFKA[@]}"
refused 105 "clickhouse-ca-file: File does not exist" verify "${PG[@]}" "${CH[@]}" --clickhouse-ca-file "$WORK/none.pem"
! grep -rq "Fi1e" "$WORK/out" || fail "a secret was shown: $(cat "$WORK/out")"

log "good options and a good config file are accepted (the command then fails to connect, as it should)"
config '# streamshop\n[verify]\npg = "postgresql://u@127.0.0.1:1/db"\nclickhouse = "http://127.0.0.1:1"\nwait = 0\n'
rc=0
timeout 10 "$STREAMSHOP" --config "$WORK/c.toml" verify >"$WORK/out" 2>&1 || rc=$?
((rc != 105 && rc != 110)) || fail "a valid config was refused: $(cat "$WORK/out")"
grep -q "127.0.0.1:1" "$WORK/out" || fail "the config's pg was not used: $(cat "$WORK/out")"
log PASS
