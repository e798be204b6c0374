#include "pg/Catalog.h"

#include <fmt/format.h>

#include <set>

#include <charconv>
#include <cstring>

#include "pg/TypeOids.h"

namespace streamshop::pg {

model::Type TypeOf(uint32_t type_oid, int32_t typmod) {
  using model::TypeKind;
  model::Type t;
  switch (type_oid) {
    case oid::kBool:
      t.kind = TypeKind::kBool;
      break;
    case oid::kInt2:
      t.kind = TypeKind::kInt16;
      break;
    case oid::kInt4:
      t.kind = TypeKind::kInt32;
      break;
    case oid::kInt8:
      t.kind = TypeKind::kInt64;
      break;
    case oid::kOid:
      t.kind = TypeKind::kUInt32;
      break;
    case oid::kFloat4:
      t.kind = TypeKind::kFloat32;
      break;
    case oid::kFloat8:
      t.kind = TypeKind::kFloat64;
      break;
    case oid::kNumeric:
      t.kind = TypeKind::kDecimal;
      // typmod = ((precision << 16) | (scale & 0x7ff)) + 4; below 4: no declared precision. PostgreSQL 15 stores
      // an 11-bit signed scale.
      if (typmod >= 4) {
        t.precision = ((typmod - 4) >> 16) & 0xFFFF;
        t.scale = (((typmod - 4) & 0x7FF) ^ 0x400) - 0x400;
      }
      break;
    case oid::kText:
    case oid::kVarchar:
    case oid::kBpchar:
      t.kind = TypeKind::kText;
      break;
    case oid::kJson:
    case oid::kJsonb:
      t.kind = TypeKind::kJson;
      break;
    case oid::kXml:
      t.kind = TypeKind::kXml;
      break;
    case oid::kUuid:
      t.kind = TypeKind::kUuid;
      break;
    case oid::kBytea:
      t.kind = TypeKind::kBytes;
      break;
    case oid::kDate:
      t.kind = TypeKind::kDate;
      break;
    case oid::kTime:
    case oid::kTimetz:
    case oid::kTimestamp:
    case oid::kTimestamptz:
      t.kind = type_oid == oid::kTime        ? TypeKind::kTime
               : type_oid == oid::kTimetz    ? TypeKind::kTimeTz
               : type_oid == oid::kTimestamp ? TypeKind::kTimestamp
                                             : TypeKind::kTimestampTz;
      t.precision = typmod < 0 ? -1 : typmod;  // fractional-second digits
      break;
    default:
      break;  // kOther: interval, money, name, "char", ranges, … (their text)
  }
  return t;
}

model::Type TypeOf(const ColumnInfo& column) {
  if (!column.composite_fields.empty()) return {model::TypeKind::kComposite, -1, 0, {}, column.composite_fields};
  if (column.is_enum) return {model::TypeKind::kEnum};
  // An array's elements keep the column's typmod (numeric(10,2)[]).
  if (column.element_oid != 0) return {model::TypeKind::kArray, -1, 0, {TypeOf(column.element_oid, column.typmod)}};
  return TypeOf(column.type_oid, column.typmod);
}

model::Column ColumnOf(const ColumnInfo& c) {
  return {c.name, TypeOf(c), c.key_position, !c.not_null && c.key_position == 0};
}

model::TableSchema SchemaOf(const TableInfo& table) {
  model::TableSchema schema{table.schema, table.name, {}, table.identity};
  for (const ColumnInfo& c : table.columns) schema.columns.push_back(ColumnOf(c));
  return schema;
}
namespace {

// Columns of one table ($1) with their position in its key (0 if none) — the primary key, or else the unique
// index chosen by REPLICA IDENTITY USING INDEX — and whether they are published: all ($3 true) or those in $2
// (pg_publication_tables.attnames). Never generated columns: PostgreSQL 15 does not publish them, although attnames
// lists them.
constexpr const char* kColumnsSql = R"(
WITH key AS (
  SELECT indkey FROM pg_index WHERE indrelid = $1::oid AND (indisprimary OR indisreplident)
  ORDER BY indisprimary DESC LIMIT 1)
SELECT a.attname, a.atttypid, a.atttypmod,
       coalesce((SELECT k.n FROM key, unnest(key.indkey) WITH ORDINALITY k(att, n) WHERE k.att = a.attnum), 0),
       (SELECT string_agg(f.attname, chr(31) ORDER BY f.attnum) FROM pg_type t
        JOIN pg_attribute f ON f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped
        WHERE t.oid = a.atttypid AND t.typtype = 'c'),
       $3::bool OR a.attname = ANY ($2::name[]),
       a.attnotnull, t.typtype = 'e',
       CASE WHEN t.typcategory = 'A' AND e.typtype = 'b' AND e.typcategory <> 'A' THEN t.typelem ELSE 0 END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type e ON e.oid = t.typelem
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum)";

// The table ($1) itself and its replica identity.
constexpr const char* kTableSql = R"(
SELECT n.nspname, c.relname, has_table_privilege(c.oid, 'SELECT'), c.relreplident, c.relkind = 'p',
  quote_ident(current_user)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = $1::oid)";

