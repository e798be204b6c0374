// Snapshot progress in Metrics (fed by the snapshot engine) and its /metrics families: tables per state, rows per
// table, whether a table copies now, its progress ratio; and the last problem's timestamp.
#include <gtest/gtest.h>

#include <string>

#include "common/Log.h"
#include "ops/PrometheusText.h"
#include "pipeline/Progress.h"

namespace {

using streamshop::pipeline::Metrics;
using streamshop::pipeline::SnapshotState;
using streamshop::pipeline::TableCounterSet;

bool Has(const std::string& page, const std::string& line) { return page.find(line) != std::string::npos; }

TEST(SnapshotMetricsTest, StatesRowsAndRatioFollowTheCopy) {
  Metrics m;
  auto& orders = m.SnapshotPlanned("public", "orders", 1000, 2, 0);
  auto& items = m.SnapshotPlanned("public", "items", 0, 4, 0);      // never analyzed: no estimate
  m.SetSnapshotState("public", "customers", SnapshotState::kDone);  // found done (an earlier run)
  std::string page = streamshop::ops::RenderMetrics(m, "replicate");
  for (const char* line : {
           "# TYPE streamshop_snapshot_tables gauge\n",
           "streamshop_snapshot_tables{state=\"pending\"} 2\n",
           "streamshop_snapshot_tables{state=\"copying\"} 0\n",
           "streamshop_snapshot_tables{state=\"done\"} 1\n",
           "# TYPE streamshop_snapshot_rows_total counter\n",
           "streamshop_snapshot_rows_total{table=\"public.orders\"} 0\n",
           "streamshop_snapshot_rows_total{table=\"public.customers\"} 0\n",
           "streamshop_snapshot_copying{table=\"public.orders\"} 0\n",
           "streamshop_snapshot_progress_ratio{table=\"public.orders\"} 0\n",
           "streamshop_snapshot_progress_ratio{table=\"public.customers\"} 1\n",
       }) {
    EXPECT_TRUE(Has(page, line)) << line << "\nin\n" << page;
  }

  m.SetSnapshotState("public", "orders", SnapshotState::kCopying);
  m.CountSnapshotRows(orders, 250);
  m.SetSnapshotState("public", "items", SnapshotState::kCopying);
  ++items.snapshot_chunks_done;  // 1 of 4 chunks stored
  page = streamshop::ops::RenderMetrics(m, "replicate");
  for (const char* line : {
           "streamshop_snapshot_tables{state=\"pending\"} 0\n", "streamshop_snapshot_tables{state=\"copying\"} 2\n",
           "streamshop_snapshot_rows_total{table=\"public.orders\"} 250\n",
           "streamshop_snapshot_copying{table=\"public.orders\"} 1\n",
           "streamshop_snapshot_progress_ratio{table=\"public.orders\"} 0.25\n",
           "streamshop_snapshot_progress_ratio{table=\"public.items\"} 0.25\n",  // by chunks
       }) {
    EXPECT_TRUE(Has(page, line)) << line << "\nin\n" << page;
  }

  m.CountSnapshotRows(orders, 1000);  // more rows than estimated: clamped
  EXPECT_EQ(orders.SnapshotRatio(), 1.0);
  m.SetSnapshotState("public", "orders", SnapshotState::kDone);
  page = streamshop::ops::RenderMetrics(m, "replicate");
  EXPECT_TRUE(Has(page, "streamshop_snapshot_rows_total{table=\"public.orders\"} 1250\n"));
  EXPECT_TRUE(Has(page, "streamshop_snapshot_copying{table=\"public.orders\"} 0\n"));
  EXPECT_TRUE(Has(page, "streamshop_snapshot_progress_ratio{table=\"public.orders\"} 1\n"));
  EXPECT_TRUE(Has(page, "streamshop_snapshot_tables{state=\"done\"} 2\n"));

  // A re-copy: pending again, its ratio from 0, the rows counter goes on.
  m.SnapshotPlanned("public", "orders", 1000, 2, 0);
  EXPECT_EQ(orders.SnapshotRatio(), 0.0);
  EXPECT_EQ(orders.snapshot_rows.load(), 1250u);
  EXPECT_EQ(m.SnapshotTableCounts()[static_cast<size_t>(SnapshotState::kPending)], 1u);
}

TEST(SnapshotMetricsTest, AResumedCopyStartsFromTheChunksAlreadyCopied) {
  Metrics m;
  auto& t = m.SnapshotPlanned("public", "big", 4000, 4, 3);  // 3 of 4 chunks copied by an earlier run
  m.SetSnapshotState("public", "big", SnapshotState::kCopying);
  EXPECT_EQ(t.SnapshotRatio(), 0.75);
  m.CountSnapshotRows(t, 500);
  EXPECT_EQ(t.SnapshotRatio(), 0.875);
  EXPECT_EQ(t.snapshot_rows.load(), 500u);  // rows this process copied
}

TEST(SnapshotMetricsTest, TablesBeyondTheCapCountTheirRowsUnderOther) {
  Metrics m;
  for (size_t i = 0; i < TableCounterSet::kMaxTables + 3; ++i) {
    auto& t = m.SnapshotPlanned("s", "t" + std::to_string(i), 10, 1, 0);
    m.CountSnapshotRows(t, 10);
    m.SetSnapshotState("s", "t" + std::to_string(i), SnapshotState::kDone);
  }
  const std::string page = streamshop::ops::RenderMetrics(m, "capture");
  EXPECT_TRUE(Has(page, "streamshop_snapshot_tables{state=\"done\"} 259\n")) << page;  // every table
  EXPECT_TRUE(Has(page, "streamshop_snapshot_rows_total{table=\"_other\"} 30\n"));
  EXPECT_FALSE(Has(page, "streamshop_snapshot_progress_ratio{table=\"_other\"}"));
  EXPECT_FALSE(Has(page, "streamshop_snapshot_copying{table=\"_other\"}"));
  size_t ratios = 0;
  for (size_t at = 0; (at = page.find("streamshop_snapshot_progress_ratio{", at)) != std::string::npos; ++at) ++ratios;
  EXPECT_EQ(ratios, TableCounterSet::kMaxTables);
}

TEST(SnapshotMetricsTest, NoSnapshotNoPerTableSeries) {
  Metrics m;
  m.CountEvent("public", "orders", streamshop::pipeline::EventOp::kInsert);
  const std::string page = streamshop::ops::RenderMetrics(m, "sink");
  EXPECT_TRUE(Has(page, "streamshop_snapshot_tables{state=\"copying\"} 0\n"));
  EXPECT_FALSE(Has(page, "streamshop_snapshot_rows_total{"));
  EXPECT_FALSE(Has(page, "streamshop_snapshot_progress_ratio{"));
}

TEST(SnapshotMetricsTest, LastErrorTimestampAppearsWithTheFirstProblem) {
  // The log's last problem is process-wide: this test runs in its own order, so only check what it logs.
  const auto before = streamshop::LastLoggedProblem();
  if (!before) {
    EXPECT_FALSE(Has(streamshop::ops::RenderMetrics(Metrics(), "replicate"), "streamshop_last_error_timestamp"));
  }
  streamshop::LogInfo("an info line is no problem");
  streamshop::LogWarn("ClickHouse refused the insert — retrying in {}s", 1);
  const auto problem = streamshop::LastLoggedProblem();
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->level, streamshop::LogLevel::kWarn);
  EXPECT_EQ(problem->message, "ClickHouse refused the insert — retrying in 1s");
  const std::string page = streamshop::ops::RenderMetrics(Metrics(), "replicate");
  EXPECT_TRUE(Has(page, "# TYPE streamshop_last_error_timestamp_seconds gauge\n"));
  EXPECT_TRUE(Has(page, "streamshop_last_error_timestamp_seconds " +
                            streamshop::ops::PrometheusText::FormatValue(problem->unix_millis / 1000.0) + "\n"))
      << page;
  EXPECT_GT(problem->unix_millis, 1'700'000'000'000);
}

}  // namespace
