#!/usr/bin/env bash
# The operations endpoints (--http-listen) of `replicate` with the real tools: /healthz and /readyz (also through a
# PostgreSQL crash: not ready while the session retries, healthy all along), /metrics clean under
# `promtool check metrics`, its per-table counters equal to the changes made and the rows written, and a real
# Prometheus server scraping it whose TSDB answers a query for the lag. The alert rules pass `promtool check
# rules` and their unit tests (`promtool test rules`). A bad or taken listen address is refused.
TEST_PORT_BASE=28100
source "$(dirname "$0")/lib.sh" "$1"

HTTP_PORT=$((TEST_PORT_BASE + 7)) PROM_PORT=$((TEST_PORT_BASE + 8))
ENDPOINT=http://127.0.0.1:$HTTP_PORT
PROM_DIR=$STREAMSHOP_STACK_DIR/prometheus

log "alert rules: promtool check rules and promtool test rules"
promtool check rules "$REPO/deploy/prometheus/alerts.yml" >"$LOG_DIR/promtool-rules.log" 2>&1 ||
  { cat "$LOG_DIR/promtool-rules.log"; fail "promtool check rules deploy/prometheus/alerts.yml"; }
promtool test rules "$REPO/deploy/prometheus/alerts_test.yml" >>"$LOG_DIR/promtool-rules.log" 2>&1 ||
  { cat "$LOG_DIR/promtool-rules.log"; fail "promtool test rules deploy/prometheus/alerts_test.yml"; }

log "a listen address without a port is refused"
out=$("$STREAMSHOP" replicate --http-listen 127.0.0.1 2>&1) && fail "replicate accepted --http-listen 127.0.0.1"
grep -q "expected HOST:PORT" <<<"$out" || fail "unclear error for a bad --http-listen: $out"

# Tables: one plain, one whose name needs every escape of the exposition format, one to truncate.
pg <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, v text);
CREATE TABLE "we""ird\na.me" (id int PRIMARY KEY, v text);
CREATE TABLE scratch (id int PRIMARY KEY);
SQL
start_replicate --http-listen "127.0.0.1:$HTTP_PORT"
http_code() { curl -s -o /dev/null -w '%{http_code}' "$ENDPOINT$1" || true; }
server_up() { [[ "$(http_code /healthz)" == 200 ]]; }
wait_until 30 "/healthz did not answer 200" server_up
wait_streaming
ready() { [[ "$(http_code /readyz)" == 200 ]]; }
wait_until 10 "/readyz did not answer 200 while streaming" ready

log "a second process cannot take the same address"
out=$(timeout 20 "$STREAMSHOP" replicate --slot other --http-listen "127.0.0.1:$HTTP_PORT" 2>&1) &&
  fail "a second replicate listened on the taken port"
grep -q "cannot listen there" <<<"$out" || fail "unclear error for a taken port: $out"

log "workload: inserts, updates, deletes, a truncate"
pg <<'SQL'
INSERT INTO orders SELECT g, 'v' || g FROM generate_series(1, 500) g;
UPDATE orders SET v = v || '!' WHERE id <= 120;
DELETE FROM orders WHERE id > 450;
INSERT INTO "we""ird\na.me" SELECT g, 'x' FROM generate_series(1, 20) g;
INSERT INTO scratch SELECT generate_series(1, 10);
TRUNCATE scratch;
SQL
verify 60

metric() {  # metric NAME_WITH_LABELS: its value on /metrics (empty if absent)
  curl -s "$ENDPOINT/metrics" | N="$1" awk 'index($0, ENVIRON["N"] " ") == 1 { print $NF }'  # not -v: it unescapes
}
# expected: every change, per table and op (the weird name's label: schema.table, the dotted part quoted)
declare -A want=(
  ['streamshop_events_total{table="public.orders",op="insert"}']=500
  ['streamshop_events_total{table="public.orders",op="update"}']=120
  ['streamshop_events_total{table="public.orders",op="delete"}']=50
  ['streamshop_events_total{table="public.\"we\"\"ird\\na.me\"",op="insert"}']=20
  ['streamshop_events_total{table="public.scratch",op="insert"}']=10
  ['streamshop_events_total{table="public.scratch",op="truncate"}']=1
  ['streamshop_rows_written_total']=700  # one row per insert, update and delete
)
counters_match() {
  local k
  for k in "${!want[@]}"; do [[ "$(metric "$k")" == "${want[$k]}" ]] || return 1; done
}
deadline=$((SECONDS + 20))
until counters_match; do
  if ((SECONDS >= deadline)); then
    curl -s "$ENDPOINT/metrics" >"$LOG_DIR/metrics.txt"
    for k in "${!want[@]}"; do log "$k = $(metric "$k") (want ${want[$k]})"; done
    fail "the counters on /metrics differ from the changes made (page in $LOG_DIR/metrics.txt)"
  fi
  sleep 0.2