// What publication $1 publishes of its tables (of table $2 only, unless it is 0): the column list and the row
// filter. pg_publication_tables shows no filter where the publication also publishes the table's schema, as
// pgoutput then applies none. Reading the view costs about as much for one table as for all.
constexpr const char* kPublishedSql = R"(
SELECT c.oid, p.attnames, p.rowfilter FROM pg_publication_tables p
JOIN pg_namespace n ON n.nspname = p.schemaname JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename
WHERE p.pubname = $1 AND ($2::oid = 0 OR c.oid = $2::oid)
ORDER BY p.schemaname, p.tablename)";

// One row of kPublishedSql; nullopt attnames = all columns.
struct Published {
  std::optional<std::string> attnames;  // name[] in PostgreSQL's text form
  std::optional<std::string> row_filter;
};

// Why a table without a usable key is skipped, and what makes it replicable.
std::string SkipReason(const TableInfo& t, char replica_identity, const std::string& unpublished_key,
                       const std::string& publication) {
  if (!unpublished_key.empty()) {
    return fmt::format(
        "table {} is skipped: the column list of publication '{}' leaves out its key column {}, so its rows cannot "
        "be identified in ClickHouse; add the column to the list (in one transaction: ALTER PUBLICATION {} DROP TABLE "
        "{}; ALTER PUBLICATION {} ADD TABLE {} (…))",
        t.QualifiedName(), publication, unpublished_key, PgConnection::QuoteIdent(publication), t.QuotedName(),
        PgConnection::QuoteIdent(publication), t.QuotedName());
  }
  return fmt::format(
      "table {} has no primary key (and REPLICA IDENTITY {}), so its rows cannot be identified in ClickHouse: it "
      "is skipped. To replicate it: ALTER TABLE {} ADD PRIMARY KEY (…), or ALTER TABLE {} REPLICA IDENTITY FULL "
      "(rows identified by all their values), or REPLICA IDENTITY USING INDEX <unique index>; or remove it from "
      "the publication",
      t.QualifiedName(), replica_identity == 'n' ? "NOTHING" : "DEFAULT", t.QuotedName(), t.QuotedName());
}

template <typename Int>
Int ToInt(const char* s) {
  Int v{};
  std::from_chars(s, s + std::strlen(s), v);
  return v;
}

}  // namespace

Status CheckSource(PgConnection& conn) {
  SS_ASSIGN_OR_RETURN(auto wal_level, conn.QueryValue("SHOW wal_level"));
  if (wal_level.value_or("") != "logical") {
    return Status::Fatal(
        fmt::format("PostgreSQL wal_level is '{}', logical replication needs 'logical': set wal_level = logical in "
                    "postgresql.conf (ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL",
                    wal_level.value_or("?")));
  }
  // Amazon RDS and Aurora grant replication through membership in their role rds_replication instead of the
  // REPLICATION attribute (which their admins cannot set).
  SS_ASSIGN_OR_RETURN(auto can_replicate,
                      conn.QueryValue("SELECT r.rolreplication OR r.rolsuper OR EXISTS (SELECT 1 FROM pg_roles g "
                                      "WHERE g.rolname = 'rds_replication' AND pg_has_role(r.oid, g.oid, 'MEMBER')) "
                                      "FROM pg_roles r WHERE r.rolname = current_user"));
  if (can_replicate.value_or("f") != "t") {
    SS_ASSIGN_OR_RETURN(auto user, conn.QueryValue("SELECT current_user"));
    const std::string role = PgConnection::QuoteIdent(user.value_or("?"));
    return Status::Fatal(fmt::format(
        "role '{}' may not use replication: run ALTER ROLE {} REPLICATION as a superuser (on Amazon RDS or Aurora: "
        "GRANT rds_replication TO {}; see docs/SECURITY.md)",
        user.value_or("?"), role, role));
  }
  return Status::Ok();
}

