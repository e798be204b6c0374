// Signal rows (pipeline/Signal.h): the Debezium-style types and data, and the reasons a bad signal is refused.
#include "pipeline/Signal.h"

#include <gtest/gtest.h>

#include <string>

#include "ops/PrometheusText.h"
#include "pipeline/Progress.h"

namespace {

using streamshop::pipeline::DescribeCollections;
using streamshop::pipeline::ParseSignal;
using streamshop::pipeline::ParseTableName;
using streamshop::pipeline::Signal;
using streamshop::pipeline::SignalType;
using streamshop::pipeline::SignalTypeName;
using streamshop::pipeline::SignalTypeOf;
using streamshop::pipeline::TableName;

std::string Error(std::optional<std::string_view> type, std::optional<std::string_view> data) {
  auto s = ParseSignal("id-1", type, data);
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : s.status().message();
}

TEST(SignalTest, TypeNames) {
  for (SignalType t :
       {SignalType::kExecuteSnapshot, SignalType::kStopReplication, SignalType::kResumeReplication, SignalType::kLog}) {
    EXPECT_EQ(SignalTypeOf(SignalTypeName(t)), t);
  }
  EXPECT_EQ(SignalTypeName(SignalType::kUnknown), "unknown");
  EXPECT_EQ(SignalTypeOf("unknown"), SignalType::kUnknown);
  EXPECT_EQ(SignalTypeOf("pause-snapshot"), SignalType::kUnknown);
  EXPECT_EQ(SignalTypeOf("EXECUTE-SNAPSHOT"), SignalType::kUnknown);
}

TEST(SignalTest, TableNames) {
  EXPECT_EQ(*ParseTableName("public.orders"), (TableName{"public", "orders"}));
  EXPECT_EQ(*ParseTableName("orders"), (TableName{"public", "orders"}));
  EXPECT_EQ(*ParseTableName("sales.Orders"), (TableName{"sales", "Orders"}));
  EXPECT_EQ(*ParseTableName(R"("a.b".c)"), (TableName{"a.b", "c"}));
  EXPECT_EQ(*ParseTableName(R"(s."we""ird.t")"), (TableName{"s", R"(we"ird.t)"}));
  for (const char* bad : {"", ".", "a.", ".b", "a.b.c", R"("a)", R"(a"b.c)", R"("a"x.b)"}) {
    EXPECT_FALSE(ParseTableName(bad).ok()) << bad;
  }
}

TEST(SignalTest, ExecuteSnapshot) {
  auto s =
      ParseSignal("ad-hoc-1", "execute-snapshot",
                  R"({"data-collections": ["public.orders", "customers", "public.orders"], "type": "incremental"})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->id, "ad-hoc-1");
  EXPECT_EQ(s->type, SignalType::kExecuteSnapshot);
  ASSERT_EQ(s->collections.size(), 2u);  // duplicates once
  EXPECT_EQ(DescribeCollections(s->collections), "public.orders, public.customers");
  EXPECT_FALSE(s->blocking);

  auto blocking = ParseSignal("2", "execute-snapshot", R"({"data-collections": ["orders"], "type": "BLOCKING"})");
  ASSERT_TRUE(blocking.ok());
  EXPECT_TRUE(blocking->blocking);
  auto defaulted = ParseSignal(std::nullopt, "execute-snapshot", R"(  {"data-collections": ["orders"]})");
  ASSERT_TRUE(defaulted.ok());
  EXPECT_FALSE(defaulted->blocking);  // Debezium's default: incremental
  EXPECT_EQ(defaulted->id, "");
  // Empty additional conditions are no conditions.
  EXPECT_TRUE(
      ParseSignal("3", "execute-snapshot", R"({"data-collections": ["orders"], "additional-conditions": []})").ok());
}

TEST(SignalTest, StopResumeAndLog) {
  auto stop = ParseSignal("s", "stop-replication", R"({"data-collections": ["public.order_items"]})");
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->type, SignalType::kStopReplication);
  EXPECT_EQ(stop->collections.at(0), (TableName{"public", "order_items"}));
  auto resume = ParseSignal("r", "resume-replication", R"({"data-collections": ["order_items"]})");
  ASSERT_TRUE(resume.ok());
  EXPECT_EQ(resume->type, SignalType::kResumeReplication);

  auto log = ParseSignal("l", "log", R"({"message": "hello \"there\""})");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->message, R"(hello "there")");
  EXPECT_TRUE(ParseSignal("l", "log", std::nullopt).ok());
  EXPECT_TRUE(ParseSignal("l", "log", "").ok());
}

TEST(SignalTest, BadSignalsSayWhy) {
  EXPECT_NE(Error(std::nullopt, "{}").find("type is NULL"), std::string::npos);
  EXPECT_NE(Error("pause-snapshot", "{}").find("unknown type 'pause-snapshot'"), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", std::nullopt).find("needs data"), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", "{not json").find("not JSON"), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", "[1]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", "{}").find("no \"data-collections\""), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", R"({"data-collections": "orders"})").find("not an array"), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", R"({"data-collections": [1]})").find("not a string"), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", R"({"data-collections": []})").find("is empty"), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", R"({"data-collections": ["a.b.c"]})").find("a.b.c"), std::string::npos);
  EXPECT_NE(Error("execute-snapshot", R"({"data-collections": ["o"], "type": "sometimes"})").find("sometimes"),
            std::string::npos);
  EXPECT_NE(Error("execute-snapshot", R"({"data-collections": ["o"], "type": 3})").find("not a string"),
            std::string::npos);
  EXPECT_NE(Error("execute-snapshot",
                  R"({"data-collections": ["o"], "additional-conditions": [{"data-collection": "o", "filter": "x"}]})")
                .find("not supported"),
            std::string::npos);
  EXPECT_NE(Error("stop-replication", R"({})").find("data-collections"), std::string::npos);
  EXPECT_NE(Error("log", R"({"msg": "x"})").find("no \"message\""), std::string::npos);
  EXPECT_NE(Error("log", R"({"message": 1})").find("not a string"), std::string::npos);
  EXPECT_NE(Error("log", "nope").find("not JSON"), std::string::npos);
}

TEST(SignalTest, PrintableForOneLogLine) {
  using streamshop::pipeline::Printable;
  EXPECT_EQ(Printable("plain text ünïcode"), "plain text ünïcode");
  EXPECT_EQ(Printable("two\nlines\tand\x01\x7f"), "two\\nlines\\tand\\x01\\x7f");
  EXPECT_EQ(Printable("abcdef", 3), "abc…");
  EXPECT_EQ(Printable("abc", 3), "abc");
}

TEST(SignalTest, CountedByTypeOnTheMetricsPage) {
  streamshop::pipeline::Metrics m;
  m.CountSignal("execute-snapshot");
  m.CountSignal("execute-snapshot");
  m.CountSignal("pause-snapshot");  // unknown types share one series
  m.CountSignal("nonsense");
  const std::string page = streamshop::ops::RenderMetrics(m, "replicate");
  EXPECT_NE(page.find("# TYPE streamshop_signals_total counter"), std::string::npos);
  EXPECT_NE(page.find("streamshop_signals_total{type=\"execute-snapshot\"} 2\n"), std::string::npos);
  EXPECT_NE(page.find("streamshop_signals_total{type=\"log\"} 0\n"), std::string::npos);
  EXPECT_NE(page.find("streamshop_signals_total{type=\"unknown\"} 2\n"), std::string::npos);
  EXPECT_EQ(page.find("pause-snapshot"), std::string::npos);
}

}  // namespace
