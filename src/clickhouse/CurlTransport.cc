#include "clickhouse/CurlTransport.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/Url.h"

namespace streamshop::clickhouse {
namespace {

struct Receiver {
  HttpResponse* response;
  size_t max_body_bytes;
};

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Receiver*>(user);
  std::string& body = r->response->body;
  const size_t room = r->max_body_bytes - std::min(body.size(), r->max_body_bytes);
  if (size * n > room) {
    body.append(data, room);
    r->response->body_truncated = true;
    return 0;  // makes curl stop reading: CURLE_WRITE_ERROR
  }
  body.append(data, size * n);
  return size * n;
}

// One header line ("Name: value\r\n"); a status line starts the headers of a new response (after 100 Continue).
size_t AppendHeader(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Receiver*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    r->response->headers.clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  r->response->headers[std::move(name)] = std::string(value);
  return size * n;
}

}  // namespace

CurlTransport::CurlTransport(CurlOptions options) : curl_(curl_easy_init()), options_(std::move(options)) {
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
  CURL* c = curl_.get();
  if (!options_.user.empty() || !options_.password.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, options_.password.c_str());
  }
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, options_.cert_file.c_str());
  if (!options_.key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, options_.key_file.c_str());
}

Result<HttpResponse> CurlTransport::Post(const std::string& url, std::string_view body, size_t max_response_bytes) {
  CURL* c = curl_.get();
  HttpResponse response;
  Receiver receiver{&response, max_response_bytes};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &receiver);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &receiver);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, options_.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");  // never file://, ftp://, … (libcurl takes them all)
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && response.body_truncated)) {
    const std::string shown = RedactUrl(url);                             // first: a password may hold a '?'
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {  // a setup error: retrying cannot help
      return Status::Fatal(
          fmt::format("ClickHouse URL {} is not usable: {} (use http:// or https://, and "
                      "percent-encode the reserved characters of a user or password, e.g. / as "
                      "%2F, ? as %3F, # as %23, @ as %40)",
                      shown.substr(0, shown.find('?')), curl_easy_strerror(rc)));
    }
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM) {
      return Status::Fatal(fmt::format(
          "ClickHouse at {}: TLS setup failed: {} (give the CA that signed the server's certificate with "
          "--clickhouse-ca-file, and a client certificate with --clickhouse-cert-file/--clickhouse-key-file)",
          shown.substr(0, shown.find('?')), curl_easy_strerror(rc)));
    }
    return Status::Retryable(
        fmt::format("ClickHouse at {} unreachable: {}", shown.substr(0, shown.find('?')), curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace streamshop::clickhouse
