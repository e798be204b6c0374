// Minimal leveled logging to stderr: "2026-11-24T06:41:53.123Z INFO message". Thread-safe (one write per line).
// Never pass secrets: URLs go through RedactUrl() first.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streamshop {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetLogLevel(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

// A line logged at WARN or ERROR level: a problem (a failed session that is retried, a dead letter, a stopped
// table, a lag alarm). The log keeps the last one for the status page and the metrics (ops/StatusPage,
// ops/PrometheusText); it is the logged text, so it holds what the log's policy lets through (URLs redacted, row
// values only at debug level). Kept whether or not the level filter printed it.
struct LoggedProblem {
  int64_t unix_millis = 0;
  LogLevel level = LogLevel::kError;
  std::string message;
};
// The last problem logged by this process, if any. Thread-safe.
std::optional<LoggedProblem> LastLoggedProblem();
// "DEBUG", "INFO", "WARN", "ERROR".
std::string_view LogLevelName(LogLevel level);

// Row values reach the log only at debug level: unless debug logging is on, every '…'-quoted part of `text` (where
// error messages quote the values they reject) is shown as '…'. For dead-letter reasons, which keep the whole text.
std::string ValuesAtDebug(std::string_view text);

template <typename... Args>
void LogInfo(fmt::format_string<Args...> f, Args&&... args) {
  LogLine(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void LogWarn(fmt::format_string<Args...> f, Args&&... args) {
  LogLine(LogLevel::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void LogError(fmt::format_string<Args...> f, Args&&... args) {
  LogLine(LogLevel::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void LogDebug(fmt::format_string<Args...> f, Args&&... args) {
  LogLine(LogLevel::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace streamshop
