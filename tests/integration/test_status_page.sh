#!/usr/bin/env bash
# The status page (`/` of --http-listen) rendered by a real headless Chromium (Debian `chromium`) while `replicate`
# runs: while the initial snapshot copies a 300k-row table, /metrics shows it copying with its rows and a progress
# between 0 and 1; after the page's JavaScript fetched /status.json, its DOM shows each table with the events it
# counted by op, the initial snapshot done with its rows, the lag, the dead letters by reason and the last problem
# the log reported (a value ClickHouse cannot hold: a dead letter); a table name with markup in it stays text.
# /metrics has the snapshot families (rows per table equal to the rows copied, every table done, progress 1) and
# the last problem's timestamp. A screenshot (with a workload running) is a real picture: a PNG of the window's size with many
# colours. STATUS_PAGE_SCREENSHOT=path also copies it there (docs/status-page.png is made so).
# clickhouse-engines: server chdb
TEST_PORT_BASE=29700
source "$(dirname "$0")/lib.sh" "$1"

HTTP_PORT=$((TEST_PORT_BASE + 7))
ENDPOINT=http://127.0.0.1:$HTTP_PORT
CHROMIUM=$(command -v chromium || true)
[[ -n "$CHROMIUM" ]] || fail "chromium not found (Debian package chromium; run scripts/bootstrap.sh)"
log "$("$CHROMIUM" --version 2>/dev/null)"

# chromium_run ARGS… URL: headless, as root without its sandbox, with a profile of this test's own; the page's
# timers run on virtual time (--virtual-time-budget), so its refreshes happen before the DOM or picture is taken.
chromium_run() {
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --hide-scrollbars --user-data-dir="$STREAMSHOP_STACK_DIR/chromium" "$@" 2>>"$LOG_DIR/chromium.log"
}

# Rows before replicate starts: copied by the initial snapshot.
pg <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, v text);
CREATE TABLE "<b>bold</b>" (id int PRIMARY KEY);
CREATE TABLE prices (id int PRIMARY KEY, amount numeric(12,3));
INSERT INTO orders SELECT g, 'seed' FROM generate_series(1, 300) g;
INSERT INTO "<b>bold</b>" SELECT generate_series(1, 7);
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT g, 'row ' || g FROM generate_series(1, 300000) g;
ANALYZE big;
SQL
start_replicate --http-listen "127.0.0.1:$HTTP_PORT" --snapshot-chunk-pages 256

log "the initial snapshot in progress: public.big copying, with rows and a progress between 0 and 1"
metric_of() { N="$1" awk 'index($0, ENVIRON["N"] " ") == 1 { print $NF }' <<<"$2"; }  # NAME PAGE
seen="" last_rows=0
deadline=$((SECONDS + 60))
until grep -q "streaming changes" "$LOG_DIR/replicate.log"; do
  page=$(curl -s "$ENDPOINT/metrics" || true)
  ratio=$(metric_of 'streamshop_snapshot_progress_ratio{table="public.big"}' "$page")
  rows=$(metric_of 'streamshop_snapshot_rows_total{table="public.big"}' "$page")
  if [[ "$(metric_of 'streamshop_snapshot_copying{table="public.big"}' "$page")" == 1 && -n "$ratio" ]] &&
    (($(metric_of 'streamshop_snapshot_tables{state="copying"}' "$page") >= 1 && rows > 0)) &&
    awk -v r="$ratio" 'BEGIN { exit !(r > 0 && r < 1) }'; then
    ((rows >= last_rows)) || fail "streamshop_snapshot_rows_total of public.big went down: $last_rows, then $rows"
    seen+="${seen:+, }$rows rows ($ratio)" last_rows=$rows
  fi
  ((SECONDS < deadline)) || fail "replicate did not reach streaming"
  sleep 0.02
done
[[ -n "$seen" ]] || fail "/metrics never showed public.big copying with rows and a progress between 0 and 1"
log "public.big copying: $seen"

log "workload: inserts, updates, deletes"
pg <<'SQL'
INSERT INTO orders SELECT g, 'v' FROM generate_series(301, 500) g;
UPDATE orders SET v = 'u' WHERE id <= 40;
DELETE FROM orders WHERE id > 480;
INSERT INTO "<b>bold</b>" SELECT generate_series(8, 10);
INSERT INTO prices VALUES (1, 1.5);
SQL
verify 60
log "a numeric NaN ClickHouse's Decimal cannot hold: a dead letter (reason value), logged as a problem"
pg -c "INSERT INTO prices VALUES (2, 'NaN')"
status() { curl -s "$ENDPOINT/status.json"; }
dead_letter_counted() { [[ "$(status | jq -r '.dead_letters.value')" == 1 ]]; }
wait_until 30 "/status.json did not count the dead letter" dead_letter_counted
want_counts='{"public.orders":[200,40,20,0,0],"public.<b>bold</b>":[3,0,0,0,0],"public.prices":[2,0,0,0,0],
  "public.big":[0,0,0,0,0]}'
