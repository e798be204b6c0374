// PostgreSQL column type → ClickHouse column type, per server dialect. Pure; thread-safe.
//
// The mapping is the documented contract of docs/TYPE_MAPPING.md: change both together. Every
// PostgreSQL type maps losslessly; a type without a faithful ClickHouse counterpart is stored as the
// exact PostgreSQL text (String), a composite type as a JSON object of its fields' texts. Key columns are never
// Nullable (they form the ORDER BY); every other column is Nullable, because a delete carries only the key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"

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
  kDecimal,    // Decimal(P,S): Int32/Int64/Int128 unscaled, by precision
  kString,     // text, varchar, char, json, jsonb and every type without a native counterpart: exact PG text
  kBytes,      // bytea: the raw bytes (PG text form is \x hex)
  kDate,       // Int32 days since 1970-01-01 (legacy) / Date32 (modern)
  kTimestamp,  // Int64 µs since 1970-01-01 UTC (legacy) / DateTime64(6) or DateTime64(6,'UTC') (modern)
  kUuid,
  kComposite,  // composite type: JSON object of field name → PostgreSQL text of the field (null for NULL)
};

struct ColumnType {
  ValueKind kind = ValueKind::kString;
  bool nullable = true;
  int precision = 0;                // kDecimal only
  int scale = 0;                    // kDecimal only
  std::vector<std::string> fields;  // kComposite only: attribute names in order
  std::string clickhouse_type;      // full ClickHouse type, e.g. "Nullable(Decimal(12, 2))"
};

// `type_oid`/`typmod` as in pg_attribute (and pgoutput Relation messages).
ColumnType MapColumnType(uint32_t type_oid, int32_t typmod, bool nullable, Dialect dialect);
// A composite-typed column (attribute names from the catalog): stored as a JSON object in a String.
ColumnType MapCompositeType(std::vector<std::string> fields, bool nullable);

// Byte width of the unscaled integer for a Decimal of this precision (4, 8 or 16).
int DecimalWidth(int precision);

}  // namespace streamshop::clickhouse
