#include "ops/StatusPage.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>

#include "common/JsonString.h"
#include "common/Log.h"
#include "ops/PrometheusText.h"

namespace streamshop::ops {

namespace {

// A JSON string (common/JsonString: the project's one escaper).
void Str(std::string& out, std::string_view text) { AppendJsonString(out, text, JsonDialect::kPostgres); }

void Num(std::string& out, uint64_t v) { out += std::to_string(v); }

void Num(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  out += fmt::format("{}", v);  // shortest round-trip digits: valid JSON ("0.25", "1e-05")
}

void Bool(std::string& out, bool v) { out += v ? "true" : "false"; }

// "2026-12-01T22:50:01.123Z"
std::string IsoTime(int64_t unix_millis) {
  const std::time_t secs = static_cast<std::time_t>(unix_millis / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, unix_millis % 1000);
}

constexpr std::string_view kHtml = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamshop status</title>
<style>
:root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --dim: #667085; --line: #e3e6ec; --ok: #138a4b;
        --bad: #c62d2d; --warn: #b7791f; --accent: #2f6fde; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg);
       color: var(--ink); }
header { display: flex; align-items: center; gap: 12px; padding: 12px 20px; background: #1d2330; color: #fff; }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
header .meta { color: #b9c0cc; font-size: 12px; }
header .spacer { flex: 1; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         background: #5b6474; color: #fff; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); } .badge.warn { background: var(--warn); }
main { padding: 16px 20px; display: grid; gap: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 12px; }
.card, section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .label { color: var(--dim); font-size: 12px; }
.card .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
section h2 { font-size: 14px; margin: 0 0 8px; color: var(--dim); font-weight: 600; text-transform: uppercase;
             letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { color: var(--dim); font-weight: 600; font-size: 12px; }
td.name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.bar { display: inline-block; width: 90px; height: 8px; background: var(--line); border-radius: 4px;
       vertical-align: middle; overflow: hidden; margin-right: 6px; }
.bar > span { display: block; height: 100%; background: var(--accent); }
.snapshot-state { color: var(--dim); margin-right: 6px; }
#spark { width: 100%; height: 80px; display: block; }
#spark polyline { fill: none; stroke: var(--accent); stroke-width: 2; }
#spark polygon { fill: rgba(47, 111, 222, .12); stroke: none; }
.row2 { display: grid; grid-template-columns: 2fr 1fr; gap: 16px; }
@media (max-width: 900px) { .row2 { grid-template-columns: 1fr; } }
#last-error-message { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap;
                      word-break: break-word; margin: 4px 0 0; }
.dim { color: var(--dim); }
.zero { color: #b0b6c2; }
</style>
</head>
<body>
<header>
  <h1>streamshop <span id="command">…</span></h1>
  <span class="meta" id="version"></span>
  <span class="spacer"></span>
  <span class="badge" id="healthy">healthy ?</span>
  <span class="badge" id="ready">ready ?</span>
  <span class="meta" id="updated">connecting…</span>
</header>
<main>
  <div class="cards">
    <div class="card"><div class="label">lag (WAL bytes)</div><div class="value" id="lag-bytes">–</div></div>
    <div class="card"><div class="label">lag (seconds)</div><div class="value" id="lag-seconds">–</div></div>
    <div class="card"><div class="label">events/s</div><div class="value" id="rate">–</div></div>
    <div class="card"><div class="label">events</div><div class="value" id="events-total">–</div></div>
    <div class="card"><div class="label">rows written</div><div class="value" id="rows-written">–</div></div>
    <div class="card"><div class="label">dead letters</div><div class="value" id="dead-letters-total">–</div></div>
    <div class="card"><div class="label">reconnects</div><div class="value" id="session-restarts">–</div></div>
    <div class="card"><div class="label">memory (RSS)</div><div class="value" id="rss">–</div></div>
  </div>
  <section>
    <h2>Throughput, events/s (last 2 minutes) <span class="dim" id="spark-max"></span></h2>
    <svg id="spark" viewBox="0 0 600 80" preserveAspectRatio="none" role="img" aria-label="events per second">
      <polygon points=""></polygon><polyline points=""></polyline>
    </svg>
  </section>
  <section>
    <h2>Tables <span class="dim" id="snapshot-summary"></span></h2>
    <table id="tables">
      <thead><tr><th>table</th><th>insert</th><th>update</th><th>delete</th><th>truncate</th><th>read</th>
        <th>total</th><th>events/s</th><th>snapshot</th></tr></thead>
      <tbody></tbody>
    </table>
    <p class="dim" id="no-tables">No table has counted a change or a snapshot yet.</p>
  </section>
  <div class="row2">
    <section>
      <h2>Last error</h2>
      <div id="last-error"><span class="dim">none since the process started</span></div>
      <div id="last-error-message"></div>
    </section>
    <section>
      <h2>Dead letters by reason</h2>
      <table id="dead-letters"><tbody></tbody></table>
    </section>
  </div>
</main>
<script>
"use strict";
const RING = 120;            // the server keeps two minutes of once-a-second rates (st.throughput)
const tableHistory = [];     // {t: server ms, totals: Map name → events}, the last 10 s: per-table rates
const $ = (id) => document.getElementById(id);
const text = (el, s) => { if (el.textContent !== s) el.textContent = s; };
const fmtInt = (n) => n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
function fmtBytes(b) {
  if (b === null || b === undefined) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0, v = b;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + " " + units[i];
}
function fmtRate(r) { return r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1); }
function badge(el, ok, yes, no) { text(el, ok ? yes : no); el.className = "badge " + (ok ? "ok" : "bad"); }
function cell(tr, cls, value, title) {
  const td = document.createElement("td");
  td.className = cls;
  td.textContent = value;
  if (title) td.title = title;
  tr.appendChild(td);
  return td;
}
function snapshotCell(tr, s) {
  const td = cell(tr, "snapshot", "");
  if (!s) { td.textContent = "–"; return; }
  td.dataset.state = s.state;
  td.dataset.ratio = String(s.ratio);
  const state = document.createElement("span");
  state.className = "snapshot-state";
  state.textContent = s.state;
  const bar = document.createElement("span");
  bar.className = "bar";
  const fill = document.createElement("span");
  fill.style.width = (100 * s.ratio).toFixed(1) + "%";
  bar.appendChild(fill);
  const pct = document.createElement("span");
  pct.className = "pct";
  pct.textContent = (100 * s.ratio).toFixed(0) + "% · " + fmtInt(s.rows) + " rows";
  td.title = "estimated rows " + fmtInt(s.estimated_rows);
  td.append(state, bar, pct);
}
function renderTables(st) {
  const body = $("tables").tBodies[0];
  // Rates over at least a second of the server's time (or what there is): the baseline is the newest status
  // older than a second.
  tableHistory.push({ t: st.now_ms, totals: new Map(st.tables.map((t) => [t.name, t.events_total])) });
  while (tableHistory.length > 1 && tableHistory[0].t < st.now_ms - 10000) tableHistory.shift();
  let base = tableHistory[0];
  for (const h of tableHistory) if (h.t <= st.now_ms - 1000) base = h;
  const seconds = (st.now_ms - base.t) / 1000, before = base.totals;
  const rows = [];
  for (const t of st.tables) {
    const tr = document.createElement("tr");
    tr.dataset.table = t.name;
    cell(tr, "name", t.name);
    for (const op of ["insert", "update", "delete", "truncate", "read"]) {
      const n = t.events[op];
      cell(tr, "op-" + op + (n === 0 ? " zero" : ""), fmtInt(n)).dataset.value = String(n);
    }
    cell(tr, "events-total", fmtInt(t.events_total)).dataset.value = String(t.events_total);
    const was = before.get(t.name);
    cell(tr, "rate", seconds > 0 && was !== undefined ? fmtRate(Math.max(0, t.events_total - was) / seconds) : "–");
    snapshotCell(tr, t.snapshot);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  $("no-tables").style.display = rows.length ? "none" : "";
  const s = st.snapshot_tables;
  text($("snapshot-summary"), "· snapshots: " + s.copying + " copying, " + s.pending + " pending, " + s.done + " done");
}
function renderDeadLetters(st) {
  const rows = [];
  for (const [reason, n] of Object.entries(st.dead_letters)) {
    const tr = document.createElement("tr");
    tr.dataset.reason = reason;
    cell(tr, "reason", reason);
    cell(tr, "count" + (n === 0 ? " zero" : ""), fmtInt(n)).dataset.value = String(n);
    rows.push(tr);
  }
  $("dead-letters").tBodies[0].replaceChildren(...rows);
}
function renderSpark(samples) {
  const svg = $("spark");
  const max = Math.max(1, ...samples.map((s) => s.rate));
  const pts = samples.map((s, i) => {
    const x = RING <= 1 ? 0 : (600 * (i + RING - samples.length)) / (RING - 1);
    return x.toFixed(1) + "," + (78 - (74 * s.rate) / max).toFixed(1);
  });
  svg.querySelector("polyline").setAttribute("points", pts.join(" "));
  if (pts.length) {
    const first = pts[0].split(",")[0], last = pts[pts.length - 1].split(",")[0];
    svg.querySelector("polygon").setAttribute("points", first + ",80 " + pts.join(" ") + " " + last + ",80");
  }
  text($("spark-max"), "· peak " + fmtRate(max) + " ev/s");
}
function render(st) {
  text($("command"), st.command);
  text($("version"), st.version);
  document.title = "streamshop " + st.command + " status";
  badge($("healthy"), st.healthy, "healthy", "stuck");
  badge($("ready"), st.ready, "streaming", "not streaming");
  text($("updated"), "updated " + new Date(st.now_ms).toISOString().replace("T", " ").slice(0, 19) + " UTC");
  const lagBytes = $("lag-bytes"), lagSeconds = $("lag-seconds");
  if (st.lag) {
    text(lagBytes, fmtBytes(st.lag.bytes));
    lagBytes.dataset.value = String(st.lag.bytes);
    text(lagSeconds, st.lag.seconds.toFixed(1) + " s");
    lagSeconds.dataset.value = String(st.lag.seconds);
  } else {
    text(lagBytes, "n/a");
    text(lagSeconds, "n/a");
  }
  const samples = st.throughput.slice(-RING).map((s) => ({ t: s.t, rate: s.events_per_second }));
  text($("rate"), samples.length ? fmtRate(samples[samples.length - 1].rate) : "–");
  text($("events-total"), fmtInt(st.events_total));
  $("events-total").dataset.value = String(st.events_total);
  text($("rows-written"), fmtInt(st.rows_written));
  text($("dead-letters-total"), fmtInt(st.dead_letters_total));
  text($("session-restarts"), fmtInt(st.session_restarts));
  text($("rss"), fmtBytes(st.rss_bytes));
  renderTables(st);
  renderDeadLetters(st);
  renderSpark(samples);
  const le = st.last_error;
  if (le) {
    $("last-error").replaceChildren();
    const b = document.createElement("span");
    b.className = "badge " + (le.level === "ERROR" ? "bad" : "warn");
    b.textContent = le.level;
    const when = document.createElement("span");
    when.className = "dim";
    when.id = "last-error-time";
    when.textContent = " " + le.time.replace("T", " ").replace("Z", " UTC");
    $("last-error").append(b, when);
    text($("last-error-message"), le.message);
  }
}
async function refresh() {
  try {
    const res = await fetch("status.json", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    render(await res.json());
  } catch (e) {
    text($("updated"), "unreachable: " + e.message);
    badge($("healthy"), false, "", "unreachable");
    badge($("ready"), false, "", "unknown");
  } finally {
    setTimeout(refresh, 1000);
  }
}
refresh();
</script>
</body>
</html>
)html";

}  // namespace

void ThroughputHistory::Add(const Sample& sample) {
  std::lock_guard lock(mutex_);
  samples_.push_back(sample);
  while (samples_.size() > kCapacity) samples_.pop_front();
}

std::vector<ThroughputHistory::Sample> ThroughputHistory::Samples() const {
  std::lock_guard lock(mutex_);
  return {samples_.begin(), samples_.end()};
}

std::string_view StatusPage::Html() { return kHtml; }

std::string StatusPage::Json(const pipeline::Metrics& m, std::string_view command, int64_t now_unix_millis,
                             const std::vector<ThroughputHistory::Sample>& history) {
  std::string out;
  out.reserve(4096);
  out += "{\"command\":";
  Str(out, command);
  out += ",\"version\":";
  Str(out, BuildVersion());
  out += ",\"now_ms\":";
  out += std::to_string(now_unix_millis);
  out += ",\"healthy\":";
  Bool(out, m.Healthy());
  out += ",\"ready\":";
  Bool(out, m.Ready());
  out += ",\"silence_seconds\":";
  Num(out, static_cast<double>(m.SilenceMillis()) / 1000);
  out += ",\"lag\":";
  if (m.lag_known) {
    out += "{\"bytes\":";
    Num(out, m.lag_bytes.load());
    out += ",\"seconds\":";
    Num(out, static_cast<double>(m.lag_millis.load()) / 1000);
    out += '}';
  } else {
    out += "null";
  }
  const std::pair<std::string_view, uint64_t> totals[] = {{"events_total", m.events.load()},
                                                          {"rows_written", m.flushed_rows.load()},
                                                          {"bytes_sent", m.flushed_bytes.load()},
                                                          {"flushes", m.flushes.load()},
                                                          {"session_restarts", m.session_restarts.load()},
                                                          {"rss_bytes", ResidentMemoryBytes()}};
  for (const auto& [name, value] : totals) {
    out += fmt::format(",\"{}\":", name);
    Num(out, value);
  }
  out += ",\"flush_seconds_sum\":";
  Num(out, m.flush_seconds.SumSeconds());

  const auto optional = [&out](int64_t v) { out += v >= 0 ? std::to_string(v) : "null"; };
  out += ",\"kafka\":{\"consumer_lag_records\":";
  optional(m.kafka_consumer_lag.load());
  out += ",\"unacknowledged_records\":";
  optional(m.kafka_unacknowledged.load());
  out += ",\"rebalances\":";
  Num(out, m.kafka_rebalances.load());
  out += '}';

  const auto counts = m.SnapshotTableCounts();
  out += ",\"snapshot_tables\":{";
  for (pipeline::SnapshotState s :
       {pipeline::SnapshotState::kPending, pipeline::SnapshotState::kCopying, pipeline::SnapshotState::kDone}) {
    if (s != pipeline::SnapshotState::kPending) out += ',';
    Str(out, pipeline::SnapshotStateName(s));
    out += ':';
    Num(out, counts[static_cast<size_t>(s)]);
  }
  out += '}';

  out += ",\"tables\":[";
  bool first = true;
  for (const pipeline::TableCounters* t : m.tables.Tables()) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    Str(out, t->name);
    out += ",\"events\":{";
    uint64_t total = 0;
    for (size_t op = 0; op < pipeline::kEventOps; ++op) {
      const uint64_t n = t->events[op].load(std::memory_order_relaxed);
      total += n;
      if (op > 0) out += ',';
      Str(out, pipeline::EventOpName(static_cast<pipeline::EventOp>(op)));
      out += ':';
      Num(out, n);
    }
    out += "},\"events_total\":";
    Num(out, total);
    out += ",\"snapshot\":";
    const pipeline::SnapshotState state = t->snapshot_state.load();
    if (t->name == pipeline::TableCounterSet::kOtherTables || state == pipeline::SnapshotState::kNone) {
      out += "null";
    } else {
      out += "{\"state\":";
      Str(out, pipeline::SnapshotStateName(state));
      out += ",\"rows\":";
      Num(out, t->snapshot_rows.load());
      out += ",\"estimated_rows\":";
      Num(out, t->snapshot_estimated_rows.load());
      out += ",\"ratio\":";
      Num(out, t->SnapshotRatio());
      out += '}';
    }
    out += '}';
  }
  out += ']';

  out += ",\"dead_letters\":{";
  for (size_t r = 0; r < pipeline::kDeadLetterReasons; ++r) {
    if (r > 0) out += ',';
    Str(out, pipeline::DeadLetterReasonName(static_cast<pipeline::DeadLetterReason>(r)));
    out += ':';
    Num(out, m.dead_letters_by_reason[r].load());
  }
  out += "},\"dead_letters_total\":";
  Num(out, m.dead_letters.load());

  out += ",\"last_error\":";
  if (const auto problem = LastLoggedProblem()) {
    out += "{\"unix_ms\":";
    out += std::to_string(problem->unix_millis);
    out += ",\"time\":";
    Str(out, IsoTime(problem->unix_millis));
    out += ",\"level\":";
    Str(out, LogLevelName(problem->level));
    out += ",\"message\":";
    Str(out, problem->message);
    out += '}';
  } else {
    out += "null";
  }

  out += ",\"throughput\":[";
  for (size_t i = 1; i < history.size(); ++i) {
    const auto& a = history[i - 1];
    const auto& b = history[i];
    const double seconds = static_cast<double>(b.unix_millis - a.unix_millis) / 1000;
    if (seconds <= 0) continue;
    if (out.back() != '[') out += ',';
    out += "{\"t\":";
    out += std::to_string(b.unix_millis);
    out += ",\"events_per_second\":";
    Num(out, static_cast<double>(b.events >= a.events ? b.events - a.events : 0) / seconds);
    out += ",\"rows_per_second\":";
    Num(out, static_cast<double>(b.rows_written >= a.rows_written ? b.rows_written - a.rows_written : 0) / seconds);
    out += '}';
  }
  out += "]}\n";
  return out;
}

}  // namespace streamshop::ops
