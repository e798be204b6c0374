// The source-neutral shape of a replicated table: names, column types, key, nullability and how rows are
// identified. The targets (ClickHouse tables, Debezium events) are made from it, whatever described the table:
// PostgreSQL's catalog and Relation messages (pg::SchemaOf) or the Connect schemas of Debezium events
// (debezium::TypeForField). Values travel beside it as PostgreSQL's text forms (pg/TextValue), NULL as nullopt.
// Pure value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace streamshop::model {

// An identifier in SQL's double quotes ("a""b"), as PostgreSQL writes and reads it.
std::string QuoteSqlIdent(std::string_view ident);

// What a column holds. Each kind is a distinction some target makes; a type no target treats specially is kOther
// and keeps its text.
enum class TypeKind : uint8_t {
  kBool,
  kInt16,
  kInt32,
  kInt64,
  kUInt32,  // an unsigned 32-bit number (PostgreSQL's oid)
  kFloat32,
  kFloat64,
  kDecimal,  // `precision` digits, `scale` after the point; precision -1: any (PostgreSQL's numeric without typmod)
  kText,     // character strings (text, varchar(n), char(n))
  kJson,
  kXml,
  kUuid,
  kBytes,
  kDate,
  kTime,         // a time of day without zone; `precision`: fractional-second digits, -1 if not declared (6)
  kTimeTz,       // a time of day with zone
  kTimestamp,    // without zone; `precision` as kTime
  kTimestampTz,  // with zone (an instant); `precision` as kTime
  kEnum,         // one label of a fixed set
  kArray,        // a one-dimensional array of `element`
  kComposite,    // a row value with the attributes `fields`
  kOther,        // anything else (interval, money, ranges, geometric types, …): its text form
};

struct Type {
  TypeKind kind = TypeKind::kOther;
  int precision = -1;                    // kDecimal, kTime, kTimestamp, kTimestampTz (see TypeKind)
  int scale = 0;                         // kDecimal
  std::vector<Type> element = {};        // kArray: exactly one
  std::vector<std::string> fields = {};  // kComposite: attribute names in order

  bool operator==(const Type&) const = default;
};

struct Column {
  std::string name;
  Type type;
  int key_position = 0;  // 1-based position in the key, 0 if not a key column
  bool nullable = true;  // false: declared NOT NULL (key columns are never NULL either way)

  bool operator==(const Column&) const = default;
};

// How the rows of a table are identified.
enum class RowIdentity {
  kKey,      // by the key columns (key_position > 0)
  kFullRow,  // no key: by all the values of the row
  kNone,     // neither: the table cannot be replicated
};

struct TableSchema {
  std::string schema;  // the namespace (PostgreSQL schema) of the table
  std::string name;
  std::vector<Column> columns;  // in the source's order
  RowIdentity identity = RowIdentity::kKey;

  std::string QualifiedName() const { return schema + "." + name; }
  std::string QuotedName() const { return QuoteSqlIdent(schema) + "." + QuoteSqlIdent(name); }
};

}  // namespace streamshop::model
