// The seam between ClickHouseClient and HTTP: one production implementation (CurlTransport), test doubles
// for failure injection. Not thread-safe: one transport per thread.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "common/Status.h"

namespace streamshop::clickhouse {

struct HttpResponse {
  long status = 0;
  std::string body;
  // Headers of the final response (after any 100 Continue), by lower-case name, e.g.
  // "x-clickhouse-exception-code".
  std::map<std::string, std::string> headers;
  // The body was longer than the caller's limit: `body` holds only its first max_response_bytes bytes and
  // the rest was not read.
  bool body_truncated = false;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // POSTs `body` to `url`, keeping at most `max_response_bytes` of the response body (see
  // HttpResponse::body_truncated). A transport failure (refused, reset, timeout, a body cut short) is
  // Retryable; any HTTP status, including errors, is a successful response for the caller to interpret.
  virtual Result<HttpResponse> Post(const std::string& url, std::string_view body, size_t max_response_bytes) = 0;
};

}  // namespace streamshop::clickhouse
