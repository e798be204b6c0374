#include "common/Log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

namespace streamshop {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};

std::mutex g_problem_mutex;
std::optional<LoggedProblem> g_last_problem;  // guarded by g_problem_mutex
}  // namespace

std::string_view LogLevelName(LogLevel level) { return kNames[static_cast<int>(level)]; }

std::optional<LoggedProblem> LastLoggedProblem() {
  std::lock_guard lock(g_problem_mutex);
  return g_last_problem;
}

void SetLogLevel(LogLevel level) { g_level = level; }

std::string ValuesAtDebug(std::string_view text) {
  if (g_level.load() == LogLevel::kDebug) return std::string(text);
  std::string out;
  for (size_t open = text.find('\''); open != std::string_view::npos; open = text.find('\'')) {
    const size_t close = text.find('\'', open + 1);
    if (close == std::string_view::npos) break;
    out.append(text.substr(0, open + 1)).append("…'");
    text.remove_prefix(close + 1);
  }
  return out.append(text);
}

void LogLine(LogLevel level, std::string_view message) {
  const auto now = std::chrono::system_clock::now();
  if (level >= LogLevel::kWarn) {
    const int64_t unix_millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::lock_guard lock(g_problem_mutex);
    g_last_problem = LoggedProblem{unix_millis, level, std::string(message)};
  }
  if (level < g_level.load()) return;
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // "\r\33[K" clears a progress line that may be on the terminal.
  const char* clear = isatty(STDERR_FILENO) ? "\r\33[K" : "";
  std::string line =
      fmt::format("{}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {}\n", clear, tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis, kNames[static_cast<int>(level)], message);
  [[maybe_unused]] ssize_t n = write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace streamshop
