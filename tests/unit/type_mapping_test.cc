#include "clickhouse/TypeMapping.h"

#include <gtest/gtest.h>

#include "pg/Catalog.h"
#include "pg_types.h"

#include <cstdint>
#include <string>

using streamshop::clickhouse::ColumnType;
using streamshop::clickhouse::DecimalWidth;
using streamshop::clickhouse::Dialect;
using streamshop::clickhouse::DialectForVersion;
using streamshop::clickhouse::MapColumnType;
using streamshop::clickhouse::ValueKind;

namespace {

// PostgreSQL built-in type OIDs (pg_type.dat), spelled out independently of the code under test.
constexpr uint32_t kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kJson = 114, kFloat4 = 700,
                   kFloat8 = 701, kBpchar = 1042, kVarchar = 1043, kDate = 1082, kTime = 1083, kTimestamp = 1114,
                   kTimestampTz = 1184, kInterval = 1186, kNumeric = 1700, kUuid = 2950, kJsonb = 3802,
                   kInt4Array = 1007, kInet = 869, kUserEnum = 90001;

// numeric(p, s) typmod as PostgreSQL computes it (make_numeric_typmod): ((p << 16) | (s & 0x7ff)) + VARHDRSZ.
int32_t NumericTypmod(int precision, int scale) { return ((precision << 16) | (scale & 0x7ff)) + 4; }

struct MappingCase {
  uint32_t oid;
  ValueKind kind;
  const char* legacy;
  const char* modern;
};

const MappingCase kMappings[] = {
    {kBool, ValueKind::kBool, "UInt8", "Bool"},
    {kInt2, ValueKind::kInt16, "Int16", "Int16"},
    {kInt4, ValueKind::kInt32, "Int32", "Int32"},
    {kInt8, ValueKind::kInt64, "Int64", "Int64"},
    {kFloat4, ValueKind::kFloat32, "Float32", "Float32"},
    {kFloat8, ValueKind::kFloat64, "Float64", "Float64"},
    {kBytea, ValueKind::kBytes, "String", "String"},
    {kDate, ValueKind::kDate, "Int32", "Date32"},
    {kTimestamp, ValueKind::kTimestamp, "Int64", "DateTime64(6)"},
    {kTimestampTz, ValueKind::kTimestamp, "Int64", "DateTime64(6, 'UTC')"},
    {kUuid, ValueKind::kUuid, "UUID", "UUID"},
    {kNumeric, ValueKind::kString, "String", "String"},  // typmod -1: no declared precision
    {kText, ValueKind::kString, "String", "String"},
    {kVarchar, ValueKind::kString, "String", "String"},
    {kBpchar, ValueKind::kString, "String", "String"},
    {kJson, ValueKind::kString, "String", "String"},
    {kJsonb, ValueKind::kString, "String", "String"},
    {kTime, ValueKind::kString, "String", "String"},
    {kInterval, ValueKind::kString, "String", "String"},
    {kInt4Array, ValueKind::kString, "String", "String"},
    {kInet, ValueKind::kString, "String", "String"},
    {kUserEnum, ValueKind::kString, "String", "String"},
};

TEST(TypeMappingTest, EveryOidInBothDialectsKeyAndNullable) {
  for (const MappingCase& c : kMappings) {
    for (Dialect d : {Dialect::kLegacy, Dialect::kModern}) {
      const std::string base = d == Dialect::kLegacy ? c.legacy : c.modern;
      SCOPED_TRACE(testing::Message() << "oid " << c.oid << (d == Dialect::kLegacy ? " legacy" : " modern"));

      const ColumnType key = MapColumnType(streamshop::pg::TypeOf(c.oid, -1), /*nullable=*/false, d);
      EXPECT_EQ(key.kind, c.kind);
      EXPECT_FALSE(key.nullable);
      EXPECT_EQ(key.clickhouse_type, base);

      const ColumnType value = MapColumnType(streamshop::pg::TypeOf(c.oid, -1), /*nullable=*/true, d);
      EXPECT_EQ(value.kind, c.kind);
      EXPECT_TRUE(value.nullable);
      EXPECT_EQ(value.clickhouse_type, "Nullable(" + base + ")");
    }
  }
}

TEST(TypeMappingTest, VarcharTypmodIsIgnored) {
  // varchar(20) carries typmod 24; it is still an exact-text String.
  const ColumnType t = MapColumnType(streamshop::pg::TypeOf(kVarchar, 24), true, Dialect::kModern);
  EXPECT_EQ(t.kind, ValueKind::kString);
  EXPECT_EQ(t.clickhouse_type, "Nullable(String)");
}

TEST(TypeMappingTest, NumericWithTypmodIsDecimal) {
  for (Dialect d : {Dialect::kLegacy, Dialect::kModern}) {
    const ColumnType t = MapColumnType(streamshop::pg::TypeOf(kNumeric, NumericTypmod(12, 2)), true, d);
    EXPECT_EQ(t.kind, ValueKind::kDecimal);
    EXPECT_EQ(t.precision, 12);
    EXPECT_EQ(t.scale, 2);
    EXPECT_EQ(t.clickhouse_type, "Nullable(Decimal(12, 2))");

    const ColumnType key = MapColumnType(streamshop::pg::TypeOf(kNumeric, NumericTypmod(12, 2)), false, d);
    EXPECT_EQ(key.clickhouse_type, "Decimal(12, 2)");
  }
}

TEST(TypeMappingTest, NumericBoundaries) {
  struct Case {
    int precision, scale;
    const char* type;  // nullptr: String
  };
  const Case cases[] = {
      {1, 0, "Decimal(1, 0)"},     {9, 9, "Decimal(9, 9)"},
      {10, 0, "Decimal(10, 0)"},   {18, 4, "Decimal(18, 4)"},
      {19, 0, "Decimal(19, 0)"},   {38, 0, "Decimal(38, 0)"},
      {38, 38, "Decimal(38, 38)"}, {39, 0, "Decimal(39, 0)"},  // Decimal256 (modern servers)
      {39, 2, "Decimal(39, 2)"},   {76, 0, "Decimal(76, 0)"},
      {76, 76, "Decimal(76, 76)"}, {77, 0, nullptr},
      {1000, 0, nullptr},          {5, -2, nullptr},
      {10, -1000, nullptr},        {2, 4, nullptr},  // PostgreSQL 15 allows scale > precision; ClickHouse does not
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "numeric(" << c.precision << ", " << c.scale << ")");
    const ColumnType t =
        MapColumnType(streamshop::pg::TypeOf(kNumeric, NumericTypmod(c.precision, c.scale)), false, Dialect::kModern);
    if (c.type == nullptr) {
      EXPECT_EQ(t.kind, ValueKind::kString);
      EXPECT_EQ(t.clickhouse_type, "String");
    } else {
      EXPECT_EQ(t.kind, ValueKind::kDecimal);
      EXPECT_EQ(t.precision, c.precision);
      EXPECT_EQ(t.scale, c.scale);
      EXPECT_EQ(t.clickhouse_type, c.type);
    }
  }
}

