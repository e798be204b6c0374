#include "ops/PrometheusText.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "common/Log.h"

#ifndef STREAMSHOP_VERSION
#define STREAMSHOP_VERSION "unknown"
#endif

namespace streamshop::ops {

namespace {

// The exposition format's escapes: backslash and newline, and in label values also the double quote.
std::string Escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || (quote && c == '"')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string PrometheusText::EscapeLabelValue(std::string_view value) { return Escape(value, true); }

std::string PrometheusText::EscapeHelp(std::string_view help) { return Escape(help, false); }

std::string PrometheusText::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<int64_t>(value));
  return fmt::format("{}", value);
}

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(help), name, type);
}

void PrometheusText::SampleStart(std::string_view name, std::initializer_list<Label> labels) {
  out_ += name;
  if (labels.size() == 0) {
    out_ += ' ';
    return;
  }
  char sep = '{';
  for (const Label& l : labels) {
    out_ += sep;
    out_ += l.name;
    out_ += "=\"";
    out_ += EscapeLabelValue(l.value);
    out_ += '"';
    sep = ',';
  }
  out_ += "} ";
}

void PrometheusText::Sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value) {
  SampleStart(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

void PrometheusText::Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  SampleStart(name, labels);
  out_ += FormatValue(value);
  out_ += '\n';
}

void PrometheusText::Histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                               std::span<const uint64_t> cumulative, double sum) {
  Family(name, "histogram", help);
  const std::string bucket = fmt::format("{}_bucket", name);
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    Sample(bucket, {{"le", FormatValue(bounds[i])}}, cumulative[i]);
  }
  const uint64_t count = cumulative.empty() ? 0 : cumulative.back();
  Sample(bucket, {{"le", "+Inf"}}, count);
  Sample(fmt::format("{}_sum", name), {}, sum);
  Sample(fmt::format("{}_count", name), {}, count);
}

std::string_view BuildVersion() { return STREAMSHOP_VERSION; }

uint64_t ResidentMemoryBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

namespace {

// Snapshot progress: tables per state, and per table (with a state: a copy was planned, or found done) its rows,
// whether it copies now, and its progress. Tables beyond the cap: their rows only, under kOtherTables.
void RenderSnapshotMetrics(PrometheusText& p, const pipeline::Metrics& m) {
  using pipeline::SnapshotState;
  const auto counts = m.SnapshotTableCounts();
  p.Family("streamshop_snapshot_tables", "gauge",
           "Tables whose snapshot (initial copy or re-copy) is pending, copying or done in this process");
  for (SnapshotState s : {SnapshotState::kPending, SnapshotState::kCopying, SnapshotState::kDone}) {
    p.Sample("streamshop_snapshot_tables", {{"state", pipeline::SnapshotStateName(s)}}, counts[static_cast<size_t>(s)]);
  }
  const auto tables = m.tables.Tables();
  const auto has_state = [](const pipeline::TableCounters* t) {
    return t->name != pipeline::TableCounterSet::kOtherTables && t->snapshot_state.load() != SnapshotState::kNone;
  };
  p.Family("streamshop_snapshot_rows_total", "counter",
           "Rows read by snapshots and sent to the target, by table (a chunk sent again after a failure counts again)");
  for (const pipeline::TableCounters* t : tables) {
    if (has_state(t) || t->snapshot_rows.load() > 0) {
      p.Sample("streamshop_snapshot_rows_total", {{"table", t->name}}, t->snapshot_rows.load());
    }
  }
  p.Family("streamshop_snapshot_copying", "gauge", "1 while the table's snapshot copies rows, else 0");
  for (const pipeline::TableCounters* t : tables) {
    if (!has_state(t)) continue;
    p.Sample("streamshop_snapshot_copying", {{"table", t->name}},
             uint64_t{t->snapshot_state.load() == SnapshotState::kCopying ? 1u : 0u});
  }
  p.Family("streamshop_snapshot_progress_ratio", "gauge",
           "The table's current snapshot: rows copied / estimated rows (pg_class.reltuples), in [0, 1]; 1 when done");
  for (const pipeline::TableCounters* t : tables) {
    if (has_state(t)) p.Sample("streamshop_snapshot_progress_ratio", {{"table", t->name}}, t->SnapshotRatio());
  }
}

}  // namespace

