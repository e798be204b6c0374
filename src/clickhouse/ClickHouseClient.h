// ClickHouse over its HTTP interface. Not thread-safe (owns one transport).
//
// Every answer is classified here, once:
// - A request fails when the status is not 200, when the X-ClickHouse-Exception-Code header is set, or when
//   ClickHouse reported an exception after it had already sent a 200 header: a streamed body then ends with
//   the exception text ("Code: N, e.displayText() = …" on 18.16, "Code: N. DB::Exception: … (version …)" on
//   newer servers, or the "__exception__" block announced by X-ClickHouse-Exception-Tag on 25.11+).
// - Retryable: transport failures, HTTP 408/429/502/503/504, and ClickHouse's transient error codes
//   (overload, timeouts, network, memory, too many parts, replicas/keeper unavailable, …). Everything else
//   (syntax, unknown table, type errors, authentication) is Fatal.
// - A response body larger than max_response_bytes() is not read further; the request fails (Fatal).
// Every request pins the settings that an acknowledged insert depends on (kPinnedSettings; see
// docs/TYPE_MAPPING.md), so a user or profile default cannot weaken them.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "clickhouse/HttpTransport.h"
#include "common/Status.h"

namespace streamshop::clickhouse {

// URL parameters sent with every request; all are accepted by ClickHouse 18.16 and current servers.
inline constexpr std::string_view kPinnedSettings =
    "input_format_allow_errors_num=0&input_format_allow_errors_ratio=0&insert_distributed_sync=1&"
    "send_progress_in_http_headers=0";

class ClickHouseClient {
 public:
  static constexpr size_t kDefaultMaxResponseBytes = size_t{1} << 30;

  // `base_url` like https://host:8443 (credentials belong to the transport; a password in it is never logged).
  ClickHouseClient(std::string base_url, std::unique_ptr<HttpTransport> transport);

  // Runs a statement; returns the response body (e.g. RowBinary rows).
  Result<std::string> Query(std::string_view sql);
  // Runs `insert_sql` ("INSERT INTO t (…) FORMAT RowBinary") with `data` as the request body.
  Status Insert(std::string_view insert_sql, std::string_view data);

  size_t max_response_bytes() const { return max_response_bytes_; }
  void set_max_response_bytes(size_t n) { max_response_bytes_ = n; }

  // ClickHouse SQL quoting, correct for every byte: identifiers in backticks, strings in single quotes, with
  // the quote and backslash escaped, control characters as \n, \t, \0, \xHH; other bytes (UTF-8) as they are.
  static std::string QuoteIdent(std::string_view ident);
  static std::string QuoteString(std::string_view s);

 private:
  Result<std::string> Post(std::string_view query_in_url, std::string_view body, std::string_view what);
  std::string base_url_;
  std::unique_ptr<HttpTransport> transport_;
  size_t max_response_bytes_ = kDefaultMaxResponseBytes;
};

// Where and how to reach ClickHouse. A user and password in the URL's userinfo (percent-encoded) are used unless
// `user`/`password` are set; the client takes them out of the URL, so no URL it logs holds them.
struct Endpoint {
  std::string url;  // http[s]://[user[:password]@]host[:port]
  std::string user, password;
  std::string ca_file, cert_file, key_file;  // PEM files for https (CA of the server; client certificate)
};

// Production client for `endpoint` using CurlTransport.
std::unique_ptr<ClickHouseClient> MakeClickHouseClient(const Endpoint& endpoint);

}  // namespace streamshop::clickhouse
