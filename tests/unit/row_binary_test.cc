#include "clickhouse/RowBinary.h"
#include "pg/TextValue.h"

#include <gtest/gtest.h>

#include "pg/Catalog.h"
#include "pg_types.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/TypeMapping.h"

using streamshop::Status;
using streamshop::clickhouse::AppendUInt64;
using streamshop::clickhouse::AppendUInt8;
using streamshop::clickhouse::AppendValue;
using streamshop::clickhouse::AppendVarUInt;
using streamshop::clickhouse::ColumnType;
using streamshop::clickhouse::Dialect;
using streamshop::clickhouse::EncodedSize;
using streamshop::clickhouse::MapColumnType;
using streamshop::clickhouse::RenderValue;
using streamshop::clickhouse::ValueKind;
using streamshop::pg::DaysFromCivil;

namespace {

constexpr uint32_t kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kFloat4 = 700,
                   kFloat8 = 701, kDate = 1082, kTimestamp = 1114, kTimestampTz = 1184, kNumeric = 1700, kUuid = 2950;

int32_t NumericTypmod(int precision, int scale) { return ((precision << 16) | (scale & 0x7ff)) + 4; }

ColumnType Col(uint32_t oid, bool nullable = false, int32_t typmod = -1) {
  return MapColumnType(streamshop::pg::TypeOf(oid, typmod), nullable, Dialect::kModern);
}
ColumnType Dec(int precision, int scale, bool nullable = false) {
  ColumnType t = Col(kNumeric, nullable, NumericTypmod(precision, scale));
  EXPECT_EQ(t.kind, ValueKind::kDecimal);
  return t;
}

// "0a ff 01": lowercase hex bytes separated by spaces.
std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kDigits[static_cast<uint8_t>(c) & 0xf]);
  }
  return out;
}

// Little-endian bytes of an integer, built with shifts (independent of the encoder's memcpy).
std::string LeBytes(unsigned __int128 v, int width) {
  std::string out;
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>(static_cast<uint8_t>(v >> (8 * i))));
  return out;
}
std::string Le16(int16_t v) { return LeBytes(static_cast<uint16_t>(v), 2); }
std::string Le32(int32_t v) { return LeBytes(static_cast<uint32_t>(v), 4); }
std::string Le64(int64_t v) { return LeBytes(static_cast<uint64_t>(v), 8); }
std::string Le128(__int128 v) { return LeBytes(static_cast<unsigned __int128>(v), 16); }
std::string LeF32(float v) { return LeBytes(std::bit_cast<uint32_t>(v), 4); }
std::string LeF64(double v) { return LeBytes(std::bit_cast<uint64_t>(v), 8); }

