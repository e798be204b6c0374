#include "debezium/DebeziumEncoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "debezium/DebeziumValueCodec.h"
#include "debezium/JsonWriter.h"
#include "debezium/TopicNames.h"

namespace streamshop::debezium {
namespace {

// io.debezium.connector.postgresql.Source and event.block, as JsonConverter writes them.
constexpr std::string_view kSourceSchema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},)"
    R"({"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},)"
    R"({"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,)"
    R"("name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,)"
    R"(last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},)"
    R"({"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},)"
    R"({"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},)"
    R"({"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},)"
    R"({"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},)"
    R"({"type":"int64","optional":true,"field":"xmin"},{"type":"string","optional":true,"field":"origin"},)"
    R"({"type":"int64","optional":true,"field":"origin_lsn"}],"optional":false,)"
    R"("name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"})";
constexpr std::string_view kTransactionSchema =
    R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},)"
    R"({"type":"int64","optional":false,"field":"total_order"},)"
    R"({"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block",)"
    R"("version":1,"field":"transaction"})";
constexpr std::string_view kEnvelopeTail =
    R"({"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},)"
    R"({"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}])";
constexpr std::string_view kMessageKeySchema =
    R"({"type":"struct","fields":[{"type":"string","optional":true,"field":"prefix"}],"optional":false,)"
    R"("name":"io.debezium.connector.postgresql.MessageKey","version":1})";
constexpr std::string_view kMessageBlockSchema =
    R"({"type":"struct","fields":[{"type":"string","optional":true,"field":"prefix"},)"
    R"({"type":"bytes","optional":true,"field":"content"}],"optional":false,)"
    R"("name":"io.debezium.connector.postgresql.Message","version":1,"field":"message"})";

constexpr std::string_view kSnapshotValues[] = {
    "true", "first", "first_in_data_collection", "last_in_data_collection", "last", "false", "incremental"};

bool IsStringLike(FieldKind k) {
  return k == FieldKind::kString || k == FieldKind::kJson || k == FieldKind::kUuid || k == FieldKind::kXml ||
         k == FieldKind::kUnsupported;
}

}  // namespace

DebeziumEncoder::DebeziumEncoder(DebeziumEncoderOptions options) : options_(std::move(options)) {}

