// URL helpers shared by the PostgreSQL and ClickHouse clients. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace streamshop {

// "scheme://user:password@host…" as the URL without its userinfo and the percent-decoded user and password (all
// empty but `url` when the authority has no '@'; reserved characters in a password must be percent-encoded).
struct UserInfoSplit {
  std::string url, user, password;
};
UserInfoSplit SplitUserInfo(std::string_view url);

// Replaces the password in "scheme://user:password@host…" and in "password=…" key/value conninfo with "***".
std::string RedactUrl(std::string_view url);

// `text` (e.g. a client library's error about `url`) without any piece of `url`'s secrets of 4 bytes or more (libpq
// quotes part of a URL it cannot parse, password included).
std::string RedactSecretsOf(std::string_view url, std::string_view text);

// Whether an option value holds a secret: a URL or conninfo with a password, or a librdkafka-style "key=value" whose
// key names a password, secret or private key (sasl.password, ssl.key.password, ssl.key.pem, …).
bool HoldsSecret(std::string_view value);

}  // namespace streamshop
