#include "clickhouse/ColumnEvolution.h"

#include <gtest/gtest.h>

#include "pg/Catalog.h"
#include "pg_types.h"

using streamshop::clickhouse::ColumnType;
using streamshop::clickhouse::Dialect;
using streamshop::clickhouse::MapColumnType;
using streamshop::clickhouse::PlanColumn;
using streamshop::clickhouse::ValueKind;

namespace {

constexpr uint32_t kInt4 = 23, kInt8 = 20, kInt2 = 21, kFloat4 = 700, kFloat8 = 701, kText = 25, kNumeric = 1700,
                   kBool = 16, kUuid = 2950, kDate = 1082;
int32_t NumericTypmod(int p, int s) { return ((p << 16) | s) + 4; }
ColumnType Col(uint32_t oid, int32_t typmod = -1, bool nullable = true) {
  return MapColumnType(streamshop::pg::TypeOf(oid, typmod), nullable, Dialect::kLegacy);
}

}  // namespace

TEST(ColumnEvolution, SameTypeNeedsNothing) {
  auto plan = PlanColumn(Col(kInt4), "Nullable(Int32)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
  EXPECT_EQ(plan->effective.kind, ValueKind::kInt32);
}

TEST(ColumnEvolution, WiderPostgresTypeWidensTheColumn) {
  auto plan = PlanColumn(Col(kInt8), "Nullable(Int32)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(Int64)");
  EXPECT_EQ(plan->effective.kind, ValueKind::kInt64);
  plan = PlanColumn(Col(kFloat8), "Nullable(Float32)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(Float64)");
  plan = PlanColumn(Col(kNumeric, NumericTypmod(14, 2)), "Nullable(Decimal(10, 2))", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(Decimal(14, 2))");
}

TEST(ColumnEvolution, ReplayedNarrowValuesKeepTheWiderColumn) {
  auto plan = PlanColumn(Col(kInt2), "Nullable(Int64)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
  EXPECT_EQ(plan->effective.kind, ValueKind::kInt64);
  EXPECT_EQ(plan->effective.clickhouse_type, "Nullable(Int64)");
  plan = PlanColumn(Col(kNumeric, NumericTypmod(10, 2)), "Nullable(Decimal(14, 2))", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
  EXPECT_EQ(plan->effective.precision, 14);
}

TEST(ColumnEvolution, NumbersWidenToTextAndTextTakesAnything) {
  auto plan = PlanColumn(Col(kText), "Nullable(Int32)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(String)");
  plan = PlanColumn(Col(kNumeric), "Nullable(Decimal(10, 2))", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(String)");
  for (uint32_t oid : {kInt4, kBool, kUuid, kDate}) {
    plan = PlanColumn(Col(oid), "Nullable(String)", false);
    ASSERT_TRUE(plan.ok()) << oid;
    EXPECT_FALSE(plan->alter_to);
    EXPECT_EQ(plan->effective.kind, ValueKind::kString);
  }
}

TEST(ColumnEvolution, IncompatibleChangesAreRefused) {
  EXPECT_TRUE(PlanColumn(Col(kBool), "Nullable(Int64)", false).status().fatal());
  EXPECT_TRUE(PlanColumn(Col(kUuid), "Nullable(Int32)", false).status().fatal());
  EXPECT_TRUE(PlanColumn(Col(kNumeric, NumericTypmod(10, 3)), "Nullable(Decimal(10, 2))", false).status().fatal());
  EXPECT_TRUE(PlanColumn(Col(kInt8, -1, false), "Int32", true).status().fatal());  // key columns cannot change
  EXPECT_TRUE(PlanColumn(Col(kInt4, -1, false), "Nullable(Int32)", true).status().fatal());  // into the key
  const auto st = PlanColumn(Col(kBool), "Nullable(Int64)", false).status();
  EXPECT_NE(st.message().find("Nullable(Int64)"), std::string::npos);
}

namespace {
ColumnType Modern(uint32_t oid, bool nullable, streamshop::testing::PgTypeDetails details = {}, int32_t typmod = -1) {
  return MapColumnType(streamshop::testing::PgType(oid, typmod, details), nullable, Dialect::kModern);
}
}  // namespace

TEST(ColumnEvolution, DropNotNullMakesTheColumnNullable) {
  auto plan = PlanColumn(Modern(kInt4, true), "Int32", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(Int32)");
  EXPECT_TRUE(plan->effective.nullable);
  EXPECT_EQ(plan->effective.clickhouse_type, "Nullable(Int32)");
  // With a widening at the same time.
  plan = PlanColumn(Modern(kInt8, true), "Int32", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(Int64)");
  EXPECT_EQ(plan->effective.kind, ValueKind::kInt64);
  // An enum: LowCardinality(Nullable(String)).
  plan = PlanColumn(Modern(kText, true, {true, 0}), "LowCardinality(String)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "LowCardinality(Nullable(String))");
  EXPECT_EQ(plan->effective.kind, ValueKind::kString);
  // An array: ClickHouse has no Nullable(Array); the column becomes the text (and the table is copied again).
  plan = PlanColumn(Modern(1007, true, {false, kInt4}), "Array(Nullable(Int32))", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(String)");
  EXPECT_EQ(plan->effective.kind, ValueKind::kString);
}

TEST(ColumnEvolution, SetNotNullKeepsTheNullableColumn) {
  auto plan = PlanColumn(Modern(kInt4, false), "Nullable(Int32)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
  EXPECT_TRUE(plan->effective.nullable);
  EXPECT_EQ(plan->effective.clickhouse_type, "Nullable(Int32)");
  // Tables created by earlier versions (every non-key column Nullable, enums and wide numerics as String).
  plan = PlanColumn(Modern(kText, false, {true, 0}), "Nullable(String)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
  EXPECT_EQ(plan->effective.clickhouse_type, "Nullable(String)");
  plan = PlanColumn(Modern(kNumeric, true, {}, NumericTypmod(50, 2)), "Nullable(String)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
  EXPECT_EQ(plan->effective.kind, ValueKind::kString);
  plan = PlanColumn(Modern(1007, false, {false, kInt4}), "Nullable(String)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
  EXPECT_EQ(plan->effective.kind, ValueKind::kString);
  // Widening a Nullable column that is now NOT NULL keeps it Nullable.
  plan = PlanColumn(Modern(kInt8, false), "Nullable(Int32)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(Int64)");
  EXPECT_TRUE(plan->effective.nullable);
}

TEST(ColumnEvolution, EnumsAndTextShareStringColumns) {
  // enum → text keeps the LowCardinality column; text → enum keeps the String column.
  auto plan = PlanColumn(Modern(kText, true), "LowCardinality(Nullable(String))", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
  EXPECT_EQ(plan->effective.kind, ValueKind::kString);
  plan = PlanColumn(Modern(kText, true, {true, 0}), "Nullable(String)", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->alter_to);
}

TEST(ColumnEvolution, DecimalWidensIntoDecimal256) {
  auto plan = PlanColumn(Modern(kNumeric, true, {}, NumericTypmod(60, 2)), "Nullable(Decimal(20, 2))", false);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->alter_to, "Nullable(Decimal(60, 2))");
}
