// The /metrics page: the exposition format's escaping, histograms, and the page of a command's Metrics; the bounded
// per-table counters and the liveness rules behind /healthz and /readyz.
#include <gtest/gtest.h>

#include <new>
#include <string>
#include <thread>
#include <vector>

#include "ops/HttpServer.h"
#include "ops/PrometheusText.h"
#include "pipeline/Progress.h"

namespace {

using streamshop::ops::PrometheusText;
using streamshop::pipeline::EventOp;
using streamshop::pipeline::LatencyHistogram;
using streamshop::pipeline::Metrics;
using streamshop::pipeline::ProgressLine;
using streamshop::pipeline::TableCounterSet;

TEST(PrometheusTextTest, EscapesLabelValues) {
  EXPECT_EQ(PrometheusText::EscapeLabelValue("public.orders"), "public.orders");
  EXPECT_EQ(PrometheusText::EscapeLabelValue(R"(we"ird)"), R"(we\"ird)");
  EXPECT_EQ(PrometheusText::EscapeLabelValue(R"(back\slash)"), R"(back\\slash)");
  EXPECT_EQ(PrometheusText::EscapeLabelValue("new\nline"), R"(new\nline)");
  EXPECT_EQ(PrometheusText::EscapeLabelValue("\\\"\n"), R"(\\\"\n)");
  EXPECT_EQ(PrometheusText::EscapeLabelValue("tab\tand ünïcode"), "tab\tand ünïcode");  // no other escapes
}

TEST(PrometheusTextTest, EscapesHelpButNotQuotes) {
  EXPECT_EQ(PrometheusText::EscapeHelp("a \"b\" c\\d\ne"), R"(a "b" c\\d\ne)");
}

TEST(PrometheusTextTest, SamplesWithAndWithoutLabels) {
  PrometheusText p;
  p.Family("streamshop_x_total", "counter", "What x counts");
  p.Sample("streamshop_x_total", {}, uint64_t{42});
  p.Sample("streamshop_x_total", {{"table", "s.\"t\"\n"}, {"op", "insert"}}, uint64_t{18446744073709551615ull});
  p.Sample("streamshop_y", {}, 0.25);
  p.Sample("streamshop_y", {}, 3.0);
  EXPECT_EQ(p.text(),
            "# HELP streamshop_x_total What x counts\n"
            "# TYPE streamshop_x_total counter\n"
            "streamshop_x_total 42\n"
            "streamshop_x_total{table=\"s.\\\"t\\\"\\n\",op=\"insert\"} 18446744073709551615\n"
            "streamshop_y 0.25\n"
            "streamshop_y 3\n");
}

TEST(PrometheusTextTest, FormatsSpecialValues) {
  EXPECT_EQ(PrometheusText::FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(PrometheusText::FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(PrometheusText::FormatValue(0.0 / 0.0), "NaN");
  EXPECT_EQ(PrometheusText::FormatValue(0.001), "0.001");
  EXPECT_EQ(PrometheusText::FormatValue(60), "60");
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  LatencyHistogram h;
  using std::chrono::milliseconds;
  h.Observe(milliseconds(1));            // exactly on the first bound: le="0.001"
  h.Observe(milliseconds(3));            // le="0.005"
  h.Observe(milliseconds(3));            // le="0.005"
  h.Observe(milliseconds(700));          // le="1"
  h.Observe(std::chrono::seconds(120));  // above every bound: only +Inf
  const auto c = h.Cumulative();
  ASSERT_EQ(c.size(), LatencyHistogram::kBounds.size() + 1);
  for (size_t i = 1; i < c.size(); ++i) EXPECT_LE(c[i - 1], c[i]) << i;
  EXPECT_EQ(c[0], 1u);   // 0.001
  EXPECT_EQ(c[1], 1u);   // 0.0025
  EXPECT_EQ(c[2], 3u);   // 0.005
  EXPECT_EQ(c[9], 4u);   // 1
  EXPECT_EQ(c[13], 4u);  // 60
  EXPECT_EQ(c.back(), 5u);
  EXPECT_DOUBLE_EQ(h.SumSeconds(), 120.707);

  PrometheusText p;
  p.Histogram("streamshop_flush_duration_seconds", "Flush time", LatencyHistogram::kBounds, c, h.SumSeconds());
  const std::string& t = p.text();
  EXPECT_NE(t.find("# TYPE streamshop_flush_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(t.find("streamshop_flush_duration_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("streamshop_flush_duration_seconds_bucket{le=\"0.005\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("streamshop_flush_duration_seconds_bucket{le=\"1\"} 4\n"), std::string::npos);
  EXPECT_NE(t.find("streamshop_flush_duration_seconds_bucket{le=\"60\"} 4\n"), std::string::npos);
  EXPECT_NE(t.find("streamshop_flush_duration_seconds_bucket{le=\"+Inf\"} 5\n"
                   "streamshop_flush_duration_seconds_sum 120.707\n"
                   "streamshop_flush_duration_seconds_count 5\n"),
            std::string::npos)
      << t;
}

TEST(TableCounterSetTest, CountsPerTableAndOpAndCapsTheSeries) {
  TableCounterSet set;
  set.Of("public", "orders").events[0] += 2;
  set.Of("public", "orders").events[0] += 1;
  set.Of("public", "order").events[0] += 5;  // a prefix of another name is another table
  EXPECT_EQ(set.Of("public", "orders").events[0].load(), 3u);
  EXPECT_EQ(set.Of("public", "order").events[0].load(), 5u);
  set.Of("a.b", "c").events[0]++;  // the same text joined with a dot: other tables, other labels
  set.Of("a", "b.c").events[0]++;
  set.Of("a", "b\"c").events[0]++;
  for (size_t i = 0; i < TableCounterSet::kMaxTables + 10; ++i) set.Of("s", "t" + std::to_string(i)).events[1]++;
  const auto tables = set.Tables();
  ASSERT_EQ(tables.size(), TableCounterSet::kMaxTables + 1);  // the cap, then _other
  EXPECT_EQ(tables.front()->name, "public.orders");
  EXPECT_EQ(tables.back()->name, TableCounterSet::kOtherTables);
  EXPECT_EQ(tables[2]->name, "\"a.b\".c");
  EXPECT_EQ(tables[3]->name, "a.\"b.c\"");
  EXPECT_EQ(tables[4]->name, "a.\"b\"\"c\"");
  EXPECT_EQ(tables[2]->events[0].load(), 1u);
  // 5 tables above, then s.t0 … s.t250 own theirs; 15 overflowed.
  EXPECT_EQ(tables.back()->events[1].load(), 15u);
  EXPECT_EQ(&set.Of("s", "t300"), tables.back());
  EXPECT_EQ(&set.Of("s", "t0"), tables[5]);
}

TEST(TableCounterSetTest, ASetAtAnotherSetsAddressStartsEmpty) {
  // The thread remembers its last table; a new set (here: in the same storage) must not reuse it.
  alignas(TableCounterSet) unsigned char storage[sizeof(TableCounterSet)];
  auto* first = new (storage) TableCounterSet();
  first->Of("public", "orders").events[0] += 5;
  first->~TableCounterSet();
  auto* second = new (storage) TableCounterSet();
  EXPECT_EQ(second->Of("public", "orders").events[0].load(), 0u);
  EXPECT_EQ(second->Tables().size(), 1u);
  second->~TableCounterSet();
}

TEST(TableCounterSetTest, ThreadsCountingTheSameTablesAgree) {
  TableCounterSet set;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&set] {
      for (int i = 0; i < 20000; ++i) set.Of("public", i % 2 ? "a" : "b").events[2]++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(set.Of("public", "a").events[2].load(), 40000u);
  EXPECT_EQ(set.Of("public", "b").events[2].load(), 40000u);
  EXPECT_EQ(set.Tables().size(), 2u);
}

TEST(MetricsTest, HealthAndReadinessFollowTheSessionLoop) {
  Metrics m;
  EXPECT_TRUE(m.Healthy());  // no session: waiting between sessions is not stuck
  EXPECT_FALSE(m.Ready());
  {
    ProgressLine line(false, m);
    EXPECT_TRUE(m.Healthy());
    EXPECT_FALSE(m.Ready());  // connecting, copying: not streaming yet
    line.MaybePrintText("snapshot", [] { return std::string(); });
    EXPECT_FALSE(m.Ready());
    line.MaybePrint("streaming");
    EXPECT_TRUE(m.Ready());
    m.heartbeat_ms -= 31'000;  // the loop last ticked 31 s ago
    EXPECT_FALSE(m.Healthy());
    EXPECT_TRUE(m.Healthy(std::chrono::seconds(60)));
    line.MaybePrint("streaming");
    EXPECT_TRUE(m.Healthy());
  }
  EXPECT_FALSE(m.Ready());  // the session ended
  EXPECT_TRUE(m.Healthy());
}

TEST(MetricsTest, PageHasEveryFamilyOnceAndPerTableCounters) {
  Metrics m;
  m.CountEvent("public", "orders", EventOp::kInsert);
  m.CountEvent("public", "orders", EventOp::kInsert);
  m.CountEvent("public", "orders", streamshop::pipeline::OpOf('d'));
  m.CountEvent("odd\"schema", "t\\1\n", EventOp::kTruncate);
  m.CountFlush(3, 300, std::chrono::milliseconds(20));
  m.SetLag(1024, 1.5);
  m.CountDeadLetters(streamshop::pipeline::DeadLetterReason::kValue, 2);
  m.session_restarts = 3;
  EXPECT_EQ(m.events.load(), 4u);
  EXPECT_EQ(m.dead_letters.load(), 2u);
  const std::string page = streamshop::ops::RenderMetrics(m, "replicate");
  for (const char* line : {
           "streamshop_events_total{table=\"public.orders\",op=\"insert\"} 2\n",
           "streamshop_events_total{table=\"public.orders\",op=\"delete\"} 1\n",
           // the label "odd""schema".t\1<LF>, escaped
           "streamshop_events_total{table=\"\\\"odd\\\"\\\"schema\\\".t\\\\1\\n\",op=\"truncate\"} 1\n",
           "streamshop_rows_written_total 3\n",
           "streamshop_bytes_sent_total 300\n",
           "streamshop_flush_duration_seconds_bucket{le=\"0.025\"} 1\n",
           "streamshop_flush_duration_seconds_count 1\n",
           "streamshop_replication_lag_bytes 1024\n",
           "streamshop_replication_lag_seconds 1.5\n",
           "streamshop_dead_letters_total{reason=\"value\"} 2\n",
           "streamshop_dead_letters_total{reason=\"too_large\"} 0\n",
           "streamshop_session_restarts_total 3\n",
           "streamshop_healthy 1\n",
           "streamshop_ready 0\n",
       }) {
    EXPECT_NE(page.find(line), std::string::npos) << line << "\nin\n" << page;
  }
  EXPECT_NE(page.find("streamshop_build_info{version=\""), std::string::npos);
  EXPECT_NE(page.find(",command=\"replicate\"} 1\n"), std::string::npos);
  EXPECT_EQ(page.find("op=\"update\""), std::string::npos);  // zero series are left out
  // Kafka series: only for the commands that have them, and only once known.
  EXPECT_EQ(page.find("streamshop_kafka_"), std::string::npos);
  // Every family has one HELP and one TYPE line.
  size_t helps = 0, types = 0;
  for (size_t at = 0; (at = page.find("# HELP ", at)) != std::string::npos; ++at) ++helps;
  for (size_t at = 0; (at = page.find("# TYPE ", at)) != std::string::npos; ++at) ++types;
  EXPECT_EQ(helps, types);
  EXPECT_GE(helps, 12u);
  EXPECT_GT(streamshop::ops::ResidentMemoryBytes(), 1u << 20);
}

TEST(MetricsTest, NoLagSeriesBeforeALagIsKnown) {
  Metrics m;  // e.g. sink: it reads no slot
  EXPECT_EQ(streamshop::ops::RenderMetrics(m, "sink").find("replication_lag"), std::string::npos);
}

TEST(MetricsTest, KafkaSeriesOfSinkAndCapture) {
  Metrics m;
  std::string sink = streamshop::ops::RenderMetrics(m, "sink");
  EXPECT_NE(sink.find("streamshop_kafka_rebalances_total 0\n"), std::string::npos);
  EXPECT_EQ(sink.find("streamshop_kafka_consumer_lag_records"), std::string::npos);  // not known yet
  m.kafka_rebalances = 2;
  m.kafka_consumer_lag = 1500;
  sink = streamshop::ops::RenderMetrics(m, "sink");
  EXPECT_NE(sink.find("streamshop_kafka_rebalances_total 2\n"), std::string::npos);
  EXPECT_NE(sink.find("streamshop_kafka_consumer_lag_records 1500\n"), std::string::npos);

  Metrics c;
  EXPECT_EQ(streamshop::ops::RenderMetrics(c, "capture").find("streamshop_kafka_"), std::string::npos);
  c.kafka_unacknowledged = 0;
  EXPECT_NE(streamshop::ops::RenderMetrics(c, "capture").find("streamshop_kafka_unacknowledged_records 0\n"),
            std::string::npos);
}

TEST(HttpServerTest, ParsesListenAddresses) {
  using streamshop::ops::ParseListenAddress;
  auto a = ParseListenAddress("127.0.0.1:9187");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9187);
  a = ParseListenAddress(":9000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  a = ParseListenAddress("[::1]:80");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 80);
  for (const char* bad : {"9187", "host:", "host:0", "host:65536", "host:12ab", ""}) {
    auto r = ParseListenAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("HOST:PORT"), std::string::npos);
  }
}

TEST(MetricsTest, SlotHealthOnlyForCommandsReadingASlotAndSafeWalSizeOnlyWhenKnown) {
  Metrics m;
  EXPECT_EQ(streamshop::ops::RenderMetrics(m, "sink").find("streamshop_slot_"), std::string::npos);
  m.reads_slot = true;
  std::string page = streamshop::ops::RenderMetrics(m, "replicate");
  EXPECT_NE(page.find("streamshop_slot_lost_total 0\n"), std::string::npos) << page;
  EXPECT_EQ(page.find("streamshop_slot_wal_status"), std::string::npos) << "not read yet";
  m.slot_lost = 1;
  m.SetSlotHealth("unreserved", 4096);
  page = streamshop::ops::RenderMetrics(m, "replicate");
  for (const char* line :
       {"streamshop_slot_lost_total 1\n", "streamshop_slot_wal_status{status=\"reserved\"} 0\n",
        "streamshop_slot_wal_status{status=\"extended\"} 0\n", "streamshop_slot_wal_status{status=\"unreserved\"} 1\n",
        "streamshop_slot_wal_status{status=\"lost\"} 0\n", "streamshop_slot_safe_wal_size_bytes 4096\n"}) {
    EXPECT_NE(page.find(line), std::string::npos) << line << "\nin\n" << page;
  }
  m.SetSlotHealth("lost", std::nullopt);  // PostgreSQL's NULL
  page = streamshop::ops::RenderMetrics(m, "replicate");
  EXPECT_NE(page.find("streamshop_slot_wal_status{status=\"lost\"} 1\n"), std::string::npos) << page;
  EXPECT_EQ(page.find("streamshop_slot_safe_wal_size_bytes"), std::string::npos) << page;
}

}  // namespace
