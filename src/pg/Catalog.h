// Source-side catalog: server checks, the publication, published tables with their primary keys, slots.
// Stateless functions over a normal (non-replication) PgConnection; errors name the object and the fix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/Lsn.h"
#include "common/Status.h"
#include "pg/PgConnection.h"

namespace streamshop::pg {

struct ColumnInfo {
  std::string name;
  uint32_t type_oid = 0;
  int32_t typmod = -1;
  int key_position = 0;                            // 1-based position in the primary key, 0 if not a key column
  std::vector<std::string> composite_fields = {};  // attribute names when the column has a composite type
  bool dropped = false;  // in the stream's shape of the table but dropped since: snapshots read it as NULL
};

struct TableInfo {
  uint32_t oid = 0;
  std::string schema;
  std::string name;
  std::vector<ColumnInfo> columns;  // attnum order, without dropped and generated columns (as pgoutput sends them)

  std::string QualifiedName() const { return schema + "." + name; }
  std::string QuotedName() const { return PgConnection::QuoteIdent(schema) + "." + PgConnection::QuoteIdent(name); }
};

// What Debezium's schemas also say of a column (LoadColumnDetails).
struct ColumnDetails {
  std::string name;
  bool not_null = false;
  std::optional<std::string> default_expression;  // pg_get_expr of the default
  std::optional<std::string> comment;
};

struct SlotState {
  std::optional<int> active_pid;  // set while a walsender streams from it
  std::optional<Lsn> confirmed_flush;
  std::string database;
};

// wal_level = logical and a role allowed to replicate.
Status CheckSource(PgConnection& conn);

// Creates `publication` if missing: for `tables` ("schema.table" or "table"), or all tables in schema public.
Status EnsurePublication(PgConnection& conn, const std::string& publication, const std::vector<std::string>& tables);

// Tables of the publication, each with its columns and primary key. A table without a primary key, or one
// this role cannot SELECT, is a Fatal error naming the table and the fix.
Result<std::vector<TableInfo>> LoadPublishedTables(PgConnection& conn, const std::string& publication);

// OIDs of the publication's tables (cheap; for noticing tables added to it).
Result<std::vector<uint32_t>> PublishedTableOids(PgConnection& conn, const std::string& publication);

// One table by OID (after a Relation message announced a new or changed table).
Result<TableInfo> LoadTable(PgConnection& conn, uint32_t oid);

// Nullability, default expression and comment of the table's columns (same columns and order as LoadTable).
Result<std::vector<ColumnDetails>> LoadColumnDetails(PgConnection& conn, uint32_t oid);

// Whether existing rows got a value for this (newly added) column: it has a default, stored or computed.
// A column that no longer exists counts as having one (the caller then copies the table again, to be safe).
Result<bool> ColumnHasDefault(PgConnection& conn, uint32_t oid, const std::string& column);

// Marks the columns of `table` that no longer exist in the catalog as dropped. Run it in the transaction that
// reads the table, after locking it, so no DDL can change the columns in between.
Status MarkDroppedColumns(PgConnection& conn, TableInfo& table);
// "<col>, <col>, …" in TableInfo order, NULL for dropped columns: the select list of snapshot COPYs.
std::string CopyColumns(const TableInfo& table);
// COPY (SELECT <columns> FROM <table>) TO STDOUT, columns in TableInfo order.
std::string CopySql(const TableInfo& table);

Result<std::optional<SlotState>> GetSlot(PgConnection& conn, const std::string& slot);
Status DropSlot(PgConnection& conn, const std::string& slot);

}  // namespace streamshop::pg