Result<std::shared_ptr<const PreparedTable>> DebeziumEncoder::Prepare(const DebeziumTable& table) const {
  const std::string qualified = table.schema + "." + table.name;
  if (table.columns.empty()) return Status::Fatal(fmt::format("table {}: no columns", qualified));
  auto t = std::make_shared<PreparedTable>();
  t->table_ = table;
  t->topic_ = TopicForTable(options_.topic_prefix, table.schema, table.name);
  std::set<std::string_view> names;
  std::vector<std::pair<int, size_t>> keys;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const DebeziumColumn& c = table.columns[i];
    if (!names.insert(c.name).second) {
      return Status::Fatal(fmt::format("table {}: duplicate column name '{}'", qualified, c.name));
    }
    PreparedTable::Column col;
    col.type = FieldTypeForColumn(c.type);
    col.optional = !c.not_null && c.key_position == 0;  // primary-key columns are NOT NULL
    col.default_json = DefaultValueJson(c, col.type);
    col.fallback_json = col.default_json ? *col.default_json : FallbackValueJson(col.type);
    AppendJsonString(col.quoted_name, c.name);
    t->columns_.push_back(std::move(col));
    if (c.key_position > 0) keys.emplace_back(c.key_position, i);
  }
  std::sort(keys.begin(), keys.end());
  for (size_t k = 0; k < keys.size(); ++k) {
    if (keys[k].first != static_cast<int>(k) + 1) {
      return Status::Fatal(fmt::format("table {}: primary-key positions are not 1..{}", qualified, keys.size()));
    }
    t->key_columns_.push_back(keys[k].second);
  }

  std::string value_fields;
  for (size_t i = 0; i < t->columns_.size(); ++i) {
    const PreparedTable::Column& col = t->columns_[i];
    if (i > 0) value_fields.push_back(',');
    const DebeziumColumn& c = table.columns[i];
    AppendFieldSchema(value_fields, col.type, col.optional, col.default_json ? &*col.default_json : nullptr, c.name,
                      c.comment ? &*c.comment : nullptr);
  }
  if (t->has_key()) {
    std::string& k = t->key_schema_;
    k = R"({"type":"struct","fields":[)";
    for (size_t n = 0; n < t->key_columns_.size(); ++n) {
      const PreparedTable::Column& col = t->columns_[t->key_columns_[n]];
      if (n > 0) k.push_back(',');
      const DebeziumColumn& c = table.columns[t->key_columns_[n]];
      AppendFieldSchema(k, col.type, false, col.default_json ? &*col.default_json : nullptr, c.name,
                        c.comment ? &*c.comment : nullptr);
    }
    k += R"(],"optional":false,"name":)";
    AppendJsonString(k, t->topic_ + ".Key");
    k += '}';
  }
  std::string value_name;
  AppendJsonString(value_name, t->topic_ + ".Value");
  std::string& e = t->envelope_schema_;
  e = R"({"type":"struct","fields":[)";
  for (std::string_view field : {"before", "after"}) {
    e += R"({"type":"struct","fields":[)";
    e += value_fields;
    e += R"(],"optional":true,"name":)";
    e += value_name;
    e += R"(,"field":")";
    e += field;
    e += R"("},)";
  }
  e += kSourceSchema;
  e += ',';
  e += kTransactionSchema;
  e += ',';
  e += kEnvelopeTail;
  e += R"(,"optional":false,"name":)";
  AppendJsonString(e, t->topic_ + ".Envelope");
  e += R"(,"version":2})";
  return std::shared_ptr<const PreparedTable>(std::move(t));
}

Status DebeziumEncoder::AppendRow(const PreparedTable& t, const RowImage* image, std::string& out) const {
  if (image == nullptr) {
    out += "null";
    return Status::Ok();
  }
  const auto& cols = t.columns_;
  if (image->values.size() != cols.size() ||
      (!image->unchanged_toast.empty() && image->unchanged_toast.size() != cols.size())) {
    return Status::Fatal(fmt::format("table {}.{}: row has {} values but the table has {} columns", t.table_.schema,
                                     t.table_.name, image->values.size(), cols.size()));
  }
  out.push_back('{');
  for (size_t i = 0; i < cols.size(); ++i) {
    const PreparedTable::Column& col = cols[i];
    if (i > 0) out.push_back(',');
    out += col.quoted_name;
    out.push_back(':');
    if (!image->unchanged_toast.empty() && image->unchanged_toast[i]) {
      if (IsStringLike(col.type.kind)) {
        AppendJsonString(out, kUnavailableValuePlaceholder);
      } else if (col.type.kind == FieldKind::kBytes) {
        out.push_back('"');
        AppendBase64(out, kUnavailableValuePlaceholder);
        out.push_back('"');
      } else {
        return Status::Fatal(
            fmt::format("table {}.{} column {}: an unchanged TOASTed value of this type has no "
                        "Debezium placeholder; use REPLICA IDENTITY FULL",
                        t.table_.schema, t.table_.name, t.table_.columns[i].name));
      }
      continue;
    }
    const std::optional<std::string_view>& v = image->values[i];
    if (!v) {
      out += col.optional ? "null" : col.fallback_json;
      continue;
    }
    Status st = AppendValueJson(col.type, *v, out);
    if (!st.ok()) {
      return st.WithContext(
          fmt::format("table {}.{} column {}", t.table_.schema, t.table_.name, t.table_.columns[i].name));
    }
  }
  out.push_back('}');
  return Status::Ok();
}