// An exact-size heap copy, so that AddressSanitizer catches any read past the end of the view.
class Exact {
 public:
  explicit Exact(std::string_view s) : size_(s.size()), data_(new char[s.size()]) {
    if (!s.empty()) std::memcpy(data_.get(), s.data(), s.size());
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

// Encodes a value that must be accepted.
std::string Enc(const ColumnType& t, std::optional<std::string_view> text) {
  std::string out;
  std::optional<Exact> exact;
  if (text) exact.emplace(*text);
  Status st = AppendValue(t, exact ? std::optional<std::string_view>(exact->view()) : std::nullopt, out);
  EXPECT_TRUE(st.ok()) << "'" << text.value_or("NULL") << "' into " << t.clickhouse_type << ": " << st.message();
  return out;
}

// Encodes a value that must be refused; returns the error.
Status EncErr(const ColumnType& t, std::optional<std::string_view> text) {
  std::string out;
  std::optional<Exact> exact;
  if (text) exact.emplace(*text);
  Status st = AppendValue(t, exact ? std::optional<std::string_view>(exact->view()) : std::nullopt, out);
  if (st.ok()) {
    ADD_FAILURE() << "'" << text.value_or("NULL") << "' into " << t.clickhouse_type << " was accepted as " << Hex(out);
  } else {
    EXPECT_TRUE(st.fatal()) << st.message();
  }
  return st;
}

void ExpectRejected(const ColumnType& t, std::initializer_list<std::string_view> texts) {
  for (std::string_view text : texts) {
    SCOPED_TRACE(testing::Message() << "'" << text << "' into " << t.clickhouse_type);
    Status st = EncErr(t, text);
    if (!st.ok()) {
      EXPECT_NE(st.message().find(t.clickhouse_type), std::string::npos) << st.message();
    }
  }
}

// ---------------------------------------------------------------- bool and integers

TEST(RowBinaryTest, Bool) {
  for (Dialect d : {Dialect::kLegacy, Dialect::kModern}) {
    const ColumnType t = MapColumnType(streamshop::pg::TypeOf(kBool, -1), false, d);
    EXPECT_EQ(Hex(Enc(t, "t")), "01");
    EXPECT_EQ(Hex(Enc(t, "f")), "00");
    ExpectRejected(t, {"", "true", "false", "1", "0", "T", "tt", "t "});
  }
}

TEST(RowBinaryTest, Int16) {
  const ColumnType t = Col(kInt2);
  EXPECT_EQ(Hex(Enc(t, "0")), "00 00");
  EXPECT_EQ(Hex(Enc(t, "1")), "01 00");
  EXPECT_EQ(Hex(Enc(t, "-1")), "ff ff");
  EXPECT_EQ(Hex(Enc(t, "258")), "02 01");
  EXPECT_EQ(Hex(Enc(t, "32767")), "ff 7f");
  EXPECT_EQ(Hex(Enc(t, "-32768")), "00 80");
  EXPECT_EQ(Enc(t, "-12345"), Le16(-12345));
  ExpectRejected(t, {"32768", "-32769", "99999999999999999999", "", "-", "1.0", "1e3", " 1", "1 ", "0x10", "abc"});
}

TEST(RowBinaryTest, Int32) {
  const ColumnType t = Col(kInt4);
  EXPECT_EQ(Enc(t, "0"), Le32(0));
  EXPECT_EQ(Hex(Enc(t, "305419896")), "78 56 34 12");
  EXPECT_EQ(Enc(t, "2147483647"), Le32(std::numeric_limits<int32_t>::max()));
  EXPECT_EQ(Enc(t, "-2147483648"), Le32(std::numeric_limits<int32_t>::min()));
  EXPECT_EQ(Hex(Enc(t, "-2147483648")), "00 00 00 80");
  ExpectRejected(t, {"2147483648", "-2147483649", "", "12a", "1.5"});
}

TEST(RowBinaryTest, Int64) {
  const ColumnType t = Col(kInt8);
  EXPECT_EQ(Hex(Enc(t, "1")), "01 00 00 00 00 00 00 00");
  EXPECT_EQ(Enc(t, "9223372036854775807"), Le64(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(Enc(t, "-9223372036854775808"), Le64(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(Hex(Enc(t, "-9223372036854775808")), "00 00 00 00 00 00 00 80");
  ExpectRejected(t, {"9223372036854775808", "-9223372036854775809", "", "NaN"});
}

// ---------------------------------------------------------------- floats

TEST(RowBinaryTest, Float32) {
  const ColumnType t = Col(kFloat4);
  EXPECT_EQ(Hex(Enc(t, "1.5")), "00 00 c0 3f");
  EXPECT_EQ(Hex(Enc(t, "0.1")), "cd cc cc 3d");
  EXPECT_EQ(Enc(t, "0.1"), LeF32(0.1f));
  EXPECT_EQ(Enc(t, "0.3"), LeF32(0.3f));
  EXPECT_EQ(Enc(t, "-2.5"), LeF32(-2.5f));
  EXPECT_EQ(Enc(t, "1e+30"), LeF32(1e30f));
  EXPECT_EQ(Enc(t, "3.4028235e+38"), LeF32(std::numeric_limits<float>::max()));
  EXPECT_EQ(Enc(t, "1e-45"), LeF32(std::numeric_limits<float>::denorm_min()));
  EXPECT_EQ(Enc(t, "-0"), LeF32(-0.0f));
  EXPECT_EQ(Hex(Enc(t, "Infinity")), "00 00 80 7f");
  EXPECT_EQ(Hex(Enc(t, "-Infinity")), "00 00 80 ff");
  const std::string nan = Enc(t, "NaN");
  ASSERT_EQ(nan.size(), 4u);
  float v;
  std::memcpy(&v, nan.data(), 4);
  EXPECT_TRUE(std::isnan(v));
  ExpectRejected(t, {"", "abc", "1.5x", " 1", "3.4028236e+38", "1e39", "-"});
}

TEST(RowBinaryTest, Float64) {
  const ColumnType t = Col(kFloat8);
  EXPECT_EQ(Hex(Enc(t, "1")), "00 00 00 00 00 00 f0 3f");
  EXPECT_EQ(Hex(Enc(t, "0.1")), "9a 99 99 99 99 99 b9 3f");
  EXPECT_EQ(Enc(t, "0.1"), LeF64(0.1));  // shortest round-trip text parses to exactly the same double
  EXPECT_EQ(Enc(t, "0.30000000000000004"), LeF64(0.1 + 0.2));
  EXPECT_EQ(Enc(t, "3.141592653589793"), LeF64(3.141592653589793));
  EXPECT_EQ(Enc(t, "1.2345678901234567e+19"), LeF64(1.2345678901234567e+19));
  EXPECT_EQ(Enc(t, "1e-07"), LeF64(1e-07));
  EXPECT_EQ(Enc(t, "1.7976931348623157e+308"), LeF64(std::numeric_limits<double>::max()));
  EXPECT_EQ(Enc(t, "2.2250738585072014e-308"), LeF64(std::numeric_limits<double>::min()));
  EXPECT_EQ(Enc(t, "5e-324"), LeF64(std::numeric_limits<double>::denorm_min()));
  EXPECT_EQ(Hex(Enc(t, "-0")), "00 00 00 00 00 00 00 80");
  EXPECT_EQ(Hex(Enc(t, "Infinity")), "00 00 00 00 00 00 f0 7f");
  EXPECT_EQ(Hex(Enc(t, "-Infinity")), "00 00 00 00 00 00 f0 ff");
  const std::string nan = Enc(t, "NaN");
  ASSERT_EQ(nan.size(), 8u);
  double v;
  std::memcpy(&v, nan.data(), 8);
  EXPECT_TRUE(std::isnan(v));
  ExpectRejected(t, {"", "1e+309", "-1e+309", "0.1.2", "x"});
}

// ---------------------------------------------------------------- decimals

TEST(RowBinaryTest, DecimalInt64) {
  const ColumnType t = Dec(12, 2);
  EXPECT_EQ(Hex(Enc(t, "123.45")), "39 30 00 00 00 00 00 00");
  EXPECT_EQ(Enc(t, "0"), Le64(0));
  EXPECT_EQ(Enc(t, "0.00"), Le64(0));
  EXPECT_EQ(Enc(t, "-0.01"), Le64(-1));
  EXPECT_EQ(Enc(t, "7"), Le64(700));   // padded: no fraction digits
  EXPECT_EQ(Enc(t, "0.1"), Le64(10));  // padded: one fraction digit
  EXPECT_EQ(Hex(Enc(t, "-12.5")), "1e fb ff ff ff ff ff ff");
  EXPECT_EQ(Enc(t, "+12.5"), Le64(1250));
  EXPECT_EQ(Enc(t, "1.230"), Le64(123));  // trailing zeros beyond the scale are exact
  EXPECT_EQ(Enc(t, "9999999999.99"), Le64(999999999999));
  EXPECT_EQ(Enc(t, "-9999999999.99"), Le64(-999999999999));
}

TEST(RowBinaryTest, DecimalInt32) {
  const ColumnType t = Dec(5, 2);
  EXPECT_EQ(Enc(t, "1.5"), Le32(150));
  EXPECT_EQ(Hex(Enc(t, "-999.99")), "61 79 fe ff");
  EXPECT_EQ(Enc(t, "999.99"), Le32(99999));
  const ColumnType whole = Dec(9, 0);
  EXPECT_EQ(Enc(whole, "999999999"), Le32(999999999));
  EXPECT_EQ(Enc(whole, "-999999999"), Le32(-999999999));
}

TEST(RowBinaryTest, DecimalInt128) {
  const ColumnType t = Dec(38, 0);
  const std::string nines(38, '9');
  EXPECT_EQ(Hex(Enc(t, nines)), "ff ff ff ff 3f 22 8a 09 7a c4 86 5a a8 4c 3b 4b");
  EXPECT_EQ(Hex(Enc(t, "-" + nines)), "01 00 00 00 c0 dd 75 f6 85 3b 79 a5 57 b3 c4 b4");
  EXPECT_EQ(Enc(t, "1"), Le128(1));
  EXPECT_EQ(Enc(t, "-1"), Le128(-1));
  ExpectRejected(t, {"1" + nines, "1.5"});

  const ColumnType scaled = Dec(38, 10);
  EXPECT_EQ(Enc(scaled, "1.5"), Le128(15'000'000'000));
  EXPECT_EQ(Enc(scaled, std::string(28, '9') + "." + std::string(10, '9')), Enc(t, nines));
  const ColumnType d19 = Dec(19, 0);
  EXPECT_EQ(Enc(d19, "9999999999999999999"), Le128(static_cast<__int128>(9999999999999999999ull)));
}

TEST(RowBinaryTest, DecimalWithFullScale) {
  // numeric(38, 38): PostgreSQL prints a leading "0." before its 38 fraction digits.
  const ColumnType t = Dec(38, 38);
  const std::string digits = "12345678901234567890123456789012345678";
  __int128 expected = 0;
  for (char c : digits) expected = expected * 10 + (c - '0');
  EXPECT_EQ(Enc(t, "0." + digits), Le128(expected));
  EXPECT_EQ(Enc(t, "-0." + digits), Le128(-expected));
  EXPECT_EQ(Enc(t, "0." + std::string(38, '0')), Le128(0));
  EXPECT_EQ(Enc(t, "0"), Le128(0));

  const ColumnType small = Dec(4, 4);
  EXPECT_EQ(Enc(small, "0.1234"), Le32(1234));
  EXPECT_EQ(Enc(small, "-0.0001"), Le32(-1));
}

TEST(RowBinaryTest, DecimalRefusesWhatDoesNotFit) {
  const ColumnType t = Dec(12, 2);
  ExpectRejected(t, {"1.234", "0.001", "-0.005", "NaN", "Infinity", "-Infinity", "", "-", "+", ".", "-.", "1.2.3",
                     "1,5", "1e5", " 1", "1 ", "abc", "12345678901.00", "99999999999.99"});
  // More integer digits than the precision would otherwise be silently truncated to the column's width.
  ExpectRejected(Dec(9, 2), {"99999999999.99", "10000000.00", "-10000000"});
  ExpectRejected(Dec(18, 0), {"9999999999999999999", "-10000000000000000000"});
  ExpectRejected(Dec(4, 4), {"1.0000", "1", "0.12345"});
  ExpectRejected(Dec(38, 38), {"1." + std::string(38, '0'), "0." + std::string(39, '1')});

  Status st = EncErr(t, "NaN");
  EXPECT_NE(st.message().find("'NaN'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("Decimal(12, 2)"), std::string::npos) << st.message();
}

// ---------------------------------------------------------------- strings and bytes

TEST(RowBinaryTest, VarUInt) {
  struct Case {
    uint64_t v;
    const char* hex;
  };
  const Case cases[] = {{0, "00"},           {1, "01"},
                        {127, "7f"},         {128, "80 01"},
                        {300, "ac 02"},      {16383, "ff 7f"},
                        {16384, "80 80 01"}, {std::numeric_limits<uint64_t>::max(), "ff ff ff ff ff ff ff ff ff 01"}};
  for (const Case& c : cases) {
    std::string out = "x";
    AppendVarUInt(out, c.v);
    EXPECT_EQ(Hex(out.substr(1)), c.hex) << c.v;
  }
  std::string out;
  AppendUInt8(out, 0xab);
  AppendUInt64(out, 0x0102030405060708ull);
  EXPECT_EQ(Hex(out), "ab 08 07 06 05 04 03 02 01");
}

TEST(RowBinaryTest, String) {
  const ColumnType t = Col(kText);
  EXPECT_EQ(Hex(Enc(t, "")), "00");
  EXPECT_EQ(Hex(Enc(t, "abc")), "03 61 62 63");
  EXPECT_EQ(Enc(t, "h\xc3\xa9llo"), std::string("\x06h\xc3\xa9llo"));
  EXPECT_EQ(Enc(t, std::string_view("a\0b\tc\\N", 7)), std::string("\007a\0b\tc\\N", 8));
  EXPECT_EQ(Enc(t, "\\N"), std::string("\x02\\N"));  // a string that spells \N is a string, not NULL

  const std::string s127(127, 'x'), s128(128, 'y'), s300(300, 'z'), s20000(20000, 'w');
  EXPECT_EQ(Enc(t, s127), "\x7f" + s127);
  EXPECT_EQ(Enc(t, s128), std::string("\x80\x01") + s128);
  EXPECT_EQ(Enc(t, s300), std::string("\xac\x02") + s300);
  EXPECT_EQ(Enc(t, s20000), std::string("\xa0\x9c\x01") + s20000);
}

TEST(RowBinaryTest, Bytea) {
  const ColumnType t = Col(kBytea);
  EXPECT_EQ(Hex(Enc(t, "\\x")), "00");
  EXPECT_EQ(Hex(Enc(t, "\\x00ff10AB")), "04 00 ff 10 ab");
  EXPECT_EQ(Hex(Enc(t, "\\xdeadBEEF")), "04 de ad be ef");
  std::string text = "\\x", raw;
  for (int i = 0; i < 200; ++i) {
    text += "a5";
    raw.push_back('\xa5');
  }
  EXPECT_EQ(Enc(t, text), std::string("\xc8\x01") + raw);
  ExpectRejected(
      t, {"", "\\", "x00", "00", "\\X00", "\\x0", "\\x000", "\\xzz", "\\x0g", "\\xg0", "\\x 0", "\\\\x00", "abc"});
}

// ---------------------------------------------------------------- dates and timestamps

TEST(RowBinaryTest, DaysFromCivil) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(1970, 1, 2), 1);
  EXPECT_EQ(DaysFromCivil(2000, 1, 1), 10957);
  EXPECT_EQ(DaysFromCivil(2000, 2, 29), 11016);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2024, 2, 29), 19782);
  EXPECT_EQ(DaysFromCivil(1900, 1, 1), -25567);
  EXPECT_EQ(DaysFromCivil(1899, 12, 31), -25568);
  EXPECT_EQ(DaysFromCivil(1600, 2, 29), -135081);
  EXPECT_EQ(DaysFromCivil(1582, 10, 15), -141427);
  EXPECT_EQ(DaysFromCivil(1, 1, 1), -719162);
  EXPECT_EQ(DaysFromCivil(0, 12, 31), -719163);  // 1 BC, a leap year
  EXPECT_EQ(DaysFromCivil(0, 2, 29), -719469);
  EXPECT_EQ(DaysFromCivil(-43, 3, 15), -735160);      // 44 BC
  EXPECT_EQ(DaysFromCivil(-4713, 11, 24), -2440588);  // Julian day 0
  EXPECT_EQ(DaysFromCivil(2299, 12, 31), 120529);
  EXPECT_EQ(DaysFromCivil(9999, 12, 31), 2932896);
}

TEST(RowBinaryTest, Date) {
  for (Dialect d : {Dialect::kLegacy, Dialect::kModern}) {
    const ColumnType t = MapColumnType(streamshop::pg::TypeOf(kDate, -1), false, d);
    EXPECT_EQ(Hex(Enc(t, "1970-01-01")), "00 00 00 00");
    EXPECT_EQ(Hex(Enc(t, "2000-01-01")), "cd 2a 00 00");
    EXPECT_EQ(Hex(Enc(t, "1969-12-31")), "ff ff ff ff");
    EXPECT_EQ(Enc(t, "2024-02-29"), Le32(19782));
    EXPECT_EQ(Enc(t, "1900-01-01"), Le32(-25567));
    EXPECT_EQ(Enc(t, "1899-12-31"), Le32(-25568));
    EXPECT_EQ(Enc(t, "0001-01-01"), Le32(-719162));
    EXPECT_EQ(Enc(t, "0001-12-31 BC"), Le32(-719163));
    EXPECT_EQ(Hex(Enc(t, "0044-03-15 BC")), "48 c8 f4 ff");
    EXPECT_EQ(Enc(t, "4714-11-24 BC"), Le32(-2440588));  // PostgreSQL's earliest date
    EXPECT_EQ(Enc(t, "10000-01-01"), Le32(2932897));
    EXPECT_EQ(Enc(t, "5874897-12-31"), Le32(2145042905));  // PostgreSQL's latest date
    EXPECT_EQ(Hex(Enc(t, "infinity")), "ff ff ff 7f");
    EXPECT_EQ(Hex(Enc(t, "-infinity")), "00 00 00 80");
    ExpectRejected(t, {"", "BC", " BC", "Infinity", "2000-13-01", "2000-00-01", "2000-01-00", "2000-01-32", "2000-1-01",
                       "2000-01-1", "20000101", "2000/01/01", "2000-01-01x", "2000-01-01 ", "2000-01-01 00:00:00",
                       "-2000-01-01", "2000-01-01 AD", "abcd-01-01", "2000-0a-01"});
  }
}

TEST(RowBinaryTest, DateOutOfRangeIsAnErrorNotACrash) {
  const ColumnType t = Col(kDate);
  // Not produced by PostgreSQL, but must be refused rather than wrapped or overflowed.
  ExpectRejected(t, {"9999999-01-01", "99999999999-01-01", "9223372036854775807-12-31", "9223372036854775807-12-31 BC",
                     "99999999999999999999-01-01"});
}

TEST(RowBinaryTest, Timestamp) {
  for (Dialect d : {Dialect::kLegacy, Dialect::kModern}) {
    const ColumnType t = MapColumnType(streamshop::pg::TypeOf(kTimestamp, -1), false, d);
    EXPECT_EQ(Hex(Enc(t, "1970-01-01 00:00:00")), "00 00 00 00 00 00 00 00");
    EXPECT_EQ(Hex(Enc(t, "2000-01-01 00:00:00")), "00 e0 37 3b 01 5d 03 00");
    EXPECT_EQ(Enc(t, "2000-01-01 00:00:00"), Le64(946684800000000));
    EXPECT_EQ(Enc(t, "1969-12-31 23:59:59.999999"), Le64(-1));
    EXPECT_EQ(Enc(t, "1970-01-01 00:00:01"), Le64(1000000));
    EXPECT_EQ(Enc(t, "2024-02-29 13:45:30"), Le64((19782LL * 86400 + 13 * 3600 + 45 * 60 + 30) * 1000000));
    EXPECT_EQ(Enc(t, "1900-01-01 00:00:00"), Le64(-25567LL * 86400 * 1000000));
    EXPECT_EQ(Hex(Enc(t, "0044-03-15 12:00:00 BC")), "00 b0 7e 36 ea 56 1e ff");
    EXPECT_EQ(Enc(t, "4714-11-24 00:00:00 BC"), Le64(-2440588LL * 86400 * 1000000));
    EXPECT_EQ(Hex(Enc(t, "infinity")), "ff ff ff ff ff ff ff 7f");
    EXPECT_EQ(Hex(Enc(t, "-infinity")), "00 00 00 00 00 00 00 80");
  }
}

TEST(RowBinaryTest, TimestampFractionalSeconds) {
  const ColumnType t = Col(kTimestamp);
  const int64_t base = 946684800000000;
  EXPECT_EQ(Enc(t, "2000-01-01 00:00:00.5"), Le64(base + 500000));
  EXPECT_EQ(Enc(t, "2000-01-01 00:00:00.05"), Le64(base + 50000));
  EXPECT_EQ(Enc(t, "2000-01-01 00:00:00.123"), Le64(base + 123000));
  EXPECT_EQ(Enc(t, "2000-01-01 00:00:00.1234"), Le64(base + 123400));
  EXPECT_EQ(Enc(t, "2000-01-01 00:00:00.12345"), Le64(base + 123450));
  EXPECT_EQ(Enc(t, "2000-01-01 00:00:00.123456"), Le64(base + 123456));
  EXPECT_EQ(Enc(t, "2000-01-01 00:00:00.000001"), Le64(base + 1));
  EXPECT_EQ(Enc(t, "2000-01-01 23:59:59.999999"), Le64(base + 86400000000 - 1));
  EXPECT_EQ(Enc(t, "1969-12-31 23:59:59.5"), Le64(-500000));
}

TEST(RowBinaryTest, TimestampTzNormalisedToUtc) {
  for (Dialect d : {Dialect::kLegacy, Dialect::kModern}) {
    const ColumnType t = MapColumnType(streamshop::pg::TypeOf(kTimestampTz, -1), false, d);
    const int64_t base = 946684800000000;
    EXPECT_EQ(Enc(t, "2000-01-01 00:00:00+00"), Le64(base));
    EXPECT_EQ(Enc(t, "2000-01-01 00:00:00-00"), Le64(base));
    EXPECT_EQ(Enc(t, "2000-01-01 00:00:00+05:30"), Le64(base - 19800000000));  // 1999-12-31 18:30 UTC
    EXPECT_EQ(Enc(t, "2000-01-01 00:00:00-08"), Le64(base + 28800000000));     // 2000-01-01 08:00 UTC
    EXPECT_EQ(Enc(t, "2000-01-01 00:00:00+05:30:15"), Le64(base - 19815000000));
    EXPECT_EQ(Enc(t, "2000-01-01 00:00:00-00:01:15"), Le64(base + 75000000));
    EXPECT_EQ(Enc(t, "2000-01-01 05:30:00.25+05:30"), Le64(base + 250000));
    EXPECT_EQ(Enc(t, "0044-03-15 12:00:00+00 BC"), Le64(-63517780800000000));
    EXPECT_EQ(Enc(t, "0044-03-15 13:00:00+01 BC"), Le64(-63517780800000000));
    EXPECT_EQ(Enc(t, "infinity"), Le64(std::numeric_limits<int64_t>::max()));
  }
}

TEST(RowBinaryTest, TimestampRejectsMalformed) {
  const ColumnType t = Col(kTimestampTz);
  ExpectRejected(t, {"", "2000-01-01", "2000-01-01 ", "2000-01-01T00:00:00", "2000-01-01 00:00", "2000-01-01 0:00:00",
                     "2000-01-01 00-00-00", "2000-01-01 00:00:00.1234567", "2000-01-01 00:00:00Z",
                     "2000-01-01 00:00:00 +00", "2000-01-01 00:00:00+5", "2000-01-01 00:00:00+05:3",
                     "2000-01-01 00:00:00+0530", "2000-01-01 00:00:00+05:30:15:00", "2000-01-01 00:00:00+",
                     "2000-01-01 00:00:00 UTC", "2000-13-01 00:00:00", "Infinity", "1970-01-01 00:00:00x"});
}

TEST(RowBinaryTest, TimestampOutOfInt64RangeIsAnError) {
  const ColumnType t = Col(kTimestampTz);
  // The last representable microsecond after 1970 is 294247-01-10 04:00:54.775807 UTC.
  EXPECT_EQ(Enc(t, "294247-01-10 04:00:54.775807+00"), Le64(std::numeric_limits<int64_t>::max()));
  // PostgreSQL counts from 2000, so its latest timestamps (up to 294276-12-31) do not fit; refuse, never wrap.
  ExpectRejected(t, {"294247-01-10 04:00:54.775808+00", "294247-01-10 04:00:54.775807-01",
                     "294276-12-31 23:59:59.999999+00", "9999999-01-01 00:00:00+00",
                     "9223372036854775807-12-31 00:00:00+00", "9223372036854775807-12-31 00:00:00+00 BC"});
}

// ---------------------------------------------------------------- uuid

TEST(RowBinaryTest, Uuid) {
  const ColumnType t = Col(kUuid);
  // Two little-endian UInt64 halves, high half first.
  EXPECT_EQ(Hex(Enc(t, "01020304-0506-0708-090a-0b0c0d0e0f10")), "08 07 06 05 04 03 02 01 10 0f 0e 0d 0c 0b 0a 09");
  EXPECT_EQ(Hex(Enc(t, "01020304-0506-0708-090A-0B0C0D0E0F10")), "08 07 06 05 04 03 02 01 10 0f 0e 0d 0c 0b 0a 09");
  EXPECT_EQ(Hex(Enc(t, "00000000-0000-0000-0000-000000000000")), "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
  EXPECT_EQ(Hex(Enc(t, "ffffffff-ffff-ffff-ffff-ffffffffffff")), "ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff");
  EXPECT_EQ(Hex(Enc(t, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")), "f8 4e 0b 9c 99 bc ee a0 11 0a 38 bd b9 6b 6d bb");
  ExpectRejected(t, {"", "-", "01020304-0506-0708-090a-0b0c0d0e0f", "01020304-0506-0708-090a-0b0c0d0e0f1",
                     "01020304-0506-0708-090a-0b0c0d0e0f1011", "01020304-0506-0708-090a-0b0c0d0e0f1g",
                     "g1020304-0506-0708-090a-0b0c0d0e0f10", "01020304-0506-0708-090a-0b0c0d0e0f10 ",
                     "{01020304-0506-0708-090a-0b0c0d0e0f10}", "0-1020304-0506-0708-090a-0b0c0d0e0f10"});
}

// ---------------------------------------------------------------- Nullable

TEST(RowBinaryTest, NullableMarkerAndNull) {
  const ColumnType i = Col(kInt4, /*nullable=*/true);
  EXPECT_EQ(Hex(Enc(i, "5")), "00 05 00 00 00");
  EXPECT_EQ(Hex(Enc(i, std::nullopt)), "01");
  const ColumnType s = Col(kText, true);
  EXPECT_EQ(Hex(Enc(s, "")), "00 00");
  EXPECT_EQ(Hex(Enc(s, std::nullopt)), "01");
  EXPECT_EQ(Hex(Enc(Col(kUuid, true), std::nullopt)), "01");
  EXPECT_EQ(Hex(Enc(Dec(12, 2, true), "1")), "00 64 00 00 00 00 00 00 00");
  EXPECT_EQ(Hex(Enc(Col(kBool, true), "t")), "00 01");
}

TEST(RowBinaryTest, NullIntoNonNullableIsAnError) {
  for (uint32_t oid : {kBool, kInt2, kInt4, kInt8, kFloat4, kFloat8, kText, kBytea, kDate, kTimestamp, kTimestampTz,
                       kUuid, kNumeric}) {
    const ColumnType t = Col(oid, /*nullable=*/false);
    std::string out;
    Status st = AppendValue(t, std::nullopt, out);
    EXPECT_TRUE(st.fatal()) << oid;
    EXPECT_TRUE(out.empty()) << oid;
    EXPECT_NE(st.message().find("NULL"), std::string::npos) << st.message();
  }
}

// ---------------------------------------------------------------- EncodedSize and RenderValue

struct Sample {
  ColumnType type;
  std::optional<std::string> text;
};

std::vector<Sample> AllKindSamples() {
  std::vector<Sample> out;
  const std::vector<std::pair<ColumnType, std::string>> base = {
      {Col(kBool), "t"},
      {Col(kInt2), "-2"},
      {Col(kInt4), "123456"},
      {Col(kInt8), "-9223372036854775808"},
      {Col(kFloat4), "0.1"},
      {Col(kFloat8), "-Infinity"},
      {Dec(9, 2), "1234567.89"},
      {Dec(18, 2), "-1.5"},
      {Dec(38, 0), std::string(38, '9')},
      {Col(kText), ""},
      {Col(kText), "hello"},
      {Col(kText), std::string(300, 'q')},
      {Col(kBytea), "\\x00ff"},
      {Col(kBytea), "\\x" + std::string(400, 'e')},
      {Col(kDate), "2000-01-01"},
      {Col(kTimestamp), "2000-01-01 00:00:00.123456"},
      {Col(kTimestampTz), "2000-01-01 00:00:00+05:30"},
      {Col(kUuid), "01020304-0506-0708-090a-0b0c0d0e0f10"},
  };
  for (const auto& [type, text] : base) {
    out.push_back({type, text});
    ColumnType nullable = type;
    nullable.nullable = true;
    nullable.clickhouse_type = "Nullable(" + type.clickhouse_type + ")";
    out.push_back({nullable, text});
    out.push_back({nullable, std::nullopt});
  }
  return out;
}

TEST(RowBinaryTest, EncodedSizeOfEveryKind) {
  for (const Sample& s : AllKindSamples()) {
    SCOPED_TRACE(testing::Message() << s.type.clickhouse_type << " '" << s.text.value_or("NULL") << "'");
    const std::string enc = Enc(s.type, s.text ? std::optional<std::string_view>(*s.text) : std::nullopt);
    ASSERT_FALSE(enc.empty());

    auto exact = EncodedSize(s.type, Exact(enc).view());
    ASSERT_TRUE(exact.ok()) << exact.status().message();
    EXPECT_EQ(*exact, enc.size());

    // Followed by the next value: still only this value's size.
    const std::string more = enc + std::string("\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16);
    auto followed = EncodedSize(s.type, Exact(more).view());
    ASSERT_TRUE(followed.ok()) << followed.status().message();
    EXPECT_EQ(*followed, enc.size());

    // Every truncation is an error, read within bounds (Exact makes ASan see any overrun).
    for (size_t k = 0; k < enc.size(); ++k) {
      Exact truncated(std::string_view(enc).substr(0, k));
      auto r = EncodedSize(s.type, truncated.view());
      EXPECT_FALSE(r.ok()) << "prefix of " << k << " bytes of " << enc.size();
      if (!r.ok()) {
        EXPECT_TRUE(r.status().fatal());
      }
    }
  }
}

TEST(RowBinaryTest, EncodedSizeRejectsBadStringLengths) {
  const ColumnType t = Col(kText);
  // An unterminated varint (continuation bit on every byte, including more than 10 of them).
  for (size_t n : {1u, 5u, 10u, 11u, 20u}) {
    Exact bytes(std::string(n, '\x80'));
    EXPECT_FALSE(EncodedSize(t, bytes.view()).ok()) << n;
  }
  // A length far larger than the data, including one that would overflow when added to the header size.
  Exact huge(
      std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
                  "abc",
                  13));
  EXPECT_FALSE(EncodedSize(t, huge.view()).ok());
  Exact long_len(
      std::string("\x05"
                  "abcd",
                  5));
  EXPECT_FALSE(EncodedSize(t, long_len.view()).ok());
  Exact exact_len(
      std::string("\x04"
                  "abcd",
                  5));
  auto r = EncodedSize(t, exact_len.view());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5u);
  // A Nullable marker other than 0 is NULL: one byte.
  ColumnType nullable = Col(kText, true);
  Exact marker("\x01");
  auto m = EncodedSize(nullable, marker.view());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, 1u);
}

TEST(RowBinaryTest, RenderValue) {
  EXPECT_EQ(RenderValue(Col(kInt4), Enc(Col(kInt4), "-42")), "-42");
  EXPECT_EQ(RenderValue(Col(kInt2), Enc(Col(kInt2), "-32768")), "-32768");
  EXPECT_EQ(RenderValue(Col(kInt8), Enc(Col(kInt8), "9223372036854775807")), "9223372036854775807");
  EXPECT_EQ(RenderValue(Col(kBool), Enc(Col(kBool), "t")), "true");
  EXPECT_EQ(RenderValue(Col(kBool), Enc(Col(kBool), "f")), "false");
  EXPECT_EQ(RenderValue(Col(kFloat8), Enc(Col(kFloat8), "0.1")), "0.1");
  EXPECT_EQ(RenderValue(Col(kFloat4), Enc(Col(kFloat4), "1.5")), "1.5");
  EXPECT_EQ(RenderValue(Col(kText), Enc(Col(kText), "hello")), "hello");
  EXPECT_EQ(RenderValue(Col(kDate), Enc(Col(kDate), "2000-01-01")), "10957");
  EXPECT_EQ(RenderValue(Col(kTimestamp), Enc(Col(kTimestamp), "2000-01-01 00:00:00")), "946684800000000");
  EXPECT_EQ(RenderValue(Col(kUuid), Enc(Col(kUuid), "01020304-0506-0708-090a-0b0c0d0e0f10")),
            "01020304-0506-0708-090a-0b0c0d0e0f10");
  EXPECT_EQ(RenderValue(Col(kInt4, true), Enc(Col(kInt4, true), "7")), "7");
  EXPECT_EQ(RenderValue(Col(kInt4, true), Enc(Col(kInt4, true), std::nullopt)), "NULL");
  EXPECT_EQ(RenderValue(Col(kText, true), Enc(Col(kText, true), "x y")), "x y");
  EXPECT_EQ(RenderValue(Col(kInt4), Exact("\x01\x02").view()), "<truncated>");
}

TEST(RowBinaryTest, RenderValueNeverReadsOutOfBounds) {
  for (const Sample& s : AllKindSamples()) {
    const std::string enc = Enc(s.type, s.text ? std::optional<std::string_view>(*s.text) : std::nullopt);
    for (size_t k = 0; k <= enc.size(); ++k) {
      Exact prefix(std::string_view(enc).substr(0, k));
      (void)RenderValue(s.type, prefix.view());
    }
  }
  Exact bad_varint(std::string(12, '\xff'));
  (void)RenderValue(Col(kText), bad_varint.view());
  Exact long_len(
      std::string("\x7f"
                  "ab",
                  3));
  EXPECT_EQ(RenderValue(Col(kText), long_len.view()), "ab");
}

}  // namespace

TEST(RowBinaryCompositeTest, CompositeTextBecomesAJsonObjectOfFieldTexts) {
  const auto type = streamshop::clickhouse::MapColumnType(streamshop::testing::CompositeType({"a", "b", "c"}),
                                                          /*nullable=*/false, Dialect::kModern);
  const auto encode = [&](std::string_view text) {
    std::string out;
    const auto st = streamshop::clickhouse::AppendValue(type, text, out);
    return st.ok() ? streamshop::clickhouse::RenderValue(type, out) : "error: " + st.message();
  };
  EXPECT_EQ(encode("(1,x,)"), R"j({"a":"1","b":"x","c":null})j");
  EXPECT_EQ(encode(R"j((-1,"x,""y""",""))j"), R"j({"a":"-1","b":"x,\"y\"","c":""})j");
  EXPECT_EQ(encode("(,\"back\\\\slash\",\"tab\tand \\\"q\\\"\")"),
            R"j({"a":null,"b":"back\\slash","c":"tab\tand \"q\""})j");
  EXPECT_EQ(encode(R"j(("(1,2)",2,3))j"), R"j({"a":"(1,2)","b":"2","c":"3"})j");
  EXPECT_NE(encode("(1,2)").find("fewer fields"), std::string::npos);
  EXPECT_NE(encode("(1,2,3,4)").find("more fields"), std::string::npos);
  EXPECT_NE(encode(R"j((1,"open,3))j").find("unterminated"), std::string::npos);
  EXPECT_NE(encode("1,2,3").find("not a composite"), std::string::npos);
}

// ---------------------------------------------------------------- modern types

namespace {

// Little-endian 32-byte two's complement of a decimal integer string, by schoolbook arithmetic on bytes
// (independent of the encoder's limbs).
std::string Le256(std::string_view decimal) {
  const bool negative = !decimal.empty() && decimal[0] == '-';
  if (negative) decimal.remove_prefix(1);
  uint8_t bytes[32] = {};
  for (char c : decimal) {
    unsigned carry = static_cast<unsigned>(c - '0');
    for (uint8_t& b : bytes) {
      const unsigned v = b * 10u + carry;
      b = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
  }
  if (negative) {
    unsigned carry = 1;
    for (uint8_t& b : bytes) {
      const unsigned v = static_cast<uint8_t>(~b) + carry;
      b = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
  }
  return std::string(reinterpret_cast<const char*>(bytes), 32);
}

constexpr uint32_t kIntArray = 1007;

ColumnType ArrayOf(uint32_t element, int32_t typmod = -1) {
  ColumnType t =
      MapColumnType(streamshop::testing::PgType(kIntArray, typmod, {false, element}), false, Dialect::kModern);
  EXPECT_EQ(t.kind, ValueKind::kArray);
  return t;
}

}  // namespace

TEST(RowBinaryTest, Decimal256) {
  const ColumnType t = Dec(76, 0);
  EXPECT_EQ(t.clickhouse_type, "Decimal(76, 0)");
  const std::string max76(76, '9');
  EXPECT_EQ(Hex(Enc(t, max76)), Hex(Le256(max76)));
  EXPECT_EQ(Hex(Enc(t, "-" + max76)), Hex(Le256("-" + max76)));
  EXPECT_EQ(Hex(Enc(t, "-1")), Hex(std::string(32, '\xff')));
  EXPECT_EQ(Hex(Enc(t, "0")), Hex(std::string(32, '\0')));
  EXPECT_EQ(Hex(Enc(t, "-0")), Hex(std::string(32, '\0')));
  // Measured on ClickHouse 26.9: reinterpretAsString(toDecimal256('-1', 0)) is 32 bytes 0xff.
  const ColumnType scaled = Dec(50, 10, true);
  EXPECT_EQ(scaled.clickhouse_type, "Nullable(Decimal(50, 10))");
  EXPECT_EQ(Hex(Enc(scaled, "-1234567890123456789012345678901234567890.5")),
            Hex(std::string(1, '\0') + Le256("-12345678901234567890123456789012345678905000000000")));
  EXPECT_EQ(Hex(Enc(scaled, "0.0000000001")), Hex(std::string(1, '\0') + Le256("1")));
  ExpectRejected(t, {std::string(77, '9'), "NaN", "Infinity", "1.5", "", "-", "1e5"});
  ExpectRejected(scaled, {"1.00000000001", std::string(41, '1')});
  EXPECT_EQ(EncodedSize(t, Le256("5")).value(), 32u);
  EXPECT_EQ(EncodedSize(scaled, "\x01").value(), 1u);
}

TEST(RowBinaryTest, ArrayOfIntegersWithNullsAndEmpty) {
  const ColumnType t = ArrayOf(kInt4);
  const std::string not_null = std::string(1, '\0');
  EXPECT_EQ(Hex(Enc(t, "{}")), "00");
  EXPECT_EQ(Hex(Enc(t, "{1,NULL,-3}")), Hex("\x03" + not_null + Le32(1) + "\x01" + not_null + Le32(-3)));
  EXPECT_EQ(Hex(Enc(t, "{null}")), "01 01");
  ExpectRejected(t, {"{{1,2},{3,4}}", "[0:1]={1,2}", "{1,x}", "{1,", "1,2", "", "{1,}", "{\"1}"});
  const std::string encoded = Enc(t, "{7,NULL}");
  EXPECT_EQ(EncodedSize(t, encoded + "rest").value(), encoded.size());
  EXPECT_FALSE(EncodedSize(t, encoded.substr(0, encoded.size() - 1)).ok());
  EXPECT_EQ(RenderValue(t, encoded), "[7,NULL]");
}

TEST(RowBinaryTest, ArrayOfTextKeepsQuotesCommasBackslashes) {
  const ColumnType t = ArrayOf(kText);
  const auto str = [](std::string_view s) {
    std::string out(1, '\0');
    AppendVarUInt(out, s.size());
    return out + std::string(s);
  };
  // PostgreSQL's output of ARRAY['a,b', 'say "hi"', 'back\\slash', 'NULL', NULL, '', ' x ']
  EXPECT_EQ(
      Hex(Enc(t, R"({"a,b","say \"hi\"","back\\slash","NULL",NULL,""," x "})")),
      Hex("\x07" + str("a,b") + str("say \"hi\"") + str("back\\slash") + str("NULL") + "\x01" + str("") + str(" x ")));
  ExpectRejected(t, {"{a,{b}}", R"({"a)"});
}

TEST(RowBinaryTest, ArrayOfDecimalsAndDatesUsesTheElementEncoding) {
  const ColumnType t = ArrayOf(kNumeric, NumericTypmod(5, 2));
  EXPECT_EQ(t.clickhouse_type, "Array(Nullable(Decimal(5, 2)))");
  EXPECT_EQ(Hex(Enc(t, "{1.50,-2.00}")), Hex(std::string("\x02") + '\0' + Le32(150) + '\0' + Le32(-200)));
  ExpectRejected(t, {"{NaN}", "{1000.00}"});
  const ColumnType d = ArrayOf(kDate);
  EXPECT_EQ(Hex(Enc(d, R"({1970-01-02,infinity,"0001-01-01 BC"})")),
            Hex(std::string("\x03") + '\0' + Le32(1) + '\0' + Le32(2147483647) + '\0' +
                Le32(static_cast<int32_t>(DaysFromCivil(0, 1, 1)))));
}

TEST(RowBinaryTest, DefaultValues) {
  std::string out;
  streamshop::clickhouse::AppendDefault(Col(kInt4, true), out);
  EXPECT_EQ(Hex(out), "01");
  const struct {
    ColumnType type;
    size_t bytes;
  } cases[] = {{Col(kInt4), 4}, {Col(kBool), 1},  {Col(kTimestamp), 8}, {Col(kUuid), 16}, {Dec(60, 2), 32},
               {Col(kText), 1}, {Col(kBytea), 1}, {ArrayOf(kInt8), 1},  {Col(kDate), 4}};
  for (const auto& c : cases) {
    out.clear();
    streamshop::clickhouse::AppendDefault(c.type, out);
    EXPECT_EQ(out, std::string(c.bytes, '\0')) << c.type.clickhouse_type;
    EXPECT_EQ(EncodedSize(c.type, out).value(), c.bytes) << c.type.clickhouse_type;
  }
}
