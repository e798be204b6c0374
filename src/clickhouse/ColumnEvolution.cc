#include "clickhouse/ColumnEvolution.h"

#include <fmt/format.h>

#include <charconv>

namespace streamshop::clickhouse {
namespace {

struct ParsedType {
  bool nullable = false;
  bool low_cardinality = false;
  std::string_view base;  // e.g. "Int32", "Decimal(12, 2)", "String" (also of LowCardinality(String))
  int precision = 0, scale = 0;
};

bool Unwrap(std::string_view& t, std::string_view wrapper) {
  if (!t.starts_with(wrapper) || !t.ends_with(")")) return false;
  t = t.substr(wrapper.size(), t.size() - wrapper.size() - 1);
  return true;
}

ParsedType Parse(std::string_view t) {
  ParsedType p;
  p.low_cardinality = Unwrap(t, "LowCardinality(");
  p.nullable = Unwrap(t, "Nullable(");
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

// `base` (from Parse) as Nullable, or not: LowCardinality(Nullable(String)) for a LowCardinality column.
std::string WithNullable(std::string_view type, bool nullable) {
  ParsedType p = Parse(type);
  std::string out = nullable ? fmt::format("Nullable({})", p.base) : std::string(p.base);
  return p.low_cardinality ? fmt::format("LowCardinality({})", out) : out;
}

Result<ColumnPlan> PlanSameNullability(const ColumnType& wanted, std::string_view existing, bool is_key);

}  // namespace

// Nullability first: a key column is never Nullable, so a change of it is a column moving into or out of the
// key. Otherwise a Nullable column takes a NOT NULL column's values as they are (SET NOT NULL: nothing to do,
// the column may still hold NULLs of older rows), and a NOT NULL column becomes Nullable (DROP NOT NULL, a dropped
// column), with whatever else the types need. Then the types themselves, as if both had the wanted nullability.
Result<ColumnPlan> PlanColumn(const ColumnType& wanted, std::string_view existing, bool is_key) {
  if (wanted.clickhouse_type == existing) return ColumnPlan{wanted, std::nullopt};
  const bool have_nullable = Parse(existing).nullable;
  if (have_nullable == wanted.nullable) return PlanSameNullability(wanted, existing, is_key);
  if (is_key) {
    return Status::Fatal(fmt::format("ClickHouse column type {} cannot take PostgreSQL values now mapped to {} ({})",
                                     existing, wanted.clickhouse_type,
                                     "the column moved into or out of the primary key"));
  }
  if (wanted.nullable && existing.starts_with("Array(")) {
    // ClickHouse has no Nullable(Array): the column becomes the exact text (the caller copies the table again).
    if (wanted.kind != ValueKind::kString) {
      return Status::Fatal(fmt::format("ClickHouse column type {} cannot take PostgreSQL values now mapped to {}",
                                       existing, wanted.clickhouse_type));
    }
    return ColumnPlan{wanted, wanted.clickhouse_type, true};
  }
  // Plan as if the existing column had the wanted nullability, then put the existing nullability back (kept
  // Nullable) or make it Nullable.
  SS_ASSIGN_OR_RETURN(ColumnPlan plan, PlanSameNullability(wanted, WithNullable(existing, wanted.nullable), is_key));
  plan.effective.nullable = true;
  plan.effective.clickhouse_type = WithNullable(plan.effective.clickhouse_type, true);
  if (plan.alter_to) {
    plan.alter_to = WithNullable(*plan.alter_to, true);
  } else if (!have_nullable) {
    plan.alter_to = plan.effective.clickhouse_type;
  }
  plan.becomes_nullable = !have_nullable;
  return plan;
}

namespace {

Result<ColumnPlan> PlanSameNullability(const ColumnType& wanted, std::string_view existing, bool is_key) {
  if (wanted.clickhouse_type == existing) return ColumnPlan{wanted, std::nullopt};
  const ParsedType want = Parse(wanted.clickhouse_type);
  const ParsedType have = Parse(existing);
  const auto incompatible = [&](std::string_view why) {
    return Status::Fatal(fmt::format("ClickHouse column type {} cannot take PostgreSQL values now mapped to {} ({})",
                                     existing, wanted.clickhouse_type, why));
  };

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

}  // namespace

}  // namespace streamshop::clickhouse
