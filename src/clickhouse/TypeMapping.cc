#include "clickhouse/TypeMapping.h"

#include <fmt/format.h>

#include <charconv>

namespace streamshop::clickhouse {
namespace {

// Decimal128 holds 38 digits (all ClickHouse versions); Decimal256 76 (modern servers).
constexpr int kMaxDecimalPrecisionLegacy = 38, kMaxDecimalPrecisionModern = 76;

std::string BaseType(const ColumnType& t, model::TypeKind source, Dialect d) {
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
      return source == model::TypeKind::kTimestampTz ? "DateTime64(6, 'UTC')" : "DateTime64(6)";
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

int DecimalWidth(int precision) { return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32; }

ColumnType MapColumnType(const model::Type& type, bool nullable, Dialect dialect) {
  using model::TypeKind;
  ColumnType t;
  t.nullable = nullable;
  const bool modern = dialect == Dialect::kModern;
  if (type.kind == TypeKind::kComposite) {
    t.kind = ValueKind::kComposite;
    t.fields = type.fields;
    t.clickhouse_type = nullable ? "Nullable(String)" : "String";
    return t;
  }
  if (modern && type.kind == TypeKind::kEnum) {
    t.clickhouse_type = nullable ? "LowCardinality(Nullable(String))" : "LowCardinality(String)";
    return t;
  }
  if (modern && type.kind == TypeKind::kArray && !nullable) {
    // Elements without a native counterpart (and nested composites) keep the whole array's text.
    ColumnType element = MapColumnType(type.element.front(), /*nullable=*/true, dialect);
    if (element.kind != ValueKind::kString || type.element.front().kind == TypeKind::kText) {
      t.kind = ValueKind::kArray;
      t.element.push_back(std::move(element));
      t.clickhouse_type = BaseType(t, type.kind, dialect);
      return t;
    }
  }
  switch (type.kind) {
    case TypeKind::kBool:
      t.kind = ValueKind::kBool;
      break;
    case TypeKind::kInt16:
      t.kind = ValueKind::kInt16;
      break;
    case TypeKind::kInt32:
      t.kind = ValueKind::kInt32;
      break;
    case TypeKind::kInt64:
      t.kind = ValueKind::kInt64;
      break;
    case TypeKind::kFloat32:
      t.kind = ValueKind::kFloat32;
      break;
    case TypeKind::kFloat64:
      t.kind = ValueKind::kFloat64;
      break;
    case TypeKind::kBytes:
      t.kind = ValueKind::kBytes;
      break;
    case TypeKind::kDate:
      t.kind = ValueKind::kDate;
      break;
    case TypeKind::kTimestamp:
    case TypeKind::kTimestampTz:
      t.kind = ValueKind::kTimestamp;
      break;
    case TypeKind::kUuid:
      t.kind = ValueKind::kUuid;
      break;
    case TypeKind::kDecimal: {
      // No declared precision (-1), or one ClickHouse cannot hold: keep the exact text.
      const int max_precision = modern ? kMaxDecimalPrecisionModern : kMaxDecimalPrecisionLegacy;
      if (type.precision < 1 || type.precision > max_precision || type.scale < 0 || type.scale > type.precision) break;
      t.kind = ValueKind::kDecimal;
      t.precision = type.precision;
      t.scale = type.scale;
      break;
    }
    default:
      break;  // text, json, xml, times of day, oid, enums (legacy), arrays, other types: exact PostgreSQL text
  }
  const std::string base = BaseType(t, type.kind, dialect);
  t.clickhouse_type = nullable ? fmt::format("Nullable({})", base) : base;
  return t;
}

}  // namespace streamshop::clickhouse
