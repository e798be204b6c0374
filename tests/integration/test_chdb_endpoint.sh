#!/usr/bin/env bash
# The ClickHouse 26.x test endpoint (tests/support/chdb_http.py) speaks ClickHouse's HTTP interface as our code and
# clickhouse-connect use it: ping, status codes, exception header and text, per-request settings, database and
# query parameters, RowBinary inserts whose data holds ";\n", chunked and compressed bodies, concurrent clients,
# and clickhouse-connect's own inserts (Native, compressed) and queries.
TEST_PORT_BASE=27400
export STREAMSHOP_CLICKHOUSE_ENGINE=chdb   # this test is about the chdb endpoint, whatever the suite runs on
source "$(dirname "$0")/lib.sh" "$1"
VENV=${STREAMSHOP_VENV:-$REPO/.venv}
URL=$STREAMSHOP_CLICKHOUSE_URL

# request ARGS…: curl with the response's status, headers and body in $LOG_DIR/{status,headers,body}.
request() {
  curl -sS -o "$LOG_DIR/body" -D "$LOG_DIR/headers" -w '%{http_code}' "$@" >"$LOG_DIR/status"
}
expect_status() { [[ "$(cat "$LOG_DIR/status")" == "$1" ]] || fail "$2: HTTP $(cat "$LOG_DIR/status"), expected $1: $(cat "$LOG_DIR/body")"; }
header() { tr -d '\r' <"$LOG_DIR/headers" | sed -n "s/^$1: //Ip"; }

log "ping"
[[ "$(curl -sS "$URL/ping")" == "Ok." ]] || fail "/ping did not answer Ok."

