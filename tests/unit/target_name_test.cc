// The PostgreSQL → ClickHouse name mapping: TableWriter::TargetName keeps the raw_<table> /
// raw_<schema>__<table> contract for ordinary names, never maps two tables to one name, and stays within
// ClickHouse's file-name limit; TableWriter::SourceKey (snapshot state, dead letters) is injective too;
// ReadStrings gives back names byte for byte.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "clickhouse/RowBinary.h"
#include "clickhouse/TableWriter.h"

namespace streamshop::clickhouse {
namespace {

// ClickHouse's escapeForFileName length: [A-Za-z0-9_] one byte, every other byte "%XX".
size_t FileNameBytes(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += std::isalnum(c) || c == '_' ? 1 : 3;
  return n;
}

bool ValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    }
    i += n;
  }
  return true;
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(TargetNameTest, OrdinaryNamesKeepTheContract) {
  EXPECT_EQ(TableWriter::TargetName("public", "orders"), "raw_orders");
  EXPECT_EQ(TableWriter::TargetName("sales", "orders"), "raw_sales__orders");
  EXPECT_EQ(TableWriter::TargetName("my_schema", "order_items"), "raw_my_schema__order_items");
  EXPECT_EQ(TableWriter::TargetName("public", "_prisma_migrations"), "raw__prisma_migrations");
  EXPECT_EQ(TableWriter::TargetName("public", "Mixed Case.with dots"), "raw_Mixed Case.with dots");
  EXPECT_EQ(TableWriter::TargetName("public", "it's a `tab`\there\\"), "raw_it's a `tab`\there\\");
  EXPECT_EQ(TableWriter::TargetName("s", "_x"), "raw_s___x");  // table may start with '_'
  EXPECT_EQ(TableWriter::TargetName("public", "заказы"), "raw_заказы");
  const std::string name63(63, 'n');
  EXPECT_EQ(TableWriter::TargetName(name63, name63), "raw_" + name63 + "__" + name63);
}

TEST(TargetNameTest, NamesThatCollideUnderThePlainRuleAreEscaped) {
  // public."a__b" and a.b were both raw_a__b.
  EXPECT_EQ(TableWriter::TargetName("public", "a__b"), "raw_a%5F%5Fb");
  EXPECT_EQ(TableWriter::TargetName("a", "b"), "raw_a__b");
  // "a__b".c and a."b__c" were both raw_a__b__c.
  EXPECT_EQ(TableWriter::TargetName("a__b", "c"), "raw_a%5F%5Fb__c");
  EXPECT_EQ(TableWriter::TargetName("a", "b__c"), "raw_a__b%5F%5Fc");
  // "a_".b and a."_b" were both raw_a___b.
  EXPECT_EQ(TableWriter::TargetName("a_", "b"), "raw_a%5F__b");
  EXPECT_EQ(TableWriter::TargetName("a", "_b"), "raw_a___b");
  // A literal escape sequence is escaped itself.
  EXPECT_EQ(TableWriter::TargetName("public", "a%5F%5Fb"), "raw_a%255F%255Fb");
}

TEST(TargetNameTest, InjectiveOverAnAlphabetOfSeparatorsAndEscapes) {
  // Every name of 1–4 characters over the bytes that take part in the rules, every (schema, table) pair.
  const std::string alphabet = "_%5F2";
  std::vector<std::string> names;
  for (size_t len = 1; len <= 4; ++len) {
    std::vector<size_t> digits(len, 0);
    while (true) {
      std::string s;
      for (size_t d : digits) s += alphabet[d];
      names.push_back(s);
      size_t k = 0;
      while (k < len && ++digits[k] == alphabet.size()) digits[k++] = 0;
      if (k == len) break;
    }
  }
  std::vector<std::string> schemas = names;
  schemas.push_back("public");
  std::map<std::string, std::pair<std::string, std::string>> seen;
  for (const auto& schema : schemas) {
    for (const auto& table : names) {
      auto [it, inserted] = seen.emplace(TableWriter::TargetName(schema, table), std::make_pair(schema, table));
      ASSERT_TRUE(inserted) << "\"" << schema << "\".\"" << table << "\" and \"" << it->second.first << "\".\""
                            << it->second.second << "\" both map to " << it->first;
    }
  }
}

