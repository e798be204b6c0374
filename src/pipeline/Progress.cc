#include "pipeline/Progress.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace streamshop::pipeline {

namespace {

bool SameName(const std::string& a_schema, const std::string& a_table, std::string_view schema,
              std::string_view table) {
  return a_table == table && a_schema == schema;
}

void AppendLabelPart(std::string& out, std::string_view part) {
  if (part.find_first_of(".\"") == std::string_view::npos) {
    out += part;
    return;
  }
  out += '"';
  for (char c : part) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// FNV-1a over "schema.table".
uint64_t NameHash(std::string_view schema, std::string_view table) {
  uint64_t h = 1469598103934665603ull;
  const auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  mix(schema);
  h = (h ^ 0xff) * 1099511628211ull;  // never a byte of UTF-8 text: "a"+"bc" differs from "ab"+"c"
  mix(table);
  return h;
}

int64_t CoarseMonotonicMillis() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

std::string TableLabel(std::string_view schema, std::string_view table) {
  std::string out;
  AppendLabelPart(out, schema);
  out += '.';
  AppendLabelPart(out, table);
  return out;
}

std::string_view EventOpName(EventOp op) {
  switch (op) {
    case EventOp::kInsert:
      return "insert";
    case EventOp::kUpdate:
      return "update";
    case EventOp::kDelete:
      return "delete";
    case EventOp::kTruncate:
      return "truncate";
    case EventOp::kRead:
      return "read";
  }
  return "update";
}

std::string_view SnapshotStateName(SnapshotState state) {
  static constexpr std::array<std::string_view, kSnapshotStates> kNames = {"none", "pending", "copying", "done"};
  return kNames[static_cast<size_t>(state)];
}

double TableCounters::SnapshotRatio() const {
  switch (snapshot_state.load()) {
    case SnapshotState::kNone:
      return 0;
    case SnapshotState::kDone:
      return 1;
    default:
      break;
  }
  double ratio = 0;
  if (const uint64_t estimated = snapshot_estimated_rows.load(); estimated > 0) {
    ratio = static_cast<double>(snapshot_copied_rows.load()) / static_cast<double>(estimated);
  } else if (const uint64_t chunks = snapshot_chunks_total.load(); chunks > 0) {
    ratio = static_cast<double>(snapshot_chunks_done.load()) / static_cast<double>(chunks);
  }
  return std::clamp(ratio, 0.0, 1.0);
}

std::string_view DeadLetterReasonName(DeadLetterReason reason) {
  static constexpr std::array<std::string_view, kDeadLetterReasons> kNames = {
      "unparsable", "misrouted", "no_position", "schema", "value", "too_large", "target"};
  return kNames[static_cast<size_t>(reason)];
}

namespace {
std::atomic<uint64_t> next_set_id{1};
}  // namespace

TableCounterSet::TableCounterSet() : id_(next_set_id.fetch_add(1)), slots_(new std::atomic<const Entry*>[kSlots]) {
  for (size_t i = 0; i < kSlots; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
}

TableCounters& TableCounterSet::Of(std::string_view schema, std::string_view table) {
  // Consecutive changes mostly hit the same table: the thread remembers its last one.
  // Keyed by the set's id, not its address: a later set at the same address must not see this one's entries.
  thread_local uint64_t last_set = 0;
  thread_local const Entry* last = nullptr;
  if (last_set == id_ && SameName(last->schema, last->table, schema, table)) return *last->counters;
  const uint64_t hash = NameHash(schema, table);
  for (size_t i = hash & (kSlots - 1), probes = 0; probes < kSlots; i = (i + 1) & (kSlots - 1), ++probes) {
    const Entry* e = slots_[i].load(std::memory_order_acquire);
    if (e == nullptr) break;
    if (SameName(e->schema, e->table, schema, table)) {
      last_set = id_, last = e;
      return *e->counters;
    }
  }
  return Insert(schema, table, hash);
}

TableCounters& TableCounterSet::Insert(std::string_view schema, std::string_view table, uint64_t hash) {
  std::lock_guard lock(mutex_);
  size_t i = hash & (kSlots - 1);
  for (size_t probes = 0; probes < kSlots; i = (i + 1) & (kSlots - 1), ++probes) {
    const Entry* e = slots_[i].load(std::memory_order_relaxed);
    if (e == nullptr) break;
    if (SameName(e->schema, e->table, schema, table)) return *e->counters;  // inserted meanwhile
  }
  TableCounters* counters = &other_;
  if (tables_.size() < kMaxTables) {
    counters = &tables_.emplace_back(TableLabel(schema, table));
  } else {
    overflowed_ = true;
  }
  if (used_slots_ >= kSlots / 2) return *counters;  // table full: such names stay on this (locked) path
  ++used_slots_;
  slots_[i].store(&entries_.emplace_back(Entry{std::string(schema), std::string(table), counters}),
                  std::memory_order_release);
  return *counters;
}

std::vector<const TableCounters*> TableCounterSet::Tables() const {
  std::lock_guard lock(mutex_);
  std::vector<const TableCounters*> out;
  for (const auto& t : tables_) out.push_back(&t);
  if (overflowed_) out.push_back(&other_);
  return out;
}

void LatencyHistogram::Observe(std::chrono::steady_clock::duration took) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
  const double seconds = static_cast<double>(micros) / 1e6;
  const size_t bucket = std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(micros, 0)), std::memory_order_relaxed);
}

