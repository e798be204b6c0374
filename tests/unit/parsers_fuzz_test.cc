// Seeded fuzzing of the parsers not covered by the pgoutput and Debezium fuzz tests: COPY text rows, RowBinary read
// back from ClickHouse (EncodedSize/RenderValue) and PostgreSQL text values encoded into it (AppendValue), URL
// redaction, and the TOML config file. Random inputs and mutations of valid ones: every call returns a value or an
// error, never crashes (run under ASan+UBSan by `make test`); where a round trip exists it must hold. Seeds are
// fixed (std::mt19937 output is fixed by the standard), so a failure reproduces; each test prints its seed.
#include <gtest/gtest.h>

#include "pg/Catalog.h"
#include "pg_types.h"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "cli/TomlConfig.h"
#include "clickhouse/RowBinary.h"
#include "clickhouse/TypeMapping.h"
#include "common/Url.h"
#include "pg/CopyTextParser.h"

namespace {

using streamshop::clickhouse::AppendValue;
using streamshop::clickhouse::ColumnType;
using streamshop::clickhouse::Dialect;
using streamshop::clickhouse::EncodedSize;
using streamshop::clickhouse::MapColumnType;
using streamshop::clickhouse::RenderValue;

// Bytes that matter to the parsers under test, drawn more often than the rest.
constexpr std::string_view kSpecial = "\\\t\n\r\"'`=,@:/?#&% Nx0123456789abcdefABCDEF-+.eE{}[]()\x01\xff\xc3\xbc";

class Fuzzer {
 public:
  explicit Fuzzer(uint32_t seed) : rng_(seed) {}
  uint32_t Below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Below(100) < static_cast<uint32_t>(percent); }
  char Byte() { return Chance(70) ? kSpecial[Below(kSpecial.size())] : static_cast<char>(Below(256)); }
  std::string Bytes(size_t max_len) {
    std::string s(Below(max_len + 1), '\0');
    for (auto& c : s) c = Byte();
    return s;
  }
  // Flips, inserts, deletes, duplicates or truncates a few bytes of `s`.
  std::string Mutate(std::string s) {
    for (uint32_t n = 1 + Below(4); n > 0; --n) {
      const size_t pos = s.empty() ? 0 : Below(s.size());
      switch (Below(5)) {
        case 0:
          if (!s.empty()) s[pos] = Byte();
          break;
        case 1:
          s.insert(pos, 1, Byte());
          break;
        case 2:
          if (!s.empty()) s.erase(pos, 1 + Below(3));
          break;
        case 3:
          s.insert(pos, s.substr(pos, Below(8)));
          break;
        default:
          s.resize(pos);
      }
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

// --- COPY text ------------------------------------------------------------------------------------------------------

// PostgreSQL's COPY TO escaping of one field, with the escape forms it may use chosen at random (all of which COPY
// FROM accepts): \t or \011 or \x9 for a tab, and so on.
std::string CopyEscape(Fuzzer& f, const std::optional<std::string>& field) {
  if (!field) return "\\N";
  std::string out;
  for (unsigned char c : *field) {
    const char* named = c == '\\'   ? "\\\\"
                        : c == '\t' ? "\\t"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f"
                        : c == '\v' ? "\\v"
                                    : nullptr;
    if (!named && !f.Chance(5)) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    // A named escape, three octal digits, or two hex digits (never fewer: a following digit would join them).
    switch (f.Below(named ? 3 : 2)) {
      case 0: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\%03o", c);
        out += buf;
        break;
      }
      case 1: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
        break;
      }
      default:
        out += named;
    }
  }
  return out;
}

TEST(ParsersFuzzTest, CopyTextRoundTrip) {
  constexpr uint32_t kSeed = 20261130;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Fuzzer f(kSeed);
  streamshop::pg::CopyTextParser parser;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::optional<std::string>> fields(1 + f.Below(6));
    for (auto& field : fields) {
      if (f.Chance(10)) continue;  // NULL
      field = f.Chance(10) ? std::string("\\N") : f.Bytes(12);
    }
    std::string line;
    for (size_t k = 0; k < fields.size(); ++k) line += (k ? "\t" : "") + CopyEscape(f, fields[k]);
    if (f.Chance(50)) line += '\n';
    auto parsed = parser.Parse(line);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message() << " for " << line;
    ASSERT_EQ((*parsed)->size(), fields.size()) << line;
    for (size_t k = 0; k < fields.size(); ++k) {
      const auto& got = (**parsed)[k];
      ASSERT_EQ(got.has_value(), fields[k].has_value()) << "field " << k << " of " << line;
      if (got) {
        ASSERT_EQ(std::string(*got), *fields[k]) << "field " << k << " of " << line;
      }
    }
  }
}

