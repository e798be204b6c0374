#include "clickhouse/ClusterLayout.h"

#include <fmt/format.h>

#include "clickhouse/ClickHouseClient.h"

namespace streamshop::clickhouse {
namespace {

std::string Quoted(const std::string& database, const std::string& table) {
  return ClickHouseClient::QuoteIdent(database) + "." + ClickHouseClient::QuoteIdent(table);
}

}  // namespace

std::string ClusterLayout::OnCluster() const {
  return clustered() ? " ON CLUSTER " + ClickHouseClient::QuoteIdent(cluster_) : "";
}

std::string ClusterLayout::PathPart(std::string_view name) {
  std::string out;
  for (char c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += plain ? std::string(1, c) : fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

std::string ClusterLayout::Engine(Dialect dialect, Scope scope, std::string_view kind, std::string_view params,
                                  const std::string& database, const std::string& table) const {
  if (!clustered()) return params.empty() ? std::string(kind) : fmt::format("{}({})", kind, params);
  const std::string tail = params.empty() ? "" : fmt::format(", {}", params);
  if (scope == Scope::kEveryNode) {
    return fmt::format("Replicated{}('/clickhouse/streamshop/{}/{}', '{{shard}}-{{replica}}'{})", kind,
                       PathPart(database), PathPart(table), tail);
  }
  if (dialect == Dialect::kModern) {
    return params.empty() ? fmt::format("Replicated{}", kind) : fmt::format("Replicated{}({})", kind, params);
  }
  return fmt::format("Replicated{}('/clickhouse/tables/{{shard}}/{}/{}', '{{replica}}'{})", kind, PathPart(database),
                     PathPart(table), tail);
}

std::string ClusterLayout::CreateDatabase(const std::string& database) const {
  return "CREATE DATABASE IF NOT EXISTS " + ClickHouseClient::QuoteIdent(database) + OnCluster();
}

std::string ClusterLayout::CreateStateTable(Dialect dialect, const std::string& database, const std::string& table,
                                            std::string_view columns, std::string_view kind,
                                            std::string_view order_by) const {
  return fmt::format("CREATE TABLE IF NOT EXISTS {}{} ({}) ENGINE = {} ORDER BY ({})", Quoted(database, table),
                     OnCluster(), columns, Engine(dialect, Scope::kEveryNode, kind, "", database, table), order_by);
}

std::vector<std::string> ClusterLayout::CreateRawTable(Dialect dialect, const std::string& database,
                                                       const std::string& table, std::string_view columns,
                                                       std::string_view params, std::string_view order_by,
                                                       std::string_view sharding_key) const {
  const std::string storage = StorageName(table);
  std::vector<std::string> statements{fmt::format(
      "CREATE TABLE IF NOT EXISTS {}{} ({}) ENGINE = {} ORDER BY ({})", Quoted(database, storage), OnCluster(), columns,
      Engine(dialect, Scope::kShard, "ReplacingMergeTree", params, database, storage), order_by)};
  if (sharded()) statements.push_back(CreateDistributed(database, table, sharding_key));
  return statements;
}

std::string ClusterLayout::CreateDistributed(const std::string& database, const std::string& table,
                                             std::string_view sharding_key) const {
  const std::string storage = LocalName(table);
  return fmt::format("CREATE TABLE IF NOT EXISTS {}{} AS {} ENGINE = Distributed({}, {}, {}, {})",
                     Quoted(database, table), OnCluster(), Quoted(database, storage),
                     ClickHouseClient::QuoteString(cluster_), ClickHouseClient::QuoteString(database),
                     ClickHouseClient::QuoteString(storage), sharding_key);
}

std::vector<std::string> ClusterLayout::AlterRawTable(const std::string& database, const std::string& table,
                                                      std::string_view action) const {
  return {fmt::format("ALTER TABLE {}{} {}", Quoted(database, StorageName(table)), OnCluster(), action)};
}

std::vector<std::string> ClusterLayout::RecreateDistributed(const std::string& database, const std::string& table,
                                                            std::string_view sharding_key) const {
  return {fmt::format("DROP TABLE IF EXISTS {}{}", Quoted(database, table), OnCluster()),
          CreateDistributed(database, table, sharding_key)};
}

std::string ClusterLayout::MutateRawTable(const std::string& database, const std::string& table,
                                          std::string_view action) const {
  return fmt::format("ALTER TABLE {}{} {}", Quoted(database, StorageName(table)), OnCluster(), action);
}

std::string ClusterLayout::TruncateRawTable(Dialect dialect, const std::string& database, const std::string& table,
                                            bool if_exists) const {
  if (clustered()) {
    return MutateRawTable(database, table, dialect == Dialect::kModern ? "DROP PARTITION tuple()" : "DELETE WHERE 1");
  }
  return fmt::format("TRUNCATE TABLE {}{}", if_exists ? "IF EXISTS " : "", Quoted(database, table));
}

std::string ClusterLayout::LocalName(std::string_view table) { return std::string(table) + "%local"; }

std::string ClusterLayout::StorageName(const std::string& table) const { return sharded() ? LocalName(table) : table; }

std::string ClusterLayout::ShardingKey(const std::vector<std::string>& key_columns, bool full_row) {
  if (full_row || key_columns.empty()) return "_row_hash";
  std::string args;
  for (const auto& k : key_columns) {
    args += (args.empty() ? "" : ", ") + fmt::format("toString({})", ClickHouseClient::QuoteIdent(k));
  }
  return fmt::format("cityHash64({})", args);
}

}  // namespace streamshop::clickhouse
