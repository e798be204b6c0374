#include "pipeline/Progress.h"

#include <fmt/format.h>

#include <cstdio>

namespace streamshop::pipeline {

void Metrics::CountFlush(uint64_t rows, std::chrono::steady_clock::duration took) {
  if (rows == 0) return;
  ++flushes;
  flushed_rows += rows;
  flush_micros += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count());
}

void Metrics::SetLag(uint64_t bytes, double seconds) {
  lag_bytes = bytes;
  lag_millis = static_cast<uint64_t>(seconds * 1000);
}

std::string Metrics::FlushSummary() const {
  const uint64_t n = flushes;
  if (n == 0) return "no flushes";
  return fmt::format("{} flushes of {:.0f} rows in {:.1f} ms on average", n, static_cast<double>(flushed_rows) / n,
                     static_cast<double>(flush_micros) / n / 1000);
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
