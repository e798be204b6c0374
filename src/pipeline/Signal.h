// Signals: operations requested while streaming through Debezium's signal-table convention. A PostgreSQL table
// (`replicate --signal-table SCHEMA.TABLE`) with columns `id` (text), `type` (text) and `data` (JSON text) is in the
// publication; each row inserted into it reaches the pipeline in the change stream, ordered with the data changes,
// and is one signal (docs/OPERATIONS.md, "Signals"). This module is the pure part: the types and the parsing of one
// row (simdjson); the Replicator executes them. Thread-safe (no state).
//
// Types (Debezium's names where Debezium has the operation):
//   execute-snapshot    data {"data-collections": ["public.orders", …], "type": "incremental"|"blocking"}
//   stop-replication    data {"data-collections": [...]}: the tables' changes are skipped until resumed
//   resume-replication  data {"data-collections": [...]}: the tables are copied again and replicate
//   log                 data {"message": "..."}: written to the log
// A bad signal (unknown type, malformed JSON, a missing or ill-typed member) is an error naming the reason; the
// caller logs it and goes on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Status.h"

namespace streamshop::pipeline {

enum class SignalType : uint8_t { kExecuteSnapshot, kStopReplication, kResumeReplication, kLog, kUnknown };
inline constexpr size_t kSignalTypes = 5;
// "execute-snapshot", "stop-replication", "resume-replication", "log", "unknown": the metrics' `type` label.
std::string_view SignalTypeName(SignalType type);
// The type named `name` (exactly as above); kUnknown for anything else.
SignalType SignalTypeOf(std::string_view name);

// A table named in data-collections: "schema.table", or "table" (schema public). A part in double quotes may hold
// dots ("a.b".c, PostgreSQL's quoting, "" for a quote inside).
struct TableName {
  std::string schema;
  std::string name;
  std::string Qualified() const { return schema + "." + name; }
  bool operator==(const TableName&) const = default;
  auto operator<=>(const TableName&) const = default;
};
Result<TableName> ParseTableName(std::string_view text);

struct Signal {
  std::string id;
  SignalType type = SignalType::kUnknown;
  std::vector<TableName> collections;  // execute-snapshot, stop-replication, resume-replication
  bool blocking = false;               // execute-snapshot: "type": "blocking" (else incremental)
  std::string message;                 // log
};

// One row of the signal table (nullopt = SQL NULL). `type` must be a known type; `data` is JSON (NULL or empty
// = {} for log only). Errors are Fatal, with the reason.
Result<Signal> ParseSignal(std::optional<std::string_view> id, std::optional<std::string_view> type,
                           std::optional<std::string_view> data);

// Text from a signal row made safe for one log line: control characters escaped (\n, \t, \xNN), at most
// `max_bytes` bytes of it (then "…").
std::string Printable(std::string_view text, size_t max_bytes = 1000);

// "public.orders, public.customers", for logs.
std::string DescribeCollections(const std::vector<TableName>& tables);

}  // namespace streamshop::pipeline
