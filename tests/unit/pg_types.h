// The neutral types of PostgreSQL columns as the catalog describes them, for the tests of the target mappings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/TableSchema.h"
#include "pg/Catalog.h"

namespace streamshop::testing {

// What the catalog adds to a type's OID: an enum, or an array's element type.
struct PgTypeDetails {
  bool is_enum = false;
  uint32_t element_oid = 0;
};

inline model::Type PgType(uint32_t oid, int32_t typmod, PgTypeDetails details) {
  pg::ColumnInfo column{"c", oid, typmod};
  column.is_enum = details.is_enum;
  column.element_oid = details.element_oid;
  return pg::TypeOf(column);
}

inline model::Type CompositeType(std::vector<std::string> fields) {
  return {model::TypeKind::kComposite, -1, 0, {}, std::move(fields)};
}

}  // namespace streamshop::testing
