#include "common/Lsn.h"

#include <fmt/format.h>

#include <charconv>

namespace streamshop {

std::optional<Lsn> Lsn::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  uint32_t hi = 0, lo = 0;
  const char* end_hi = text.data() + slash;
  auto r1 = std::from_chars(text.data(), end_hi, hi, 16);
  if (r1.ec != std::errc() || r1.ptr != end_hi) return std::nullopt;
  const char* end = text.data() + text.size();
  auto r2 = std::from_chars(end_hi + 1, end, lo, 16);
  if (r2.ec != std::errc() || r2.ptr != end) return std::nullopt;
  return Lsn((uint64_t{hi} << 32) | lo);
}

std::string Lsn::ToString() const { return fmt::format("{:X}/{:X}", value >> 32, value & 0xffffffffu); }

}  // namespace streamshop
