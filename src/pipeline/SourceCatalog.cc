#include "pipeline/SourceCatalog.h"

namespace streamshop::pipeline {

Result<std::vector<pg::TableInfo>> PgSourceCatalog::LoadPublishedTables(const std::string& publication) {
  return pg::LoadPublishedTables(conn_, publication);
}

Result<std::vector<uint32_t>> PgSourceCatalog::PublishedTableOids(const std::string& publication) {
  return pg::PublishedTableOids(conn_, publication);
}

Result<pg::TableInfo> PgSourceCatalog::LoadTable(const std::string& publication, uint32_t oid) {
  return pg::LoadTable(conn_, publication, oid);
}

Result<bool> PgSourceCatalog::PublishedAsAncestor(const std::string& publication, uint32_t oid) {
  return pg::PublishedAsAncestor(conn_, publication, oid);
}

Result<std::map<uint32_t, pg::PublishedShape>> PgSourceCatalog::LoadPublishedShapes(const std::string& publication) {
  return pg::LoadPublishedShapes(conn_, publication);
}

Result<bool> PgSourceCatalog::ColumnHasDefault(uint32_t oid, const std::string& column) {
  return pg::ColumnHasDefault(conn_, oid, column);
}

Result<std::vector<pg::ColumnDetails>> PgSourceCatalog::LoadColumnDetails(uint32_t oid) {
  return pg::LoadColumnDetails(conn_, oid);
}

Result<Lsn> PgSourceCatalog::CurrentWal() {
  SS_ASSIGN_OR_RETURN(pg::PgResultPtr wal, conn_.Exec("SELECT pg_current_wal_lsn()"));
  std::optional<Lsn> lsn = PQntuples(wal.get()) == 1 ? Lsn::Parse(PQgetvalue(wal.get(), 0, 0)) : std::nullopt;
  if (!lsn) return Status::Retryable("pg_current_wal_lsn() returned no position");
  return *lsn;
}

Status PgSourceCatalog::ReadUnchangedValues(const pg::TableInfo& table,
                                            std::vector<std::optional<std::string_view>>& values,
                                            std::vector<bool>& unchanged, pg::PgResultPtr& holder) {
  return pipeline::ReadUnchangedValues(conn_, table, values, unchanged, holder);
}

Result<SlotSession> OpenSlotSession(const SlotSourceOptions& options) {
  SS_ASSIGN_OR_RETURN(SlotSource source, OpenSlotSource(options));
  SlotSession s;
  s.catalog = std::make_unique<PgSourceCatalog>(std::move(source.catalog));
  s.stream = std::make_unique<PgSlotStream>(std::move(source.repl));
  s.identity = std::move(source.identity);
  s.slot = std::move(source.slot);
  s.tables = std::move(source.tables);
  return s;
}

Result<std::optional<pg::TableInfo>> TableFromRelation(SourceCatalog& catalog, const std::string& publication,
                                                       const pg::RelationMessage& rel) {
  SS_ASSIGN_OR_RETURN(bool via_ancestor, catalog.PublishedAsAncestor(publication, rel.relid));
  if (via_ancestor) return std::optional<pg::TableInfo>();
  // Columns as the stream has them at this point; the key's order, identity and row filter from the catalog.
  SS_ASSIGN_OR_RETURN(pg::TableInfo table, catalog.LoadTable(publication, rel.relid));
  const std::vector<pg::ColumnInfo> catalog_columns = std::move(table.columns);
  table.schema = rel.nspname;
  table.name = rel.relname;
  table.replica_identity = rel.replica_identity;
  table.columns.clear();
  for (const auto& c : rel.columns) {
    pg::ColumnInfo column{c.name, c.type_oid, c.typmod, 0, {}, /*dropped=*/true};
    for (const auto& cc : catalog_columns) {
      if (cc.name != c.name) continue;
      column.dropped = false;
      column.key_position = cc.key_position;
      if (cc.type_oid != c.type_oid) continue;
      column.composite_fields = cc.composite_fields;
      column.not_null = cc.not_null;
      column.is_enum = cc.is_enum;
      column.element_oid = cc.element_oid;
    }
    table.columns.push_back(std::move(column));
  }
  return std::optional<pg::TableInfo>(std::move(table));
}

}  // namespace streamshop::pipeline
