#include "pipeline/Signal.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace streamshop::pipeline {
namespace {

constexpr std::array<std::string_view, kSignalTypes> kNames = {"execute-snapshot", "stop-replication",
                                                               "resume-replication", "log", "unknown"};
constexpr size_t kMaxCollections = 10'000;

Status Bad(std::string why) { return Status::Fatal(std::move(why)); }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// One identifier at `pos`: "quoted" (with "" for ") or plain up to the next dot. Advances `pos`.
Result<std::string> Identifier(std::string_view text, size_t& pos) {
  std::string out;
  if (pos < text.size() && text[pos] == '"') {
    for (++pos;; ++pos) {
      if (pos >= text.size()) return Bad(fmt::format("table name '{}': unterminated double quote", text));
      if (text[pos] != '"') {
        out += text[pos];
      } else if (pos + 1 < text.size() && text[pos + 1] == '"') {
        out += '"';
        ++pos;
      } else {
        ++pos;
        break;
      }
    }
  } else {
    const size_t dot = std::min(text.find('.', pos), text.size());
    out = std::string(text.substr(pos, dot - pos));
    pos = dot;
    if (out.find('"') != std::string::npos) return Bad(fmt::format("table name '{}': stray double quote", text));
  }
  if (out.empty()) return Bad(fmt::format("table name '{}': empty part", text));
  return out;
}

}  // namespace

std::string_view SignalTypeName(SignalType type) {
  const auto i = static_cast<size_t>(type);
  return i < kNames.size() ? kNames[i] : kNames.back();
}

SignalType SignalTypeOf(std::string_view name) {
  for (size_t i = 0; i + 1 < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<SignalType>(i);
  }
  return SignalType::kUnknown;
}

Result<TableName> ParseTableName(std::string_view text) {
  size_t pos = 0;
  SS_ASSIGN_OR_RETURN(std::string first, Identifier(text, pos));
  if (pos == text.size()) return TableName{"public", std::move(first)};
  if (text[pos] != '.') return Bad(fmt::format("table name '{}': expected a dot after the schema", text));
  ++pos;
  SS_ASSIGN_OR_RETURN(std::string second, Identifier(text, pos));
  if (pos != text.size()) {
    return Bad(fmt::format("table name '{}': expected schema.table (a part with dots goes in double quotes)", text));
  }
  return TableName{std::move(first), std::move(second)};
}

Result<Signal> ParseSignal(std::optional<std::string_view> id, std::optional<std::string_view> type,
                           std::optional<std::string_view> data) {
  Signal s;
  s.id = id ? std::string(*id) : "";
  if (!type) return Bad("type is NULL");
  s.type = SignalTypeOf(*type);
  if (s.type == SignalType::kUnknown) {
    return Bad(
        fmt::format("unknown type '{}' (known: execute-snapshot, stop-replication, resume-replication, log)", *type));
  }
  std::string_view json = data ? *data : std::string_view();
  while (!json.empty() && std::isspace(static_cast<unsigned char>(json.front()))) json.remove_prefix(1);
  if (json.empty()) {
    if (s.type == SignalType::kLog) return s;
    return Bad(fmt::format("{} needs data, e.g. {{\"data-collections\": [\"public.orders\"]}}", *type));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root); error != simdjson::SUCCESS) {
    return Bad(fmt::format("data is not JSON: {}", simdjson::error_message(error)));
  }
  simdjson::dom::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) return Bad("data is not a JSON object");

  if (s.type == SignalType::kLog) {
    simdjson::dom::element m;
    if (o.at_key("message").get(m) != simdjson::SUCCESS) return Bad("log: data has no \"message\"");
    std::string_view text;
    if (m.get_string().get(text) != simdjson::SUCCESS) return Bad("log: \"message\" is not a string");
    s.message = std::string(text);
    return s;
  }

  simdjson::dom::element collections;
  if (o.at_key("data-collections").get(collections) != simdjson::SUCCESS) {
    return Bad(fmt::format("{}: data has no \"data-collections\"", *type));
  }
  simdjson::dom::array list;
  if (collections.get_array().get(list) != simdjson::SUCCESS) {
    return Bad(fmt::format("{}: \"data-collections\" is not an array of table names", *type));
  }
  for (simdjson::dom::element e : list) {
    std::string_view name;
    if (e.get_string().get(name) != simdjson::SUCCESS) {
      return Bad(fmt::format("{}: \"data-collections\" holds a value that is not a string", *type));
    }
    auto table = ParseTableName(name);
    if (!table.ok()) return Bad(fmt::format("{}: {}", *type, table.status().message()));
    if (std::find(s.collections.begin(), s.collections.end(), *table) == s.collections.end()) {
      s.collections.push_back(std::move(*table));
    }
    if (s.collections.size() > kMaxCollections) return Bad(fmt::format("{}: too many data-collections", *type));
  }
  if (s.collections.empty()) return Bad(fmt::format("{}: \"data-collections\" is empty", *type));

  if (s.type == SignalType::kExecuteSnapshot) {
    simdjson::dom::element kind;
    if (o.at_key("type").get(kind) == simdjson::SUCCESS) {
      std::string_view text;
      if (kind.get_string().get(text) != simdjson::SUCCESS) return Bad("execute-snapshot: \"type\" is not a string");
      const std::string lower = Lower(text);
      if (lower != "incremental" && lower != "blocking") {
        return Bad(fmt::format("execute-snapshot: type '{}' (known: incremental, blocking)", text));
      }
      s.blocking = lower == "blocking";
    }
    // Debezium's row filters for a snapshot: copying part of a table cannot repair it, so refuse them rather than
    // copy the whole table against the request.
    for (std::string_view key : {"additional-conditions", "additional-condition"}) {
      simdjson::dom::element cond;
      if (o.at_key(key).get(cond) != simdjson::SUCCESS || cond.is_null()) continue;
      simdjson::dom::array conds;
      if (cond.get_array().get(conds) == simdjson::SUCCESS && conds.size() == 0) continue;
      std::string_view text;
      if (cond.get_string().get(text) == simdjson::SUCCESS && text.empty()) continue;
      return Bad(fmt::format("execute-snapshot: \"{}\" is not supported (a table is always copied whole)", key));
    }
  }
  return s;
}

std::string Printable(std::string_view text, size_t max_bytes) {
  std::string out;
  const bool cut = text.size() > max_bytes;
  for (unsigned char c : text.substr(0, max_bytes)) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (cut) out += "…";
  return out;
}

std::string DescribeCollections(const std::vector<TableName>& tables) {
  std::string out;
  for (const auto& t : tables) out += (out.empty() ? "" : ", ") + t.Qualified();
  return out;
}

}  // namespace streamshop::pipeline
