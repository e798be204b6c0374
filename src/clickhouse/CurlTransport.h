// libcurl implementation of HttpTransport: one easy handle reused for every request, so the TCP
// connection to ClickHouse is kept alive between inserts. Not thread-safe.
#pragma once

#include <curl/curl.h>

#include <memory>

#include "clickhouse/HttpTransport.h"

namespace streamshop::clickhouse {

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(long timeout_seconds = 300);
  Result<HttpResponse> Post(const std::string& url, std::string_view body, size_t max_response_bytes) override;

 private:
  struct Deleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  std::unique_ptr<CURL, Deleter> curl_;
  long timeout_seconds_;
};

}  // namespace streamshop::clickhouse
