// URL helpers shared by the PostgreSQL and ClickHouse clients. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace streamshop {

// Replaces the password in "scheme://user:password@host…" and in "password=…" key/value conninfo with "***".
std::string RedactUrl(std::string_view url);

}  // namespace streamshop