Status DebeziumEncoder::AppendKey(const PreparedTable& t, const RowImage& image, std::string& out) const {
  out.push_back('{');
  for (size_t n = 0; n < t.key_columns_.size(); ++n) {
    const size_t i = t.key_columns_[n];
    const PreparedTable::Column& col = t.columns_[i];
    if (n > 0) out.push_back(',');
    out += col.quoted_name;
    out.push_back(':');
    const bool unchanged = !image.unchanged_toast.empty() && image.unchanged_toast[i];
    if (i >= image.values.size() || !image.values[i] || unchanged) {
      return Status::Fatal(fmt::format("table {}.{}: primary-key column {} has no value", t.table_.schema,
                                       t.table_.name, t.table_.columns[i].name));
    }
    Status st = AppendValueJson(col.type, *image.values[i], out);
    if (!st.ok()) {
      return st.WithContext(
          fmt::format("table {}.{} column {}", t.table_.schema, t.table_.name, t.table_.columns[i].name));
    }
  }
  out.push_back('}');
  return Status::Ok();
}

void DebeziumEncoder::AppendSource(std::string& out, const DebeziumSource& s, std::string_view schema,
                                   std::string_view table) const {
  out += R"({"version":)";
  AppendJsonString(out, options_.connector_version);
  out += R"(,"connector":"postgresql","name":)";
  AppendJsonString(out, options_.topic_prefix);
  out += R"(,"ts_ms":)";
  AppendInt(out, s.ts_us / 1000 - (s.ts_us % 1000 < 0));
  out += R"(,"snapshot":)";
  AppendJsonString(out, s.snapshot);
  out += R"(,"db":)";
  AppendJsonString(out, options_.database);
  std::string sequence = "[";
  sequence += s.last_commit_lsn ? "\"" + std::to_string(*s.last_commit_lsn) + "\"" : "null";
  sequence += ',';
  sequence += s.lsn ? "\"" + std::to_string(*s.lsn) + "\"" : "null";
  sequence += ']';
  out += R"(,"sequence":)";
  AppendJsonString(out, sequence);
  out += R"(,"ts_us":)";
  AppendInt(out, s.ts_us);
  out += R"(,"ts_ns":)";
  int64_t ts_ns = 0;
  if (__builtin_mul_overflow(s.ts_us, int64_t{1000}, &ts_ns)) {
    out += "null";
  } else {
    AppendInt(out, ts_ns);
  }
  out += R"(,"schema":)";
  AppendJsonString(out, schema);
  out += R"(,"table":)";
  AppendJsonString(out, table);
  out += R"(,"txId":)";
  if (s.tx_id) {
    AppendInt(out, *s.tx_id);
  } else {
    out += "null";
  }
  out += R"(,"lsn":)";
  if (s.lsn) {
    AppendUInt(out, *s.lsn);
  } else {
    out += "null";
  }
  out += R"(,"xmin":)";
  if (s.xmin) {
    AppendInt(out, *s.xmin);
  } else {
    out += "null";
  }
  out += R"(,"origin":)";
  if (s.origin) {
    AppendJsonString(out, *s.origin);
  } else {
    out += "null";
  }
  out += R"(,"origin_lsn":)";
  if (s.origin_lsn) {
    AppendUInt(out, *s.origin_lsn);
  } else {
    out += "null";
  }
  out.push_back('}');
}

