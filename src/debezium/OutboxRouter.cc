#include "debezium/OutboxRouter.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "debezium/DebeziumValueCodec.h"
#include "debezium/JsonWriter.h"
#include "debezium/TopicNames.h"

namespace streamshop::debezium {
namespace {

bool LegalTopic(std::string_view t) {
  if (t.empty() || t.size() > kMaxTopicLength || t == "." || t == "..") return false;
  for (char c : t) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Debezium sends these as the column's PostgreSQL text in a string field.
bool TextKind(FieldKind k) {
  return k == FieldKind::kString || k == FieldKind::kJson || k == FieldKind::kUuid || k == FieldKind::kXml ||
         k == FieldKind::kUnsupported;
}

}  // namespace

Result<std::vector<OutboxAdditionalField>> ParseOutboxAdditionalPlacement(std::string_view spec) {
  std::vector<OutboxAdditionalField> out;
  size_t start = 0;
  while (start <= spec.size() && !spec.empty()) {
    size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view entry = spec.substr(start, end - start);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    std::vector<std::string_view> parts;
    for (size_t p = 0;;) {
      const size_t colon = entry.find(':', p);
      parts.push_back(entry.substr(p, colon == std::string_view::npos ? std::string_view::npos : colon - p));
      if (colon == std::string_view::npos) break;
      p = colon + 1;
    }
    const auto bad = [&](std::string_view why) {
      return Status::Fatal(
          fmt::format("--outbox-additional-placement: entry '{}' {} (use COLUMN:header[:ALIAS], comma-separated, like "
                      "EventRouter's table.fields.additional.placement; only header placement is supported)",
                      entry, why));
    };
    if (parts.size() < 2 || parts.size() > 3) return bad("is not COLUMN:PLACEMENT[:ALIAS]");
    if (parts[0].empty()) return bad("has no column");
    if (parts[1] != "header") {
      return bad(parts[1] == "envelope" || parts[1] == "partition" ? "places a field in the " + std::string(parts[1])
                                                                   : "has an unknown placement");
    }
    if (parts.size() == 3 && parts[2].empty()) return bad("has an empty alias");
    out.push_back({std::string(parts[0]), std::string(parts.size() == 3 ? parts[2] : parts[0])});
    start = end + 1;
    if (end == spec.size()) break;
  }
  return out;
}

std::string CompactJson(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      out += c;
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    if (c == '"') in_string = true;
    out += c;
  }
  return out;
}

Result<OutboxRouter> OutboxRouter::Make(const OutboxRouterOptions& options, const DebeziumTable& table) {
  OutboxRouter r;
  r.options_ = options;
  r.table_name_ = table.schema + "." + table.name;
  if (options.expand_json_payload && options.schemas_enable) {
    return Status::Fatal(
        "--outbox-expand-json-payload on needs --schemas off: with schemas, Debezium infers a Connect schema from "
        "each payload document, which streamshop does not (and which fails in Debezium for arrays of mixed types "
        "and payloads that are not objects); run with --schemas off, or leave the payload as a JSON string");
  }
  {
    const std::string& pattern = options.route_topic_replacement;
    std::string probe = pattern;
    const size_t at = probe.find(kRoutedByValue);
    if (at != std::string::npos) probe.replace(at, kRoutedByValue.size(), "x");
    if (pattern.empty() || !LegalTopic(probe)) {
      return Status::Fatal(fmt::format(
          "--outbox-route-topic-replacement '{}': a Kafka topic name of [A-Za-z0-9._-], where ${{routedByValue}} "
          "stands for the value of the route-by column (default outbox.event.${{routedByValue}})",
          pattern));
    }
  }
  const auto find = [&](const std::string& column, std::string_view flag, Field& f) -> Status {
    for (size_t i = 0; i < table.columns.size(); ++i) {
      const DebeziumColumn& c = table.columns[i];
      if (c.name != column) continue;
      f.index = i;
      f.type = FieldTypeForColumn(c.type);
      f.optional = !c.not_null && c.key_position == 0;
      f.default_json = DefaultValueJson(c, f.type);
      f.name = c.name;
      return Status::Ok();
    }
    std::string have;
    for (const DebeziumColumn& c : table.columns) have += (have.empty() ? "" : ", ") + c.name;
    return Status::Fatal(fmt::format(
        "outbox table {} has no column \"{}\" (set by {}); its published columns are: {}. Add the column or point "
        "{} at the column that holds it",
        r.table_name_, column, flag, have, flag));
  };
  SS_RETURN_IF_ERROR(find(options.field_event_id, "--outbox-id-column", r.id_));
  SS_RETURN_IF_ERROR(find(options.field_event_key, "--outbox-key-column", r.key_));
  SS_RETURN_IF_ERROR(find(options.field_event_payload, "--outbox-payload-column", r.payload_));
  SS_RETURN_IF_ERROR(find(options.route_by_field, "--outbox-route-by-field", r.route_by_));
  for (const OutboxAdditionalField& a : options.additional) {
    Field f;
    SS_RETURN_IF_ERROR(find(a.column, "--outbox-additional-placement", f));
    r.headers_.emplace_back(std::move(f), a.header);
  }
  r.width_ = 1 + std::max({r.id_.index, r.key_.index, r.payload_.index, r.route_by_.index});
  for (const auto& h : r.headers_) r.width_ = std::max(r.width_, h.first.index + 1);
  r.key_schema_ = r.Schema(r.key_);
  r.value_schema_ = r.Schema(r.payload_);
  return r;
}

// The field's Connect schema as JsonConverter writes a schema of its own (no "field" member).
std::string OutboxRouter::Schema(const Field& f) const {
  std::string s;
  AppendFieldSchema(s, f.type, f.optional, f.default_json ? &*f.default_json : nullptr, "");
  constexpr std::string_view kFieldMember = R"(,"field":""})";
  if (s.size() >= kFieldMember.size() && s.ends_with(kFieldMember)) {
    s.resize(s.size() - kFieldMember.size());
    s += '}';
  }
  return s;
}

Status OutboxRouter::AppendValue(const Field& f, const RowImage& row, std::string& out) const {
  const std::optional<std::string_view>& v = row.values[f.index];
  if (!v) {
    out += "null";
    return Status::Ok();
  }
  if (Status st = AppendValueJson(f.type, *v, out); !st.ok()) {
    return Status::Fatal(fmt::format("outbox table {} column {}: {}", table_name_, f.name, st.message()));
  }
  return Status::Ok();
}

Result<std::optional<std::string>> OutboxRouter::HeaderValue(const Field& f, const RowImage& row) const {
  const std::optional<std::string_view>& v = row.values[f.index];
  if (!v) return std::optional<std::string>();
  if (TextKind(f.type.kind)) return std::optional<std::string>(std::string(*v));
  std::string json;
  SS_RETURN_IF_ERROR(AppendValue(f, row, json));
  // Strings of the other kinds (timestamps, base64) are ASCII without escapes: their characters.
  if (json.size() >= 2 && json.front() == '"' && json.back() == '"') json = json.substr(1, json.size() - 2);
  return std::optional<std::string>(std::move(json));
}

Result<kafka::KafkaRecord> OutboxRouter::Route(const RowImage& row) const {
  if (row.values.size() < width_) {
    return Status::Fatal(
        fmt::format("outbox table {}: a row of {} values, fewer than its columns", table_name_, row.values.size()));
  }
  kafka::KafkaRecord r;
  const std::optional<std::string_view>& by = row.values[route_by_.index];
  if (!by) {
    return Status::Fatal(
        fmt::format("outbox table {}: column {} (--outbox-route-by-field) is NULL: no topic to route "
                    "the event to",
                    table_name_, route_by_.name));
  }
  r.topic = options_.route_topic_replacement;
  const size_t at = r.topic.find(kRoutedByValue);
  if (at != std::string::npos) r.topic.replace(at, kRoutedByValue.size(), *by);
  if (!LegalTopic(r.topic)) {
    return Status::Fatal(fmt::format(
        "outbox table {}: column {} = '{}' routes the event to '{}', not a Kafka topic name ([A-Za-z0-9._-], at "
        "most {} characters)",
        table_name_, route_by_.name, *by, r.topic, kMaxTopicLength));
  }

  std::string key;
  if (options_.schemas_enable) key = R"({"schema":)" + key_schema_ + R"(,"payload":)";
  SS_RETURN_IF_ERROR(AppendValue(key_, row, key));
  if (options_.schemas_enable) key += '}';
  r.key = std::move(key);

  std::string value;
  const std::optional<std::string_view>& payload = row.values[payload_.index];
  if (options_.expand_json_payload && payload && payload_.type.kind == FieldKind::kJson) {
    value = CompactJson(*payload);
  } else {
    if (options_.schemas_enable) value = R"({"schema":)" + value_schema_ + R"(,"payload":)";
    SS_RETURN_IF_ERROR(AppendValue(payload_, row, value));
    if (options_.schemas_enable) value += '}';
  }
  r.value = std::move(value);

  SS_ASSIGN_OR_RETURN(std::optional<std::string> id, HeaderValue(id_, row));
  if (id) r.headers.emplace_back("id", std::move(*id));
  for (const auto& [f, name] : headers_) {
    SS_ASSIGN_OR_RETURN(std::optional<std::string> h, HeaderValue(f, row));
    if (h) r.headers.emplace_back(name, std::move(*h));
  }
  return r;
}

}  // namespace streamshop::debezium