TEST(ParsersFuzzTest, CopyTextGarbageNeverCrashes) {
  constexpr uint32_t kSeed = 7;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Fuzzer f(kSeed);
  streamshop::pg::CopyTextParser parser;
  std::string valid = "1\tab\\tc\t\\N\t\\x41\\101\t\\\\";
  for (int i = 0; i < 50000; ++i) {
    const std::string line = f.Chance(50) ? f.Bytes(40) : f.Mutate(valid);
    auto parsed = parser.Parse(line);
    if (!parsed.ok()) continue;
    size_t total = 0;
    for (const auto& field : **parsed) total += field ? field->size() : 0;
    ASSERT_LE(total, line.size()) << "unescaped text is never longer than the row";
    for (const auto& field : **parsed) {
      if (field) (void)std::string(*field);  // ASan: every view points into live memory
    }
  }
}

// --- RowBinary (ClickHouse responses, and PostgreSQL text → RowBinary) ---------------------------------------------

constexpr uint32_t kOids[] = {16, 17, 20, 21, 23, 25, 700, 701, 1082, 1114, 1184, 1700, 2950, 114, 3802, 1186};

std::vector<ColumnType> AllTypes() {
  std::vector<ColumnType> types;
  for (Dialect d : {Dialect::kLegacy, Dialect::kModern}) {
    for (bool nullable : {false, true}) {
      for (uint32_t oid : kOids) types.push_back(MapColumnType(streamshop::pg::TypeOf(oid, -1), nullable, d));
      for (int p : {1, 9, 10, 18, 19, 38}) {
        types.push_back(MapColumnType(streamshop::pg::TypeOf(1700, ((p << 16) | (p / 2)) + 4), nullable, d));
      }
    }
  }
  types.push_back(MapColumnType(streamshop::testing::CompositeType({"a", "b"}), true, Dialect::kModern));
  return types;
}

// Valid PostgreSQL text for each kind of column, as the pinned session settings produce it.
const std::vector<std::string> kTexts = {"t",
                                         "f",
                                         "0",
                                         "-1",
                                         "32767",
                                         "-2147483648",
                                         "9223372036854775807",
                                         "1.5",
                                         "-0",
                                         "NaN",
                                         "Infinity",
                                         "-Infinity",
                                         "1e-45",
                                         "3.4028235e+38",
                                         "123456.78",
                                         "0.000001",
                                         "99999999999999999999999999999999999999",
                                         "2024-02-29",
                                         "0044-03-15 BC",
                                         "infinity",
                                         "-infinity",
                                         "2024-02-29 23:59:59.999999",
                                         "1970-01-01 00:00:00+00",
                                         "0001-01-01 00:00:00 BC",
                                         "2024-06-01 12:00:00+05:30",
                                         "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                                         "\\x",
                                         "\\xdeadbeef",
                                         "{\"a\": 1}",
                                         "(1,\"x,\"\"y\"\"\")",
                                         "",
                                         "text, b=\t\\N"};

