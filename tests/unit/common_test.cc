#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "common/Log.h"
#include "common/Lsn.h"
#include "common/Url.h"

using streamshop::Lsn;
using streamshop::RedactUrl;

namespace {

TEST(LsnTest, ParseAndFormat) {
  struct Case {
    const char* text;
    uint64_t value;
  };
  const Case cases[] = {
      {"0/0", 0},
      {"0/1", 1},
      {"1/0", uint64_t{1} << 32},
      {"16/B374D848", 0x16B374D848ull},
      {"0/16B3748", 0x16B3748},
      {"FFFFFFFF/FFFFFFFF", UINT64_MAX},
  };
  for (const Case& c : cases) {
    const std::optional<Lsn> lsn = Lsn::Parse(c.text);
    ASSERT_TRUE(lsn.has_value()) << c.text;
    EXPECT_EQ(lsn->value, c.value) << c.text;
    EXPECT_EQ(lsn->ToString(), c.text);
    EXPECT_EQ(Lsn::Parse(lsn->ToString()), lsn);
  }
}

TEST(LsnTest, ParseAcceptsLowercaseAndLeadingZeros) {
  EXPECT_EQ(Lsn::Parse("16/b374d848"), Lsn(0x16B374D848ull));
  EXPECT_EQ(Lsn::Parse("00000016/0B374D84"), Lsn(0x160B374D84ull));
  EXPECT_EQ(Lsn(0x160B374D84ull).ToString(), "16/B374D84");
}

TEST(LsnTest, ParseRejectsInvalid) {
  for (const char* text : {"", "/", "0", "0/", "/0", "16B374D848", "0/0/0", "G/0", "0/G", "-1/0", "0/-1", "+1/0",
                           " 0/0", "0/0 ", "0x1/0", "100000000/0", "0/100000000", "1:2", "0/0\n"}) {
    EXPECT_FALSE(Lsn::Parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(LsnTest, Ordering) {
  EXPECT_LT(*Lsn::Parse("0/FFFFFFFF"), *Lsn::Parse("1/0"));
  EXPECT_LT(*Lsn::Parse("9/0"), *Lsn::Parse("A/0"));
  EXPECT_EQ(Lsn(), *Lsn::Parse("0/0"));
}

TEST(RedactUrlTest, PasswordInUrl) {
  EXPECT_EQ(RedactUrl("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(RedactUrl("http://u:pw@h:8123"), "http://u:***@h:8123");
  EXPECT_EQ(RedactUrl("postgres://replicator:s3cr3t!@db.example.com:5432/shop?sslmode=require"),
            "postgres://replicator:***@db.example.com:5432/shop?sslmode=require");
  EXPECT_EQ(RedactUrl("http://u:@h:8123"), "http://u:***@h:8123");
}

TEST(RedactUrlTest, PasswordInConninfoAndQuery) {
  EXPECT_EQ(RedactUrl("host=x password=secret user=y"), "host=x password=*** user=y");
  EXPECT_EQ(RedactUrl("password=secret"), "password=***");
  EXPECT_EQ(RedactUrl("host=x user=y password=secret"), "host=x user=y password=***");
  EXPECT_EQ(RedactUrl("postgresql://h/db?user=u&password=secret&sslmode=disable"),
            "postgresql://h/db?user=u&password=***&sslmode=disable");
  EXPECT_EQ(RedactUrl("http://h:8123/?user=default&password=pw"), "http://h:8123/?user=default&password=***");
}

TEST(RedactUrlTest, QuotedConninfoPasswordIsRedactedWhole) {
  // libpq conninfo values may be single-quoted, with spaces and \' or \\ escapes inside.
  EXPECT_EQ(RedactUrl("host=x password='a b c' user=y"), "host=x password=*** user=y");
  EXPECT_EQ(RedactUrl("password='it\\'s secret' user=y"), "password=*** user=y");
  EXPECT_EQ(RedactUrl("password='ends with \\\\' user=y"), "password=*** user=y");
  EXPECT_EQ(RedactUrl("password='never closed"), "password=***");
  EXPECT_EQ(RedactUrl("password='' user=y"), "password=*** user=y");
}

TEST(RedactUrlTest, ConninfoBlanksAroundEqualsAndEscapes) {
  EXPECT_EQ(RedactUrl("host=x password = secret user=y"), "host=x password = *** user=y");
  EXPECT_EQ(RedactUrl("host=x password =secret"), "host=x password =***");
  EXPECT_EQ(RedactUrl("host=x\tpassword=secret\tuser=y"), "host=x\tpassword=***\tuser=y");
  EXPECT_EQ(RedactUrl("password=a\\ b user=y"), "password=*** user=y");
  EXPECT_EQ(RedactUrl("sslpassword=k password=p"), "sslpassword=*** password=***");
}

TEST(RedactUrlTest, WithoutPasswordUnchanged) {
  for (const char* url : {"", "postgresql://h/db", "postgresql://u@h/db", "postgresql://u@h:5432/db", "http://h:8123",
                          "http://localhost:8123/?database=shop", "host=x user=y dbname=z",
                          "postgresql:///db?host=/var/run/postgresql"}) {
    EXPECT_EQ(RedactUrl(url), url);
  }
}

}  // namespace

TEST(RedactUrl, AtSignOutsideTheAuthorityIsNotAPassword) {
  EXPECT_EQ(streamshop::RedactUrl("http://h:8123/?q=a@b"), "http://h:8123/?q=a@b");
  EXPECT_EQ(streamshop::RedactUrl("http://u:pw@h:8123/?q=a@b"), "http://u:***@h:8123/?q=a@b");
}

TEST(LogTest, RowValuesOnlyAtDebug) {
  const std::string reason = "column 'd': '2024-13-45' is not a date";
  EXPECT_EQ(streamshop::ValuesAtDebug(reason), "column '…': '…' is not a date");
  EXPECT_EQ(streamshop::ValuesAtDebug("an unclosed 'quote"), "an unclosed 'quote");
  streamshop::SetLogLevel(streamshop::LogLevel::kDebug);
  EXPECT_EQ(streamshop::ValuesAtDebug(reason), reason);
  streamshop::SetLogLevel(streamshop::LogLevel::kInfo);
}
