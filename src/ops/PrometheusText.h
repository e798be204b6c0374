// The Prometheus text exposition format (version 0.0.4): a writer of metric families and samples, and the page of
// a command's pipeline::Metrics that /metrics serves. Pure code; not thread-safe (one writer per page), while
// RenderMetrics only reads Metrics' atomics, so it runs on the HTTP thread while the command counts.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "pipeline/Progress.h"

namespace streamshop::ops {

struct Label {
  std::string_view name;
  std::string_view value;  // escaped by the writer
};

class PrometheusText {
 public:
  // The content type of the page.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // A family's `# HELP` and `# TYPE` lines (type: counter, gauge, histogram); its samples follow.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // A whole histogram family: `<name>_bucket{le="…"}` per bound with the observations ≤ it (`cumulative`, one more
  // than `bounds`: its last is the count of all, le="+Inf"), then `<name>_sum` and `<name>_count`.
  void Histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                 std::span<const uint64_t> cumulative, double sum);

  const std::string& text() const { return out_; }

  // Label values: backslash, double quote and line feed escaped as \\, \" and \n.
  static std::string EscapeLabelValue(std::string_view value);
  // HELP text: backslash and line feed escaped.
  static std::string EscapeHelp(std::string_view help);
  // A sample value: integers as such, others in Go's ParseFloat syntax (+Inf, -Inf, NaN).
  static std::string FormatValue(double value);

 private:
  void SampleStart(std::string_view name, std::initializer_list<Label> labels);
  std::string out_;
};

// The /metrics page of a command ("replicate", "capture", "sink"): every metric of docs/OPERATIONS.md.
std::string RenderMetrics(const pipeline::Metrics& metrics, std::string_view command);

// The build's version (git describe when built), as streamshop_build_info's `version` label.
std::string_view BuildVersion();

// This process's resident set size (/proc/self/statm), 0 if unreadable.
uint64_t ResidentMemoryBytes();

}  // namespace streamshop::ops