Status EnsurePublication(PgConnection& conn, const std::string& publication, const std::vector<std::string>& tables) {
  SS_ASSIGN_OR_RETURN(auto exists, conn.QueryValue("SELECT 1 FROM pg_publication WHERE pubname = $1", {publication}));
  if (exists) return Status::Ok();
  std::string target = "TABLES IN SCHEMA public";
  if (!tables.empty()) {
    target = "TABLE ";
    for (size_t i = 0; i < tables.size(); ++i) {
      const size_t dot = tables[i].find('.');
      if (i > 0) target += ", ";
      target += dot == std::string::npos ? PgConnection::QuoteIdent(tables[i])
                                         : PgConnection::QuoteIdent(tables[i].substr(0, dot)) + "." +
                                               PgConnection::QuoteIdent(tables[i].substr(dot + 1));
    }
  }
  const std::string create = fmt::format("CREATE PUBLICATION {} FOR {}", PgConnection::QuoteIdent(publication), target);
  auto res = conn.Exec(create);
  if (res.ok()) return Status::Ok();
  // The privilege PostgreSQL 15 asks of the creator: a schema-wide publication needs a superuser.
  const std::string privilege = tables.empty() ? "FOR TABLES IN SCHEMA needs a superuser"
                                               : "FOR TABLE needs CREATE on the database and ownership of every table";
  auto role = conn.QueryValue("SELECT current_user");
  auto database = conn.QueryValue("SELECT current_database()");
  return res.status().WithContext(fmt::format(
      "publication '{}' does not exist and role '{}' could not create it ({}): have an administrator run `{}` in "
      "database '{}' (streamshop uses an existing publication as it is and never alters it), or name an existing "
      "one with --publication",
      publication, role.ok() && *role ? **role : "?", privilege, create,
      database.ok() && *database ? **database : "?"));
}

namespace {

// The table as `published` says it is published (nullptr: not in the publication, all columns, no filter).
Result<TableInfo> LoadTableAs(PgConnection& conn, const std::string& publication, uint32_t oid,
                              const Published* published) {
  SS_ASSIGN_OR_RETURN(PgResultPtr rel, conn.Exec(kTableSql, {std::to_string(oid)}));
  if (PQntuples(rel.get()) != 1) return Status::Fatal(fmt::format("table with OID {} no longer exists", oid));
  TableInfo table{oid, PQgetvalue(rel.get(), 0, 0), PQgetvalue(rel.get(), 0, 1), {}};
  if (std::string_view(PQgetvalue(rel.get(), 0, 2)) != "t") {
    return Status::Fatal(fmt::format("no SELECT privilege on table {}: GRANT SELECT ON {} TO {} (as its owner)",
                                     table.QualifiedName(), table.QuotedName(), PQgetvalue(rel.get(), 0, 5)));
  }
  const char replica_identity = PQgetvalue(rel.get(), 0, 3)[0];
  table.replica_identity = replica_identity;
  table.partitioned = std::string_view(PQgetvalue(rel.get(), 0, 4)) == "t";
  if (published) table.row_filter = published->row_filter;
  const bool all_columns = !published || !published->attnames;
  SS_ASSIGN_OR_RETURN(PgResultPtr cols,
                      conn.Exec(kColumnsSql, {std::to_string(oid), all_columns ? "{}" : *published->attnames,
                                              all_columns ? "true" : "false"}));
  bool has_key = false;
  std::string unpublished_key;
  for (int r = 0; r < PQntuples(cols.get()); ++r) {
    ColumnInfo c{PQgetvalue(cols.get(), r, 0),
                 ToInt<uint32_t>(PQgetvalue(cols.get(), r, 1)),
                 ToInt<int32_t>(PQgetvalue(cols.get(), r, 2)),
                 ToInt<int>(PQgetvalue(cols.get(), r, 3)),
                 {}};
    if (std::string_view(PQgetvalue(cols.get(), r, 5)) != "t") {
      if (c.key_position > 0) unpublished_key = c.name;
      continue;
    }
    if (!PQgetisnull(cols.get(), r, 4)) {
      const std::string_view names = PQgetvalue(cols.get(), r, 4);
      for (size_t pos = 0; pos <= names.size();) {
        const size_t sep = std::min(names.find('\x1f', pos), names.size());
        c.composite_fields.emplace_back(names.substr(pos, sep - pos));
        pos = sep + 1;
      }
    }
    c.not_null = std::string_view(PQgetvalue(cols.get(), r, 6)) == "t";
    c.is_enum = std::string_view(PQgetvalue(cols.get(), r, 7)) == "t";
    c.element_oid = ToInt<uint32_t>(PQgetvalue(cols.get(), r, 8));
    has_key |= c.key_position > 0;
    table.columns.push_back(std::move(c));
  }
  if (has_key && unpublished_key.empty()) {
    table.identity = model::RowIdentity::kKey;
  } else if (replica_identity == 'f' && unpublished_key.empty()) {
    table.identity = model::RowIdentity::kFullRow;
  } else {
    table.identity = model::RowIdentity::kNone;
    table.skip_reason = SkipReason(table, replica_identity, unpublished_key, publication);
  }
  return table;
}

}  // namespace

