#include "pg/Catalog.h"

#include <fmt/format.h>

#include <set>

#include <charconv>
#include <cstring>

namespace streamshop::pg {
namespace {

// Columns of one table with their position in its key (0 if none): the primary key, or else the unique index
// chosen by REPLICA IDENTITY USING INDEX.
constexpr const char* kColumnsSql = R"(
WITH key AS (
  SELECT indkey FROM pg_index WHERE indrelid = $1::oid AND (indisprimary OR indisreplident)
  ORDER BY indisprimary DESC LIMIT 1)
SELECT a.attname, a.atttypid, a.atttypmod,
       coalesce((SELECT k.n FROM key, unnest(key.indkey) WITH ORDINALITY k(att, n) WHERE k.att = a.attnum), 0),
       (SELECT string_agg(f.attname, chr(31) ORDER BY f.attnum) FROM pg_type t
        JOIN pg_attribute f ON f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped
        WHERE t.oid = a.atttypid AND t.typtype = 'c')
FROM pg_attribute a
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum)";

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
  SS_ASSIGN_OR_RETURN(auto can_replicate,
                      conn.QueryValue("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user"));
  if (can_replicate.value_or("f") != "t") {
    SS_ASSIGN_OR_RETURN(auto user, conn.QueryValue("SELECT current_user"));
    return Status::Fatal(fmt::format("role '{}' may not use replication: run ALTER ROLE {} REPLICATION as a superuser",
                                     user.value_or("?"), PgConnection::QuoteIdent(user.value_or("?"))));
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
  auto res = conn.Exec(fmt::format("CREATE PUBLICATION {} FOR {}", PgConnection::QuoteIdent(publication), target));
  if (!res.ok()) {
    return res.status().WithContext(fmt::format(
        "creating publication '{}' (needs CREATE on the database and ownership of the tables; or create it as a "
        "superuser: CREATE PUBLICATION {} FOR {})",
        publication, publication, target));
  }
  return Status::Ok();
}

Result<TableInfo> LoadTable(PgConnection& conn, uint32_t oid) {
  SS_ASSIGN_OR_RETURN(PgResultPtr rel, conn.Exec("SELECT n.nspname, c.relname, has_table_privilege(c.oid, 'SELECT') "
                                                 "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                                 "WHERE c.oid = $1::oid",
                                                 {std::to_string(oid)}));
  if (PQntuples(rel.get()) != 1) return Status::Fatal(fmt::format("table with OID {} no longer exists", oid));
  TableInfo table{oid, PQgetvalue(rel.get(), 0, 0), PQgetvalue(rel.get(), 0, 1), {}};
  if (std::string_view(PQgetvalue(rel.get(), 0, 2)) != "t") {
    return Status::Fatal(fmt::format("no SELECT privilege on table {}: GRANT SELECT ON {} TO the replication role",
                                     table.QualifiedName(), table.QuotedName()));
  }
  SS_ASSIGN_OR_RETURN(PgResultPtr cols, conn.Exec(kColumnsSql, {std::to_string(oid)}));
  bool has_key = false;
  for (int r = 0; r < PQntuples(cols.get()); ++r) {
    ColumnInfo c{PQgetvalue(cols.get(), r, 0),
                 ToInt<uint32_t>(PQgetvalue(cols.get(), r, 1)),
                 ToInt<int32_t>(PQgetvalue(cols.get(), r, 2)),
                 ToInt<int>(PQgetvalue(cols.get(), r, 3)),
                 {}};
    if (!PQgetisnull(cols.get(), r, 4)) {
      const std::string_view names = PQgetvalue(cols.get(), r, 4);
      for (size_t pos = 0; pos <= names.size();) {
        const size_t sep = std::min(names.find('\x1f', pos), names.size());
        c.composite_fields.emplace_back(names.substr(pos, sep - pos));
        pos = sep + 1;
      }
    }
    has_key |= c.key_position > 0;
    table.columns.push_back(std::move(c));
  }
  if (!has_key) {
    return Status::Fatal(
        fmt::format("table {} has no primary key, so its rows cannot be identified in ClickHouse: add one "
                    "(ALTER TABLE {} ADD PRIMARY KEY (…)) or remove the table from the publication",
                    table.QualifiedName(), table.QuotedName()));
  }
  return table;
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
  SS_ASSIGN_OR_RETURN(std::vector<uint32_t> oids, PublishedTableOids(conn, publication));
  std::vector<TableInfo> tables;
  for (uint32_t oid : oids) {
    SS_ASSIGN_OR_RETURN(TableInfo t, LoadTable(conn, oid));
    tables.push_back(std::move(t));
  }
  return tables;
}

Result<bool> ColumnHasDefault(PgConnection& conn, uint32_t oid, const std::string& column) {
  SS_ASSIGN_OR_RETURN(auto v, conn.QueryValue("SELECT atthasdef OR atthasmissing FROM pg_attribute "
                                              "WHERE attrelid = $1::oid AND attname = $2 AND NOT attisdropped",
                                              {std::to_string(oid), column}));
  return v.value_or("t") == "t";
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

std::string CopySql(const TableInfo& table) {
  return fmt::format("COPY (SELECT {} FROM {}) TO STDOUT", CopyColumns(table), table.QuotedName());
}

Result<std::optional<SlotState>> GetSlot(PgConnection& conn, const std::string& slot) {
  SS_ASSIGN_OR_RETURN(PgResultPtr res, conn.Exec("SELECT active_pid, confirmed_flush_lsn, database "
                                                 "FROM pg_replication_slots WHERE slot_name = $1",
                                                 {slot}));
  if (PQntuples(res.get()) == 0) return std::optional<SlotState>();
  SlotState s;
  if (!PQgetisnull(res.get(), 0, 0)) s.active_pid = ToInt<int>(PQgetvalue(res.get(), 0, 0));
  if (!PQgetisnull(res.get(), 0, 1)) s.confirmed_flush = Lsn::Parse(PQgetvalue(res.get(), 0, 1));
  s.database = PQgetvalue(res.get(), 0, 2);
  return std::optional<SlotState>(std::move(s));
}

Status DropSlot(PgConnection& conn, const std::string& slot) {
  auto res = conn.Exec("SELECT pg_drop_replication_slot($1)", {slot});
  return res.ok() ? Status::Ok() : res.status();
}

}  // namespace streamshop::pg