TEST(ParsersFuzzTest, RowBinaryReadersNeverCrash) {
  constexpr uint32_t kSeed = 42;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Fuzzer f(kSeed);
  const auto types = AllTypes();
  for (int i = 0; i < 40000; ++i) {
    const ColumnType& type = types[f.Below(types.size())];
    std::string data;
    if (f.Chance(50)) {
      data = f.Bytes(40);
    } else {
      // A valid encoding (or what AppendValue makes of a mutated text), then mutated.
      const std::string text = f.Chance(50) ? kTexts[f.Below(kTexts.size())] : f.Mutate(kTexts[f.Below(kTexts.size())]);
      std::string encoded;
      (void)AppendValue(type, f.Chance(10) ? std::nullopt : std::optional<std::string_view>(text), encoded);
      data = f.Chance(50) ? encoded : f.Mutate(encoded);
    }
    auto n = EncodedSize(type, data);
    if (!n.ok()) continue;
    ASSERT_LE(*n, data.size()) << type.clickhouse_type;
    (void)RenderValue(type, std::string_view(data).substr(0, *n));
  }
}

TEST(ParsersFuzzTest, AppendValueOfAnyTextIsReadBackWhole) {
  constexpr uint32_t kSeed = 1234;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Fuzzer f(kSeed);
  const auto types = AllTypes();
  for (int i = 0; i < 40000; ++i) {
    const ColumnType& type = types[f.Below(types.size())];
    const std::string text = f.Chance(30)   ? kTexts[f.Below(kTexts.size())]
                             : f.Chance(50) ? f.Mutate(kTexts[f.Below(kTexts.size())])
                                            : f.Bytes(30);
    std::string encoded = "prefix";
    const size_t before = encoded.size();
    auto st = AppendValue(type, text, encoded);
    if (!st.ok()) continue;
    // Whatever AppendValue accepts, the reader splits at exactly its end, and renders.
    const std::string_view value = std::string_view(encoded).substr(before);
    auto n = EncodedSize(type, value);
    ASSERT_TRUE(n.ok()) << type.clickhouse_type << " '" << text << "': " << n.status().message();
    ASSERT_EQ(*n, value.size()) << type.clickhouse_type << " '" << text << "'";
    (void)RenderValue(type, value);
  }
}

// --- URLs -----------------------------------------------------------------------------------------------------------

