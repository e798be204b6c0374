#include "clickhouse/CurlTransport.h"

#include <fmt/format.h>

#include "common/Url.h"

namespace streamshop::clickhouse {
namespace {

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

CurlTransport::CurlTransport(long timeout_seconds) : curl_(curl_easy_init()), timeout_seconds_(timeout_seconds) {
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

Result<HttpResponse> CurlTransport::Post(const std::string& url, std::string_view body) {
  CURL* c = curl_.get();
  HttpResponse response;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_seconds_);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return Status::Retryable(fmt::format("ClickHouse at {} unreachable: {}", RedactUrl(url.substr(0, url.find('?'))),
                                         curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace streamshop::clickhouse