TEST(TargetNameTest, LongNamesFitClickHouseFileNames) {
  const std::string ru31 = Repeat("я", 31) + "x";  // 63 bytes, 187 as a ClickHouse file name
  const std::string long_name = TableWriter::TargetName(ru31, ru31);
  EXPECT_LE(FileNameBytes(long_name), TableWriter::kMaxTargetFileNameBytes);
  EXPECT_EQ(long_name.rfind("raw_" + Repeat("я", 20), 0), 0u) << long_name;  // a readable prefix
  EXPECT_NE(long_name.find("%h"), std::string::npos);
  EXPECT_TRUE(ValidUtf8(long_name)) << "cut inside a character";
  // Names that differ only past the cut still differ.
  const std::string ru31y = Repeat("я", 31) + "y";
  EXPECT_NE(TableWriter::TargetName(ru31, ru31y), long_name);
  EXPECT_NE(TableWriter::TargetName(ru31y, ru31), long_name);
  EXPECT_EQ(TableWriter::TargetName(ru31, ru31), long_name) << "stable";

  // Punctuation takes three bytes each; an escaped part is not cut inside "%XX".
  const std::string dots(63, '.');
  const std::string unders = Repeat("a__", 21);
  for (const auto& [schema, table] : std::vector<std::pair<std::string, std::string>>{
           {"public", dots}, {dots, dots}, {unders, unders}, {"public", Repeat("€", 21)}}) {
    const std::string n = TableWriter::TargetName(schema, table);
    EXPECT_LE(FileNameBytes(n), TableWriter::kMaxTargetFileNameBytes) << n;
    const size_t h = n.find("%h");
    if (h != std::string::npos) {
      EXPECT_EQ(n.size(), h + 18) << n;
      const std::string prefix = n.substr(0, h);
      const size_t pct = prefix.rfind('%');
      EXPECT_TRUE(pct == std::string::npos || pct + 3 <= prefix.size()) << n;
    }
  }
  // A public table of 63 bytes that fits keeps its plain name.
  EXPECT_EQ(TableWriter::TargetName("public", std::string(63, 't')), "raw_" + std::string(63, 't'));
}

TEST(SourceKeyTest, Injective) {
  EXPECT_EQ(TableWriter::SourceKey("public", "orders"), "public.orders");
  EXPECT_EQ(TableWriter::SourceKey("a", "b.c"), "a.b.c");
  EXPECT_EQ(TableWriter::SourceKey("a.b", "c"), ".\"a.b\".\"c\"");
  const std::string alphabet = "a.\"";
  std::vector<std::string> names;
  for (char x : alphabet) {
    names.emplace_back(1, x);
    for (char y : alphabet) {
      names.push_back(std::string(1, x) + y);
      for (char z : alphabet) names.push_back(std::string(1, x) + y + z);
    }
  }
  std::map<std::string, std::pair<std::string, std::string>> seen;
  for (const auto& schema : names) {
    for (const auto& table : names) {
      auto [it, inserted] = seen.emplace(TableWriter::SourceKey(schema, table), std::make_pair(schema, table));
      ASSERT_TRUE(inserted) << schema << " / " << table << " vs " << it->second.first << " / " << it->second.second;
    }
  }
}

TEST(ReadStringsTest, NamesComeBackByteForByte) {
  const std::vector<std::string> names = {"it's", "tab\there", "back\\slash", "new\nline", "", "ключ", "a`b"};
  std::string body;
  for (const auto& n : names) {
    AppendVarUInt(body, n.size());
    body += n;
  }
  auto r = ReadStrings(body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, names);
  EXPECT_FALSE(ReadStrings(body.substr(0, body.size() - 1)).ok());
  EXPECT_FALSE(ReadStrings(std::string(1, '\x85')).ok());
}

}  // namespace
}  // namespace streamshop::clickhouse
