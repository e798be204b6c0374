#include "clickhouse/TargetSchema.h"

#include <fmt/format.h>

#include <set>

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

Status EnsureTargetTable(ClickHouseClient& ch, const TableWriter& writer) {
  SS_RETURN_IF_ERROR(ch.Query(writer.CreateTableSql()).status());
  // Columns the table lacks (added in PostgreSQL since it was created) are added after the existing ones.
  const std::string& target = writer.target();
  const size_t dot = target.find("`.`");
  SS_ASSIGN_OR_RETURN(
      std::string existing,
      ch.Query(fmt::format("SELECT name FROM system.columns WHERE database = {} AND table = {}",
                           ClickHouseClient::QuoteString(target.substr(1, dot - 1)),
                           ClickHouseClient::QuoteString(target.substr(dot + 3, target.size() - dot - 4)))));
  const std::set<std::string> names = SplitLines(existing);
  for (const auto& c : writer.columns()) {
    if (names.count(c.name)) continue;
    LogInfo("adding column {} {} to {}", c.name, c.type.clickhouse_type, target);
    SS_RETURN_IF_ERROR(ch.Query(fmt::format("ALTER TABLE {} ADD COLUMN {} {}", target,
                                            ClickHouseClient::QuoteIdent(c.name), c.type.clickhouse_type))
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
