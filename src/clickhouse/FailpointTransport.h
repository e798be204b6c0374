// TEST-ONLY failure injection at the flush→acknowledge window. Wraps the real transport; with
// STREAMSHOP_FAILPOINT_EXIT_AFTER_INSERT=k in the environment, the process ends with `_exit(kExitCode)` right
// after the k-th INSERT that ClickHouse answered with HTTP 200 (counted over the whole process, every client),
// before the caller can act on the answer: acknowledge the slot, commit Kafka offsets, record a snapshot chunk.
// Integration tests run it for every k to prove a crash at each such point loses and duplicates nothing.
// Never set the variable in production. Thread-safe counter; each instance is used by one thread like any
// transport.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "clickhouse/HttpTransport.h"

namespace streamshop::clickhouse {

class FailpointTransport final : public HttpTransport {
 public:
  static constexpr int kExitCode = 86;
  static constexpr const char* kVariable = "STREAMSHOP_FAILPOINT_EXIT_AFTER_INSERT";

  FailpointTransport(std::unique_ptr<HttpTransport> inner, uint64_t exit_after_insert);
  Result<HttpResponse> Post(const std::string& url, std::string_view body, size_t max_response_bytes) override;

  // k from the environment; nullopt when unset or empty. Throws std::invalid_argument (a fatal setup error)
  // when it is not a positive integer.
  static std::optional<uint64_t> FromEnvironment();

 private:
  std::unique_ptr<HttpTransport> inner_;
  uint64_t exit_after_insert_;
};

}  // namespace streamshop::clickhouse
