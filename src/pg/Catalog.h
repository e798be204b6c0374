// Source-side catalog: server checks, the publication, published tables with their primary keys, slots.
// Stateless functions over a normal (non-replication) PgConnection; errors name the object and the fix.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/Lsn.h"
#include "common/Status.h"
#include "model/TableSchema.h"
#include "pg/PgConnection.h"

namespace streamshop::pg {

struct ColumnInfo {
  std::string name;
  uint32_t type_oid = 0;
  int32_t typmod = -1;
  int key_position = 0;                            // 1-based position in the primary key, 0 if not a key column
  std::vector<std::string> composite_fields = {};  // attribute names when the column has a composite type
  bool dropped = false;  // in the stream's shape of the table but dropped since: snapshots read it as NULL
  // From the catalog only (pgoutput's Relation message does not carry them; the sink's Connect schemas leave
  // them unset, so its mapping keeps Nullable columns and String for enums and arrays):
  bool not_null = false;     // pg_attribute.attnotnull
  bool is_enum = false;      // an enum type (pg_type.typtype 'e')
  uint32_t element_oid = 0;  // an array type of a base type: the element type's OID (0 otherwise)
};

struct TableInfo {
  uint32_t oid = 0;
  std::string schema;
  std::string name;
  // The columns the publication publishes (its column list, else all), in attnum order, without dropped and
  // generated columns: exactly what pgoutput's Relation message lists.
  std::vector<ColumnInfo> columns;
  std::optional<std::string> row_filter = {};  // the publication's WHERE for this table (pg_get_expr text)
  model::RowIdentity identity = model::RowIdentity::kKey;
  std::string skip_reason = {};  // set when identity is kNone: a warning naming the table and the fix
  bool partitioned = false;      // a partitioned table (published as the root of its partitions)
  char replica_identity = 'd';   // pg_class.relreplident: 'd' default, 'f' full, 'i' index, 'n' nothing

  bool skipped() const { return identity == model::RowIdentity::kNone; }

  std::string QualifiedName() const { return schema + "." + name; }
  std::string QuotedName() const { return PgConnection::QuoteIdent(schema) + "." + PgConnection::QuoteIdent(name); }
};

// The neutral type of a PostgreSQL type (OID and typmod as in pg_attribute and Relation messages). Types the
// model has no kind for are kOther; an array is kOther unless the caller knows its element (below).
model::Type TypeOf(uint32_t type_oid, int32_t typmod);
// The column's neutral type, with what the catalog adds (enum, composite fields, array element).
model::Type TypeOf(const ColumnInfo& column);
// The column's neutral description (a key column is never nullable).
model::Column ColumnOf(const ColumnInfo& column);
// The neutral shape of the table (what the targets are made from).
model::TableSchema SchemaOf(const TableInfo& table);

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
  // pg_replication_slots.wal_status: reserved, extended, unreserved or lost (PostgreSQL invalidated the slot: the
  // WAL it needs is removed, it can never stream again); empty if the server does not say (before PostgreSQL 13).
  std::string wal_status;
  // pg_replication_slots.safe_wal_size: WAL bytes that may still be written before the slot is lost; nullopt when
  // PostgreSQL says NULL (no max_slot_wal_keep_size, or the slot is lost).
  std::optional<int64_t> safe_wal_size;
  bool lost() const { return wal_status == "lost"; }
};

// wal_level = logical and a role allowed to replicate.
Status CheckSource(PgConnection& conn);

// Creates `publication` if missing: for `tables` ("schema.table" or "table"), or all tables in schema public. An
// existing publication is used as it is, never altered (a least-privileged role uses one its admin made); when the
// role may not create it, the error names the publication, the privilege and the admin's CREATE PUBLICATION.
Status EnsurePublication(PgConnection& conn, const std::string& publication, const std::vector<std::string>& tables);

// Tables of the publication as PostgreSQL 15 publishes them (pg_publication_tables: leaf partitions, or only the
// root with publish_via_partition_root), each with its published columns, row filter and key. A table whose rows
// cannot be identified is returned with identity kNone (callers skip it); one this role cannot SELECT is a Fatal
// error naming the table and the fix.
Result<std::vector<TableInfo>> LoadPublishedTables(PgConnection& conn, const std::string& publication);

// OIDs of the publication's tables (cheap; for noticing tables added to it).
Result<std::vector<uint32_t>> PublishedTableOids(PgConnection& conn, const std::string& publication);

// One table by OID, as `publication` publishes it (see LoadPublishedTables). A table not in the publication (any
// more) gets all its columns and no row filter.
Result<TableInfo> LoadTable(PgConnection& conn, const std::string& publication, uint32_t oid);

// Whether changes of table `oid` are published as those of an ancestor (a partition under a published root with
// publish_via_partition_root): pgoutput still sends a Relation message for the partition, which is to be ignored.
Result<bool> PublishedAsAncestor(PgConnection& conn, const std::string& publication, uint32_t oid);

// What decides which rows of a published table the publication publishes, beyond its columns: the row filter and,
// for a partitioned table published as its root, its leaf partitions ("oid,oid,…"). When it changes (ALTER
// PUBLICATION … WHERE, ATTACH/DETACH PARTITION) rows enter or leave the publication without a change in the stream.
struct PublishedShape {
  std::optional<std::string> row_filter;
  std::string leaves;
  bool operator==(const PublishedShape&) const = default;
};
// The shape of every table of the publication, by OID (its keys are the published tables).
Result<std::map<uint32_t, PublishedShape>> LoadPublishedShapes(PgConnection& conn, const std::string& publication);

// Nullability, default expression and comment of the table's columns (same columns and order as LoadTable).
Result<std::vector<ColumnDetails>> LoadColumnDetails(PgConnection& conn, uint32_t oid);

// Whether existing rows got a value for this (newly announced) column: it has a default, stored or computed, or
// it holds values already (an existing column the publication's column list now includes). A column that no
// longer exists counts as having one (the caller then copies the table again, to be safe).
Result<bool> ColumnHasDefault(PgConnection& conn, uint32_t oid, const std::string& column);

// Marks the columns of `table` that no longer exist in the catalog as dropped. Run it in the transaction that
// reads the table, after locking it, so no DDL can change the columns in between.
Status MarkDroppedColumns(PgConnection& conn, TableInfo& table);
// "<col>, <col>, …" in TableInfo order, NULL for dropped columns: the select list of snapshot COPYs.
std::string CopyColumns(const TableInfo& table);
// COPY (SELECT <columns> FROM <table> [WHERE <row filter> [AND <extra>]]) TO STDOUT, columns in TableInfo
// order: exactly the rows and columns the publication publishes. Every snapshot, re-copy and verify reads this.
std::string CopySql(const TableInfo& table, const std::string& extra_condition = "");

Result<std::optional<SlotState>> GetSlot(PgConnection& conn, const std::string& slot);
// pg_drop_replication_slot(slot) on a normal connection; a slot that no longer exists is not an error.
Status DropSlot(PgConnection& conn, const std::string& slot);

}  // namespace streamshop::pg