done
log "per-table counters match the changes; rows written = $(metric streamshop_rows_written_total)"

curl -s "$ENDPOINT/metrics" >"$LOG_DIR/metrics.txt"
promtool check metrics <"$LOG_DIR/metrics.txt" >"$LOG_DIR/promtool-metrics.log" 2>&1 ||
  { cat "$LOG_DIR/promtool-metrics.log"; fail "promtool check metrics found problems in /metrics"; }
for family in streamshop_replication_lag_bytes streamshop_replication_lag_seconds streamshop_bytes_sent_total \
              streamshop_flush_duration_seconds_count "streamshop_dead_letters_total{reason=\"value\"}" streamshop_session_restarts_total \
              streamshop_process_resident_memory_bytes streamshop_healthy streamshop_ready; do
  [[ -n "$(metric "$family")" ]] || fail "/metrics lacks $family"
done
(($(metric streamshop_flush_duration_seconds_count) >= 1)) || fail "no flush in the latency histogram"
(($(metric streamshop_bytes_sent_total) > 700)) || fail "bytes sent not counted"
(($(metric streamshop_process_resident_memory_bytes) > 1048576)) || fail "implausible resident memory"
grep -qE '^streamshop_build_info\{version="[^"]+",command="replicate"\} 1$' "$LOG_DIR/metrics.txt" ||
  fail "no build info"
log "/metrics is clean under promtool check metrics"

log "a real Prometheus server scrapes it"
mkdir -p "$PROM_DIR/data"
cp "$REPO/deploy/prometheus/alerts.yml" "$PROM_DIR/"
cat >"$PROM_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: streamshop
    static_configs:
      - targets: ["127.0.0.1:$HTTP_PORT"]
YAML
promtool check config "$PROM_DIR/prometheus.yml" >"$LOG_DIR/promtool-config.log" 2>&1 ||
  { cat "$LOG_DIR/promtool-config.log"; fail "prometheus.yml does not check"; }
prometheus --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$LOG_DIR/prometheus.log" 2>&1 &
BG_PIDS+=($!)
query() { curl -s --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"; }
has_sample() { [[ "$(query "$1" | jq -r '.data.result | length' 2>/dev/null)" -ge 1 ]]; }
wait_until 60 "Prometheus returned no sample of streamshop_replication_lag_bytes" \
  has_sample streamshop_replication_lag_bytes
log "Prometheus: streamshop_replication_lag_bytes = $(query streamshop_replication_lag_bytes | jq -r '.data.result[0].value[1]')"
inserted=$(query 'sum(streamshop_events_total{op="insert"})' | jq -r '.data.result[0].value[1]')
[[ "$inserted" == 530 ]] || fail "Prometheus sums $inserted inserts, expected 530"
[[ "$(query 'up{job="streamshop"}' | jq -r '.data.result[0].value[1]')" == 1 ]] || fail "the scrape is not up"
rule_count=$(grep -c -- '- alert:' "$REPO/deploy/prometheus/alerts.yml")
rules_loaded() {
  [[ "$(curl -s "http://127.0.0.1:$PROM_PORT/api/v1/rules" | jq '[.data.groups[].rules[]] | length')" == "$rule_count" ]]
}
wait_until 20 "Prometheus did not load the $rule_count alert rules" rules_loaded

log "PostgreSQL crashes: not ready while the session retries, healthy all along"
crash_postgres
not_ready() { [[ "$(http_code /readyz)" == 503 ]]; }
wait_until 30 "/readyz stayed 200 with PostgreSQL down" not_ready
[[ "$(http_code /healthz)" == 200 ]] || fail "/healthz is not 200 while replicate retries"
[[ "$(metric streamshop_ready)" == 0 ]] || fail "streamshop_ready is not 0 with PostgreSQL down"
bash "$REPO/scripts/stack.sh" up >"$LOG_DIR/stack-up-again.log" 2>&1 || fail "PostgreSQL did not start again"
wait_until 60 "/readyz did not return to 200 after PostgreSQL came back" ready
pg -c "INSERT INTO orders VALUES (1000, 'after')"
verify 60
(($(metric streamshop_session_restarts_total) >= 1)) || fail "the reconnect after the crash is not counted"
stop_replicate
gone() { [[ "$(http_code /healthz)" == 000 ]]; }
wait_until 5 "the endpoints still answer after replicate stopped" gone
