#include "clickhouse/ClickHouseClient.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <optional>

#include "clickhouse/CurlTransport.h"
#include "clickhouse/FailpointTransport.h"
#include "common/Log.h"
#include "common/Url.h"

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
int ErrorCode(std::string_view text) {
  const size_t pos = text.find("Code: ");
  int code = 0;
  if (pos != std::string_view::npos) std::from_chars(text.data() + pos + 6, text.data() + text.size(), code);
  return code;
}

bool IsRetryableCode(int code) {
  switch (code) {
    case 95:   // CANNOT_READ_FROM_SOCKET
    case 96:   // CANNOT_WRITE_TO_SOCKET
    case 159:  // TIMEOUT_EXCEEDED
    case 160:  // TOO_SLOW
    case 164:  // READONLY (server starting up)
    case 173:  // CANNOT_ALLOCATE_MEMORY
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 203:  // NO_FREE_CONNECTION
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 225:  // NO_ZOOKEEPER
    case 241:  // MEMORY_LIMIT_EXCEEDED
    case 242:  // TABLE_IS_READ_ONLY (replica lost its coordination session)
    case 243:  // NOT_ENOUGH_SPACE (waits for the operator to free disk, nothing acknowledged meanwhile)
    case 252:  // TOO_MANY_PARTS
    case 279:  // ALL_CONNECTION_TRIES_FAILED
    case 285:  // TOO_FEW_LIVE_REPLICAS
    case 286:  // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
    case 289:  // REPLICA_IS_NOT_IN_QUORUM
    case 319:  // UNKNOWN_STATUS_OF_INSERT
    case 369:  // ALL_REPLICAS_ARE_STALE
    case 394:  // QUERY_WAS_CANCELLED (server shutting down)
    case 425:  // SYSTEM_ERROR
    case 439:  // CANNOT_SCHEDULE_TASK
    case 473:  // DEADLOCK_AVOIDED
    case 574:  // DISTRIBUTED_TOO_MANY_PENDING_BYTES
    case 745:  // SERVER_OVERLOADED
    case 999:  // KEEPER_EXCEPTION
      return true;
    default:
      return false;
  }
}

