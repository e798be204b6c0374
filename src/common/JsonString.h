// The one JSON string escaper. Two byte-exact dialects of the same rules, each a contract elsewhere:
//   kJackson  — what Kafka Connect's JsonConverter (Jackson) writes: Debezium records (debezium/JsonWriter.h) must be
//               byte-identical to the real connector's.
//   kPostgres — what PostgreSQL's to_json(text) writes: values ClickHouse stores as JSON (composites, _unfit;
//               docs/TYPE_MAPPING.md), byte for byte as PostgreSQL renders the same text as JSON.
// Both: '"' and '\\' are escaped; U+0008, U+0009, U+000A, U+000C, U+000D become \b \t \n \f \r; the other control
// characters U+0000..U+001F become \u00XX (kJackson: upper-case hex, kPostgres: lower-case); '/', U+007F, U+2028
// and U+2029 stay raw, as does every other BMP character (raw UTF-8). A character beyond the BMP is raw UTF-8 in
// kPostgres and its UTF-16 surrogate pair \uD83D\uDE00 in kJackson (Jackson's UTF-8 generator does exactly this).
// Input that is not valid UTF-8 is repaired, never rejected, so the output is always valid JSON: each maximal
// ill-formed subsequence becomes U+FFFD, which is what Java's UTF-8 decoder (and so Debezium) produces for the same
// bytes. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace streamshop {

enum class JsonDialect { kJackson, kPostgres };

// Appends `utf8` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, std::string_view utf8, JsonDialect dialect);

// Decodes one UTF-8 sequence at `s[i]`: returns the code point and advances `i`; an ill-formed (maximal)
// subsequence yields U+FFFD. `i` must be < s.size().
char32_t NextCodePoint(std::string_view s, size_t& i);
void AppendUtf8(std::string& out, char32_t cp);

}  // namespace streamshop
