// The PostgreSQL → Kafka name mapping (debezium/TopicNames.h) and the sink's rule for impossible LSNs
// (pipeline/LsnGuard.h).
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "debezium/TopicNames.h"
#include "pipeline/LsnGuard.h"

namespace streamshop {
namespace {

using debezium::CaptureStateKey;
using debezium::DebeziumTopicForTable;
using debezium::EscapeNamePart;
using debezium::kMaxTopicLength;
using debezium::TableFromTopic;
using debezium::TopicForTable;
using debezium::TopicMatchesTable;
using debezium::UnescapeNamePart;

bool LegalTopic(const std::string& t) {
  if (t.empty() || t.size() > kMaxTopicLength) return false;
  for (char c : t) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

// Identifiers PostgreSQL allows that a naive mapping confuses.
const std::vector<std::string> kNames = {"orders",
                                         "Orders",
                                         "order_items",
                                         "my table",
                                         "my_table",
                                         "my-table",
                                         "my-2dtable",
                                         "a.b",
                                         "a_b",
                                         "a-2eb",
                                         "a",
                                         "b",
                                         "a.b.c",
                                         "\"quoted\"",
                                         "back`tick",
                                         "back\\slash",
                                         "tab\there",
                                         "select",
                                         "émoji 🙂",
                                         "x-",
                                         std::string(63, 'n'),
                                         std::string(21, '\xe2') /* not UTF-8 on purpose: bytes */,
                                         "_",
                                         "-",
                                         "--",
                                         "q'uote"};

TEST(TopicNamesTest, OrdinaryNamesKeepDebeziumsTopic) {
  EXPECT_EQ(TopicForTable("streamshop_dbz", "public", "orders"), "streamshop_dbz.public.orders");
  EXPECT_EQ(TopicForTable("p", "Sales_2024", "Order_Items"), "p.Sales_2024.Order_Items");
  EXPECT_EQ(TopicForTable("p", "public", "orders"), DebeziumTopicForTable("p", "public", "orders"));
  EXPECT_EQ(EscapeNamePart("my table"), "my-20table");
  EXPECT_EQ(EscapeNamePart("a.b"), "a-2eb");
  EXPECT_EQ(EscapeNamePart("x-y"), "x-2dy");
  EXPECT_EQ(EscapeNamePart("é"), "-c3-a9");
}

TEST(TopicNamesTest, MappingIsInjectiveAndLegal) {
  std::set<std::string> topics, keys;
  size_t pairs = 0;
  for (const auto& schema : kNames) {
    for (const auto& table : kNames) {
      ++pairs;
      const std::string topic = TopicForTable("streamshop", schema, table);
      EXPECT_TRUE(LegalTopic(topic)) << topic;
      EXPECT_TRUE(topics.insert(topic).second) << "shared topic " << topic;
      EXPECT_TRUE(keys.insert(CaptureStateKey("7000", "db", "slot", schema, table)).second);
      EXPECT_TRUE(TopicMatchesTable(topic, schema, table)) << topic;
      std::string s, t;
      if (TableFromTopic(topic, s, t)) {
        EXPECT_EQ(s, schema);
        EXPECT_EQ(t, table);
      }
    }
  }
  EXPECT_EQ(topics.size(), pairs);
  // State keys: a dot or slash in one part cannot shift the others.
  EXPECT_NE(CaptureStateKey("1", "d", "s/x", "a", "b"), CaptureStateKey("1", "d/s", "x", "a", "b"));
  EXPECT_NE(CaptureStateKey("1", "d", "s", "a.b", "c"), CaptureStateKey("1", "d", "s", "a", "b.c"));
  EXPECT_EQ(CaptureStateKey("6900000000000000001", "shop", "streamshop_capture", "public", "orders"),
            "6900000000000000001/shop/streamshop_capture/public.orders");  // unchanged for ordinary names
}

TEST(TopicNamesTest, EscapeRoundTripsEveryByte) {
  std::mt19937 rng(11);
  for (int round = 0; round < 2000; ++round) {
    std::string name(rng() % 70, '\0');
    for (char& c : name) c = static_cast<char>(rng() % 256);
    const std::string part = EscapeNamePart(name);
    EXPECT_EQ(part.find('.'), std::string::npos);
    EXPECT_EQ(UnescapeNamePart(part), name);
  }
  EXPECT_FALSE(UnescapeNamePart("my-table"));  // a Debezium name, not an escape
  EXPECT_FALSE(UnescapeNamePart("a-61"));      // 'a' escaped: not how the mapping writes it
  EXPECT_FALSE(UnescapeNamePart("a-2"));
}

TEST(TopicNamesTest, LongNamesAreShortenedWithAHash) {
  const std::string a(63, 'a'), u = std::string(21, '\xc3') + std::string(21, '\xa9') + std::string(21, '\xc3');
  std::set<std::string> topics;
  for (const auto& prefix : {std::string("p"), std::string(150, 'p')}) {
    for (const auto& s : {a, u, a + "x"}) {
      for (const auto& t : {a, u, u + "y", std::string(63, '\x01')}) {
        const std::string topic = TopicForTable(prefix, s, t);
        EXPECT_TRUE(LegalTopic(topic)) << topic.size() << " " << topic;
        EXPECT_TRUE(topics.insert(topic).second) << topic;
        EXPECT_TRUE(TopicMatchesTable(topic, s, t));
        EXPECT_FALSE(TopicMatchesTable(topic, s, t + "z"));
      }
    }
  }
  std::string s, t;
  EXPECT_FALSE(TableFromTopic(TopicForTable("p", u, u), s, t));  // hashed: the record must name its table
}

TEST(TopicNamesTest, SinkAcceptsATableOnlyOnItsTopic) {
  EXPECT_TRUE(TopicMatchesTable("streamshop.public.typed", "public", "typed"));
  EXPECT_FALSE(TopicMatchesTable("streamshop.public.typed", "public", "pairs"));
  EXPECT_FALSE(TopicMatchesTable("streamshop.public.typed", "other", "typed"));
  EXPECT_FALSE(TopicMatchesTable("public.typed", "public", "typed"));  // no prefix
  EXPECT_FALSE(TopicMatchesTable("streamshop.public.my-20table", "public", "my_table"));
  // Real Debezium's topics: its sanitized names, dots kept.
  EXPECT_TRUE(TopicMatchesTable("dbz.public.my_table", "public", "my table"));
  EXPECT_TRUE(TopicMatchesTable("dbz.public.a.b", "public", "a.b"));
  EXPECT_TRUE(TopicMatchesTable("dbz.public.my-table", "public", "my-table"));
  EXPECT_TRUE(TopicMatchesTable("dbz.public._", "public", "é"));
  EXPECT_FALSE(TopicMatchesTable(".public.orders", "public", "orders"));
  EXPECT_FALSE(debezium::ValidTopicPrefix(""));
  EXPECT_FALSE(debezium::ValidTopicPrefix("a b"));
  EXPECT_FALSE(debezium::ValidTopicPrefix(std::string(151, 'p')));
  EXPECT_TRUE(debezium::ValidTopicPrefix("streamshop_dbz.v-1"));
}

TEST(LsnGuardTest, RefusesLsnsNoWalCanHave) {
  pipeline::LsnGuard guard;
  const int64_t now = 1'700'000'000'000;
  EXPECT_FALSE(guard.Check(0, now, now).ok());
  EXPECT_FALSE(guard.Check(UINT64_MAX, now, now).ok());
  EXPECT_FALSE(guard.Check(uint64_t{1} << 60, now, now).ok());
  EXPECT_TRUE(guard.Check((uint64_t{1} << 60) - 1, now, now).ok());  // no baseline yet: only the absolute rules

  guard.Observe(0x1'0000'0000, now);  // 1/0
  EXPECT_TRUE(guard.Check(0x1'0000'0001, now, now).ok());
  EXPECT_TRUE(guard.Check(0x10, now, now).ok());  // older changes are always possible
  EXPECT_TRUE(guard.Check(0x1'0000'0000 + (uint64_t{1} << 40), now, now).ok());
  Status far = guard.Check(0x1'0000'0000 + (uint64_t{1} << 40) + 1, now, now);
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.message().find("impossible source.lsn"), std::string::npos) << far.message();
  // An hour later the WAL may have grown by 4 GiB/s × 3600 s more; a timestamp from the future counts as now.
  const uint64_t per_second = uint64_t{4} << 30;
  EXPECT_TRUE(
      guard.Check(0x1'0000'0000 + (uint64_t{1} << 40) + 3600 * per_second, now + 3'600'000, now + 3'600'000).ok());
  EXPECT_FALSE(
      guard.Check(0x1'0000'0000 + (uint64_t{1} << 40) + 3600 * per_second + 4096, now + 7'200'000, now + 3'600'000)
          .ok());
  EXPECT_FALSE(guard.Check(0x1'0000'0000 + (uint64_t{1} << 40) + 1, std::nullopt, now).ok());

  pipeline::LsnGuard poisoned;  // an impossible LSN stored by an older version is no baseline
  poisoned.Observe(UINT64_MAX, now);
  EXPECT_EQ(poisoned.baseline(), 0u);

  pipeline::LsnGuard off(0);  // several clusters: only the absolute rules
  off.Observe(0x1'0000'0000, now);
  EXPECT_TRUE(off.Check(uint64_t{1} << 59, now, now).ok());
  EXPECT_FALSE(off.Check(0, now, now).ok());
}

}  // namespace
}  // namespace streamshop
