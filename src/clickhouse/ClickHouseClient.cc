#include "clickhouse/ClickHouseClient.h"

#include <fmt/format.h>

#include <charconv>

#include "clickhouse/CurlTransport.h"
#include "clickhouse/FailpointTransport.h"

namespace streamshop::clickhouse {
namespace {

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// "Code: 252, e.displayText() = …" → 252, or 0.
int ErrorCode(std::string_view body) {
  const size_t pos = body.find("Code: ");
  int code = 0;
  if (pos != std::string_view::npos) std::from_chars(body.data() + pos + 6, body.data() + body.size(), code);
  return code;
}

bool IsRetryableCode(int code) {
  switch (code) {
    case 159:  // TIMEOUT_EXCEEDED
    case 164:  // READONLY (server starting up)
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 241:  // MEMORY_LIMIT_EXCEEDED
    case 252:  // TOO_MANY_PARTS
    case 285:  // TOO_FEW_LIVE_REPLICAS
    case 319:  // UNKNOWN_STATUS_OF_INSERT
    case 425:  // SYSTEM_ERROR
      return true;
    default:
      return false;
  }
}

}  // namespace

ClickHouseClient::ClickHouseClient(std::string base_url, std::unique_ptr<HttpTransport> transport)
    : base_url_(std::move(base_url)), transport_(std::move(transport)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<std::string> ClickHouseClient::Post(std::string_view query_in_url, std::string_view body,
                                           std::string_view what) {
  std::string url = base_url_ + "/";
  if (!query_in_url.empty()) url += "?query=" + UrlEncode(query_in_url);
  SS_ASSIGN_OR_RETURN(HttpResponse response, transport_->Post(url, body));
  if (response.status == 200) return std::move(response.body);
  while (!response.body.empty() && response.body.back() == '\n') response.body.pop_back();
  const std::string message =
      fmt::format("ClickHouse {} failed (HTTP {}): {}", what, response.status, response.body.substr(0, 1000));
  const int code = ErrorCode(response.body);
  if (response.status >= 502 || IsRetryableCode(code)) return Status::Retryable(message);
  return Status::Fatal(message);
}

Result<std::string> ClickHouseClient::Query(std::string_view sql) {
  return Post("", sql, fmt::format("query '{}'", sql.substr(0, 120)));
}

Status ClickHouseClient::Insert(std::string_view insert_sql, std::string_view data) {
  auto r = Post(insert_sql, data, insert_sql.substr(0, insert_sql.find(" (")));
  return r.ok() ? Status::Ok() : r.status();
}

std::string ClickHouseClient::QuoteIdent(std::string_view ident) {
  std::string out = "`";
  for (char c : ident) {
    if (c == '`' || c == '\\') out += '\\';
    out += c;
  }
  return out + '`';
}

std::string ClickHouseClient::QuoteString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + '\'';
}

std::unique_ptr<ClickHouseClient> MakeClickHouseClient(const std::string& url) {
  std::unique_ptr<HttpTransport> transport = std::make_unique<CurlTransport>();
  if (auto k = FailpointTransport::FromEnvironment()) {
    transport = std::make_unique<FailpointTransport>(std::move(transport), *k);  // test-only
  }
  return std::make_unique<ClickHouseClient>(url, std::move(transport));
}

}  // namespace streamshop::clickhouse
