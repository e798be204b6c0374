#include "clickhouse/TargetSchema.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "clickhouse/ColumnEvolution.h"
#include "common/Log.h"

namespace streamshop::clickhouse {
namespace {

std::set<std::string> SplitLines(const std::string& text) {
  std::set<std::string> lines;
  for (size_t pos = 0, end; (end = text.find('\n', pos)) != std::string::npos; pos = end + 1) {
    lines.insert(text.substr(pos, end - pos));
  }
  return lines;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<Dialect> DetectDialect(ClickHouseClient& ch) {
  SS_ASSIGN_OR_RETURN(std::string version, ch.Query("SELECT version()"));
  return DialectForVersion(Trim(version));
}

Status EnsureDatabase(ClickHouseClient& ch, const std::string& database) {
  return ch.Query("CREATE DATABASE IF NOT EXISTS " + ClickHouseClient::QuoteIdent(database)).status();
}

Status EnsureTargetTable(ClickHouseClient& ch, TableWriter& writer) {
  SS_RETURN_IF_ERROR(ch.Query(writer.CreateTableSql()).status());
  SS_RETURN_IF_ERROR(ch.Query(TableWriter::CreateDeadLetterTableSql(writer.database())).status());
  return ReconcileTargetTable(ch, writer, /*apply_changes=*/true);
}

Status ReconcileTargetTable(ClickHouseClient& ch, TableWriter& writer, bool apply_changes) {
  SS_ASSIGN_OR_RETURN(std::string rows,
                      ch.Query(fmt::format("SELECT name, type FROM system.columns WHERE database = {} AND table = {} "
                                           "FORMAT TSV",
                                           ClickHouseClient::QuoteString(writer.database()),
                                           ClickHouseClient::QuoteString(writer.table_name()))));
  std::map<std::string, std::string> existing;  // column name → ClickHouse type
  for (const auto& line : SplitLines(rows)) {
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) existing[line.substr(0, tab)] = line.substr(tab + 1);
  }
  for (size_t i = 0; i < writer.columns().size(); ++i) {
    const TargetColumn& c = writer.columns()[i];
    auto it = existing.find(c.name);
    if (it == existing.end()) {
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
          writer.source().QualifiedName(), c.name, writer.target()));
    }
    if (plan->alter_to) {
      if (!apply_changes) continue;
      LogInfo("widening column {} of {} from {} to {}", c.name, writer.target(), it->second, *plan->alter_to);
      SS_RETURN_IF_ERROR(ch.Query(fmt::format("ALTER TABLE {} MODIFY COLUMN {} {}", writer.target(),
                                              ClickHouseClient::QuoteIdent(c.name), *plan->alter_to))
                             .status());
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
                                                 ClickHouseClient::QuoteString(database)));
  return SplitLines(rows);
}

}  // namespace streamshop::clickhouse