TEST(ParsersFuzzTest, RedactUrlNeverShowsThePassword) {
  // Found with the TOML fuzz fix: libpq connected with this URL and the error message showed the password.
  EXPECT_EQ(streamshop::RedactUrl("postgresql://u:p#w@127.0.0.1:1/db"), "postgresql://u:***@127.0.0.1:1/db");
  EXPECT_EQ(streamshop::RedactUrl("postgresql://u:a?b@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(streamshop::RedactUrl("postgresql://u:pa?s/s#w@127.0.0.1:1/db"), "postgresql://u:***@127.0.0.1:1/db");
  EXPECT_EQ(streamshop::RedactUrl("http://u:/x@h:8123"), "http://u:***@h:8123");
  // libpq's error about that URL quotes part of it: no piece of 4 bytes or more of the password survives.
  EXPECT_EQ(
      streamshop::RedactSecretsOf("postgresql://u:pa?s/s#w@127.0.0.1:1/db",
                                  "missing key/value separator \"=\" in URI query parameter: \"s/s#w@127.0.0.1:1/db\""),
      "missing key/value separator \"=\" in URI query parameter: \"***@127.0.0.1:1/db\"");
  EXPECT_EQ(streamshop::RedactSecretsOf("host=h password='a b c d'", "bad: a b c d here"), "bad: *** here");
  EXPECT_EQ(streamshop::RedactSecretsOf("postgresql://u@h/db", "nothing secret"), "nothing secret");
  for (const char* secret : {"postgresql://u:p@h/db", "host=h password=x", "sasl.password=x", "ssl.key.pem=x",
                             "SASL.JAAS.CONFIG.SECRET=x", "http://h/?password=x"}) {
    EXPECT_TRUE(streamshop::HoldsSecret(secret)) << secret;
  }
  for (const char* plain : {"postgresql://u@h/db", "http://h:8123", "security.protocol=SASL_SSL", "analytics", ""}) {
    EXPECT_FALSE(streamshop::HoldsSecret(plain)) << plain;
  }
  constexpr uint32_t kSeed = 99;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Fuzzer f(kSeed);
  for (int i = 0; i < 20000; ++i) {
    // A password of characters a URL's userinfo may hold unencoded (RFC 3986: unreserved, sub-delims, ':' and
    // percent-escapes) and of those libpq also takes there ('?', '#': it reads user:password@ up to the first
    // '/'), marked so it cannot occur elsewhere in the URL.
    const std::string allowed = "abcXYZ019-._~!$&'()*+,;=:%?#/";
    std::string password = "Q";
    for (uint32_t n = f.Below(12); n > 0; --n) password += allowed[f.Below(allowed.size())];
    password += "Q";
    const std::string schemes[] = {"postgresql", "postgres", "http", "https"};
    std::string url = schemes[f.Below(4)] + "://" + (f.Chance(50) ? "user" : "") + ":" + password + "@" +
                      (f.Chance(50) ? "host" : "[::1]") + (f.Chance(50) ? ":5432" : "") + (f.Chance(50) ? "/db" : "") +
                      (f.Chance(30) ? "?sslmode=require&x=@" : "");
    std::string redacted = streamshop::RedactUrl(url);
    ASSERT_EQ(redacted.find(password), std::string::npos) << url << " → " << redacted;

    // libpq key/value conninfo: password=value, 'quoted value' with \' and \\ escapes, blanks around '='.
    std::string secret = "Q";
    for (uint32_t n = f.Below(10); n > 0; --n) secret += "ab c'\\=x"[f.Below(8)];
    secret += "Q";
    std::string quoted = "'";
    for (char c : secret) quoted += (c == '\'' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    quoted += "'";
    const std::string conninfo = std::string("host=h ") + (f.Chance(50) ? "password" : "password ") + "=" +
                                 (f.Chance(50) ? " " : "") + quoted + (f.Chance(50) ? " dbname=d" : "");
    redacted = streamshop::RedactUrl(conninfo);
    ASSERT_EQ(redacted.find(secret), std::string::npos) << conninfo << " → " << redacted;
    ASSERT_NE(redacted.find("***"), std::string::npos) << conninfo << " → " << redacted;
  }
  for (int i = 0; i < 50000; ++i) {
    (void)streamshop::RedactUrl(f.Chance(50) ? f.Bytes(60) : f.Mutate("postgresql://u:p@h:1/d?password=x"));
  }
}

// --- TOML config ----------------------------------------------------------------------------------------------------

// The command line's config loading (src/cli/main.cc: app.set_config, keys are option names) on a small app of the
// same shape: string options, a repeatable option and a subcommand.
struct ConfigApp {
  CLI::App app{"fuzz"};
  std::string pg, clickhouse, publication;
  std::vector<std::string> props;
  ConfigApp() {
    app.set_config("--config", "", "TOML config file");
    app.config_formatter(std::make_shared<streamshop::cli::TomlConfig>());
    auto* sub = app.add_subcommand("replicate");
    sub->add_option("--pg", pg);
    sub->add_option("--clickhouse", clickhouse);
    sub->add_option("--publication", publication);
    sub->add_option("--kafka-prop", props);
    app.require_subcommand(1);
  }
};

std::string WriteConfig(const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / ("streamshop_fuzz_" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

TEST(ParsersFuzzTest, TomlConfigGarbageIsAParseErrorOrAccepted) {
  constexpr uint32_t kSeed = 5;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Fuzzer f(kSeed);
  const std::string valid =
      "[replicate]\npg = \"postgresql://u:p@h/db\"\nclickhouse = 'http://h:8123'\npublication = \"a b\"\n"
      "kafka-prop = [\"x=1\", \"y=2\"]\n# comment\n";
  const std::string path = WriteConfig("");
  for (int i = 0; i < 400; ++i) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << (f.Chance(20) ? f.Bytes(80) : f.Mutate(valid));
    ConfigApp c;
    try {
      c.app.parse("--config " + path + " replicate");
    } catch (const CLI::ParseError&) {
      // what CLI11_PARSE in main turns into a message and an exit code
    }
  }
  std::filesystem::remove(path);
}

TEST(ParsersFuzzTest, TomlConfigStringsRoundTrip) {
  constexpr uint32_t kSeed = 11;
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Fuzzer f(kSeed);
  const std::string path = WriteConfig("");
  for (int i = 0; i < 500; ++i) {
    // Secrets with the characters passwords have, written as TOML writes them: a literal string ('…', no escapes,
    // no "'" inside) or a basic string ("…" with \" \\ \t \uXXXX escapes), with a comment after the value.
    std::string secret, literal, basic;
    for (uint32_t n = 1 + f.Below(16); n > 0; --n) {
      const char c = "aZ9 #=\"\\,:@/[]{}%$\t"[f.Below(20)];
      secret += c;
      if (c != '\t') literal += c;
      basic += c == '"'    ? "\\\""
               : c == '\\' ? "\\\\"
               : c == '\t' ? (f.Chance(50) ? "\\t" : "\\u0009")
                           : std::string(1, c);
    }
    const bool use_literal = secret == literal && f.Chance(50);
    const std::string written = use_literal ? "'" + literal + "'" : "\"" + basic + "\"";
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        << "# streamshop\n[replicate]\npg = " << written << (f.Chance(50) ? " # the source" : "")
        << "\nclickhouse = \"http://h\"\nkafka-prop = [" << written << ", 'b=#2']\n";
    ConfigApp c;
    try {
      c.app.parse("--config " + path + " replicate");
    } catch (const CLI::ParseError& e) {
      FAIL() << "config with pg = " << written << " rejected: " << e.what();
    }
    ASSERT_EQ(c.pg, secret) << "pg = " << written << " read back changed";
    // (CLI11 reads an element of a repeatable option written "[…]" as a nested list, on the command line too.)
    if (secret.front() == '[' && secret.back() == ']') continue;
    ASSERT_EQ(c.props, (std::vector<std::string>{secret, "b=#2"})) << "kafka-prop = [" << written << ", 'b=#2']";
  }
  for (const char* bad : {"pg = 'open", "pg = \"a\\qb\"", "pg = \"\"\"x\"\"\"", "pg = \"\\u12\""}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "[replicate]\n" << bad << "\n";
    ConfigApp c;
    EXPECT_THROW(c.app.parse("--config " + path + " replicate"), CLI::ParseError) << bad;
  }
  std::filesystem::remove(path);
}

TEST(ParsersFuzzTest, TomlConfigKeysMustBeOptionsOfTheirSection) {
  const std::string path = WriteConfig("");
  const auto parse = [&](const std::string& text) -> std::string {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    ConfigApp c;
    c.app.config_formatter(std::make_shared<streamshop::cli::TomlConfig>(&c.app));
    try {
      c.app.parse("--config " + path + " replicate");
    } catch (const CLI::ConfigError& e) {
      return e.what();
    }
    return c.pg.empty() ? "parsed" : "pg=" + c.pg;
  };
  EXPECT_EQ(parse("[replicate]\npg = 'x'\n"), "pg=x");
  EXPECT_EQ(parse("[replicate]\npublicaton = 'p'\n"),
            "config file: unknown key 'publicaton' in [replicate] (did you mean publication?)");
  EXPECT_EQ(parse("[replicat]\npg = 'x'\n"), "config file: unknown section [replicat] (did you mean [replicate]?)");
  EXPECT_EQ(parse("pg = 'x'\n"),
            "config file: unknown key 'pg' at the top level (it is an option of [replicate]: put it in that section)");
  EXPECT_EQ(parse("[replicate]\nzzzzzzzz = 1\n"), "config file: unknown key 'zzzzzzzz' in [replicate]");
  std::filesystem::remove(path);
}

}  // namespace
