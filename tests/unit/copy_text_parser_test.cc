#include "pg/CopyTextParser.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

using streamshop::pg::CopyTextParser;

namespace {

using Fields = std::vector<std::optional<std::string>>;

// Parses `line` and copies the fields out (so the test does not depend on view lifetimes).
Fields ParseOk(CopyTextParser& parser, std::string_view line) {
  auto r = parser.Parse(line);
  EXPECT_TRUE(r.ok()) << r.status().message();
  Fields out;
  if (!r.ok()) return out;
  for (const auto& f : **r) out.push_back(f ? std::optional<std::string>(std::string(*f)) : std::nullopt);
  return out;
}

Fields ParseOk(std::string_view line) {
  CopyTextParser parser;
  return ParseOk(parser, line);
}

std::optional<std::string> S(std::string s) { return s; }
constexpr std::nullopt_t kNull = std::nullopt;

TEST(CopyTextParserTest, PlainFields) {
  EXPECT_EQ(ParseOk("1\tabc\tx y z"), (Fields{S("1"), S("abc"), S("x y z")}));
  EXPECT_EQ(ParseOk("single"), (Fields{S("single")}));
}

TEST(CopyTextParserTest, TrailingNewlineIsOptional) {
  EXPECT_EQ(ParseOk("1\tabc\n"), (Fields{S("1"), S("abc")}));
  EXPECT_EQ(ParseOk("1\tabc"), (Fields{S("1"), S("abc")}));
  // Only one newline is the row terminator; an escaped one is data.
  EXPECT_EQ(ParseOk("a\\n\n"), (Fields{S("a\n")}));
}

TEST(CopyTextParserTest, Nulls) {
  EXPECT_EQ(ParseOk("\\N"), (Fields{kNull}));
  EXPECT_EQ(ParseOk("\\N\n"), (Fields{kNull}));
  EXPECT_EQ(ParseOk("1\t\\N\t3"), (Fields{S("1"), kNull, S("3")}));
  EXPECT_EQ(ParseOk("\\N\t\\N"), (Fields{kNull, kNull}));
  EXPECT_EQ(ParseOk("\\N\tx\t\\N\n"), (Fields{kNull, S("x"), kNull}));
}

TEST(CopyTextParserTest, EmptyFieldsAreEmptyStringsNotNull) {
  EXPECT_EQ(ParseOk(""), (Fields{S("")}));
  EXPECT_EQ(ParseOk("\n"), (Fields{S("")}));
  EXPECT_EQ(ParseOk("\t"), (Fields{S(""), S("")}));
  EXPECT_EQ(ParseOk("\t\t\n"), (Fields{S(""), S(""), S("")}));
  EXPECT_EQ(ParseOk("a\t\tb"), (Fields{S("a"), S(""), S("b")}));
  EXPECT_EQ(ParseOk("a\t"), (Fields{S("a"), S("")}));
  EXPECT_EQ(ParseOk("\ta"), (Fields{S(""), S("a")}));
}

TEST(CopyTextParserTest, EveryEscape) {
  EXPECT_EQ(ParseOk("\\b\\f\\n\\r\\t\\v\\\\"), (Fields{S("\b\f\n\r\t\v\\")}));
  EXPECT_EQ(ParseOk("a\\tb"), (Fields{S("a\tb")}));
  EXPECT_EQ(ParseOk("line1\\nline2\\r\\n"), (Fields{S("line1\nline2\r\n")}));
  // Octal: one to three digits.
  EXPECT_EQ(ParseOk("\\123"), (Fields{S("S")}));
  EXPECT_EQ(ParseOk("\\101\\102C"), (Fields{S("ABC")}));
  EXPECT_EQ(ParseOk("\\1"), (Fields{S("\x01")}));
  EXPECT_EQ(ParseOk("\\12x"), (Fields{S("\nx")}));
  EXPECT_EQ(ParseOk("\\1234"), (Fields{S("S4")}));  // at most three octal digits
  EXPECT_EQ(ParseOk("\\18"), (Fields{S("\0018")}));
  EXPECT_EQ(ParseOk("\\0"), (Fields{S(std::string(1, '\0'))}));
  EXPECT_EQ(ParseOk("\\377"), (Fields{S("\xff")}));
  // Hex: one or two digits.
  EXPECT_EQ(ParseOk("\\x41"), (Fields{S("A")}));
  EXPECT_EQ(ParseOk("\\x4"), (Fields{S("\x04")}));
  EXPECT_EQ(ParseOk("\\x41B"), (Fields{S("AB")}));
  EXPECT_EQ(ParseOk("\\x4g"), (Fields{S("\x04g")}));
  EXPECT_EQ(ParseOk("\\xfF"), (Fields{S("\xff")}));
  // Any other escaped character stands for itself.
  EXPECT_EQ(ParseOk("\\a\\.\\N2"), (Fields{S("a.N2")}));
}

TEST(CopyTextParserTest, EscapedBackslashThenNIsNotNull) {
  // COPY writes the string \N as \\N; only the unescaped two-character field \N is NULL.
  EXPECT_EQ(ParseOk("\\\\N"), (Fields{S("\\N")}));
  EXPECT_EQ(ParseOk("\\\\N\t\\N"), (Fields{S("\\N"), kNull}));
  EXPECT_EQ(ParseOk("\\Nx"), (Fields{S("Nx")}));
  EXPECT_EQ(ParseOk("x\\N"), (Fields{S("xN")}));
}

TEST(CopyTextParserTest, LoneTrailingBackslashIsAnError) {
  CopyTextParser parser;
  for (std::string_view line : {"\\", "abc\\", "a\tb\\", "\\N\\", "\\\\\\"}) {
    auto r = parser.Parse(line);
    ASSERT_FALSE(r.ok()) << "'" << line << "'";
    EXPECT_TRUE(r.status().fatal());
  }
  // The parser is usable again after an error.
  EXPECT_EQ(ParseOk(parser, "ok\t\\N"), (Fields{S("ok"), kNull}));
}

TEST(CopyTextParserTest, ManyFields) {
  std::string line;
  Fields expected;
  for (int i = 0; i < 1000; ++i) {
    if (i) line += '\t';
    if (i % 7 == 3) {
      line += "\\N";
      expected.push_back(kNull);
    } else if (i % 5 == 1) {
      line += "e\\t" + std::to_string(i);
      expected.push_back("e\t" + std::to_string(i));
    } else {
      line += std::to_string(i);
      expected.push_back(std::to_string(i));
    }
  }
  line += '\n';
  EXPECT_EQ(ParseOk(line), expected);
}

TEST(CopyTextParserTest, ViewsOfAllEscapedFieldsStayValid) {
  // Several escaped fields in one row: every view (into the line or the scratch buffer) must still be intact
  // after the whole row is parsed, including long fields that would force a reallocation of a growing buffer.
  std::string line;
  Fields expected;
  for (int i = 0; i < 50; ++i) {
    if (i) line += '\t';
    const std::string payload(static_cast<size_t>(i * 13 + 1), static_cast<char>('a' + i % 26));
    if (i % 2 == 0) {
      line += "\\\\" + payload + "\\n\\x41\\101";
      expected.push_back("\\" + payload + "\nAA");
    } else {
      line += payload;
      expected.push_back(payload);
    }
  }
  CopyTextParser parser;
  auto r = parser.Parse(line);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& fields = **r;
  ASSERT_EQ(fields.size(), expected.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    ASSERT_TRUE(fields[i].has_value()) << i;
    EXPECT_EQ(std::string(*fields[i]), *expected[i]) << i;
  }

  // Reusing the parser for a second (shorter) row gives correct views for that row.
  EXPECT_EQ(ParseOk(parser, "\\t1\t\\t2\t3"), (Fields{S("\t1"), S("\t2"), S("3")}));
}

TEST(CopyTextParserTest, PlainFieldsPointIntoTheLine) {
  const std::string line = "abc\tdef";
  CopyTextParser parser;
  auto r = parser.Parse(line);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)->size(), 2u);
  EXPECT_EQ((**r)[0]->data(), line.data());
  EXPECT_EQ((**r)[1]->data(), line.data() + 4);
}

}  // namespace
