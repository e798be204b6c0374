#include "clickhouse/TypeMapping.h"

#include <fmt/format.h>

#include <charconv>

#include "pg/TypeOids.h"

namespace streamshop::clickhouse {
namespace {

// Decimal128 holds 38 digits (all ClickHouse versions); Decimal256 76 (modern servers).
constexpr int kMaxDecimalPrecisionLegacy = 38, kMaxDecimalPrecisionModern = 76;

std::string BaseType(const ColumnType& t, uint32_t oid, Dialect d) {
  const bool modern = d == Dialect::kModern;
  switch (t.kind) {
    case ValueKind::kBool:
      return modern ? "Bool" : "UInt8";
    case ValueKind::kInt16:
      return "Int16";
    case ValueKind::kInt32:
      return "Int32";
    case ValueKind::kInt64:
      return "Int64";
    case ValueKind::kFloat32:
      return "Float32";
    case ValueKind::kFloat64:
      return "Float64";
    case ValueKind::kDecimal:
      return fmt::format("Decimal({}, {})", t.precision, t.scale);
    case ValueKind::kString:
    case ValueKind::kBytes:
    case ValueKind::kComposite:
      return "String";
    case ValueKind::kDate:
      return modern ? "Date32" : "Int32";
    case ValueKind::kTimestamp:
      if (!modern) return "Int64";
      return oid == pg::oid::kTimestamptz ? "DateTime64(6, 'UTC')" : "DateTime64(6)";
    case ValueKind::kUuid:
      return "UUID";
    case ValueKind::kArray:
      return fmt::format("Array({})", t.element.front().clickhouse_type);
  }
  return "String";
}

}  // namespace

Result<Dialect> DialectForVersion(std::string_view version) {
  int major = 0, minor = 0;
  const char* end = version.data() + version.size();
  auto r1 = std::from_chars(version.data(), end, major);
  if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != '.') {
    return Status::Fatal(fmt::format("cannot parse ClickHouse version '{}'", version));
  }
  auto r2 = std::from_chars(r1.ptr + 1, end, minor);
  if (r2.ec != std::errc()) return Status::Fatal(fmt::format("cannot parse ClickHouse version '{}'", version));
  return (major > 23 || (major == 23 && minor >= 2)) ? Dialect::kModern : Dialect::kLegacy;
}

ColumnType MapCompositeType(std::vector<std::string> fields, bool nullable) {
  ColumnType t;
  t.kind = ValueKind::kComposite;
  t.nullable = nullable;
  t.fields = std::move(fields);
  t.clickhouse_type = nullable ? "Nullable(String)" : "String";
  return t;
}

int DecimalWidth(int precision) { return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32; }

ColumnType MapColumnType(uint32_t type_oid, int32_t typmod, bool nullable, Dialect dialect,
                         const TypeDetails& details) {
  ColumnType t;
  t.nullable = nullable;
  const bool modern = dialect == Dialect::kModern;
  if (modern && details.is_enum) {
    t.clickhouse_type = nullable ? "LowCardinality(Nullable(String))" : "LowCardinality(String)";
    return t;
  }
  if (modern && details.element_oid != 0 && !nullable) {
    // The element keeps the column's typmod (numeric(10,2)[]). Elements whose type has no native counterpart
    // (and nested composites) keep the whole array's text.
    ColumnType element = MapColumnType(details.element_oid, typmod, /*nullable=*/true, dialect);
    const bool text = details.element_oid == pg::oid::kText || details.element_oid == pg::oid::kVarchar ||
                      details.element_oid == pg::oid::kBpchar;
    if (element.kind != ValueKind::kString || text) {
      t.kind = ValueKind::kArray;
      t.element.push_back(std::move(element));
      t.clickhouse_type = BaseType(t, type_oid, dialect);
      return t;
    }
  }
  switch (type_oid) {
    case pg::oid::kBool:
      t.kind = ValueKind::kBool;
      break;
    case pg::oid::kInt2:
      t.kind = ValueKind::kInt16;
      break;
    case pg::oid::kInt4:
      t.kind = ValueKind::kInt32;
      break;
    case pg::oid::kInt8:
      t.kind = ValueKind::kInt64;
      break;
    case pg::oid::kFloat4:
      t.kind = ValueKind::kFloat32;
      break;
    case pg::oid::kFloat8:
      t.kind = ValueKind::kFloat64;
      break;
    case pg::oid::kBytea:
      t.kind = ValueKind::kBytes;
      break;
    case pg::oid::kDate:
      t.kind = ValueKind::kDate;
      break;
    case pg::oid::kTimestamp:
    case pg::oid::kTimestamptz:
      t.kind = ValueKind::kTimestamp;
      break;
    case pg::oid::kUuid:
      t.kind = ValueKind::kUuid;
      break;
    case pg::oid::kNumeric: {
      // typmod = ((precision << 16) | (scale & 0x7ff)) + 4; -1 means "no declared precision": keep exact text.
      if (typmod < 4) break;
      const int precision = ((typmod - 4) >> 16) & 0xffff;
      int scale = (typmod - 4) & 0x7ff;
      if (scale & 0x400) scale -= 0x800;  // negative scales (PostgreSQL 15) are sign-extended 11-bit values
      const int max_precision = modern ? kMaxDecimalPrecisionModern : kMaxDecimalPrecisionLegacy;
      if (precision < 1 || precision > max_precision || scale < 0 || scale > precision) break;
      t.kind = ValueKind::kDecimal;
      t.precision = precision;
      t.scale = scale;
      break;
    }
    default:
      break;  // text, varchar, bpchar, json, jsonb, and every other type: exact PostgreSQL text
  }
  const std::string base = BaseType(t, type_oid, dialect);
  t.clickhouse_type = nullable ? fmt::format("Nullable({})", base) : base;
  return t;
}

}  // namespace streamshop::clickhouse