std::string DebeziumEncoder::Value(const PreparedTable& t, char op, const std::string& before, const std::string& after,
                                   const DebeziumChange& change) const {
  std::string out;
  out.reserve(before.size() + after.size() + 512 + (options_.schemas_enable ? t.envelope_schema_.size() + 32 : 0));
  if (options_.schemas_enable) {
    out += R"({"schema":)";
    out += t.envelope_schema_;
    out += R"(,"payload":)";
  }
  out += R"({"before":)";
  out += before;
  out += R"(,"after":)";
  out += after;
  out += R"(,"source":)";
  AppendSource(out, change.source, t.table_.schema, t.table_.name);
  out += R"(,"transaction":)";
  if (change.transaction) {
    out += R"({"id":)";
    AppendJsonString(out, change.transaction->id);
    out += R"(,"total_order":)";
    AppendInt(out, change.transaction->total_order);
    out += R"(,"data_collection_order":)";
    AppendInt(out, change.transaction->data_collection_order);
    out.push_back('}');
  } else {
    out += "null";
  }
  out += R"(,"op":")";
  out.push_back(op);
  out += R"(","ts_ms":)";
  AppendInt(out, change.ts_ns / 1'000'000);
  out += R"(,"ts_us":)";
  AppendInt(out, change.ts_ns / 1'000);
  out += R"(,"ts_ns":)";
  AppendInt(out, change.ts_ns);
  out.push_back('}');
  if (options_.schemas_enable) out.push_back('}');
  return out;
}

std::string DebeziumEncoder::Key(const PreparedTable& t, const std::string& payload) const {
  if (!options_.schemas_enable) return payload;
  std::string out;
  out.reserve(t.key_schema_.size() + payload.size() + 24);
  out += R"({"schema":)";
  out += t.key_schema_;
  out += R"(,"payload":)";
  out += payload;
  out.push_back('}');
  return out;
}

void DebeziumEncoder::AddContextHeaders(KafkaRecord& r) const {
  if (!options_.run_id) return;
  r.headers.emplace_back("__debezium.context.connectorLogicalName", options_.topic_prefix);
  r.headers.emplace_back("__debezium.context.taskId", "0");
  r.headers.emplace_back("__debezium.context.connectorName", "postgresql");
  r.headers.emplace_back("__debezium.context.runId", *options_.run_id);
}

bool DebeziumEncoder::DeleteFollowedByTombstone(const PreparedTable&) const { return options_.tombstones_on_delete; }