std::string RenderMetrics(const pipeline::Metrics& m, std::string_view command) {
  PrometheusText p;
  p.Family("streamshop_build_info", "gauge", "Always 1; the labels name the build and the running command");
  p.Sample("streamshop_build_info", {{"version", BuildVersion()}, {"command", command}}, uint64_t{1});

  p.Family("streamshop_healthy", "gauge",
           "1 while the command's loop runs (it ticked within 30 s, or it waits between sessions); as /healthz");
  p.Sample("streamshop_healthy", {}, uint64_t{m.Healthy() ? 1u : 0u});
  p.Family("streamshop_ready", "gauge", "1 while a session is connected and streaming; as /readyz");
  p.Sample("streamshop_ready", {}, uint64_t{m.Ready() ? 1u : 0u});

  if (m.lag_known) {
    p.Family(
        "streamshop_replication_lag_bytes", "gauge",
        "WAL bytes from the slot's confirmed position (what the target stored) to the server's WAL end as last seen");
    p.Sample("streamshop_replication_lag_bytes", {}, m.lag_bytes.load());
    p.Family("streamshop_replication_lag_seconds", "gauge",
             "While received changes are not yet stored: the age of the newest received transaction's commit; 0 when "
             "caught up");
    p.Sample("streamshop_replication_lag_seconds", {}, static_cast<double>(m.lag_millis.load()) / 1000);
  }
  if (m.reads_slot) {
    p.Family("streamshop_slot_lost_total", "counter",
             "Times the replication slot was found lost: invalidated by PostgreSQL (max_slot_wal_keep_size "
             "exceeded) or missing while the target holds the pipeline's state (failover to a server without it)");
    p.Sample("streamshop_slot_lost_total", {}, m.slot_lost.load());
    if (const int status = m.slot_wal_status.load(); status >= 0) {
      p.Family("streamshop_slot_wal_status", "gauge",
               "1 for the replication slot's pg_replication_slots.wal_status as last polled (every 10 s), 0 for the "
               "others: reserved, extended, unreserved (WAL it needs may be removed at the next checkpoint), lost");
      for (size_t i = 0; i < pipeline::kSlotWalStatuses.size(); ++i) {
        p.Sample("streamshop_slot_wal_status", {{"status", pipeline::kSlotWalStatuses[i]}},
                 uint64_t{static_cast<int>(i) == status ? 1u : 0u});
      }
    }
    if (m.slot_safe_wal_known) {
      p.Family("streamshop_slot_safe_wal_size_bytes", "gauge",
               "pg_replication_slots.safe_wal_size: WAL bytes that may still be written before PostgreSQL "
               "invalidates the slot (absent when NULL: no max_slot_wal_keep_size)");
      p.Sample("streamshop_slot_safe_wal_size_bytes", {}, static_cast<double>(m.slot_safe_wal_size.load()));
    }
  }

  p.Family("streamshop_events_total", "counter",
           "Changes read from the source, by table (schema.table; tables beyond the first 256 count as _other) "
           "and operation");
  for (const pipeline::TableCounters* t : m.tables.Tables()) {
    for (size_t op = 0; op < pipeline::kEventOps; ++op) {
      const uint64_t n = t->events[op].load(std::memory_order_relaxed);
      if (n == 0) continue;
      p.Sample("streamshop_events_total",
               {{"table", t->name}, {"op", pipeline::EventOpName(static_cast<pipeline::EventOp>(op))}}, n);
    }
  }
  RenderSnapshotMetrics(p, m);
  p.Family("streamshop_rows_written_total", "counter", "Rows the target acknowledged (ClickHouse inserts)");
  p.Sample("streamshop_rows_written_total", {}, m.flushed_rows.load());
  p.Family("streamshop_bytes_sent_total", "counter", "Encoded bytes of the rows sent to the target in flushes");
  p.Sample("streamshop_bytes_sent_total", {}, m.flushed_bytes.load());
  const auto buckets = m.flush_seconds.Cumulative();
  p.Histogram("streamshop_flush_duration_seconds",
              "Time to store one batch in the target (all its tables' inserts, at once)",
              pipeline::LatencyHistogram::kBounds, buckets, m.flush_seconds.SumSeconds());
  p.Family("streamshop_dead_letters_total", "counter",
           "Records or changes kept as dead letters (the dead-letter topic, or ClickHouse's _streamshop_dead_letters "
           "for values a column cannot hold), by reason");
  for (size_t r = 0; r < pipeline::kDeadLetterReasons; ++r) {
    p.Sample("streamshop_dead_letters_total",
             {{"reason", pipeline::DeadLetterReasonName(static_cast<pipeline::DeadLetterReason>(r))}},
             m.dead_letters_by_reason[r].load());
  }
  if (command == "replicate") {
    p.Family("streamshop_signals_total", "counter",
             "Rows inserted into the signal table (--signal-table), by type (unknown: any other type text)");
    for (size_t t = 0; t < pipeline::kSignalTypes; ++t) {
      p.Sample("streamshop_signals_total", {{"type", pipeline::SignalTypeName(static_cast<pipeline::SignalType>(t))}},
               m.signals[t].load());
    }
  }
  p.Family("streamshop_session_restarts_total", "counter",
           "Sessions that ended in a retryable error (lost connection, refused insert) and were opened again");
  p.Sample("streamshop_session_restarts_total", {}, m.session_restarts.load());
  if (const int64_t lag = m.kafka_consumer_lag.load(); lag >= 0) {
    p.Family("streamshop_kafka_consumer_lag_records", "gauge",
             "Records between the sink's position and the end of its assigned partitions, as the last fetches said");
    p.Sample("streamshop_kafka_consumer_lag_records", {}, static_cast<uint64_t>(lag));
  }
  if (command == "sink") {
    p.Family("streamshop_kafka_rebalances_total", "counter",
             "Consumer group rebalances that assigned partitions to the sink");
    p.Sample("streamshop_kafka_rebalances_total", {}, m.kafka_rebalances.load());
  }
  if (const int64_t queued = m.kafka_unacknowledged.load(); queued >= 0) {
    p.Family("streamshop_kafka_unacknowledged_records", "gauge",
             "Records capture produced that the broker has not acknowledged yet");
    p.Sample("streamshop_kafka_unacknowledged_records", {}, static_cast<uint64_t>(queued));
  }

  if (const auto problem = LastLoggedProblem()) {
    p.Family("streamshop_last_error_timestamp_seconds", "gauge",
             "Unix time of the last problem the log reported (a line at WARN or ERROR level)");
    p.Sample("streamshop_last_error_timestamp_seconds", {}, static_cast<double>(problem->unix_millis) / 1000);
  }
  p.Family("streamshop_loop_silence_seconds", "gauge", "Seconds since the command's loop last ticked");
  p.Sample("streamshop_loop_silence_seconds", {}, static_cast<double>(m.SilenceMillis()) / 1000);
  p.Family("streamshop_process_resident_memory_bytes", "gauge", "Resident set size of the process");
  p.Sample("streamshop_process_resident_memory_bytes", {}, ResidentMemoryBytes());
  return p.text();
}

}  // namespace streamshop::ops
