// The live status page of a long-running command (--http-listen): `/` serves Html(), a self-contained page (its
// HTML, CSS and JavaScript are in this binary; it loads nothing else, and its Content-Security-Policy forbids it to)
// that fetches `/status.json` (Json()) every second and shows per-table events by op and their rate, the lag, a
// throughput sparkline of the last two minutes (ThroughputHistory), each table's snapshot progress, the dead
// letters by reason, health and readiness, and the last problem the log reported (common/Log's LastLoggedProblem:
// the logged text, so only what the log's redaction lets through). The page writes every value as text (never as
// HTML), so a table name cannot inject markup.
// Pure code: Json() only reads Metrics' atomics (and the log's last problem), so it runs on the HTTP threads while
// the command counts. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/Progress.h"

namespace streamshop::ops {

// The throughput behind the page's sparkline, kept by the server (so a page just opened shows the last two minutes):
// the counters sampled once a second (HttpServer's sampler thread), the last kCapacity samples. Thread-safe.
class ThroughputHistory {
 public:
  struct Sample {
    int64_t unix_millis = 0;
    uint64_t events = 0;        // Metrics::events
    uint64_t rows_written = 0;  // Metrics::flushed_rows
  };
  static constexpr size_t kCapacity = 121;  // two minutes of rates

  void Add(const Sample& sample);
  std::vector<Sample> Samples() const;

 private:
  mutable std::mutex mutex_;
  std::deque<Sample> samples_;  // guarded by mutex_; oldest first
};

class StatusPage {
 public:
  static constexpr std::string_view kHtmlContentType = "text/html; charset=utf-8";
  static constexpr std::string_view kJsonContentType = "application/json";
  // For `/`: nothing but the page's own inline script and style, and fetches of its own origin.
  static constexpr std::string_view kContentSecurityPolicy =
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
      "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  // The page at `/`.
  static std::string_view Html();

  // `/status.json` of `command` ("replicate", "capture", "sink") at `now_unix_millis`. Its fields, all always
  // present (null when not known):
  //   command, version, now_ms, healthy, ready, silence_seconds,
  //   lag {bytes, seconds} | null (sink),
  //   events_total, rows_written, bytes_sent, flushes, flush_seconds_sum, session_restarts, rss_bytes,
  //   kafka {consumer_lag_records | null, unacknowledged_records | null, rebalances},
  //   snapshot_tables {pending, copying, done},
  //   tables [{name, events {insert, update, delete, truncate, read}, events_total,
  //            snapshot {state, rows, estimated_rows, ratio} | null}]   (Metrics' tables, bounded like /metrics),
  //   dead_letters {unparsable, misrouted, no_position, schema, value, too_large, target}, dead_letters_total,
  //   last_error {unix_ms, time (ISO 8601 UTC), level (WARN | ERROR), message} | null,
  //   throughput [{t (unix ms), events_per_second, rows_per_second}] (between consecutive samples of `history`,
  //              oldest first).
  static std::string Json(const pipeline::Metrics& metrics, std::string_view command, int64_t now_unix_millis,
                          const std::vector<ThroughputHistory::Sample>& history = {});
};

}  // namespace streamshop::ops
