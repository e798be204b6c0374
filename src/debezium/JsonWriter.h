// JSON text output that reproduces, byte for byte, what Kafka Connect's JsonConverter (Jackson) writes, so our
// Debezium events look like the real connector's. Pure functions appending to a std::string; thread-safe.
//
// Strings: common/JsonString.h in its kJackson dialect (control characters as \b \t \n \f \r or \u00XX with
// upper-case hex, a character beyond the BMP as its UTF-16 surrogate pair, ill-formed UTF-8 as U+FFFD).
//
// Numbers: Java's Double.toString / Float.toString layout ("1.0", "0.001", "1.0E7", "1.0E-4"; shortest digits that
// round-trip), non-finite values as the quoted strings "NaN", "Infinity", "-Infinity" (Jackson's default).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/JsonString.h"

namespace streamshop::debezium {

inline void AppendJsonString(std::string& out, std::string_view utf8) {
  streamshop::AppendJsonString(out, utf8, JsonDialect::kJackson);
}
void AppendJavaDouble(std::string& out, double v);
void AppendJavaFloat(std::string& out, float v);
void AppendInt(std::string& out, int64_t v);
void AppendUInt(std::string& out, uint64_t v);

// Shortest decimal digits that round-trip `v` (finite, non-zero; sign ignored) and the decimal exponent of the
// first digit: v = d1.d2d3… × 10^exp10. Trailing zeros are removed from `digits`.
void ShortestDecimal(double v, std::string& digits, int& exp10);
void ShortestDecimal(float v, std::string& digits, int& exp10);

}  // namespace streamshop::debezium
