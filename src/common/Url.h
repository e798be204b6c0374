// URL helpers shared by the PostgreSQL and ClickHouse clients. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace streamshop {

// Replaces the password in "scheme://user:password@host…" and in "password=…" key/value conninfo with "***".
std::string RedactUrl(std::string_view url);

// `text` (e.g. a client library's error about `url`) without any piece of `url`'s secrets of 4 bytes or more (libpq
// quotes part of a URL it cannot parse, password included).
std::string RedactSecretsOf(std::string_view url, std::string_view text);

}  // namespace streamshop
