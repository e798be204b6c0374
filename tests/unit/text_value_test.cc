// PostgreSQL's text forms of dates, times, timestamps and bytea, read once for every target (pg/TextValue.h).
#include "pg/TextValue.h"

#include <gtest/gtest.h>

namespace streamshop::pg {
namespace {

TEST(TextValueTest, Dates) {
  int64_t days = 0;
  int inf = 0;
  ASSERT_TRUE(ParseDate("2024-02-29", days, inf));
  EXPECT_EQ(days, DaysFromCivil(2024, 2, 29));
  EXPECT_EQ(inf, 0);
  ASSERT_TRUE(ParseDate("0044-03-15 BC", days, inf));
  EXPECT_EQ(days, DaysFromCivil(-43, 3, 15));
  ASSERT_TRUE(ParseDate("-infinity", days, inf));
  EXPECT_EQ(inf, -1);
  for (const char* bad : {"2023-02-29", "2024-13-01", "2024-1-01", "0000-01-01 BC", "2024-01-01 ", "", "x"}) {
    EXPECT_FALSE(ParseDate(bad, days, inf)) << bad;
  }
}

TEST(TextValueTest, TimestampsAndTimes) {
  int64_t micros = 0;
  int inf = 0;
  ASSERT_TRUE(ParseTimestamp("1970-01-01 00:00:01.5", false, micros, inf));
  EXPECT_EQ(micros, 1'500'000);
  ASSERT_TRUE(ParseTimestamp("1970-01-01 02:00:00+02", true, micros, inf));
  EXPECT_EQ(micros, 0);
  ASSERT_TRUE(ParseTimestamp("1970-01-01 00:00:00-00:30:15", true, micros, inf));
  EXPECT_EQ(micros, (30 * 60 + 15) * int64_t{1'000'000});
  EXPECT_FALSE(ParseTimestamp("1970-01-01 02:00:00+02", false, micros, inf));  // no offset without a zone
  EXPECT_FALSE(ParseTimestamp("1970-01-01 00:00:00.1234567", false, micros, inf));
  EXPECT_FALSE(ParseTimestamp("294277-01-01 00:00:00", false, micros, inf));  // beyond int64 µs

  ASSERT_TRUE(ParseTime("24:00:00", false, micros));
  EXPECT_EQ(micros, int64_t{86'400} * 1'000'000);
  EXPECT_FALSE(ParseTime("24:00:01", false, micros));
  ASSERT_TRUE(ParseTime("01:00:00+02", true, micros));
  EXPECT_EQ(micros, int64_t{23} * 3600 * 1'000'000);  // UTC, wrapped into the day
}

TEST(TextValueTest, ByteaHex) {
  std::string bytes;
  ASSERT_TRUE(ParseByteaHex("\\x00fF", bytes));
  EXPECT_EQ(bytes, std::string("\x00\xff", 2));
  ASSERT_TRUE(ParseByteaHex("\\x", bytes));
  EXPECT_TRUE(bytes.empty());
  EXPECT_FALSE(ParseByteaHex("\\x0", bytes));
  EXPECT_FALSE(ParseByteaHex("\\xgg", bytes));
  EXPECT_FALSE(ParseByteaHex("\\001", bytes));  // escape format
}

}  // namespace
}  // namespace streamshop::pg
