#include "clickhouse/ColumnEvolution.h"

#include <fmt/format.h>

#include <charconv>

namespace streamshop::clickhouse {
namespace {

struct ParsedType {
  bool nullable = false;
  std::string_view base;  // e.g. "Int32", "Decimal(12, 2)"
  int precision = 0, scale = 0;
};

ParsedType Parse(std::string_view t) {
  ParsedType p;
  if (t.starts_with("Nullable(") && t.ends_with(")")) {
    p.nullable = true;
    t = t.substr(9, t.size() - 10);
  }
  p.base = t;
  if (t.starts_with("Decimal(")) {
    const char* end = t.data() + t.size();
    auto r = std::from_chars(t.data() + 8, end, p.precision);
    while (r.ptr < end && (*r.ptr == ',' || *r.ptr == ' ')) ++r.ptr;
    std::from_chars(r.ptr, end, p.scale);
  }
  return p;
}

// Byte width of a ClickHouse integer or float type, 0 for other types.
int IntWidth(std::string_view base) {
  if (base == "Int16") return 2;
  if (base == "Int32") return 4;
  if (base == "Int64") return 8;
  return 0;
}
int FloatWidth(std::string_view base) { return base == "Float32" ? 4 : base == "Float64" ? 8 : 0; }

ValueKind IntKind(int width) {
  return width == 2 ? ValueKind::kInt16 : width == 4 ? ValueKind::kInt32 : ValueKind::kInt64;
}

}  // namespace

Result<ColumnPlan> PlanColumn(const ColumnType& wanted, std::string_view existing, bool is_key) {
  if (wanted.clickhouse_type == existing) return ColumnPlan{wanted, std::nullopt};
  const ParsedType want = Parse(wanted.clickhouse_type);
  const ParsedType have = Parse(existing);
  const auto incompatible = [&](std::string_view why) {
    return Status::Fatal(fmt::format("ClickHouse column type {} cannot take PostgreSQL values now mapped to {} ({})",
                                     existing, wanted.clickhouse_type, why));
  };
  if (want.nullable != have.nullable) return incompatible("the column moved into or out of the primary key");

  ColumnPlan plan{wanted, std::nullopt};
  plan.effective.clickhouse_type = std::string(existing);
  // An existing String keeps the exact PostgreSQL text of whatever the column holds now.
  if (have.base == "String") {
    plan.effective.kind = ValueKind::kString;
    return plan;
  }
  const bool widenable_to_text = IntWidth(have.base) || FloatWidth(have.base) || have.base.starts_with("Decimal(");
  if (want.base == "String" && wanted.kind == ValueKind::kString && widenable_to_text) {
    if (is_key) return incompatible("a primary-key column cannot change type in place");
    return ColumnPlan{wanted, wanted.clickhouse_type};
  }
  const auto widen_or_keep = [&](bool existing_is_wider) -> Result<ColumnPlan> {
    if (existing_is_wider) return plan;  // older, narrower values replayed into a widened column
    if (is_key) return incompatible("a primary-key column cannot change type in place");
    return ColumnPlan{wanted, wanted.clickhouse_type};
  };
  if (IntWidth(want.base) && IntWidth(have.base)) {
    plan.effective.kind = IntKind(IntWidth(have.base));
    return widen_or_keep(IntWidth(have.base) >= IntWidth(want.base));
  }
  if (FloatWidth(want.base) && FloatWidth(have.base)) {
    plan.effective.kind = FloatWidth(have.base) == 4 ? ValueKind::kFloat32 : ValueKind::kFloat64;
    return widen_or_keep(FloatWidth(have.base) >= FloatWidth(want.base));
  }
  if (wanted.kind == ValueKind::kDecimal && have.base.starts_with("Decimal(")) {
    if (have.scale != want.scale) return incompatible("the scale changed");
    plan.effective.precision = have.precision;
    return widen_or_keep(have.precision >= want.precision);
  }
  return incompatible("a different kind of value");
}

}  // namespace streamshop::clickhouse
