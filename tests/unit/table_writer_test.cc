// TableWriter's encoding rules: key identity on encoded bytes, and values ClickHouse cannot hold (NULL in their
// column, the PostgreSQL text in _unfit, the row kept; a key value that cannot be held is the row's error).
#include "clickhouse/TableWriter.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "clickhouse/RowBinary.h"
#include "pg/Catalog.h"

using streamshop::clickhouse::AppendUInt8;
using streamshop::clickhouse::AppendValue;
using streamshop::clickhouse::AppendVarUInt;
using streamshop::clickhouse::Dialect;
using streamshop::clickhouse::RowValues;
using streamshop::clickhouse::TableWriter;

namespace {

constexpr uint32_t kInt4 = 23, kText = 25, kTimestamp = 1114, kNumeric = 1700;

int32_t NumericTypmod(int precision, int scale) { return ((precision << 16) | (scale & 0x7ff)) + 4; }

// (a text, b text, v int) with primary key (a, b).
TableWriter TextKeyTable() {
  streamshop::pg::TableInfo t{1, "public", "pairs", {}};
  t.columns.push_back({"a", kText, -1, 1, {}});
  t.columns.push_back({"b", kText, -1, 2, {}});
  t.columns.push_back({"v", kInt4, -1, 0, {}});
  return TableWriter(streamshop::pg::SchemaOf(t), Dialect::kLegacy, "analytics");
}

// (id numeric(3,2) key, n numeric(3,2), "we""ird" timestamp).
TableWriter NumericTable() {
  streamshop::pg::TableInfo t{2, "public", "nums", {}};
  t.columns.push_back({"id", kNumeric, NumericTypmod(3, 2), 1, {}});
  t.columns.push_back({"n", kNumeric, NumericTypmod(3, 2), 0, {}});
  t.columns.push_back({"we\"ird", kTimestamp, -1, 0, {}});
  return TableWriter(streamshop::pg::SchemaOf(t), Dialect::kLegacy, "analytics");
}

std::string Nullable(std::string_view json) {
  std::string out;
  AppendUInt8(out, 0);
  AppendVarUInt(out, json.size());
  out.append(json);
  return out;
}

TEST(TableWriterTest, KeysWhoseRenderingsCollideAreDifferentKeys) {
  TableWriter w = TextKeyTable();
  const RowValues old_key{"x, b=y", "z", std::nullopt};
  const RowValues new_key{"x", "y, b=z", "1"};
  EXPECT_FALSE(w.SameKey(old_key, new_key));
  EXPECT_FALSE(w.SameKey(RowValues{"a=", "b", {}}, RowValues{"a", "=b", {}}));
  EXPECT_FALSE(w.SameKey(RowValues{"'q'", "NULL", {}}, RowValues{"q", "NULL", {}}));
  EXPECT_FALSE(w.SameKey(RowValues{"", "x", {}}, RowValues{"x", "", {}}));
}

TEST(TableWriterTest, DescribeKeyQuotesWhatCouldBeMisread) {
  TableWriter w = TextKeyTable();
  EXPECT_EQ(w.DescribeKey(RowValues{"x, b=y", "z", {}}), "a='x, b=y', b=z");
  EXPECT_EQ(w.DescribeKey(RowValues{"x", "y, b=z", {}}), "a=x, b='y, b=z'");
  EXPECT_EQ(w.DescribeKey(RowValues{"NULL", "", {}}), "a='NULL', b=''");
  EXPECT_EQ(w.DescribeKey(RowValues{"it's", "a\\b", {}}), R"(a='it\'s', b='a\\b')");
}

TEST(TableWriterTest, SameKeyIgnoresNonKeyColumns) {
  TableWriter w = TextKeyTable();
  EXPECT_TRUE(w.SameKey(RowValues{"x, b=y", "z", "1"}, RowValues{"x, b=y", "z", std::nullopt}));
  EXPECT_TRUE(w.SameKey(RowValues{"NULL", "", "1"}, RowValues{"NULL", "", "2"}));
}

TEST(TableWriterTest, SameKeyComparesAsClickHouseStoresTheKey) {
  TableWriter w = NumericTable();
  EXPECT_TRUE(w.SameKey(RowValues{"1.5", {}, {}}, RowValues{"1.50", {}, {}}));  // one Decimal(3,2) value
  EXPECT_FALSE(w.SameKey(RowValues{"1.5", {}, {}}, RowValues{"1.51", {}, {}}));
  // A key ClickHouse cannot hold is compared value by value.
  EXPECT_TRUE(w.SameKey(RowValues{"NaN", {}, {}}, RowValues{"NaN", {}, {}}));
  EXPECT_FALSE(w.SameKey(RowValues{"NaN", {}, {}}, RowValues{"1.00", {}, {}}));
}

TEST(TableWriterTest, ValueThatDoesNotFitIsNullWithItsTextInUnfit) {
  TableWriter w = NumericTable();
  std::string out;
  TableWriter::Unfit unfit;
  ASSERT_TRUE(w.EncodeColumns(RowValues{"1.25", "NaN", "2020-01-02 03:04:05"}, out, &unfit).ok());
  EXPECT_EQ(unfit.values, 1u);
  EXPECT_FALSE(unfit.in_key);
  EXPECT_NE(unfit.reason.find("column n"), std::string::npos) << unfit.reason;
  std::string expected;
  ASSERT_TRUE(AppendValue(w.columns()[0].type, "1.25", expected).ok());
  AppendUInt8(expected, 1);  // n: NULL
  ASSERT_TRUE(AppendValue(w.columns()[2].type, "2020-01-02 03:04:05", expected).ok());
  expected += Nullable(R"({"n":"NaN"})");
  EXPECT_EQ(out, expected);
}

TEST(TableWriterTest, EveryValueThatDoesNotFitIsKeptWithEscapedNames) {
  TableWriter w = NumericTable();
  std::string out;
  TableWriter::Unfit unfit;
  ASSERT_TRUE(w.EncodeColumns(RowValues{"1.00", "-Infinity", "294270-01-01 00:00:00"}, out, &unfit).ok());
  EXPECT_EQ(unfit.values, 2u);
  EXPECT_NE(out.find(R"({"n":"-Infinity","we\"ird":"294270-01-01 00:00:00"})"), std::string::npos);
}

TEST(TableWriterTest, RowThatFitsHasNullUnfit) {
  TableWriter w = NumericTable();
  std::string out;
  TableWriter::Unfit unfit;
  ASSERT_TRUE(w.EncodeColumns(RowValues{"1.00", std::nullopt, std::nullopt}, out, &unfit).ok());
  EXPECT_EQ(unfit.values, 0u);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\x01');  // _unfit NULL
}

TEST(TableWriterTest, KeyValueThatDoesNotFitIsAnError) {
  TableWriter w = NumericTable();
  std::string out;
  TableWriter::Unfit unfit;
  auto st = w.EncodeColumns(RowValues{"NaN", "1.00", std::nullopt}, out, &unfit);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(unfit.in_key);
  EXPECT_NE(st.message().find("column id"), std::string::npos) << st.message();
}

TEST(TableWriterTest, AppendRowKeepsTheRowAndRecordsADeadLetter) {
  TableWriter w = NumericTable();
  ASSERT_TRUE(w.AppendRow(RowValues{"1.00", "NaN", std::nullopt}, 42, false).ok());
  EXPECT_EQ(w.dead_letters(), 1u);
  EXPECT_EQ(w.pending_rows(), 2u);  // the row and its dead letter
  ASSERT_TRUE(w.AppendRow(RowValues{"NaN", "1.00", std::nullopt}, 43, false).ok());
  EXPECT_EQ(w.dead_letters(), 2u);
  EXPECT_EQ(w.pending_rows(), 3u);  // a key that cannot be held: only the dead letter
}

TEST(TableWriterTest, SqlNamesTheUnfitColumn) {
  TableWriter w = NumericTable();
  EXPECT_NE(w.CreateTableSql().find("_unfit Nullable(String)"), std::string::npos) << w.CreateTableSql();
  EXPECT_NE(w.SelectLiveRowsSql().find(", _unfit FROM"), std::string::npos) << w.SelectLiveRowsSql();
}

// Modern server: (id int key, n int NOT NULL, a int[] NOT NULL, e enum NOT NULL, m int, d numeric(3,2) NOT NULL).
TableWriter NotNullTable(Dialect dialect = Dialect::kModern) {
  streamshop::pg::TableInfo t{3, "public", "nn", {}};
  t.columns.push_back({"id", kInt4, -1, 1, {}});
  streamshop::pg::ColumnInfo n{"n", kInt4, -1, 0, {}};
  n.not_null = true;
  t.columns.push_back(n);
  streamshop::pg::ColumnInfo a{"a", 1007, -1, 0, {}};
  a.not_null = true;
  a.element_oid = kInt4;
  t.columns.push_back(a);
  streamshop::pg::ColumnInfo e{"e", 90001, -1, 0, {}};
  e.not_null = true;
  e.is_enum = true;
  t.columns.push_back(e);
  t.columns.push_back({"m", kInt4, -1, 0, {}});
  streamshop::pg::ColumnInfo d{"d", kNumeric, NumericTypmod(3, 2), 0, {}};
  d.not_null = true;
  t.columns.push_back(d);
  return TableWriter(streamshop::pg::SchemaOf(t), dialect, "analytics");
}

TEST(TableWriterTest, NotNullColumnsAreNotNullableOnModernServersOnly) {
  const TableWriter modern = NotNullTable();
  EXPECT_EQ(modern.columns()[1].type.clickhouse_type, "Int32");
  EXPECT_EQ(modern.columns()[2].type.clickhouse_type, "Array(Nullable(Int32))");
  EXPECT_EQ(modern.columns()[3].type.clickhouse_type, "LowCardinality(String)");
  EXPECT_EQ(modern.columns()[4].type.clickhouse_type, "Nullable(Int32)");
  EXPECT_EQ(modern.columns()[5].type.clickhouse_type, "Decimal(3, 2)");
  const TableWriter legacy = NotNullTable(Dialect::kLegacy);
  EXPECT_EQ(legacy.columns()[1].type.clickhouse_type, "Nullable(Int32)");
  EXPECT_EQ(legacy.columns()[2].type.clickhouse_type, "Nullable(String)");
  EXPECT_EQ(legacy.columns()[3].type.clickhouse_type, "Nullable(String)");
}

TEST(TableWriterTest, DeleteMarkerWritesDefaultsForNotNullColumns) {
  TableWriter w = NotNullTable();
  std::string out;
  ASSERT_TRUE(w.EncodeColumns(RowValues{"7", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt}, out,
                              nullptr, /*key_only=*/true)
                  .ok());
  std::string expected;
  ASSERT_TRUE(AppendValue(w.columns()[0].type, "7", expected).ok());
  expected += std::string(4, '\0');  // n: 0
  expected += std::string(1, '\0');  // a: []
  expected += std::string(1, '\0');  // e: ''
  AppendUInt8(expected, 1);          // m: NULL
  expected += std::string(4, '\0');  // d: 0.00
  AppendUInt8(expected, 1);          // _unfit: NULL
  EXPECT_EQ(out, expected);
  // A delete marker is appended as a row; a live row with NULL in a NOT NULL column is not (a dead letter).
  ASSERT_TRUE(w.AppendRow(RowValues{"7", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt}, 5,
                          /*deleted=*/true)
                  .ok());
  EXPECT_EQ(w.dead_letters(), 0u);
  ASSERT_TRUE(w.AppendRow(RowValues{"8", std::nullopt, "{}", "x", std::nullopt, "1.00"}, 6, /*deleted=*/false).ok());
  EXPECT_EQ(w.dead_letters(), 1u);
  EXPECT_EQ(w.pending_rows(), 2u);  // the delete marker and the dead letter
}

TEST(TableWriterTest, ValueThatDoesNotFitANotNullColumnIsItsDefaultWithTheTextInUnfit) {
  TableWriter w = NotNullTable();
  std::string out;
  TableWriter::Unfit unfit;
  ASSERT_TRUE(w.EncodeColumns(RowValues{"1", "2", "{{1,2},{3,4}}", "x", std::nullopt, "NaN"}, out, &unfit).ok());
  EXPECT_EQ(unfit.values, 2u);
  std::string expected;
  ASSERT_TRUE(AppendValue(w.columns()[0].type, "1", expected).ok());
  ASSERT_TRUE(AppendValue(w.columns()[1].type, "2", expected).ok());
  expected += std::string(1, '\0');  // a: [] (the text in _unfit)
  ASSERT_TRUE(AppendValue(w.columns()[3].type, "x", expected).ok());
  AppendUInt8(expected, 1);          // m: NULL
  expected += std::string(4, '\0');  // d: 0.00 (the text in _unfit)
  expected += Nullable(R"({"a":"{{1,2},{3,4}}","d":"NaN"})");
  EXPECT_EQ(out, expected);
}

}  // namespace