Status DebeziumEncoder::Encode(const PreparedTable& t, const DebeziumChange& change,
                               std::vector<KafkaRecord>& out) const {
  const std::string where = fmt::format("table {}.{}", t.table_.schema, t.table_.name);
  if (std::find(std::begin(kSnapshotValues), std::end(kSnapshotValues), change.source.snapshot) ==
      std::end(kSnapshotValues)) {
    return Status::Fatal(fmt::format("{}: invalid source.snapshot value '{}'", where, change.source.snapshot));
  }
  const RowImage* before = change.before ? &*change.before : nullptr;
  const RowImage* after = change.after ? &*change.after : nullptr;
  const char op = static_cast<char>(change.op);
  switch (change.op) {
    case DebeziumOp::kCreate:
    case DebeziumOp::kRead:
      if (after == nullptr || before != nullptr) {
        return Status::Fatal(fmt::format("{}: op '{}' needs an after image and no before image", where, op));
      }
      break;
    case DebeziumOp::kUpdate:
      if (after == nullptr) return Status::Fatal(fmt::format("{}: op 'u' needs an after image", where));
      break;
    case DebeziumOp::kDelete:
      if (before == nullptr || after != nullptr) {
        return Status::Fatal(fmt::format("{}: op 'd' needs a before image and no after image", where));
      }
      break;
    case DebeziumOp::kTruncate:
      if (before != nullptr || after != nullptr) {
        return Status::Fatal(fmt::format("{}: op 't' carries no row images", where));
      }
      break;
    case DebeziumOp::kMessage:
      return Status::Fatal(fmt::format("{}: logical messages are encoded with EncodeLogicalMessage", where));
    default:
      return Status::Fatal(fmt::format("{}: unknown op '{}'", where, op));
  }

  std::string before_json, after_json;
  SS_RETURN_IF_ERROR(AppendRow(t, before, before_json));
  SS_RETURN_IF_ERROR(AppendRow(t, after, after_json));

  if (change.op == DebeziumOp::kTruncate) {
    KafkaRecord r{t.topic_, std::nullopt, Value(t, op, before_json, after_json, change), {}};
    AddContextHeaders(r);
    out.push_back(std::move(r));
    return Status::Ok();
  }

  // Keys: of the row that is gone for a delete, of the new row otherwise.
  std::optional<std::string> key_payload, old_key_payload;
  if (t.has_key()) {
    const RowImage& keyed = change.op == DebeziumOp::kDelete ? *before : *after;
    key_payload.emplace();
    SS_RETURN_IF_ERROR(AppendKey(t, keyed, *key_payload));
    if (change.op == DebeziumOp::kUpdate && before != nullptr) {
      old_key_payload.emplace();
      SS_RETURN_IF_ERROR(AppendKey(t, *before, *old_key_payload));
    }
  }
  auto key = [&](const std::optional<std::string>& payload) -> std::optional<std::string> {
    if (!payload) return std::nullopt;
    return Key(t, *payload);
  };

  if (change.op == DebeziumOp::kUpdate && old_key_payload && *old_key_payload != *key_payload) {
    // Primary-key change: delete of the old key (+ tombstone), then create of the new key.
    KafkaRecord del{t.topic_, key(old_key_payload), Value(t, 'd', before_json, "null", change), {}};
    del.headers.emplace_back("__debezium.newkey", *key_payload);
    AddContextHeaders(del);
    out.push_back(std::move(del));
    if (options_.tombstones_on_delete) {
      KafkaRecord tomb{t.topic_, key(old_key_payload), std::nullopt, {}};
      tomb.headers.emplace_back("__debezium.newkey", *key_payload);
      AddContextHeaders(tomb);
      out.push_back(std::move(tomb));
    }
    KafkaRecord create{t.topic_, key(key_payload), Value(t, 'c', "null", after_json, change), {}};
    create.headers.emplace_back("__debezium.oldkey", *old_key_payload);
    AddContextHeaders(create);
    out.push_back(std::move(create));
    return Status::Ok();
  }

  KafkaRecord r{t.topic_, key(key_payload), Value(t, op, before_json, after_json, change), {}};
  AddContextHeaders(r);
  out.push_back(std::move(r));
  if (change.op == DebeziumOp::kDelete && DeleteFollowedByTombstone(t)) {
    KafkaRecord tomb{t.topic_, key(key_payload), std::nullopt, {}};
    AddContextHeaders(tomb);
    out.push_back(std::move(tomb));
  }
  return Status::Ok();
}

KafkaRecord DebeziumEncoder::EncodeLogicalMessage(std::string_view prefix, std::string_view content,
                                                  const DebeziumSource& source, int64_t ts_ns) const {
  KafkaRecord r;
  r.topic = options_.topic_prefix + ".message";
  std::string key_payload = R"({"prefix":)";
  AppendJsonString(key_payload, prefix);
  key_payload.push_back('}');
  std::string value;
  if (options_.schemas_enable) {
    r.key = R"({"schema":)" + std::string(kMessageKeySchema) + R"(,"payload":)" + key_payload + "}";
    value = R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"op"},)"
            R"({"type":"int64","optional":true,"field":"ts_ms"},)";
    value += kSourceSchema;
    value += ',';
    value += kTransactionSchema;
    value += ',';
    value += kMessageBlockSchema;
    value += R"(],"optional":false,"name":"io.debezium.connector.postgresql.MessageValue","version":1},"payload":)";
  } else {
    r.key = key_payload;
  }
  value += R"({"op":"m","ts_ms":)";
  AppendInt(value, ts_ns / 1'000'000);
  value += R"(,"source":)";
  AppendSource(value, source, "", "");
  value += R"(,"transaction":null,"message":{"prefix":)";
  AppendJsonString(value, prefix);
  value += R"(,"content":")";
  AppendBase64(value, content);
  value += R"("}})";
  if (options_.schemas_enable) value.push_back('}');
  r.value = std::move(value);
  AddContextHeaders(r);
  return r;
}

}  // namespace streamshop::debezium