log "authentication: the stack's user and password (Basic auth, X-ClickHouse-User/Key, user/password parameters)"
PASSWORD=$(cat "$STREAMSHOP_STACK_DIR/secrets/clickhouse_password")
HOSTPORT=${URL##*@}
HOSTPORT=${HOSTPORT#*://}
request "http://$HOSTPORT/" --data-binary "SELECT 1"
expect_status 401 "no credentials"
[[ "$(header X-ClickHouse-Exception-Code)" == 516 ]] || fail "no credentials: code $(header X-ClickHouse-Exception-Code)"
grep -q 'Authentication failed.*(AUTHENTICATION_FAILED)' "$LOG_DIR/body" || fail "no credentials: $(cat "$LOG_DIR/body")"
request "http://default:wrong@$HOSTPORT/" --data-binary "SELECT 1"
expect_status 401 "a wrong password"
request "http://nobody:$(jq -rn --arg p "$PASSWORD" '$p | @uri')@$HOSTPORT/" --data-binary "SELECT 1"
expect_status 401 "another user with the password"
request "http://$HOSTPORT/" -H @<(printf 'X-ClickHouse-User: default\nX-ClickHouse-Key: %s\n' "$PASSWORD") --data-binary "SELECT 2"
expect_status 200 "X-ClickHouse-User/Key headers"
request "http://$HOSTPORT/" -H "X-ClickHouse-User: default" -H "X-ClickHouse-Key: ${PASSWORD}x" --data-binary "SELECT 2"
expect_status 401 "X-ClickHouse-Key with a wrong password"
request "http://$HOSTPORT/?user=default&password=$(jq -rn --arg p "$PASSWORD" '$p | @uri')" --data-binary "SELECT 3"
expect_status 200 "user/password parameters"
! grep -qF "$(jq -rn --arg p "$PASSWORD" '$p | @uri')" "$STREAMSHOP_STACK_DIR/clickhouse/log/chdb-http.log" ||
  fail "the endpoint's log shows the password parameter"
[[ "$(curl -sS "http://$HOSTPORT/ping")" == "Ok." ]] || fail "/ping wants no credentials (as on the server)"

log "errors: status by error, exception header, ClickHouse's text"
request "$URL/" --data-binary "SELECT * FROM no_such_table"
expect_status 404 "unknown table"
[[ "$(header X-ClickHouse-Exception-Code)" == 60 ]] || fail "exception code header: $(header X-ClickHouse-Exception-Code)"
grep -Eq '^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) \(version 26\.[0-9.]+\)$' "$LOG_DIR/body" ||
  fail "exception text: $(cat "$LOG_DIR/body")"
request "$URL/" --data-binary "SELEC 1"
expect_status 400 "syntax error"
request "$URL/?no_such_setting=1" --data-binary "SELECT 1"
expect_status 404 "unknown setting"
[[ "$(header X-ClickHouse-Exception-Code)" == 115 ]] || fail "unknown setting: code $(header X-ClickHouse-Exception-Code)"

log "settings apply to their request only; database and query parameters"
[[ "$(curl -sS "$URL/?max_result_rows=5" --data-binary "SELECT getSetting('max_result_rows')")" == 5 ]] ||
  fail "a URL setting was not applied"
[[ "$(curl -sS "$URL/" --data-binary "SELECT getSetting('max_result_rows')")" == 0 ]] ||
  fail "a URL setting outlived its request"
ch "CREATE DATABASE IF NOT EXISTS analytics"
[[ "$(curl -sS "$URL/?database=analytics" --data-binary "SELECT currentDatabase()")" == analytics ]] ||
  fail "database parameter ignored"
[[ "$(curl -sS "$URL/" --data-binary "SELECT currentDatabase()")" == default ]] || fail "database outlived its request"
[[ "$(curl -sS "$URL/?param_x=42" --data-binary "SELECT {x:UInt8} + 1")" == 43 ]] || fail "query parameter"
[[ "$(curl -sS "$URL/?default_format=JSONEachRow" --data-binary "SELECT 1 AS a")" == '{"a":1}' ]] || fail "default_format"

log "RowBinary insert through the query parameter, with ';\\n' inside the data"
ch "CREATE TABLE analytics.t (id UInt32, s String) ENGINE = MergeTree ORDER BY id"
insert_url="$URL/?query=$(printf 'INSERT INTO analytics.t (id, s) FORMAT RowBinary' | jq -sRr @uri)"
printf '\x01\x00\x00\x00\x04a;\n\n\x02\x00\x00\x00\x01;' >"$LOG_DIR/rows.bin"
request "$insert_url" --data-binary @"$LOG_DIR/rows.bin"
expect_status 200 "RowBinary insert"
header X-ClickHouse-Summary | grep -q '"written_rows": "2"' || fail "summary: $(header X-ClickHouse-Summary)"
[[ "$(ch "SELECT hex(s) FROM analytics.t ORDER BY id FORMAT TSV" | paste -sd,)" == "613B0A0A,3B" ]] ||
  fail "inserted values: $(ch "SELECT id, hex(s) FROM analytics.t FORMAT TSV")"

log "chunked and compressed request bodies"
printf '10\tchunked\n' >"$LOG_DIR/chunked.tsv"
tsv_url="$URL/?query=$(printf 'INSERT INTO analytics.t FORMAT TSV' | jq -sRr @uri)"
request "$tsv_url" -H "Transfer-Encoding: chunked" --data-binary @"$LOG_DIR/chunked.tsv"
expect_status 200 "chunked insert"
printf '11\tgzip\n' | gzip -c >"$LOG_DIR/rows.gz"
request "$tsv_url" -H "Content-Encoding: gzip" --data-binary @"$LOG_DIR/rows.gz"
expect_status 200 "gzip insert"
printf '12\tzstd\n' | zstd -q -c >"$LOG_DIR/rows.zst"
request "$tsv_url" -H "Content-Encoding: zstd" --data-binary @"$LOG_DIR/rows.zst"
expect_status 200 "zstd insert"
request "$tsv_url" -H "Content-Encoding: br" --data-binary "x"
expect_status 501 "an unsupported encoding"
[[ "$(ch "SELECT s FROM analytics.t WHERE id >= 10 ORDER BY id FORMAT TSV" | paste -sd,)" == "chunked,gzip,zstd" ]] ||
  fail "chunked/compressed rows: $(ch "SELECT id, s FROM analytics.t WHERE id >= 10 FORMAT TSV")"

log "8 concurrent clients, 1000 rows each"
seq 1 1000 | awk '{ print 1000 + $1 "\tconcurrent" }' >"$LOG_DIR/many.tsv"
pids=()
for _ in $(seq 8); do
  curl -sS --fail-with-body "$tsv_url" --data-binary @"$LOG_DIR/many.tsv" >>"$LOG_DIR/concurrent.out" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent insert failed: $(cat "$LOG_DIR/concurrent.out")"; done
[[ "$(ch "SELECT count() FROM analytics.t WHERE s = 'concurrent'")" == 8000 ]] || fail "concurrent inserts lost rows"

log "clickhouse-connect: Native inserts (compressed) and queries"
export CH_PASSWORD_FILE=$STREAMSHOP_STACK_DIR/secrets/clickhouse_password
CH_PORT=${URL##*:} "$VENV/bin/python" - <<'PY' || fail "clickhouse-connect against the endpoint failed"
import os
import clickhouse_connect

with open(os.environ["CH_PASSWORD_FILE"]) as f:
    password = f.read().strip()
client = clickhouse_connect.get_client(host="127.0.0.1", port=int(os.environ["CH_PORT"]), compress="lz4",
                                       username="default", password=password)
client.command("CREATE TABLE analytics.cc (id UInt64, name String, at DateTime64(6, 'UTC')) "
               "ENGINE = MergeTree ORDER BY id")
rows = [[i, f"name;\n{i}", None] for i in range(5000)]
import datetime
for r in rows:
    r[2] = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(microseconds=r[0])
summary = client.insert("analytics.cc", rows, column_names=["id", "name", "at"])
assert summary.written_rows == 5000, summary.written_rows
result = client.query("SELECT count(), sum(id), max(name) FROM analytics.cc")
assert result.result_rows == [(5000, sum(range(5000)), max(r[1] for r in rows))], result.result_rows
assert client.query("SELECT at FROM analytics.cc WHERE id = 7").result_rows[0][0].microsecond == 7
print("clickhouse-connect", clickhouse_connect.__version__, "ok on", client.server_version)
PY
