// The outbox router (debezium/OutboxRouter.h): records as real Debezium 3.6's EventRouter + JsonConverter wrote them
// for sql/postgres/schema.sql's outbox_events (the expected strings are copied from its output).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "debezium/OutboxRouter.h"

namespace streamshop {
namespace {

using debezium::CompactJson;
using debezium::DebeziumColumn;
using debezium::DebeziumTable;
using debezium::OutboxRouter;
using debezium::OutboxRouterOptions;
using debezium::ParseOutboxAdditionalPlacement;
using debezium::RowImage;

model::Type TypeOfKind(model::TypeKind kind) {
  model::Type t;
  t.kind = kind;
  return t;
}

// outbox_events (id uuid PK, aggregatetype text NOT NULL, aggregateid text NOT NULL, type text NOT NULL,
// payload jsonb, created_at timestamptz NOT NULL DEFAULT now()).
DebeziumTable OutboxTable() {
  DebeziumTable t;
  t.schema = "public";
  t.name = "outbox_events";
  t.columns = {{"id", TypeOfKind(model::TypeKind::kUuid), 1, true, std::nullopt, std::nullopt},
               {"aggregatetype", TypeOfKind(model::TypeKind::kText), 0, true, std::nullopt, std::nullopt},
               {"aggregateid", TypeOfKind(model::TypeKind::kText), 0, true, std::nullopt, std::nullopt},
               {"type", TypeOfKind(model::TypeKind::kText), 0, true, std::nullopt, std::nullopt},
               {"payload", TypeOfKind(model::TypeKind::kJson), 0, false, std::nullopt, std::nullopt},
               {"created_at", TypeOfKind(model::TypeKind::kTimestampTz), 0, true, "now()", std::nullopt}};
  return t;
}

RowImage Row(std::optional<std::string_view> payload, std::optional<std::string_view> type = "order") {
  RowImage r;
  r.values = {"00000000-0000-0000-0000-000000000001", type, "o-1", "OrderPlaced", payload,
              "2026-12-02 10:48:51.172736+00"};
  return r;
}

OutboxRouter Make(const OutboxRouterOptions& o) {
  auto r = OutboxRouter::Make(o, OutboxTable());
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(*r);
}

TEST(OutboxRouter, DefaultsWithSchemasAsDebezium) {
  OutboxRouter router = Make({});
  auto r = router.Route(Row(R"({"a": [1, 2.50, "x"], "b": 2, "n": null, "s": "é\n"})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->topic, "outbox.event.order");
  EXPECT_EQ(*r->key, R"({"schema":{"type":"string","optional":false},"payload":"o-1"})");
  EXPECT_EQ(*r->value, R"({"schema":{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1},)"
                       R"("payload":"{\"a\": [1, 2.50, \"x\"], \"b\": 2, \"n\": null, \"s\": \"é\\n\"}"})");
  ASSERT_EQ(r->headers.size(), 1u);
  EXPECT_EQ(r->headers[0], std::make_pair(std::string("id"), std::string("00000000-0000-0000-0000-000000000001")));
}

TEST(OutboxRouter, NullPayloadIsANullValueNotATombstone) {
  OutboxRouter router = Make({});
  auto r = router.Route(Row(std::nullopt, "customer"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->topic, "outbox.event.customer");
  EXPECT_EQ(
      *r->value,
      R"({"schema":{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1},"payload":null})");
  OutboxRouterOptions plain;
  plain.schemas_enable = false;
  auto p = Make(plain).Route(Row(std::nullopt));
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->value.has_value());
  EXPECT_EQ(*p->value, "null");
}

TEST(OutboxRouter, WithoutSchemas) {
  OutboxRouterOptions o;
  o.schemas_enable = false;
  auto r = Make(o).Route(Row(R"({"x": 1})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->key, R"("o-1")");
  EXPECT_EQ(*r->value, R"("{\"x\": 1}")");
}

TEST(OutboxRouter, ExpandedPayload) {
  OutboxRouterOptions o;
  o.schemas_enable = false;
  o.expand_json_payload = true;
  auto r = Make(o).Route(Row(R"({"a": "x, y: \"z\"", "b": [1, {"c": true}]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->value, R"({"a":"x, y: \"z\"","b":[1,{"c":true}]})");
  // With schemas Debezium infers a Connect schema per document: refused with the fix.
  o.schemas_enable = true;
  auto refused = OutboxRouter::Make(o, OutboxTable());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--schemas off"), std::string::npos);
}

TEST(OutboxRouter, OptionsAndAdditionalHeaders) {
  OutboxRouterOptions o;
  o.route_topic_replacement = "events.${routedByValue}.v1";
  o.route_by_field = "type";
  o.field_event_key = "id";
  auto placement = ParseOutboxAdditionalPlacement("type:header:eventType, aggregatetype:header,created_at:header");
  ASSERT_TRUE(placement.ok()) << placement.status().message();
  o.additional = *placement;
  auto r = Make(o).Route(Row(R"({})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->topic, "events.OrderPlaced.v1");
  EXPECT_EQ(*r->key, R"({"schema":{"type":"string","optional":false,"name":"io.debezium.data.Uuid","version":1},)"
                     R"("payload":"00000000-0000-0000-0000-000000000001"})");
  std::vector<std::pair<std::string, std::string>> want = {{"id", "00000000-0000-0000-0000-000000000001"},
                                                           {"eventType", "OrderPlaced"},
                                                           {"aggregatetype", "order"},
                                                           {"created_at", "2026-12-02T10:48:51.172736Z"}};
  EXPECT_EQ(r->headers, want);
}

TEST(OutboxRouter, PlacementErrorsNameTheEntry) {
  for (std::string_view bad : {"type:envelope:eventType", "type", ":header", "type:header:", "a:b:c:d"}) {
    auto p = ParseOutboxAdditionalPlacement(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.status().message().find("--outbox-additional-placement"), std::string::npos);
  }
  auto empty = ParseOutboxAdditionalPlacement("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(OutboxRouter, MissingColumnNamesTableColumnAndFlag) {
  OutboxRouterOptions o;
  o.field_event_payload = "body";
  auto r = OutboxRouter::Make(o, OutboxTable());
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("public.outbox_events"), std::string::npos) << m;
  EXPECT_NE(m.find("\"body\""), std::string::npos) << m;
  EXPECT_NE(m.find("--outbox-payload-column"), std::string::npos) << m;
  OutboxRouterOptions h;
  h.additional = {{"tenant", "tenant"}};
  auto rh = OutboxRouter::Make(h, OutboxTable());
  ASSERT_FALSE(rh.ok());
  EXPECT_NE(rh.status().message().find("--outbox-additional-placement"), std::string::npos);
  OutboxRouterOptions t;
  t.route_topic_replacement = "bad topic ${routedByValue}";
  EXPECT_FALSE(OutboxRouter::Make(t, OutboxTable()).ok());
}

TEST(OutboxRouter, UnroutableRowsAreErrors) {
  OutboxRouter router = Make({});
  auto null_type = router.Route(Row("{}", std::nullopt));
  ASSERT_FALSE(null_type.ok());
  EXPECT_NE(null_type.status().message().find("aggregatetype"), std::string::npos);
  auto bad_topic = router.Route(Row("{}", "a/b"));
  ASSERT_FALSE(bad_topic.ok());
  EXPECT_NE(bad_topic.status().message().find("outbox.event.a/b"), std::string::npos);
  RowImage narrow;
  narrow.values = {"x"};
  EXPECT_FALSE(router.Route(narrow).ok());
}

TEST(OutboxRouter, CompactJsonKeepsStrings) {
  EXPECT_EQ(CompactJson(R"({"a b": "c, d", "e": [1, 2], "f": "\\", "g": "\" x"})"),
            R"({"a b":"c, d","e":[1,2],"f":"\\","g":"\" x"})");
  EXPECT_EQ(CompactJson(R"("just a string")"), R"("just a string")");
}

}  // namespace
}  // namespace streamshop
