#include "clickhouse/TargetSchema.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "clickhouse/ColumnEvolution.h"
#include "clickhouse/RowBinary.h"
#include "common/Log.h"

namespace streamshop::clickhouse {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

bool IsReservedColumnName(std::string_view name) {
  static constexpr std::string_view kReserved[] = {
      "_version",    "_deleted",      "_synced_at",    TableWriter::kUnfitColumn, "_row_hash",  // streamshop's own
      "_part",       "_part_index",   "_partition_id", "_sample_factor",  // hide a column on 18.16
      "_row_exists", "_block_number", "_block_offset"};                   // refused by newer servers
  return std::find(std::begin(kReserved), std::end(kReserved), name) != std::end(kReserved);
}

Result<Dialect> DetectDialect(ClickHouseClient& ch) {
  SS_ASSIGN_OR_RETURN(std::string version, ch.Query("SELECT version()"));
  return DialectForVersion(Trim(version));
}

Status EnsureDatabase(ClickHouseClient& ch, const std::string& database) {
  // Looked up first: a server with SQL access control checks the CREATE DATABASE grant before IF NOT EXISTS, and
  // a least-privileged user has grants on the database's tables only (docs/SECURITY.md).
  SS_ASSIGN_OR_RETURN(std::string exists, ch.Query("SELECT count() FROM system.databases WHERE name = " +
                                                   ClickHouseClient::QuoteString(database) + " FORMAT TSV"));
  if (Trim(exists) == "1") return Status::Ok();
  auto created = ch.Query("CREATE DATABASE IF NOT EXISTS " + ClickHouseClient::QuoteIdent(database));
  if (created.ok()) return Status::Ok();
  return created.status().WithContext(
      fmt::format("ClickHouse database {} does not exist and could not be created: have an administrator run "
                  "CREATE DATABASE {} (docs/SECURITY.md lists what streamshop's user needs on it)",
                  ClickHouseClient::QuoteIdent(database), ClickHouseClient::QuoteIdent(database)));
}

Status EnsureTargetTable(ClickHouseClient& ch, TableWriter& writer, std::vector<std::string>* added) {
  for (const auto& c : writer.columns()) {
    if (!IsReservedColumnName(c.name)) continue;
    return Status::Fatal(fmt::format(
        "{} column {}: ClickHouse cannot hold a column of this name in {} (streamshop's own columns are _version, "
        "_deleted, _synced_at, _unfit, _row_hash; MergeTree's virtual columns _part, _part_index, _partition_id, "
        "_sample_factor "
        "hide "
        "a real column on ClickHouse 18.16, and _row_exists, _block_number, _block_offset are refused by newer "
        "servers); rename the column in PostgreSQL (ALTER TABLE {} RENAME COLUMN {} TO …)",
        writer.schema().QualifiedName(), c.name, writer.target(), writer.schema().QuotedName(),
        model::QuoteSqlIdent(c.name)));
  }
  SS_RETURN_IF_ERROR(ch.Query(writer.CreateTableSql()).status());
  SS_RETURN_IF_ERROR(ch.Query(TableWriter::CreateDeadLetterTableSql(writer.database())).status());
  return ReconcileTargetTable(ch, writer, /*apply_changes=*/true, added);
}

Status ReconcileTargetTable(ClickHouseClient& ch, TableWriter& writer, bool apply_changes,
                            std::vector<std::string>* added) {
  SS_ASSIGN_OR_RETURN(std::string rows,
                      ch.Query(fmt::format("SELECT name, type FROM system.columns WHERE database = {} AND table = {} "
                                           "FORMAT RowBinary",
                                           ClickHouseClient::QuoteString(writer.database()),
                                           ClickHouseClient::QuoteString(writer.table_name()))));
  SS_ASSIGN_OR_RETURN(std::vector<std::string> fields, ReadStrings(rows));
  if (fields.size() % 2 != 0) return Status::Fatal("system.columns: expected (name, type) pairs");
  std::map<std::string, std::string> existing;  // column name → ClickHouse type
  for (size_t i = 0; i < fields.size(); i += 2) existing[fields[i]] = fields[i + 1];
  for (size_t i = 0; i < writer.columns().size(); ++i) {
    const TargetColumn& c = writer.columns()[i];
    auto it = existing.find(c.name);
    if (it == existing.end()) {
      if (added) added->push_back(c.name);
      if (!apply_changes) continue;
      // A column added in PostgreSQL since the table was created goes after the existing ones.
      LogInfo("adding column {} {} to {}", c.name, c.type.clickhouse_type, writer.target());
      SS_RETURN_IF_ERROR(ch.Query(fmt::format("ALTER TABLE {} ADD COLUMN {} {}", writer.target(),
                                              ClickHouseClient::QuoteIdent(c.name), c.type.clickhouse_type))
                             .status());
      continue;
    }
    auto plan = PlanColumn(c.type, it->second, c.key_position > 0);
    if (!plan.ok()) {
      return plan.status().WithContext(fmt::format(
          "{} column {}: the PostgreSQL type changed incompatibly; to copy the table again with the new type run "
          "DROP TABLE {} in ClickHouse (streamshop picks that up within seconds), or change the column back",
          writer.schema().QualifiedName(), c.name, writer.target()));
    }
    if (plan->alter_to) {
      if (!apply_changes) continue;
      LogInfo("widening column {} of {} from {} to {}", c.name, writer.target(), it->second, *plan->alter_to);
      SS_RETURN_IF_ERROR(ch.Query(fmt::format("ALTER TABLE {} MODIFY COLUMN {} {}", writer.target(),
                                              ClickHouseClient::QuoteIdent(c.name), *plan->alter_to))
                             .status());
      if (plan->becomes_nullable && plan->effective.kind != ValueKind::kString) {
        // A value the NOT NULL column could not hold was stored as its default; now it is NULL, as in new rows
        // (docs/TYPE_MAPPING.md). A String column holds every value, so it has none.
        SS_RETURN_IF_ERROR(
            ch.Query(fmt::format("ALTER TABLE {} UPDATE {} = NULL WHERE {} IS NOT NULL AND "
                                 "JSONHas(assumeNotNull({}), {}) SETTINGS mutations_sync = 2",
                                 writer.target(), ClickHouseClient::QuoteIdent(c.name), TableWriter::kUnfitColumn,
                                 TableWriter::kUnfitColumn, ClickHouseClient::QuoteString(c.name)))
                .status());
      }
    }
    writer.SetColumnType(i, plan->effective);
  }
  // Tables created before values that do not fit were kept in the row (docs/TYPE_MAPPING.md) lack _unfit.
  const std::string unfit(TableWriter::kUnfitColumn);
  if (apply_changes && !existing.count(unfit)) {
    LogInfo("adding column {} to {}", unfit, writer.target());
    SS_RETURN_IF_ERROR(
        ch.Query(fmt::format("ALTER TABLE {} ADD COLUMN {} {}", writer.target(), ClickHouseClient::QuoteIdent(unfit),
                             TableWriter::UnfitType().clickhouse_type))
            .status());
  }
  return Status::Ok();
}

Status TruncateTarget(ClickHouseClient& ch, const TableWriter& writer) {
  return ch.Query("TRUNCATE TABLE " + writer.target()).status();
}

Result<std::set<std::string>> ExistingTables(ClickHouseClient& ch, const std::string& database) {
  SS_ASSIGN_OR_RETURN(std::string rows, ch.Query("SELECT name FROM system.tables WHERE database = " +
                                                 ClickHouseClient::QuoteString(database) + " FORMAT RowBinary"));
  SS_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadStrings(rows));
  return std::set<std::string>(names.begin(), names.end());
}

}  // namespace streamshop::clickhouse
