// common/JsonString.h: the exact bytes of both dialects — Jackson's (Debezium records) and PostgreSQL's to_json
// (JSON values stored in ClickHouse) — for every control character, the characters JSON or JavaScript treat
// specially, non-ASCII text and ill-formed UTF-8.
#include "common/JsonString.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace streamshop {
namespace {

std::string Jackson(std::string_view s) {
  std::string out;
  AppendJsonString(out, s, JsonDialect::kJackson);
  return out;
}
std::string Postgres(std::string_view s) {
  std::string out;
  AppendJsonString(out, s, JsonDialect::kPostgres);
  return out;
}

// U+0000..U+001F as Jackson writes them (com.fasterxml.jackson.core.io.CharTypes: the five short escapes, else
// \u00XX upper-case).
constexpr const char* kJacksonControls[32] = {
    R"("\u0000")", R"("\u0001")", R"("\u0002")", R"("\u0003")", R"("\u0004")", R"("\u0005")", R"("\u0006")",
    R"("\u0007")", R"("\b")",     R"("\t")",     R"("\n")",     R"("\u000B")", R"("\f")",     R"("\r")",
    R"("\u000E")", R"("\u000F")", R"("\u0010")", R"("\u0011")", R"("\u0012")", R"("\u0013")", R"("\u0014")",
    R"("\u0015")", R"("\u0016")", R"("\u0017")", R"("\u0018")", R"("\u0019")", R"("\u001A")", R"("\u001B")",
    R"("\u001C")", R"("\u001D")", R"("\u001E")", R"("\u001F")"};

// As PostgreSQL's escape_json (to_json) writes them: the same five short escapes, else \u00xx lower-case.
constexpr const char* kPostgresControls[32] = {
    R"("\u0000")", R"("\u0001")", R"("\u0002")", R"("\u0003")", R"("\u0004")", R"("\u0005")", R"("\u0006")",
    R"("\u0007")", R"("\b")",     R"("\t")",     R"("\n")",     R"("\u000b")", R"("\f")",     R"("\r")",
    R"("\u000e")", R"("\u000f")", R"("\u0010")", R"("\u0011")", R"("\u0012")", R"("\u0013")", R"("\u0014")",
    R"("\u0015")", R"("\u0016")", R"("\u0017")", R"("\u0018")", R"("\u0019")", R"("\u001a")", R"("\u001b")",
    R"("\u001c")", R"("\u001d")", R"("\u001e")", R"("\u001f")"};

TEST(JsonStringTest, EveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, static_cast<char>(c));
    EXPECT_EQ(Jackson(in), kJacksonControls[c]) << "U+00" << std::hex << c;
    EXPECT_EQ(Postgres(in), kPostgresControls[c]) << "U+00" << std::hex << c;
  }
  EXPECT_EQ(Jackson("a\tb\x01"
                    "c\r\n"),
            R"("a\tb\u0001c\r\n")");
  EXPECT_EQ(Postgres("a\tb\x1f"
                     "c\r\n"),
            R"("a\tb\u001fc\r\n")");
}

TEST(JsonStringTest, QuotesBackslashSlashAndDelete) {
  for (auto dialect : {JsonDialect::kJackson, JsonDialect::kPostgres}) {
    std::string out;
    AppendJsonString(out, R"(say "hi" \ back/slash)", dialect);
    EXPECT_EQ(out, R"("say \"hi\" \\ back/slash")");
    out.clear();
    AppendJsonString(out, "\x7f", dialect);
    EXPECT_EQ(out, "\"\x7f\"");  // DEL is not a JSON control character
    out.clear();
    AppendJsonString(out, "", dialect);
    EXPECT_EQ(out, R"("")");
  }
}

TEST(JsonStringTest, NonAsciiText) {
  // BMP characters, U+2028/U+2029 (JavaScript line terminators, fine in JSON) included: raw UTF-8 in both.
  for (const char* s : {"\xC3\xA9t\xC3\xA9", "\xE2\x82\xAC", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE6\x97\xA5\xE6\x9C\xAC",
                        "\xEF\xBF\xBD", "\xEF\xBF\xBF"}) {
    EXPECT_EQ(Jackson(s), std::string("\"") + s + "\"");
    EXPECT_EQ(Postgres(s), std::string("\"") + s + "\"");
  }
  // Beyond the BMP: Jackson writes the UTF-16 surrogate pair, PostgreSQL the raw UTF-8.
  EXPECT_EQ(Jackson("\xF0\x9F\x98\x80"), R"("\uD83D\uDE00")");
  EXPECT_EQ(Postgres("\xF0\x9F\x98\x80"), "\"\xF0\x9F\x98\x80\"");
  EXPECT_EQ(Jackson("\xF4\x8F\xBF\xBF"), R"("\uDBFF\uDFFF")");
  EXPECT_EQ(Postgres("\xF4\x8F\xBF\xBF"), "\"\xF4\x8F\xBF\xBF\"");
}

TEST(JsonStringTest, IllFormedUtf8BecomesReplacementCharacters) {
  // Each maximal ill-formed subsequence is one U+FFFD, in both dialects: the output is always valid JSON.
  const std::string fffd = "\xEF\xBF\xBD";
  for (auto dialect : {JsonDialect::kJackson, JsonDialect::kPostgres}) {
    const auto json = [&](std::string_view s) {
      std::string out;
      AppendJsonString(out, s, dialect);
      return out;
    };
    EXPECT_EQ(json("a\xFF"
                   "b"),
              "\"a" + fffd + "b\"");
    EXPECT_EQ(json("\xC3"), "\"" + fffd + "\"");                        // truncated 2-byte sequence
    EXPECT_EQ(json("\xF0\x9F\x98"), "\"" + fffd + "\"");                // truncated 4-byte sequence
    EXPECT_EQ(json("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"");  // an encoded UTF-16 surrogate
    EXPECT_EQ(json("\xC0\xAF"), "\"" + fffd + fffd + "\"");             // overlong
    EXPECT_EQ(json("\xE9t\xE9"), "\"" + fffd + "t" + fffd + "\"");      // Latin-1, not UTF-8
  }
}

}  // namespace
}  // namespace streamshop
