// Parses Debezium change events (PostgreSQL connector envelope, JSON converter, with or without schemas — produced
// by our DebeziumEncoder or by real Debezium) into what the sink stores: the table, the op, the source position and
// the before/after rows as column name → PostgreSQL text (the form clickhouse::AppendValue takes).
//
// Field values are decoded by their Connect schema (type + logical name + parameters) when the message carries one,
// otherwise by the PostgreSQL type of the target column, which the caller supplies through a TableLookup. The
// decodings are listed in docs/DEBEZIUM_COMPATIBILITY.md.
//
// Real Debezium's non-default value modes (DebeziumModes) are read from each field's schema — logical names, and the
// `__debezium.source.column.*` parameters of column.propagate.source.type — and from options.modes; a field whose
// representation is ambiguous (a plain string that may be text or base64 bytes) or lossy (a numeric sent as a
// double, microseconds cut to milliseconds) is an error naming the field and the connector setting to change.
// Records flattened by the ExtractNewRecordState SMT are read when they carry `__deleted` (delete rewrite); see
// DebeziumEvent::flattened.
//
// Contract: never crashes and never reads out of bounds on any input; malformed input (invalid JSON, wrong types,
// an unknown op, a missing payload, oversized or out-of-range numbers, undecodable values) is a Fatal Status whose
// message says exactly what and where ("invalid JSON in value: <simdjson error>", "field after.price: expected a base64
// Decimal string"), for the dead-letter path. A DebeziumParser reuses its buffers between calls and keeps each topic's
// last Connect schema, so that a value repeating it has only its payload parsed: one instance per thread. Results own
// their data.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"
#include "debezium/DebeziumEncoder.h"
#include "debezium/DebeziumTypes.h"

namespace streamshop::debezium {

struct ParsedColumn {
  std::string name;
  std::optional<std::string> text;  // PostgreSQL text; nullopt = SQL NULL
  bool unchanged_toast = false;     // Debezium's unavailable-value placeholder: the old value still holds
  std::optional<FieldType> type;    // the field's type when the message declared its schema
};
using ParsedRow = std::vector<ParsedColumn>;  // in message field order

const ParsedColumn* FindColumn(const ParsedRow& row, std::string_view name);

struct DebeziumEvent {
  bool tombstone = false;  // a null value: carries no change (the preceding delete did)
  DebeziumOp op = DebeziumOp::kCreate;
  std::string schema;                   // source.schema, else from the topic
  std::string table;                    // source.table, else from the topic
  std::optional<uint64_t> lsn;          // source.lsn: the change's WAL position (our _version)
  std::optional<int64_t> tx_id;         // source.txId
  std::string snapshot = "false";       // source.snapshot ("true", "first", "last", … for op r)
  std::optional<int64_t> source_ts_ms;  // source.ts_ms
  std::optional<int64_t> ts_ms;         // envelope ts_ms
  std::optional<ParsedRow> before;
  std::optional<ParsedRow> after;
  std::string message_prefix;   // op m
  std::string message_content;  // op m: raw bytes
  bool had_schema = false;      // the message was {"schema":…,"payload":…}
  // The record was flattened by Debezium's ExtractNewRecordState (unwrap) SMT: the row itself, with the SMT's
  // add.fields (`__op`, `__lsn`, `__source_*`, …) and delete rewrite marker (`__deleted`) stripped from it. It has
  // no before image: an update is only its new row (`after`), a delete only its old row (`before`).
  bool flattened = false;
};

// The column types the caller knows, for messages without schemas: the table with this schema and name, or null.
using TableLookup = std::function<const DebeziumTable*(std::string_view schema, std::string_view table)>;

struct DebeziumParserOptions {
  size_t max_message_bytes = 16u << 20;
  DebeziumModes modes;  // the connector's settings, where the records' schemas do not say them
};

class DebeziumParser {
 public:
  explicit DebeziumParser(DebeziumParserOptions options = {});
  ~DebeziumParser();
  DebeziumParser(const DebeziumParser&) = delete;
  DebeziumParser& operator=(const DebeziumParser&) = delete;

  // `value` std::nullopt (or empty) is a Kafka tombstone; `topic` names the table when the message does not.
  Result<DebeziumEvent> ParseValue(std::optional<std::string_view> value, std::string_view topic,
                                   const TableLookup& lookup = nullptr);

  // A record key: the primary-key columns. Key schemas carry no propagated source types, so a plain string is read
  // as its text whatever the modes (the sink takes the key's column names and order; values come from the row).
  Result<ParsedRow> ParseKey(std::string_view key, std::string_view topic, const TableLookup& lookup = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace streamshop::debezium
