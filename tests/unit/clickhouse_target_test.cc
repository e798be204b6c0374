// clickhouse::ClickHouseTarget, the ChangeTarget of replicate and sink, against the fake ClickHouse: what a flush
// stores and reports, what replacing a table's handle does to its pending rows, and what it says of the shape.
#include "clickhouse/ClickHouseTarget.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fake_clickhouse.h"

namespace streamshop {
namespace {

using clickhouse::ClickHouseTarget;
using model::ChangeTarget;
using model::TableSchema;
using model::TypeKind;
using testing_support::FakeClickHouse;
using testing_support::FakeTransport;

TableSchema Orders(TypeKind amount = TypeKind::kFloat64) {
  return {"public", "orders", {{"id", {TypeKind::kInt64}, 1, false}, {"amount", {amount}, 0, true}}};
}

class ClickHouseTargetTest : public ::testing::Test {
 protected:
  std::unique_ptr<ClickHouseTarget> Open() {
    auto target = ClickHouseTarget::Open(
        [this] {
          return std::make_unique<clickhouse::ClickHouseClient>("http://127.0.0.1:1/",
                                                                std::make_unique<FakeTransport>(clickhouse_));
        },
        "analytics");
    EXPECT_TRUE(target.ok()) << target.status().message();
    return target.ok() ? std::move(*target) : nullptr;
  }

  FakeClickHouse clickhouse_;
};

TEST_F(ClickHouseTargetTest, FlushStoresEveryTablesRowsAndEmptiesThePending) {
  auto target = Open();
  ASSERT_TRUE(target);
  Result<ChangeTarget::Ensured> orders = target->EnsureTable(Orders(), nullptr);
  ASSERT_TRUE(orders.ok()) << orders.status().message();
  Result<ChangeTarget::Ensured> items =
      target->EnsureTable({"public", "items", {{"sku", {TypeKind::kText}, 1, false}}}, nullptr);
  ASSERT_TRUE(items.ok()) << items.status().message();
  ASSERT_TRUE(orders->table->AppendRow({"7", "1.5"}, 100, false).ok());
  ASSERT_TRUE(items->table->AppendRow({"sku-1"}, 101, false).ok());
  EXPECT_EQ(target->pending_rows(), 2u);
  ASSERT_TRUE(target->Flush().ok());
  EXPECT_EQ(target->pending_rows(), 0u);
  EXPECT_EQ(clickhouse_.inserts, 2);
  EXPECT_TRUE(clickhouse_.Stored("sku-1"));
}

TEST_F(ClickHouseTargetTest, AFatalInsertIsListedPerTableAndItsRowsStayPending) {
  auto target = Open();
  ASSERT_TRUE(target);
  auto orders = target->EnsureTable(Orders(), nullptr);
  auto items = target->EnsureTable({"public", "items", {{"sku", {TypeKind::kText}, 1, false}}}, nullptr);
  ASSERT_TRUE(orders.ok() && items.ok());
  ASSERT_TRUE(orders->table->AppendRow({"7", "1.5"}, 100, false).ok());
  ASSERT_TRUE(items->table->AppendRow({"sku-1"}, 101, false).ok());
  clickhouse_.fail_inserts_into["raw_orders"] = FakeClickHouse::Error(500, 60, "Table doesn't exist.");
  std::vector<ChangeTarget::Failure> failed;
  ASSERT_TRUE(target->Flush(&failed).ok());
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].table, orders->table);
  EXPECT_TRUE(failed[0].status.fatal());
  EXPECT_EQ(orders->table->pending_rows(), 1u);
  EXPECT_EQ(items->table->pending_rows(), 0u);
  // Without a list, the error is Flush's own; forgetting the table drops its rows.
  EXPECT_TRUE(target->Flush().fatal());
  target->Forget(orders->table);
  EXPECT_EQ(target->pending_rows(), 0u);
  EXPECT_TRUE(target->Flush().ok());
}

TEST_F(ClickHouseTargetTest, ARetryableInsertFailsTheWholeFlush) {
  auto target = Open();
  ASSERT_TRUE(target);
  auto orders = target->EnsureTable(Orders(), nullptr);
  ASSERT_TRUE(orders.ok());
  ASSERT_TRUE(orders->table->AppendRow({"7", "1.5"}, 100, false).ok());
  clickhouse_.fail_insert[1] = FakeClickHouse::Error(503, 252, "Too many parts (300).");
  std::vector<ChangeTarget::Failure> failed;
  EXPECT_TRUE(target->Flush(&failed).retryable());
  EXPECT_EQ(target->pending_rows(), 1u);
  EXPECT_TRUE(target->Flush(&failed).ok());  // the retry stores them
  EXPECT_TRUE(failed.empty());
}

TEST_F(ClickHouseTargetTest, ReplacingAHandleStoresItsPendingRowsAndSaysWhichValuesItRewrote) {
  auto target = Open();
  ASSERT_TRUE(target);
  auto before = target->EnsureTable(Orders(TypeKind::kFloat64), nullptr);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(before->table->AppendRow({"7", "1e+20"}, 100, false).ok());
  auto after = target->EnsureTable(Orders(TypeKind::kText), before->table);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(clickhouse_.inserts, 1);  // the old shape's row, before the new handle
  EXPECT_EQ(after->rewritten_column, "amount");
  EXPECT_EQ(target->pending_rows(), 0u);
  auto same = target->EnsureTable(Orders(TypeKind::kText), after->table);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->rewritten_column, "");
}

TEST_F(ClickHouseTargetTest, ATableThatLostItsKeyIsRefusedNamingTheFix) {
  auto target = Open();
  ASSERT_TRUE(target);
  ASSERT_TRUE(target->EnsureTable(Orders(), nullptr).ok());
  TableSchema keyless = Orders();
  keyless.columns[0].key_position = 0;
  keyless.identity = model::RowIdentity::kFullRow;
  Result<ChangeTarget::Ensured> refused = target->EnsureTable(keyless, nullptr);
  ASSERT_TRUE(refused.status().fatal());
  EXPECT_NE(refused.status().message().find("lost a key"), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find("DROP TABLE"), std::string::npos) << refused.status().message();
}

}  // namespace
}  // namespace streamshop