namespace {

Result<std::vector<std::pair<uint32_t, Published>>> LoadPublished(PgConnection& conn, const std::string& publication,
                                                                  uint32_t oid) {
  SS_ASSIGN_OR_RETURN(PgResultPtr res, conn.Exec(kPublishedSql, {publication, std::to_string(oid)}));
  std::vector<std::pair<uint32_t, Published>> out;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    Published p;
    if (!PQgetisnull(res.get(), r, 1)) p.attnames = PQgetvalue(res.get(), r, 1);
    if (!PQgetisnull(res.get(), r, 2)) p.row_filter = PQgetvalue(res.get(), r, 2);
    out.emplace_back(ToInt<uint32_t>(PQgetvalue(res.get(), r, 0)), std::move(p));
  }
  return out;
}

}  // namespace

Result<TableInfo> LoadTable(PgConnection& conn, const std::string& publication, uint32_t oid) {
  SS_ASSIGN_OR_RETURN(auto published, LoadPublished(conn, publication, oid));
  return LoadTableAs(conn, publication, oid, published.empty() ? nullptr : &published.front().second);
}

Result<bool> PublishedAsAncestor(PgConnection& conn, const std::string& publication, uint32_t oid) {
  SS_ASSIGN_OR_RETURN(auto v, conn.QueryValue("SELECT EXISTS (SELECT 1 FROM pg_partition_ancestors($2::oid) a "
                                              "JOIN pg_class c ON c.oid = a.relid "
                                              "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                              "JOIN pg_publication_tables p ON p.schemaname = n.nspname "
                                              "AND p.tablename = c.relname AND p.pubname = $1 "
                                              "WHERE a.relid <> $2::oid)",
                                              {publication, std::to_string(oid)}));
  return v.value_or("f") == "t";
}

Result<std::map<uint32_t, PublishedShape>> LoadPublishedShapes(PgConnection& conn, const std::string& publication) {
  SS_ASSIGN_OR_RETURN(PgResultPtr res,
                      conn.Exec("SELECT c.oid, p.rowfilter, CASE WHEN c.relkind = 'p' THEN "
                                "(SELECT coalesce(string_agg(t.relid::oid::text, ',' ORDER BY t.relid::oid), '') "
                                "FROM pg_partition_tree(c.oid) t WHERE t.isleaf AND t.relid::oid <> c.oid) END "
                                "FROM pg_publication_tables p JOIN pg_namespace n ON n.nspname = p.schemaname "
                                "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename "
                                "WHERE p.pubname = $1",
                                {publication}));
  std::map<uint32_t, PublishedShape> shapes;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    PublishedShape& shape = shapes[ToInt<uint32_t>(PQgetvalue(res.get(), r, 0))];
    if (!PQgetisnull(res.get(), r, 1)) shape.row_filter = PQgetvalue(res.get(), r, 1);
    shape.leaves = PQgetvalue(res.get(), r, 2);
  }
  return shapes;
}

Result<std::vector<ColumnDetails>> LoadColumnDetails(PgConnection& conn, uint32_t oid) {
  SS_ASSIGN_OR_RETURN(PgResultPtr res,
                      conn.Exec("SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid), "
                                "col_description(a.attrelid, a.attnum) FROM pg_attribute a "
                                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                                "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
                                "AND a.attgenerated = '' ORDER BY a.attnum",
                                {std::to_string(oid)}));
  std::vector<ColumnDetails> details;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    ColumnDetails d{PQgetvalue(res.get(), r, 0), std::string_view(PQgetvalue(res.get(), r, 1)) == "t", {}, {}};
    if (!PQgetisnull(res.get(), r, 2)) d.default_expression = PQgetvalue(res.get(), r, 2);
    if (!PQgetisnull(res.get(), r, 3)) d.comment = PQgetvalue(res.get(), r, 3);
    details.push_back(std::move(d));
  }
  return details;
}

Result<std::vector<uint32_t>> PublishedTableOids(PgConnection& conn, const std::string& publication) {
  SS_ASSIGN_OR_RETURN(PgResultPtr res,
                      conn.Exec("SELECT c.oid FROM pg_publication_tables p "
                                "JOIN pg_namespace n ON n.nspname = p.schemaname "
                                "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename "
                                "WHERE p.pubname = $1 ORDER BY p.schemaname, p.tablename",
                                {publication}));
  std::vector<uint32_t> oids;
  for (int r = 0; r < PQntuples(res.get()); ++r) oids.push_back(ToInt<uint32_t>(PQgetvalue(res.get(), r, 0)));
  return oids;
}

