// The seam between ClickHouseClient and HTTP: one production implementation (CurlTransport), test doubles
// for failure injection. Not thread-safe: one transport per thread.
#pragma once

#include <string>
#include <string_view>

#include "common/Status.h"

namespace streamshop::clickhouse {

struct HttpResponse {
  long status = 0;
  std::string body;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // POSTs `body` to `url`. A transport failure (refused, reset, timeout) is Retryable; any HTTP status,
  // including errors, is a successful response for the caller to interpret.
  virtual Result<HttpResponse> Post(const std::string& url, std::string_view body) = 0;
};

}  // namespace streamshop::clickhouse
