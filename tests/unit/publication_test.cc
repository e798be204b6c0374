// What the snapshot and verify read (pg::CopySql: the publication's columns and row filter) and how a table without
// a key is identified in ClickHouse (TableWriter with model::RowIdentity::kFullRow).
#include <gtest/gtest.h>

#include <string>

#include "clickhouse/TableWriter.h"
#include "pg/Catalog.h"

namespace {

using streamshop::clickhouse::Dialect;
using streamshop::clickhouse::RowValues;
using streamshop::clickhouse::TableWriter;
using streamshop::model::RowIdentity;
using streamshop::pg::ColumnInfo;
using streamshop::pg::CopySql;
using streamshop::pg::TableInfo;

constexpr uint32_t kInt4 = 23, kText = 25;

TableInfo Table() {
  TableInfo t{1, "public", "orders", {}};
  t.columns.push_back(ColumnInfo{"id", kInt4, -1, 1, {}});
  t.columns.push_back(ColumnInfo{"status", kText, -1, 0, {}});
  return t;
}

TEST(CopySqlTest, PublishedColumnsOnly) {
  EXPECT_EQ(CopySql(Table()), R"(COPY (SELECT "id", "status" FROM "public"."orders") TO STDOUT)");
}

TEST(CopySqlTest, RowFilterAndChunkCondition) {
  TableInfo t = Table();
  t.row_filter = "(status <> 'draft'::text)";
  EXPECT_EQ(CopySql(t),
            R"(COPY (SELECT "id", "status" FROM "public"."orders" WHERE ((status <> 'draft'::text))) TO STDOUT)");
  EXPECT_EQ(
      CopySql(t, "ctid >= '(0,0)'::tid"),
      R"(COPY (SELECT "id", "status" FROM "public"."orders" WHERE ((status <> 'draft'::text)) AND ctid >= '(0,0)'::tid) TO STDOUT)");
  t.row_filter.reset();
  EXPECT_EQ(CopySql(t, "ctid >= '(0,0)'::tid"),
            R"(COPY (SELECT "id", "status" FROM "public"."orders" WHERE ctid >= '(0,0)'::tid) TO STDOUT)");
}

TEST(CopySqlTest, DroppedColumnReadsAsNull) {
  TableInfo t = Table();
  t.columns[1].dropped = true;
  EXPECT_EQ(CopySql(t), R"(COPY (SELECT "id", NULL FROM "public"."orders") TO STDOUT)");
}

TableInfo Keyless() {
  TableInfo t{2, "public", "log", {}};
  t.columns.push_back(ColumnInfo{"at", kInt4, -1, 0, {}});
  t.columns.push_back(ColumnInfo{"msg", kText, -1, 0, {}});
  t.identity = RowIdentity::kFullRow;
  return t;
}

TEST(FullRowIdentityTest, OrderedByRowHash) {
  TableWriter w(streamshop::pg::SchemaOf(Keyless()), Dialect::kLegacy, "analytics");
  const std::string sql = w.CreateTableSql();
  EXPECT_NE(sql.find("_row_hash UInt64"), std::string::npos) << sql;
  EXPECT_NE(sql.find("ORDER BY (_row_hash)"), std::string::npos) << sql;
  EXPECT_NE(sql.find("`msg` Nullable(String)"), std::string::npos) << sql;  // no key: every column may be NULL
}

TEST(FullRowIdentityTest, RowHashIdentifiesValues) {
  TableWriter w(streamshop::pg::SchemaOf(Keyless()), Dialect::kLegacy, "analytics");
  const auto hash = [&](RowValues v) { return w.RowHash(v); };
  EXPECT_EQ(hash({"1", "a"}), hash({"1", "a"}));
  EXPECT_NE(hash({"1", "a"}), hash({"1", "b"}));
  EXPECT_NE(hash({"1", std::nullopt}), hash({"1", ""}));            // NULL is not the empty string
  EXPECT_NE(hash({"1a", std::nullopt}), hash({"1", "a"}));          // values do not run into each other
  EXPECT_NE(hash({std::nullopt, "1"}), hash({"1", std::nullopt}));  // nor into other columns

  // A column added later (NULL in existing rows) leaves the hash of those rows as it was.
  TableInfo wider = Keyless();
  wider.columns.push_back(ColumnInfo{"extra", kText, -1, 0, {}});
  TableWriter w2(streamshop::pg::SchemaOf(wider), Dialect::kLegacy, "analytics");
  EXPECT_EQ(w2.RowHash({"1", "a", std::nullopt}), hash({"1", "a"}));
}

TEST(FullRowIdentityTest, RowsCarryTheHash) {
  TableWriter w(streamshop::pg::SchemaOf(Keyless()), Dialect::kLegacy, "analytics");
  ASSERT_TRUE(w.AppendRow({"1", "a"}, 7, false).ok());
  EXPECT_EQ(w.pending_rows(), 1u);
  TableWriter keyed(streamshop::pg::SchemaOf(Table()), Dialect::kLegacy, "analytics");
  ASSERT_TRUE(keyed.AppendRow({"1", "a"}, 7, false).ok());
  // The same values, one UInt64 longer.
  EXPECT_EQ(w.pending_bytes(), keyed.pending_bytes() + 1 /* Nullable id */ + 8);
}

}  // namespace
