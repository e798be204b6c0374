// Strong types for PostgreSQL WAL positions and transaction ids. Value types, thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streamshop {

// A WAL position. Text form is "X/Y" (upper and lower 32 bits in hex), as PostgreSQL prints it.
struct Lsn {
  uint64_t value = 0;

  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t v) : value(v) {}
  auto operator<=>(const Lsn&) const = default;

  static std::optional<Lsn> Parse(std::string_view text);
  std::string ToString() const;
};

struct Xid {
  uint32_t value = 0;
  auto operator<=>(const Xid&) const = default;
};

}  // namespace streamshop