bool IsRetryableHttpStatus(long status) {
  return status == 408 || status == 429 || status == 502 || status == 503 || status == 504;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Does `text` open like a ClickHouse exception: "Code: <digits>" then ", e.displayText() = " or (a Poco
// exception) ", e.code() = " up to 21.x, ". DB::Exception:" since 22?
bool OpensLikeException(std::string_view text) {
  if (!text.starts_with("Code: ")) return false;
  size_t i = 6;
  while (i < text.size() && i < 13 && IsDigit(text[i])) ++i;
  if (i == 6) return false;
  const std::string_view rest = text.substr(i);
  return rest.starts_with(", e.displayText() = ") || rest.starts_with(", e.code() = ") ||
         rest.starts_with(". DB::Exception:");
}

// Where the exception text that ClickHouse appended to a streamed body after its 200 header starts, if the
// body ends with one. ClickHouse writes it right after the last data byte and ends it with a newline:
//   18.16:  "Code: 395, e.displayText() = DB::Exception: …, e.what() = DB::Exception\n"
//   19–21:  "Code: 60, e.displayText() = DB::Exception: … (version 21.3.1.1)\n"
//   22+:    "Code: 60. DB::Exception: … (UNKNOWN_TABLE) (version 24.3.1.1 (official build))\n"
// The ending is checked too, so that data which merely contains "Code: " is not taken for an error.
std::optional<size_t> TrailingException(std::string_view body) {
  constexpr size_t kWindow = 64 * 1024;  // exception texts are far shorter
  if (body.empty() || body.back() != '\n') return std::nullopt;
  const size_t floor = body.size() > kWindow ? body.size() - kWindow : 0;
  const std::string_view tail = body.substr(floor);
  const size_t what = tail.rfind(", e.what() = ");
  const bool legacy_end = what != std::string_view::npos && tail.find('\n', what) == tail.size() - 1;
  if (!legacy_end && !tail.ends_with(")\n")) return std::nullopt;
  for (size_t pos = tail.rfind("Code: "); pos != std::string_view::npos;
       pos = pos == 0 ? std::string_view::npos : tail.rfind("Code: ", pos - 1)) {
    if (OpensLikeException(tail.substr(pos))) return floor + pos;
  }
  return std::nullopt;
}

// 25.11+: with X-ClickHouse-Exception-Tag, a mid-stream exception is a block framed by "__exception__" that
// carries the tag (random per response, so data cannot imitate it).
std::optional<size_t> TaggedException(std::string_view body, std::string_view tag) {
  constexpr size_t kWindow = 64 * 1024;
  const size_t floor = body.size() > kWindow ? body.size() - kWindow : 0;
  const size_t marker = body.find("__exception__", floor);
  if (tag.empty() || marker == std::string_view::npos || body.find(tag, marker) == std::string_view::npos) {
    return std::nullopt;
  }
  return marker;
}

// At most 1000 bytes of an error text, without the final newline.
std::string Excerpt(std::string_view text) {
  std::string out(text.substr(0, 1000));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string WithoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

ClickHouseClient::ClickHouseClient(std::string base_url, std::unique_ptr<HttpTransport> transport)
    : urls_{WithoutTrailingSlash(std::move(base_url))}, transport_(std::move(transport)) {}

void ClickHouseClient::set_replicas(std::vector<std::string> urls) {
  urls_.resize(1);
  current_ = 0;
  for (auto& u : urls) urls_.push_back(WithoutTrailingSlash(std::move(u)));
}

Result<std::string> ClickHouseClient::Post(std::string_view query_in_url, std::string_view body,
                                           std::string_view what) {
  Result<std::string> result = PostTo(urls_[current_], query_in_url, body, what);
  for (size_t tried = 1; tried < urls_.size() && !result.ok() && result.status().retryable(); ++tried) {
    const size_t next = (current_ + 1) % urls_.size();
    LogWarn("ClickHouse at {} failed ({}); sending the request to the replica at {}", RedactUrl(urls_[current_]),
            result.status().message().substr(0, 300), RedactUrl(urls_[next]));
    current_ = next;
    result = PostTo(urls_[current_], query_in_url, body, what);
  }
  return result;
}

Result<std::string> ClickHouseClient::PostTo(const std::string& base_url, std::string_view query_in_url,
                                             std::string_view body, std::string_view what) {
  std::string url = base_url + "/?" + std::string(kPinnedSettings);
  if (!cluster_.empty()) url += "&" + std::string(kClusterSettings);
  if (!query_in_url.empty()) url += "&query=" + UrlEncode(query_in_url);
  SS_ASSIGN_OR_RETURN(HttpResponse response, transport_->Post(url, body, max_response_bytes_));

  // Where an exception is reported, in the order ClickHouse can report it.
  std::optional<size_t> exception_at;
  int code = 0;
  if (auto h = response.headers.find("x-clickhouse-exception-code"); h != response.headers.end()) {
    std::from_chars(h->second.data(), h->second.data() + h->second.size(), code);
    if (code != 0) exception_at = TrailingException(response.body).value_or(0);
  }
  if (auto h = response.headers.find("x-clickhouse-exception-tag"); !exception_at && h != response.headers.end()) {
    exception_at = TaggedException(response.body, h->second);
  }
  if (!exception_at && response.status != 200) exception_at = 0;
  if (!exception_at && !response.body_truncated) exception_at = TrailingException(response.body);

  if (exception_at) {
    const std::string_view text = std::string_view(response.body).substr(*exception_at);
    const size_t code_at = text.find("Code: ");
    if (code == 0) code = ErrorCode(text);
    const std::string message = fmt::format("ClickHouse {} failed (HTTP {}{}): {}", what, response.status,
                                            response.status == 200 ? ", exception after the response had started" : "",
                                            Excerpt(code_at == std::string_view::npos ? text : text.substr(code_at)));
    if (IsRetryableHttpStatus(response.status) || IsRetryableCode(code)) return Status::Retryable(message);
    return Status::Fatal(message);
  }
  if (response.body_truncated || response.body.size() > max_response_bytes_) {
    return Status::Fatal(
        fmt::format("ClickHouse {} failed: the response is larger than the limit of {} bytes; it was not read further",
                    what, max_response_bytes_));
  }
  return std::move(response.body);
}

Result<std::string> ClickHouseClient::Query(std::string_view sql) {
  return Post("", sql, fmt::format("query '{}'", sql.substr(0, 120)));
}

Status ClickHouseClient::Insert(std::string_view insert_sql, std::string_view data) {
  auto r = Post(insert_sql, data, insert_sql.substr(0, insert_sql.find(" (")));
  return r.ok() ? Status::Ok() : r.status();
}

namespace {

// Backslash escapes that ClickHouse (18.16 and later) reads back as the same byte, in '…' and `…` alike.
std::string Quote(std::string_view s, char quote) {
  std::string out(1, quote);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\0') {
      out += "\\0";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02X}", u);
    } else {
      out += c;
    }
  }
  return out + quote;
}

}  // namespace

std::string ClickHouseClient::QuoteIdent(std::string_view ident) { return Quote(ident, '`'); }

std::string ClickHouseClient::QuoteString(std::string_view s) { return Quote(s, '\''); }

std::unique_ptr<ClickHouseClient> MakeClickHouseClient(const Endpoint& endpoint) {
  UserInfoSplit split = SplitUserInfo(endpoint.url);
  CurlOptions curl{endpoint.user.empty() ? split.user : endpoint.user,
                   endpoint.password.empty() ? split.password : endpoint.password, endpoint.ca_file, endpoint.cert_file,
                   endpoint.key_file};
  if (curl.user.empty() && !curl.password.empty()) curl.user = "default";  // ClickHouse's user when none is named
  std::unique_ptr<HttpTransport> transport = std::make_unique<CurlTransport>(std::move(curl));
  if (auto k = FailpointTransport::FromEnvironment()) {
    transport = std::make_unique<FailpointTransport>(std::move(transport), *k);  // test-only
  }
  auto client = std::make_unique<ClickHouseClient>(std::move(split.url), std::move(transport));
  std::vector<std::string> replicas;
  for (const auto& u : endpoint.replica_urls) replicas.push_back(SplitUserInfo(u).url);
  client->set_replicas(std::move(replicas));
  client->set_cluster(endpoint.cluster);
  return client;
}

std::vector<Endpoint> Endpoint::EachServer() const {
  std::vector<Endpoint> out;
  for (size_t i = 0; i <= replica_urls.size(); ++i) {
    Endpoint e = *this;
    e.replica_urls.clear();
    if (i > 0) {
      // The replica's own URL, with the primary's credentials (given in the URL or as options).
      const UserInfoSplit primary = SplitUserInfo(url);
      e.url = SplitUserInfo(replica_urls[i - 1]).url;
      if (e.user.empty()) e.user = primary.user;
      if (e.password.empty()) e.password = primary.password;
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace streamshop::clickhouse