std::array<uint64_t, LatencyHistogram::kBounds.size() + 1> LatencyHistogram::Cumulative() const {
  std::array<uint64_t, kBounds.size() + 1> out{};
  uint64_t total = 0;
  for (size_t i = 0; i < out.size(); ++i) out[i] = total += counts_[i].load(std::memory_order_relaxed);
  return out;
}

void Metrics::CountFlush(uint64_t rows, uint64_t bytes, std::chrono::steady_clock::duration took) {
  if (rows == 0) return;
  ++flushes;
  flushed_rows += rows;
  flushed_bytes += bytes;
  flush_micros += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count());
  flush_seconds.Observe(took);
}

TableCounters& Metrics::SnapshotPlanned(std::string_view schema, std::string_view table, uint64_t estimated_rows,
                                        uint64_t chunks_total, uint64_t chunks_skipped) {
  TableCounters& t = tables.Of(schema, table);
  t.snapshot_estimated_rows = estimated_rows;
  t.snapshot_copied_rows = chunks_total > 0 ? estimated_rows * chunks_skipped / chunks_total : 0;
  t.snapshot_chunks_total = chunks_total;
  t.snapshot_chunks_done = chunks_skipped;
  SetSnapshotState(schema, table, SnapshotState::kPending);
  return t;
}

void Metrics::SetSnapshotState(std::string_view schema, std::string_view table, SnapshotState state) {
  std::string label = TableLabel(schema, table);
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_states_[std::move(label)] = state;
  }
  tables.Of(schema, table).snapshot_state = state;
}

std::array<uint64_t, kSnapshotStates> Metrics::SnapshotTableCounts() const {
  std::array<uint64_t, kSnapshotStates> out{};
  std::lock_guard lock(snapshot_mutex_);
  for (const auto& [label, state] : snapshot_states_) ++out[static_cast<size_t>(state)];
  return out;
}

void Metrics::SetLag(uint64_t bytes, double seconds) {
  lag_bytes = bytes;
  lag_millis = static_cast<uint64_t>(seconds * 1000);
  lag_known = true;
}

void Metrics::SetSlotHealth(std::string_view wal_status, std::optional<int64_t> safe_wal_size) {
  int status = -1;
  for (size_t i = 0; i < kSlotWalStatuses.size(); ++i) {
    if (kSlotWalStatuses[i] == wal_status) status = static_cast<int>(i);
  }
  slot_wal_status.store(status, std::memory_order_relaxed);
  if (safe_wal_size) slot_safe_wal_size.store(*safe_wal_size, std::memory_order_relaxed);
  slot_safe_wal_known.store(safe_wal_size.has_value(), std::memory_order_relaxed);
}

std::string Metrics::FlushSummary() const {
  const uint64_t n = flushes;
  if (n == 0) return "no flushes";
  return fmt::format("{} flushes of {:.0f} rows in {:.1f} ms on average", n, static_cast<double>(flushed_rows) / n,
                     static_cast<double>(flush_micros) / n / 1000);
}

void Metrics::Beat() { heartbeat_ms.store(CoarseMonotonicMillis(), std::memory_order_relaxed); }

int64_t Metrics::SilenceMillis() const { return CoarseMonotonicMillis() - heartbeat_ms.load(); }

bool Metrics::Healthy(std::chrono::milliseconds max_silence) const {
  return sessions.load() == 0 || SilenceMillis() <= max_silence.count();
}

ProgressLine::ProgressLine(bool enabled, Metrics& metrics) : enabled_(enabled), metrics_(metrics) {
  metrics_.Beat();
  ++metrics_.sessions;
}

ProgressLine::~ProgressLine() {
  Finish();
  metrics_.streaming = false;
  --metrics_.sessions;
}

bool ProgressLine::Due() {
  if (!enabled_) return false;
  const auto now = std::chrono::steady_clock::now();
  seconds_ = std::chrono::duration<double>(now - last_).count();
  if (seconds_ < 1.0) return false;
  last_ = now;
  return true;
}

void ProgressLine::Print(const std::string& line) {
  fmt::print(stderr, "\r\33[K{}", line);
  fflush(stderr);
  printed_ = true;
}

void ProgressLine::MaybePrint(std::string_view phase, const std::function<std::string()>& extra) {
  metrics_.Beat();
  if (!metrics_.streaming.load(std::memory_order_relaxed)) metrics_.streaming = true;
  if (!Due()) return;
  const uint64_t events = metrics_.events;
  std::string line = fmt::format("{} | {:.0f} ev/s | {} events | lag {} {:.1f}s", phase,
                                 static_cast<double>(events - events_at_last_) / seconds_, events,
                                 HumanBytes(metrics_.lag_bytes), static_cast<double>(metrics_.lag_millis) / 1000);
  events_at_last_ = events;
  if (const uint64_t dead = metrics_.dead_letters) line += fmt::format(" | {} dead-lettered", dead);
  if (extra) {
    if (std::string more = extra(); !more.empty()) line += " | " + more;
  }
  Print(line);
}

void ProgressLine::MaybePrintText(std::string_view phase, const std::function<std::string()>& text) {
  metrics_.Beat();
  if (Due()) Print(fmt::format("{} |{}", phase, text()));
}

void ProgressLine::Finish() {
  if (!printed_) return;
  fmt::print(stderr, "\n");
  printed_ = false;
}

std::string HumanBytes(uint64_t b) {
  if (b < 1024) return fmt::format("{} B", b);
  if (b < (1u << 20)) return fmt::format("{:.1f} kB", b / 1024.0);
  if (b < (1u << 30)) return fmt::format("{:.1f} MB", b / 1048576.0);
  return fmt::format("{:.1f} GB", b / 1073741824.0);
}

}  // namespace streamshop::pipeline
