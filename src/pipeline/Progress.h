// The counters of a running command, and its progress line. A command's sessions count into one Metrics (it
// outlives them: totals cover every session of the process); the progress line on stderr (--progress: rewritten in
// place once a second) reads it, and so will a metrics endpoint. Counters are atomics: a reader may be another
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace streamshop::pipeline {

struct Metrics {
  std::atomic<uint64_t> events{0};        // changes (or records) read from the source
  std::atomic<uint64_t> flushes{0};       // batches the target stored
  std::atomic<uint64_t> flushed_rows{0};  // rows in them
  std::atomic<uint64_t> flush_micros{0};  // time spent storing them
  std::atomic<uint64_t> dead_letters{0};
  std::atomic<uint64_t> lag_bytes{0};  // how far the target is behind the source, as last seen
  std::atomic<uint64_t> lag_millis{0};

  void CountFlush(uint64_t rows, std::chrono::steady_clock::duration took);
  void SetLag(uint64_t bytes, double seconds);
  // "12 flushes of 340 rows in 8.1 ms on average".
  std::string FlushSummary() const;
};

class ProgressLine {
 public:
  ProgressLine(bool enabled, const Metrics& metrics) : enabled_(enabled), metrics_(metrics) {}
  ~ProgressLine() { Finish(); }
  // Once a second: "<phase> | <n> ev/s | <n> events | lag <bytes> <s>s[ | <extra()>]".
  void MaybePrint(std::string_view phase, const std::function<std::string()>& extra = nullptr);
  // Once a second: "<phase> |<text()>" (free-form, e.g. a snapshot's tables).
  void MaybePrintText(std::string_view phase, const std::function<std::string()>& text);
  // Ends the line if one was printed.
  void Finish();

 private:
  bool Due();
  void Print(const std::string& line);

  bool enabled_;
  const Metrics& metrics_;
  bool printed_ = false;
  uint64_t events_at_last_ = 0;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  double seconds_ = 0;  // since the previous line (Due)
};

// "512 B", "1.5 kB", "3.2 MB", "1.1 GB".
std::string HumanBytes(uint64_t bytes);

}  // namespace streamshop::pipeline
