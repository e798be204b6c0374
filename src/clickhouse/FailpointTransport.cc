#include "clickhouse/FailpointTransport.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "common/Parse.h"

namespace streamshop::clickhouse {
namespace {

std::atomic<uint64_t> g_inserts_stored{0};  // over the whole process

// The statement is the URL's `query` parameter (after ClickHouseClient's pinned settings) for inserts only.
bool IsInsert(const std::string& url) {
  return url.find("?query=INSERT") != std::string::npos || url.find("&query=INSERT") != std::string::npos;
}

}  // namespace

FailpointTransport::FailpointTransport(std::unique_ptr<HttpTransport> inner, uint64_t exit_after_insert)
    : inner_(std::move(inner)), exit_after_insert_(exit_after_insert) {}

Result<HttpResponse> FailpointTransport::Post(const std::string& url, std::string_view body,
                                              size_t max_response_bytes) {
  auto response = inner_->Post(url, body, max_response_bytes);
  if (response.ok() && response->status == 200 && IsInsert(url) && ++g_inserts_stored == exit_after_insert_) {
    fmt::print(stderr, "failpoint {}={}: exiting after the insert ClickHouse stored, before acting on it\n", kVariable,
               exit_after_insert_);
    fflush(stderr);
    _exit(kExitCode);
  }
  return response;
}

std::optional<uint64_t> FailpointTransport::FromEnvironment() {
  const char* value = std::getenv(kVariable);
  if (value == nullptr || *value == '\0') return std::nullopt;
  uint64_t k = 0;
  if (!ParseWhole(std::string_view(value), k) || k == 0) {
    throw std::invalid_argument(
        fmt::format("{}='{}' must be a positive integer (a test-only failpoint)", kVariable, value));
  }
  return k;
}

}  // namespace streamshop::clickhouse
