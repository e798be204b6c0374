// Minimal leveled logging to stderr: "2026-11-24T06:41:53.123Z INFO message". Thread-safe (one write per line).
// Never pass secrets: URLs go through RedactUrl() first.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace streamshop {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetLogLevel(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

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
