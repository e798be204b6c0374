// Encodes row changes as the Kafka records Debezium's PostgreSQL connector (3.6.1, default settings, JsonConverter)
// produces: topic `<prefix>.<schema>.<table>` (debezium/TopicNames.h: names escaped injectively), key = primary-key
// struct, value = change-event envelope {before, after, source, transaction, op, ts_ms, ts_us, ts_ns}, with or without
// the Connect schema
// ({"schema":…,"payload":…}). Field names, order, nesting and value encodings match the connector byte for byte
// for the types of docs/DEBEZIUM_COMPATIBILITY.md, which also lists each intentional difference.
//
// Contract: pure (no I/O, no clock: processing time and source metadata are inputs); a DebeziumEncoder and the
// PreparedTables it returns are immutable and safe to share between threads. Errors are Fatal Statuses naming
// table and column (a text value that is not valid for its type, numeric NaN in a Decimal field, a NULL key
// column, an image whose width differs from the table's); the caller routes the change to its error path.
// Row images hold string_views into the caller's buffers, used only during the call.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Status.h"
#include "debezium/DebeziumTypes.h"
#include "kafka/KafkaRecord.h"

namespace streamshop::debezium {

enum class DebeziumOp : char {
  kCreate = 'c',
  kUpdate = 'u',
  kDelete = 'd',
  kRead = 'r',  // snapshot row
  kTruncate = 't',
  kMessage = 'm',  // pg_logical_emit_message; see EncodeLogicalMessage
};

struct DebeziumEncoderOptions {
  std::string topic_prefix = "streamshop";       // Debezium's topic.prefix: topic and schema names, source.name
  std::string database;                          // source.db
  std::string connector_version = "streamshop";  // source.version (Debezium writes its own, e.g. "3.6.1.Final")
  bool schemas_enable = true;                    // JsonConverter schemas.enable (key and value alike)
  bool tombstones_on_delete = true;              // tombstones.on.delete
  // When set, every record carries __debezium.context.{connectorLogicalName,taskId,connectorName,runId}.
  std::optional<std::string> run_id;
};

// The `source` block. Timestamps and positions are inputs so that the encoder stays deterministic.
struct DebeziumSource {
  int64_t ts_us = 0;               // commit time (streaming) or snapshot time, µs since epoch
  std::string snapshot = "false";  // "false", "true", "first", "first_in_data_collection", "last_in_data_collection",
                                   // "last" or "incremental"
  std::optional<int64_t> tx_id;
  std::optional<uint64_t> lsn;              // the change's own LSN
  std::optional<uint64_t> last_commit_lsn;  // first element of `sequence`: ["<last_commit_lsn>","<lsn>"]
  std::optional<int64_t> xmin;
  std::optional<std::string> origin;  // replication origin (pgoutput Origin message)
  std::optional<uint64_t> origin_lsn;
};

// provide.transaction.metadata's `transaction` block (null when absent, Debezium's default).
struct DebeziumTransaction {
  std::string id;  // Debezium writes "<txId>:<lsn>"
  int64_t total_order = 0;
  int64_t data_collection_order = 0;
};

// One row image in table column order: PostgreSQL text values, std::nullopt = SQL NULL. `unchanged_toast` is empty
// or has one flag per column: true for a TOASTed value an UPDATE did not send (written as Debezium's placeholder).
struct RowImage {
  std::vector<std::optional<std::string_view>> values;
  std::vector<bool> unchanged_toast;
};

struct DebeziumChange {
  DebeziumOp op = DebeziumOp::kCreate;
  // c, r: after only. u: after, plus before when PostgreSQL sent an old row ('O', REPLICA IDENTITY FULL) or an
  // old key ('K': the key changed; non-key columns NULL). d: before only (old key or old row). t: neither.
  std::optional<RowImage> before;
  std::optional<RowImage> after;
  DebeziumSource source;
  int64_t ts_ns = 0;  // processing time: envelope ts_ms / ts_us / ts_ns
  std::optional<DebeziumTransaction> transaction;
};

using kafka::KafkaRecord;

// A table's precomputed schemas and per-column encodings. Build with DebeziumEncoder::Prepare; immutable.
class PreparedTable {
 public:
  const DebeziumTable& table() const { return table_; }
  const std::string& topic() const { return topic_; }
  bool has_key() const { return !key_columns_.empty(); }

 private:
  friend class DebeziumEncoder;
  struct Column {
    FieldType type;
    bool optional = true;
    std::optional<std::string> default_json;
    std::string fallback_json;  // value of a NOT NULL column that has no value: default, else the type's zero
    std::string quoted_name;    // "name" as JSON
  };
  DebeziumTable table_;
  std::string topic_;
  std::vector<Column> columns_;
  std::vector<size_t> key_columns_;  // indexes into columns_, primary-key order
  std::string key_schema_;           // {"type":"struct",…,"name":"<topic>.Key"}
  std::string envelope_schema_;      // {"type":"struct",…,"name":"<topic>.Envelope","version":2}
};

class DebeziumEncoder {
 public:
  explicit DebeziumEncoder(DebeziumEncoderOptions options);

  const DebeziumEncoderOptions& options() const { return options_; }

  // Precomputes the table's schemas. Fatal for a table without columns, duplicate column names or key positions
  // that are not 1..n.
  Result<std::shared_ptr<const PreparedTable>> Prepare(const DebeziumTable& table) const;

  // Appends the records of one change to `out`, in the order Debezium sends them:
  //  - c/r/u/t: one record (a truncate has a null key);
  //  - d: the delete, then a tombstone (same key, null value) when tombstones_on_delete (Debezium sends it even
  //    for a table without primary key, whose key is null);
  //  - u whose primary key changed: a delete for the old key and its tombstone (both with header
  //    __debezium.newkey), then a create for the new key (header __debezium.oldkey).
  // Nothing is appended when an error is returned.
  Status Encode(const PreparedTable& table, const DebeziumChange& change, std::vector<KafkaRecord>& out) const;

  // Whether a delete of this table is followed by a tombstone.
  bool DeleteFollowedByTombstone(const PreparedTable& table) const;

  // A pg_logical_emit_message event: topic `<prefix>.message`, key {prefix}, value {op:"m", ts_ms, source,
  // transaction, message{prefix, content}} (content base64, binary.handling.mode=bytes).
  KafkaRecord EncodeLogicalMessage(std::string_view prefix, std::string_view content, const DebeziumSource& source,
                                   int64_t ts_ns) const;

 private:
  // The row as a JSON object; `image` may be null (JSON null).
  Status AppendRow(const PreparedTable& t, const RowImage* image, std::string& out) const;
  Status AppendKey(const PreparedTable& t, const RowImage& image, std::string& key_payload) const;
  void AppendSource(std::string& out, const DebeziumSource& s, std::string_view schema, std::string_view table) const;
  std::string Value(const PreparedTable& t, char op, const std::string& before, const std::string& after,
                    const DebeziumChange& change) const;
  std::string Key(const PreparedTable& t, const std::string& payload) const;
  void AddContextHeaders(KafkaRecord& r) const;

  DebeziumEncoderOptions options_;
};

}  // namespace streamshop::debezium
