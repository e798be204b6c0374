#include "clickhouse/TargetSchema.h"

#include <fmt/format.h>

#include <chrono>
#include <set>

#include "common/Log.h"

namespace streamshop::clickhouse {
namespace {

std::string StateTable(const std::string& database) {
  return ClickHouseClient::QuoteIdent(database) + ".`_streamshop_state`";
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
  SS_RETURN_IF_ERROR(ch.Query("CREATE DATABASE IF NOT EXISTS " + ClickHouseClient::QuoteIdent(database)).status());
  return ch
      .Query(fmt::format("CREATE TABLE IF NOT EXISTS {} (key String, snapshot_done UInt8, updated_us UInt64) "
                         "ENGINE = MergeTree ORDER BY key",
                         StateTable(database)))
      .status();
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
  std::set<std::string> names;
  for (size_t pos = 0, end; (end = existing.find('\n', pos)) != std::string::npos; pos = end + 1) {
    names.insert(existing.substr(pos, end - pos));
  }
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

Result<bool> IsSnapshotDone(ClickHouseClient& ch, const std::string& database, const std::string& key) {
  SS_ASSIGN_OR_RETURN(std::string v,
                      ch.Query(fmt::format("SELECT argMax(snapshot_done, updated_us) FROM {} WHERE key = {}",
                                           StateTable(database), ClickHouseClient::QuoteString(key))));
  return Trim(v) == "1";
}

Status MarkSnapshotDone(ClickHouseClient& ch, const std::string& database, const std::string& key) {
  const auto now =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return ch
      .Query(fmt::format("INSERT INTO {} VALUES ({}, 1, {})", StateTable(database), ClickHouseClient::QuoteString(key),
                         now))
      .status();
}

}  // namespace streamshop::clickhouse
