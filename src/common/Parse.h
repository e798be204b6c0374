// Whole-string number parsing shared by the value encoders. Pure; thread-safe.
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

}  // namespace streamshop
