// How a column whose PostgreSQL type changed is stored in the ClickHouse column that already exists.
// Pure; thread-safe.
//
// Rules (docs/TYPE_MAPPING.md, "Schema changes"): the same type is kept; a wider integer, float or
// Decimal (same scale) in PostgreSQL widens the ClickHouse column (ALTER … MODIFY COLUMN); integers,
// Decimals and floats widen to String; an existing column that is already wider (older rows replayed after
// a widening) or a String keeps its type and values are encoded for it. Anything else — another kind,
// a narrower or rescaled key, a change between key and non-key — is incompatible: the table must be
// copied again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "clickhouse/TypeMapping.h"
#include "common/Status.h"

namespace streamshop::clickhouse {

struct ColumnPlan {
  ColumnType effective;                 // how values are encoded from now on
  std::optional<std::string> alter_to;  // new ClickHouse type for ALTER TABLE … MODIFY COLUMN, if any
  // The ALTER makes a NOT NULL column Nullable: rows that hold its default for a value kept in _unfit must then
  // hold NULL, as new rows do.
  bool becomes_nullable = false;
};

// `wanted` is the mapping of the column's current PostgreSQL type; `existing` the ClickHouse column type.
Result<ColumnPlan> PlanColumn(const ColumnType& wanted, std::string_view existing, bool is_key);

}  // namespace streamshop::clickhouse
