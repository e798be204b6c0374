// ClickHouse over its HTTP interface. Classifies server errors once: transport failures and overload or
// network codes are Retryable, everything else (syntax, unknown table, type errors) is Fatal.
// Not thread-safe (owns one transport).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "clickhouse/HttpTransport.h"
#include "common/Status.h"

namespace streamshop::clickhouse {

class ClickHouseClient {
 public:
  // `base_url` like http://user:password@host:8123 (the password is never logged).
  ClickHouseClient(std::string base_url, std::unique_ptr<HttpTransport> transport);

  // Runs a statement; returns the response body (e.g. TabSeparated or RowBinary rows).
  Result<std::string> Query(std::string_view sql);
  // Runs `insert_sql` ("INSERT INTO t (…) FORMAT RowBinary") with `data` as the request body.
  Status Insert(std::string_view insert_sql, std::string_view data);

  static std::string QuoteIdent(std::string_view ident);
  static std::string QuoteString(std::string_view s);

 private:
  Result<std::string> Post(std::string_view query_in_url, std::string_view body, std::string_view what);
  std::string base_url_;
  std::unique_ptr<HttpTransport> transport_;
};

// Production client for `url` using CurlTransport.
std::unique_ptr<ClickHouseClient> MakeClickHouseClient(const std::string& url);

}  // namespace streamshop::clickhouse
