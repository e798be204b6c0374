// The transactional outbox routed like Debezium's io.debezium.transforms.outbox.EventRouter (3.6, at its defaults
// unless an option says otherwise) behind Kafka Connect's JsonConverter: one row inserted into the outbox table
// becomes one Kafka record
//   topic   = route_topic_replacement with ${routedByValue} = the row's route_by_field value
//             (route.topic.replacement "outbox.event.${routedByValue}", route.by.field "aggregatetype")
//   key     = the field_event_key column (table.field.event.key "aggregateid"), encoded like a Debezium field
//             ({"schema":{"type":"string","optional":false},"payload":"o-1"} with schemas; "o-1" without)
//   value   = the field_event_payload column (table.field.event.payload "payload"): a jsonb payload is an
//             io.debezium.data.Json string holding PostgreSQL's text of the document; NULL is a null payload
//             (not a tombstone, as route.tombstone.on.empty.payload=false). With expand_json_payload
//             (table.expand.json.payload) the document itself is the value (schemas off only).
//   headers = "id": the field_event_id column (table.field.event.id "id"), then each additional field placed as a
//             header (table.fields.additional.placement "column:header[:alias]"), as SimpleHeaderConverter
//             writes them (a string's characters, a number's text).
// Only inserts (and snapshot rows) are events: EventRouter drops deletes and warns about updates; the caller
// sends nothing for those. docs/DEBEZIUM_COMPATIBILITY.md ("Outbox (EventRouter)") lists the differences.
//
// Contract: pure (no I/O); an OutboxRouter is immutable and thread-safe. Make is Fatal, naming the table, the column
// and the capture flag, when the table lacks a configured column or an option is unusable. Route is Fatal for a
// row that cannot be routed (NULL route-by value, a topic Kafka would refuse, a value invalid for its type): the
// caller dead-letters it. Row images hold string_views into the caller's buffers, used only during the call.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"
#include "debezium/DebeziumEncoder.h"
#include "debezium/DebeziumTypes.h"
#include "kafka/KafkaRecord.h"

namespace streamshop::debezium {

inline constexpr std::string_view kRoutedByValue = "${routedByValue}";

// One entry of table.fields.additional.placement: "column:header[:alias]" (only header placement is supported).
struct OutboxAdditionalField {
  std::string column;
  std::string header;  // the alias, else the column name
};

struct OutboxRouterOptions {
  std::string route_topic_replacement = "outbox.event.${routedByValue}";  // route.topic.replacement
  std::string route_by_field = "aggregatetype";                           // route.by.field
  std::string field_event_id = "id";                                      // table.field.event.id
  std::string field_event_key = "aggregateid";                            // table.field.event.key
  std::string field_event_payload = "payload";                            // table.field.event.payload
  std::vector<OutboxAdditionalField> additional;                          // table.fields.additional.placement
  bool expand_json_payload = false;                                       // table.expand.json.payload
  bool schemas_enable = true;                                             // JsonConverter schemas.enable
};

// Parses table.fields.additional.placement: comma-separated "column:header[:alias]". Fatal for any other
// placement (envelope, partition) or an empty part, naming the entry and the flag.
Result<std::vector<OutboxAdditionalField>> ParseOutboxAdditionalPlacement(std::string_view spec);

// jsonb text ({"a": 1, "b": [1, 2]}) without the blanks PostgreSQL puts after ':' and ',' ({"a":1,"b":[1,2]}).
std::string CompactJson(std::string_view json);

class OutboxRouter {
 public:
  // `table` as Debezium describes it (columns in row order, NOT NULL and defaults from the catalog).
  static Result<OutboxRouter> Make(const OutboxRouterOptions& options, const DebeziumTable& table);

  // The record of one inserted (or snapshot) row, in table column order.
  Result<kafka::KafkaRecord> Route(const RowImage& row) const;

  const OutboxRouterOptions& options() const { return options_; }

 private:
  struct Field {
    size_t index = 0;
    FieldType type;
    bool optional = true;
    std::optional<std::string> default_json;
    std::string name;
  };
  OutboxRouter() = default;
  std::string Schema(const Field& f) const;
  Status AppendValue(const Field& f, const RowImage& row, std::string& out) const;
  Result<std::optional<std::string>> HeaderValue(const Field& f, const RowImage& row) const;

  OutboxRouterOptions options_;
  std::string table_name_;  // schema.table, for errors
  size_t width_ = 0;        // a row must have at least this many values
  Field id_, key_, payload_, route_by_;
  std::vector<std::pair<Field, std::string>> headers_;  // additional fields placed as headers, with their names
  std::string key_schema_, value_schema_;               // JsonConverter's "schema" members
};

}  // namespace streamshop::debezium
