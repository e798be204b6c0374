// Column type (model::Type) → ClickHouse column type, per server dialect. Pure; thread-safe.
//
// The mapping is the documented contract of docs/TYPE_MAPPING.md: change both together. Every
// PostgreSQL type maps losslessly; a type without a faithful ClickHouse counterpart is stored as the
// exact PostgreSQL text (String), a composite type as a JSON object of its fields' texts. Key columns are never
// Nullable (they form the ORDER BY). Which other columns are Nullable is the caller's choice (TableWriter): every
// one on legacy servers, the nullable ones on modern servers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"
#include "model/TableSchema.h"

namespace streamshop::clickhouse {

// Which SQL dialect the ClickHouse server speaks. kModern is ≥ 23.2 (DateTime64, Date32, Bool,
// ReplacingMergeTree(version, is_deleted)); kLegacy is older servers such as Debian's 18.16.
enum class Dialect { kLegacy, kModern };

// Parses "18.16.1" / "24.8.4.13" and picks the dialect.
Result<Dialect> DialectForVersion(std::string_view version);

// How a value travels: the PostgreSQL text form is converted to this RowBinary representation.
enum class ValueKind : uint8_t {
  kBool,  // UInt8 (legacy) / Bool (modern): 1 byte
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kDecimal,    // Decimal(P,S): Int32/Int64/Int128/Int256 unscaled, by precision (Int256: modern only)
  kString,     // text, varchar, char, json, jsonb and every type without a native counterpart: exact PG text
  kBytes,      // bytea: the raw bytes (PG text form is \x hex)
  kDate,       // Int32 days since 1970-01-01 (legacy) / Date32 (modern)
  kTimestamp,  // Int64 µs since 1970-01-01 UTC (legacy) / DateTime64(6) or DateTime64(6,'UTC') (modern)
  kUuid,
  kComposite,  // composite type: JSON object of field name → PostgreSQL text of the field (null for NULL)
  kArray,      // Array(Nullable(T)) (modern): a one-dimensional PostgreSQL array with lower bound 1
};

struct ColumnType {
  ValueKind kind = ValueKind::kString;
  bool nullable = true;
  int precision = 0;                // kDecimal only
  int scale = 0;                    // kDecimal only
  std::vector<std::string> fields;  // kComposite only: attribute names in order
  std::string clickhouse_type;      // full ClickHouse type, e.g. "Nullable(Decimal(12, 2))"
  std::vector<ColumnType> element;  // kArray only: the element's type (always Nullable)
};

// The ClickHouse type of a column of neutral type `type`. An enum is LowCardinality(String) on modern servers. An
// array becomes Array(Nullable(T)) on modern servers when its element has a native counterpart T (or is text) and
// the column is not nullable (ClickHouse has no Nullable(Array)); otherwise it keeps its exact text in a String,
// as does every type without a faithful counterpart. A composite is a JSON object of its fields' texts.
ColumnType MapColumnType(const model::Type& type, bool nullable, Dialect dialect);

// Byte width of the unscaled integer for a Decimal of this precision (4, 8, 16 or 32).
int DecimalWidth(int precision);

}  // namespace streamshop::clickhouse
