// Number parsing shared by the value encoders and URL/COPY readers. Pure; thread-safe.
#pragma once

#include <charconv>
#include <string_view>

namespace streamshop {

// Parses all of `s` as a number of type T (integer or floating point, std::from_chars syntax); false if `s` is not
// exactly one in-range number.
template <typename T>
bool ParseWhole(std::string_view s, T& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// The value of a hexadecimal digit (either case), or -1.
inline int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace streamshop