counts_match() {
  status >"$LOG_DIR/status.json"
  [[ "$(jq -cS '[.tables[] | {(.name): [.events.insert, .events.update, .events.delete, .events.truncate,
    .events.read]}] | add' "$LOG_DIR/status.json")" == "$(jq -cS . <<<"$want_counts")" ]]
}
wait_until 20 "/status.json's counts differ from the changes made (see $LOG_DIR/status.json)" counts_match
log "/status.json: $(jq -c '{tables: [.tables[] | {name, events_total, snapshot: .snapshot.state}], lag,
  last_error: .last_error.level}' "$LOG_DIR/status.json")"

log "/metrics: snapshot progress and the last problem's time"
curl -s "$ENDPOINT/metrics" >"$LOG_DIR/metrics.txt"
promtool check metrics <"$LOG_DIR/metrics.txt" >"$LOG_DIR/promtool-metrics.log" 2>&1 ||
  { cat "$LOG_DIR/promtool-metrics.log"; fail "promtool check metrics found problems in /metrics"; }
for line in 'streamshop_snapshot_tables{state="done"} 4' 'streamshop_snapshot_tables{state="copying"} 0' \
  'streamshop_snapshot_tables{state="pending"} 0' 'streamshop_snapshot_rows_total{table="public.orders"} 300' \
  'streamshop_snapshot_rows_total{table="public.<b>bold</b>"} 7' \
  'streamshop_snapshot_rows_total{table="public.prices"} 0' \
  'streamshop_snapshot_progress_ratio{table="public.orders"} 1' \
  'streamshop_snapshot_rows_total{table="public.big"} 300000' 'streamshop_snapshot_progress_ratio{table="public.big"} 1' \
  'streamshop_snapshot_copying{table="public.orders"} 0'; do
  grep -qxF "$line" "$LOG_DIR/metrics.txt" || fail "/metrics lacks '$line' (page in $LOG_DIR/metrics.txt)"
done
last_error=$(awk '$1 == "streamshop_last_error_timestamp_seconds" { print int($2) }' "$LOG_DIR/metrics.txt")
((last_error > $(date +%s) - 120 && last_error <= $(date +%s))) ||
  fail "streamshop_last_error_timestamp_seconds is '$last_error', not the recent dead letter's time"

curl -s -D "$LOG_DIR/page.headers" -o "$LOG_DIR/page.html" "$ENDPOINT/"
grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'" "$LOG_DIR/page.headers" ||
  fail "/ has no Content-Security-Policy forbidding external resources (headers in $LOG_DIR/page.headers)"
grep -qi '^Content-Type: text/html; charset=utf-8' "$LOG_DIR/page.headers" || fail "/ is not served as HTML"
curl -s -D - -o /dev/null "$ENDPOINT/status.json" | grep -qi '^Content-Type: application/json' ||
  fail "/status.json is not served as JSON"

log "Chromium renders / and runs its script"
chromium_run --virtual-time-budget=4000 --dump-dom "$ENDPOINT/" >"$LOG_DIR/dom.html" ||
  fail "chromium --dump-dom failed (log: $LOG_DIR/chromium.log)"
# The rendered DOM, read with Python's HTML parser: each table row's cells, and the text of the elements with ids.
python3 - "$LOG_DIR/dom.html" >"$LOG_DIR/dom.json" <<'PY' || fail "could not read the DOM"
import html.parser, json, sys

class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.tables, self.ids, self.row, self.bold = [], {}, {}, None, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append((tag, a, []))
        if tag == "tr" and "data-table" in a:
            self.row = self.tables.setdefault(a["data-table"], {})
        if tag == "b":
            self.bold += 1  # markup from a table name would be an element
    def handle_endtag(self, tag):
        while self.stack:
            t, a, text = self.stack.pop()
            s = "".join(text)
            if self.stack:
                self.stack[-1][2].append(s)
            if "id" in a:
                self.ids[a["id"]] = {"text": s, "value": a.get("data-value")}
            if t == "td" and self.row is not None:
                self.row[a.get("class", "").split()[0]] = {"text": s, "value": a.get("data-value"),
                                                           "state": a.get("data-state"), "ratio": a.get("data-ratio")}
            if t == "tr":
                self.row = None
            if t == tag:
                break
    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)

