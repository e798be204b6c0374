// JSON text output that reproduces, byte for byte, what Kafka Connect's JsonConverter (Jackson) writes, so our
// Debezium events look like the real connector's. Pure functions appending to a std::string; thread-safe.
//
// Strings: '"' and '\\' are escaped; control characters U+0000..U+001F become \b \t \n \f \r or \u00XX
// (upper-case hex); every other BMP character is written as raw UTF-8, and a character beyond the BMP as its
// UTF-16 surrogate pair \uD83D\uDE00 (Jackson's UTF-8 generator does exactly this). Input that is not valid UTF-8
// is repaired, never rejected: each maximal ill-formed subsequence becomes U+FFFD, which is what Java's UTF-8
// decoder (and so Debezium) produces for the same bytes.
//
// Numbers: Java's Double.toString / Float.toString layout ("1.0", "0.001", "1.0E7", "1.0E-4"; shortest digits that
// round-trip), non-finite values as the quoted strings "NaN", "Infinity", "-Infinity" (Jackson's default).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace streamshop::debezium {

void AppendJsonString(std::string& out, std::string_view utf8);
void AppendJavaDouble(std::string& out, double v);
void AppendJavaFloat(std::string& out, float v);
void AppendInt(std::string& out, int64_t v);
void AppendUInt(std::string& out, uint64_t v);

// Shortest decimal digits that round-trip `v` (finite, non-zero; sign ignored) and the decimal exponent of the
// first digit: v = d1.d2d3… × 10^exp10. Trailing zeros are removed from `digits`.
void ShortestDecimal(double v, std::string& digits, int& exp10);
void ShortestDecimal(float v, std::string& digits, int& exp10);

// Decodes one UTF-8 sequence at `s[i]`: returns the code point and advances `i`; an ill-formed (maximal)
// subsequence yields U+FFFD. `i` must be < s.size().
char32_t NextCodePoint(std::string_view s, size_t& i);
void AppendUtf8(std::string& out, char32_t cp);

}  // namespace streamshop::debezium