TEST(TypeMappingTest, NumericWithoutTypmodIsString) {
  for (int32_t typmod : {-1, 0, 3}) {
    const ColumnType t = MapColumnType(streamshop::pg::TypeOf(kNumeric, typmod), true, Dialect::kLegacy);
    EXPECT_EQ(t.kind, ValueKind::kString) << typmod;
    EXPECT_EQ(t.clickhouse_type, "Nullable(String)");
  }
}

TEST(TypeMappingTest, DialectForVersion) {
  struct Case {
    const char* version;
    Dialect dialect;
  };
  const Case cases[] = {
      {"18.16.1", Dialect::kLegacy}, {"23.1.2", Dialect::kLegacy},    {"22.12.1.1", Dialect::kLegacy},
      {"1.1", Dialect::kLegacy},     {"23.2.1.1", Dialect::kModern},  {"23.2", Dialect::kModern},
      {"23.10.1", Dialect::kModern}, {"24.8.4.13", Dialect::kModern}, {"24.1.1", Dialect::kModern},
      {"100.0.0", Dialect::kModern},
  };
  for (const Case& c : cases) {
    auto r = DialectForVersion(c.version);
    ASSERT_TRUE(r.ok()) << c.version << ": " << r.status().message();
    EXPECT_EQ(*r, c.dialect) << c.version;
  }
}