p = Page()
p.feed(open(sys.argv[1], encoding="utf-8").read())
json.dump({"tables": p.tables, "ids": p.ids, "bold_elements": p.bold}, sys.stdout)
PY
dom() { jq -r "$1" "$LOG_DIR/dom.json"; }
[[ "$(dom '.ids.command.text')" == replicate ]] || fail "the page did not render /status.json (DOM in $LOG_DIR/dom.html)"
for table in public.orders "public.<b>bold</b>" public.prices public.big; do
  want=$(jq -c --arg t "$table" '.[$t]' <<<"$want_counts")
  got=$(dom "[.tables[\"${table//\"/\\\"}\"] | .\"op-insert\", .\"op-update\", .\"op-delete\", .\"op-truncate\",
    .\"op-read\" | .value | tonumber] | tojson")
  [[ "$got" == "$want" ]] || fail "the page shows $table with events $got, expected $want (DOM in $LOG_DIR/dom.html)"
  [[ "$(dom ".tables[\"${table//\"/\\\"}\"].name.text")" == "$table" ]] || fail "the page does not name $table"
done
(($(dom '.bold_elements') == 0)) || fail "a table name's markup became an element of the page"
[[ "$(dom '.tables["public.orders"]."op-insert".text')" == 200 ]] || fail "the insert count is not shown as text"
[[ "$(dom '.tables["public.orders"].snapshot.state')" == done && "$(dom '.tables["public.orders"].snapshot.ratio')" == 1 ]] ||
  fail "the page does not show the snapshot of public.orders done"
[[ "$(dom '.tables["public.orders"].snapshot.text')" == *"100% · 300 rows"* ]] ||
  fail "the page shows the snapshot of public.orders as '$(dom '.tables["public.orders"].snapshot.text')'"
[[ "$(dom '.tables["public.big"].snapshot.text')" == *"100% · 300,000 rows"* ]] ||
  fail "the page shows the snapshot of public.big as '$(dom '.tables["public.big"].snapshot.text')'"
lag_bytes=$(dom '.ids["lag-bytes"].value') lag_text=$(dom '.ids["lag-bytes"].text')
[[ "$lag_bytes" =~ ^[0-9]+$ && "$lag_text" =~ ^[0-9.]+\ (B|kB|MB|GB)$ ]] ||
  fail "the page shows no lag in bytes: value '$lag_bytes', text '$lag_text'"
((lag_bytes < 64 * 1024 * 1024)) || fail "implausible lag on the page: $lag_bytes bytes"
[[ "$(dom '.ids["lag-seconds"].value')" =~ ^[0-9.]+(e-?[0-9]+)?$ ]] || fail "the page shows no lag in seconds"
[[ "$(dom '.ids["events-total"].value')" == 265 ]] || fail "the page shows $(dom '.ids["events-total"].value') events, expected 265"
[[ "$(dom '.ids.healthy.text')" == healthy && "$(dom '.ids.ready.text')" == streaming ]] ||
  fail "the page shows '$(dom '.ids.healthy.text')' and '$(dom '.ids.ready.text')', expected healthy and streaming"
[[ "$(dom '.ids["dead-letters-total"].text')" == 1 ]] || fail "the page does not show the dead letter"
grep -q '<tr data-reason="value"><td class="reason">value</td><td class="count" data-value="1">1</td></tr>' \
  "$LOG_DIR/dom.html" || fail "the dead letters by reason do not show value = 1"
grep -q 'dead letter' <<<"$(dom '.ids["last-error-message"].text')" ||
  fail "the last error shown is '$(dom '.ids["last-error-message"].text')', not the dead letter"
[[ "$(dom '.ids["last-error-time"].text')" =~ ^\ [0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:.]+\ UTC$ ]] ||
  fail "the last error's time is '$(dom '.ids["last-error-time"].text')'"
log "DOM: 4 tables with their counts by op, snapshots done (300 and 300,000 rows), lag $lag_text, the dead letter and its log line"

log "a screenshot while a workload runs"
(for i in $(seq 1 400); do
  echo "INSERT INTO orders VALUES ($((1000 + i)), 'live'); UPDATE orders SET v = 'again' WHERE id = $((i % 200 + 1));"
  sleep 0.02
done | pg -q >/dev/null 2>&1) &
WORKLOAD_PID=$!
BG_PIDS+=("$WORKLOAD_PID")
sleep 4
chromium_run --window-size=1280,900 --virtual-time-budget=8000 --screenshot="$LOG_DIR/status-page.png" "$ENDPOINT/" ||
  fail "chromium --screenshot failed (log: $LOG_DIR/chromium.log)"
python3 - "$LOG_DIR/status-page.png" <<'PY' || fail "the screenshot is not a picture of the page"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert (width, height) == (1280, 900), f"{width}x{height}"
assert depth == 8 and ctype in (2, 6), f"unexpected PNG format {depth}/{ctype}"
raw, bpp = zlib.decompress(idat), 3 if ctype == 2 else 4
stride, prev, colours, x = width * bpp, bytearray(width * bpp), set(), 0
for y in range(height):  # PNG's row filters undone, to count the picture's colours
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0:
        colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 2))
    prev = line
print(f"[test_status_page] screenshot {width}x{height}, {len(data)} bytes, {len(colours)} colours sampled")
assert len(colours) >= 64, "too few colours: a blank or error page"
PY
kill "$WORKLOAD_PID" 2>/dev/null || true
wait "$WORKLOAD_PID" 2>/dev/null || true
if [[ -n "${STATUS_PAGE_SCREENSHOT:-}" ]]; then cp "$LOG_DIR/status-page.png" "$STATUS_PAGE_SCREENSHOT"; fi
stop_replicate
