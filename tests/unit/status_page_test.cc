// /status.json (parsed back with simdjson: valid JSON whatever the table names hold) and the page it feeds.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "common/Log.h"
#include "ops/StatusPage.h"
#include "pipeline/Progress.h"

namespace {

using streamshop::ops::StatusPage;
using streamshop::pipeline::EventOp;
using streamshop::pipeline::Metrics;
using streamshop::pipeline::SnapshotState;

TEST(StatusPageTest, JsonHasTablesLagSnapshotsAndDeadLetters) {
  Metrics m;
  m.CountEvent("public", "orders", EventOp::kInsert);
  m.CountEvent("public", "orders", EventOp::kInsert);
  m.CountEvent("public", "orders", EventOp::kUpdate);
  m.CountEvent("we\"ird", "na\\me\n</script>", EventOp::kDelete);  // every JSON escape, and no HTML meaning
  m.SetLag(4096, 2.5);
  m.CountFlush(3, 300, std::chrono::milliseconds(5));
  m.CountDeadLetters(streamshop::pipeline::DeadLetterReason::kValue, 2);
  auto& big = m.SnapshotPlanned("public", "big", 1000, 1, 0);
  m.SetSnapshotState("public", "big", SnapshotState::kCopying);
  m.CountSnapshotRows(big, 400);

  const std::string json = StatusPage::Json(m, "replicate", 1'764'629'401'123);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_EQ(std::string_view(doc["command"]), "replicate");
  EXPECT_EQ(int64_t(doc["now_ms"]), 1'764'629'401'123);
  EXPECT_TRUE(bool(doc["healthy"]));
  EXPECT_FALSE(bool(doc["ready"]));
  EXPECT_EQ(uint64_t(doc["lag"]["bytes"]), 4096u);
  EXPECT_EQ(double(doc["lag"]["seconds"]), 2.5);
  EXPECT_EQ(uint64_t(doc["events_total"]), 4u);
  EXPECT_EQ(uint64_t(doc["rows_written"]), 3u);
  EXPECT_EQ(uint64_t(doc["dead_letters"]["value"]), 2u);
  EXPECT_EQ(uint64_t(doc["dead_letters"]["unparsable"]), 0u);
  EXPECT_EQ(uint64_t(doc["dead_letters_total"]), 2u);
  EXPECT_EQ(uint64_t(doc["snapshot_tables"]["copying"]), 1u);
  EXPECT_EQ(uint64_t(doc["snapshot_tables"]["pending"]), 0u);
  EXPECT_TRUE(doc["kafka"]["consumer_lag_records"].is_null());

  simdjson::dom::array tables = doc["tables"];
  ASSERT_EQ(tables.size(), 3u);
  simdjson::dom::element orders = tables.at(0);
  EXPECT_EQ(std::string_view(orders["name"]), "public.orders");
  EXPECT_EQ(uint64_t(orders["events"]["insert"]), 2u);
  EXPECT_EQ(uint64_t(orders["events"]["update"]), 1u);
  EXPECT_EQ(uint64_t(orders["events"]["truncate"]), 0u);
  EXPECT_EQ(uint64_t(orders["events_total"]), 3u);
  EXPECT_TRUE(orders["snapshot"].is_null());
  EXPECT_EQ(std::string_view(tables.at(1)["name"]), "\"we\"\"ird\".na\\me\n</script>");
  simdjson::dom::element snap = tables.at(2)["snapshot"];
  EXPECT_EQ(std::string_view(snap["state"]), "copying");
  EXPECT_EQ(uint64_t(snap["rows"]), 400u);
  EXPECT_EQ(uint64_t(snap["estimated_rows"]), 1000u);
  EXPECT_EQ(double(snap["ratio"]), 0.4);
}

TEST(StatusPageTest, SinkHasNoLagAndTheLastProblemIsTheLoggedText) {
  Metrics m;
  streamshop::LogError("replication of {} stopped: {}", "public.t", "a value ClickHouse refused: '…'");
  const std::string json = StatusPage::Json(m, "sink", 0);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  EXPECT_TRUE(doc["lag"].is_null());
  EXPECT_EQ(simdjson::dom::array(doc["tables"]).size(), 0u);
  simdjson::dom::element e = doc["last_error"];
  EXPECT_EQ(std::string_view(e["level"]), "ERROR");
  EXPECT_EQ(std::string_view(e["message"]), "replication of public.t stopped: a value ClickHouse refused: '…'");
  const std::string_view time = e["time"];
  EXPECT_EQ(time.size(), 24u);  // 2026-12-01T22:50:01.123Z
  EXPECT_EQ(time.back(), 'Z');
  EXPECT_GT(int64_t(e["unix_ms"]), 1'700'000'000'000);
}

TEST(StatusPageTest, ThroughputIsTheRateBetweenSamplesOfTheLastTwoMinutes) {
  streamshop::ops::ThroughputHistory history;
  for (int i = 0; i < 200; ++i) {
    history.Add({1'000'000 + i * 1000, static_cast<uint64_t>(i) * 50, static_cast<uint64_t>(i) * 20});
  }
  auto samples = history.Samples();
  ASSERT_EQ(samples.size(), streamshop::ops::ThroughputHistory::kCapacity);
  EXPECT_EQ(samples.back().unix_millis, 1'000'000 + 199 * 1000);
  samples.push_back({samples.back().unix_millis + 500, samples.back().events + 100, samples.back().rows_written});
  samples.push_back({samples.back().unix_millis, samples.back().events + 7, 0});  // same time, counters back: no rate

  const std::string json = StatusPage::Json(Metrics(), "capture", 0, samples);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS) << json;
  simdjson::dom::array rates = doc["throughput"];
  ASSERT_EQ(rates.size(), streamshop::ops::ThroughputHistory::kCapacity);  // 120 intervals, then the half second
  EXPECT_EQ(double(rates.at(0)["events_per_second"]), 50.0);
  EXPECT_EQ(double(rates.at(0)["rows_per_second"]), 20.0);
  simdjson::dom::element last = rates.at(rates.size() - 1);
  EXPECT_EQ(int64_t(last["t"]), 1'000'000 + 199 * 1000 + 500);
  EXPECT_EQ(double(last["events_per_second"]), 200.0);
  EXPECT_EQ(double(last["rows_per_second"]), 0.0);
}

TEST(StatusPageTest, PageIsSelfContainedAndReadsStatusJson) {
  const std::string_view html = StatusPage::Html();
  EXPECT_EQ(html.substr(0, 15), "<!DOCTYPE html>");
  EXPECT_NE(html.find("fetch(\"status.json\""), std::string_view::npos);
  // Nothing loaded from elsewhere: no external script, style sheet, image or font.
  for (const char* external : {"http://", "https://", "src=", "<link", "@import", "url("}) {
    EXPECT_EQ(html.find(external), std::string_view::npos) << external;
  }
  // Values are written as text, never as markup.
  EXPECT_EQ(html.find("innerHTML"), std::string_view::npos);
  EXPECT_NE(StatusPage::kContentSecurityPolicy.find("default-src 'none'"), std::string_view::npos);
}

}  // namespace