Result<std::vector<TableInfo>> LoadPublishedTables(PgConnection& conn, const std::string& publication) {
  SS_ASSIGN_OR_RETURN(auto published, LoadPublished(conn, publication, 0));
  std::vector<TableInfo> tables;
  for (const auto& [oid, p] : published) {
    SS_ASSIGN_OR_RETURN(TableInfo t, LoadTableAs(conn, publication, oid, &p));
    tables.push_back(std::move(t));
  }
  return tables;
}

Result<bool> ColumnHasDefault(PgConnection& conn, uint32_t oid, const std::string& column) {
  SS_ASSIGN_OR_RETURN(auto v, conn.QueryValue("SELECT atthasdef OR atthasmissing FROM pg_attribute "
                                              "WHERE attrelid = $1::oid AND attname = $2 AND NOT attisdropped",
                                              {std::to_string(oid), column}));
  if (v.value_or("t") == "t") return true;
  // A column just added without a default is NULL in every row: this reads the whole table, once per such column.
  SS_ASSIGN_OR_RETURN(auto names, conn.QueryValue("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
                                                  "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::oid",
                                                  {std::to_string(oid)}));
  if (!names) return true;
  SS_ASSIGN_OR_RETURN(auto has_values,
                      conn.QueryValue(fmt::format("SELECT EXISTS (SELECT 1 FROM {} WHERE {} IS NOT NULL)", *names,
                                                  PgConnection::QuoteIdent(column))));
  return has_values.value_or("t") == "t";
}

Status MarkDroppedColumns(PgConnection& conn, TableInfo& table) {
  SS_ASSIGN_OR_RETURN(PgResultPtr res, conn.Exec("SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND "
                                                 "attnum > 0 AND NOT attisdropped",
                                                 {std::to_string(table.oid)}));
  std::set<std::string_view> present;
  for (int r = 0; r < PQntuples(res.get()); ++r) present.insert(PQgetvalue(res.get(), r, 0));
  for (auto& c : table.columns) c.dropped = !present.count(c.name);
  return Status::Ok();
}

std::string CopyColumns(const TableInfo& table) {
  std::string cols;
  for (const auto& c : table.columns) {
    cols += (cols.empty() ? "" : ", ") + (c.dropped ? std::string("NULL") : PgConnection::QuoteIdent(c.name));
  }
  return cols;
}

std::string CopySql(const TableInfo& table, const std::string& extra_condition) {
  std::string where;
  if (table.row_filter) where = " WHERE (" + *table.row_filter + ")";
  if (!extra_condition.empty()) where += (where.empty() ? " WHERE " : " AND ") + extra_condition;
  return fmt::format("COPY (SELECT {} FROM {}{}) TO STDOUT", CopyColumns(table), table.QuotedName(), where);
}

Result<std::optional<SlotState>> GetSlot(PgConnection& conn, const std::string& slot) {
  // wal_status and safe_wal_size exist from PostgreSQL 13 on (CheckSource refuses older servers' logical
  // replication anyway, but the columns are read by name so an older server reads them as absent).
  SS_ASSIGN_OR_RETURN(PgResultPtr res,
                      conn.Exec("SELECT s.active_pid, s.confirmed_flush_lsn, s.database, to_jsonb(s)->>'wal_status', "
                                "to_jsonb(s)->>'safe_wal_size' FROM pg_replication_slots s WHERE s.slot_name = $1",
                                {slot}));
  if (PQntuples(res.get()) == 0) return std::optional<SlotState>();
  SlotState s;
  if (!PQgetisnull(res.get(), 0, 0)) s.active_pid = ToInt<int>(PQgetvalue(res.get(), 0, 0));
  if (!PQgetisnull(res.get(), 0, 1)) s.confirmed_flush = Lsn::Parse(PQgetvalue(res.get(), 0, 1));
  s.database = PQgetvalue(res.get(), 0, 2);
  if (!PQgetisnull(res.get(), 0, 3)) s.wal_status = PQgetvalue(res.get(), 0, 3);
  if (!PQgetisnull(res.get(), 0, 4)) s.safe_wal_size = ToInt<int64_t>(PQgetvalue(res.get(), 0, 4));
  return std::optional<SlotState>(std::move(s));
}

Status DropSlot(PgConnection& conn, const std::string& slot) {
  return conn.Exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", {slot})
      .status();
}

}  // namespace streamshop::pg