TEST(TypeMappingTest, DialectForVersionRejectsGarbage) {
  for (const char* v : {"", "garbage", "23", "23.", ".2", "v23.2", "23.x", "x.1", "twenty.three"}) {
    auto r = DialectForVersion(v);
    ASSERT_FALSE(r.ok()) << "'" << v << "'";
    EXPECT_TRUE(r.status().fatal());
    EXPECT_NE(r.status().message().find("cannot parse ClickHouse version"), std::string::npos);
  }
}

TEST(TypeMappingTest, DecimalWidth) {
  EXPECT_EQ(DecimalWidth(1), 4);
  EXPECT_EQ(DecimalWidth(9), 4);
  EXPECT_EQ(DecimalWidth(10), 8);
  EXPECT_EQ(DecimalWidth(18), 8);
  EXPECT_EQ(DecimalWidth(19), 16);
  EXPECT_EQ(DecimalWidth(38), 16);
}

}  // namespace

TEST(TypeMappingTest, LegacyKeepsNumericsBeyond38DigitsAsText) {
  for (int precision : {39, 50, 76}) {
    const ColumnType t =
        MapColumnType(streamshop::pg::TypeOf(kNumeric, NumericTypmod(precision, 2)), true, Dialect::kLegacy);
    EXPECT_EQ(t.kind, ValueKind::kString) << precision;
    EXPECT_EQ(t.clickhouse_type, "Nullable(String)");
  }
}

TEST(TypeMappingTest, DecimalWidthOfDecimal256) {
  EXPECT_EQ(DecimalWidth(39), 32);
  EXPECT_EQ(DecimalWidth(76), 32);
}

TEST(TypeMappingTest, EnumsAreLowCardinalityOnModernServersOnly) {
  const streamshop::testing::PgTypeDetails details{/*is_enum=*/true, 0};
  EXPECT_EQ(MapColumnType(streamshop::testing::PgType(kUserEnum, -1, details), true, Dialect::kModern).clickhouse_type,
            "LowCardinality(Nullable(String))");
  const ColumnType not_null =
      MapColumnType(streamshop::testing::PgType(kUserEnum, -1, details), false, Dialect::kModern);
  EXPECT_EQ(not_null.clickhouse_type, "LowCardinality(String)");
  EXPECT_EQ(not_null.kind, ValueKind::kString);
  EXPECT_EQ(MapColumnType(streamshop::testing::PgType(kUserEnum, -1, details), true, Dialect::kLegacy).clickhouse_type,
            "Nullable(String)");
}

TEST(TypeMappingTest, NotNullArraysOfNativeElementsAreArraysOnModernServers) {
  const auto array_of = [](uint32_t element, int32_t typmod, bool nullable, Dialect d) {
    return MapColumnType(streamshop::testing::PgType(kInt4Array, typmod, {false, element}), nullable, d);
  };
  ColumnType t = array_of(kInt4, -1, false, Dialect::kModern);
  EXPECT_EQ(t.kind, ValueKind::kArray);
  EXPECT_EQ(t.clickhouse_type, "Array(Nullable(Int32))");
  ASSERT_EQ(t.element.size(), 1u);
  EXPECT_EQ(t.element[0].kind, ValueKind::kInt32);
  // The column's typmod is the element's.
  EXPECT_EQ(array_of(kNumeric, NumericTypmod(10, 2), false, Dialect::kModern).clickhouse_type,
            "Array(Nullable(Decimal(10, 2)))");
  EXPECT_EQ(array_of(kText, -1, false, Dialect::kModern).clickhouse_type, "Array(Nullable(String))");
  EXPECT_EQ(array_of(kTimestampTz, -1, false, Dialect::kModern).clickhouse_type,
            "Array(Nullable(DateTime64(6, 'UTC')))");
  // ClickHouse has no Nullable(Array): a nullable array column keeps its exact text.
  EXPECT_EQ(array_of(kInt4, -1, true, Dialect::kModern).clickhouse_type, "Nullable(String)");
  // Elements without a native type (their text is not a native value) keep the array's text.
  EXPECT_EQ(array_of(kInet, -1, false, Dialect::kModern).clickhouse_type, "String");
  EXPECT_EQ(array_of(kJsonb, -1, false, Dialect::kModern).clickhouse_type, "String");
  EXPECT_EQ(array_of(kInterval, -1, false, Dialect::kModern).clickhouse_type, "String");
  EXPECT_EQ(array_of(kInt4, -1, false, Dialect::kLegacy).clickhouse_type, "String");
}
