// libcurl implementation of HttpTransport: one easy handle reused for every request, so the TCP (and TLS)
// connection to ClickHouse is kept alive between inserts. Credentials go as HTTP Basic auth (ClickHouse 18.16 and
// later); https verifies the server against `ca_file` (else the system CAs) and may present a client certificate.
// Not thread-safe.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

#include "clickhouse/HttpTransport.h"

namespace streamshop::clickhouse {

struct CurlOptions {
  std::string user, password;                // none when both are empty
  std::string ca_file, cert_file, key_file;  // PEM files; empty = libcurl's default
  long timeout_seconds = 300;
};

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlOptions options = {});
  Result<HttpResponse> Post(const std::string& url, std::string_view body, size_t max_response_bytes) override;

 private:
  struct Deleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  std::unique_ptr<CURL, Deleter> curl_;
  CurlOptions options_;
};

}  // namespace streamshop::clickhouse
