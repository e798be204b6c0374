#include "clickhouse/TargetSchema.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

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

Result<ClusterLayout> LayoutOf(ClickHouseClient& ch) {
  if (ch.layout()) return *ch.layout();
  if (ch.cluster().empty()) return *(ch.layout() = ClusterLayout());
  SS_ASSIGN_OR_RETURN(std::string shards, ch.Query("SELECT uniqExact(shard_num) FROM system.clusters WHERE cluster = " +
                                                   ClickHouseClient::QuoteString(ch.cluster()) + " FORMAT TSV"));
  const int n = std::atoi(Trim(shards).c_str());
  if (n <= 0) {
    SS_ASSIGN_OR_RETURN(std::string rows, ch.Query("SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster "
                                                   "FORMAT RowBinary"));
    SS_ASSIGN_OR_RETURN(std::vector<std::string> known, ReadStrings(rows));
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    return Status::Fatal(fmt::format(
        "--clickhouse-cluster {}: the ClickHouse server at {} knows no cluster of that name (its system.clusters "
        "lists: {}); name one of those with --clickhouse-cluster (STREAMSHOP_CLICKHOUSE_CLUSTER), or define the "
        "cluster in the server's <remote_servers> configuration",
        ch.cluster(), ch.current_url(), list.empty() ? "none" : list));
  }
  LogInfo("ClickHouse cluster {}: {} shard(s)", ch.cluster(), n);
  return *(ch.layout() = ClusterLayout(ch.cluster(), n));
}

Status CreateUnlessExists(ClickHouseClient& ch, const ClusterLayout& layout, const std::string& database,
                          const std::string& table, const std::string& sql);

Status EnsureStateTable(ClickHouseClient& ch, const std::string& database, const std::string& table,
                        std::string_view columns, std::string_view kind, std::string_view order_by) {
  SS_ASSIGN_OR_RETURN(ClusterLayout layout, LayoutOf(ch));
  return CreateUnlessExists(ch, layout, database, table,
                            layout.CreateStateTable(Dialect::kLegacy, database, table, columns, kind, order_by));
}

Status EnsureDatabase(ClickHouseClient& ch, const std::string& database) {
  // Looked up first: a server with SQL access control checks the CREATE DATABASE grant before IF NOT EXISTS, and
  // a least-privileged user has grants on the database's tables only (docs/SECURITY.md).
  SS_ASSIGN_OR_RETURN(std::string exists, ch.Query("SELECT count() FROM system.databases WHERE name = " +
                                                   ClickHouseClient::QuoteString(database) + " FORMAT TSV"));
  if (Trim(exists) == "1") return Status::Ok();
  SS_ASSIGN_OR_RETURN(ClusterLayout layout, LayoutOf(ch));
  auto created = ch.Query(layout.CreateDatabase(database));
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
  SS_ASSIGN_OR_RETURN(ClusterLayout layout, LayoutOf(ch));
  const std::vector<std::string> create = writer.CreateTableStatements(layout);
  SS_RETURN_IF_ERROR(
      CreateUnlessExists(ch, layout, writer.database(), layout.StorageName(writer.table_name()), create.front()));
  if (create.size() > 1) {
    SS_RETURN_IF_ERROR(CreateUnlessExists(ch, layout, writer.database(), writer.table_name(), create.back()));
  }
  SS_RETURN_IF_ERROR(CreateUnlessExists(ch, layout, writer.database(), "_streamshop_dead_letters",
                                        TableWriter::CreateDeadLetterTableSql(writer.database(), layout)));
  return ReconcileTargetTable(ch, writer, /*apply_changes=*/true, added);
}

namespace {

// Column name → ClickHouse type of `table` in `database`.
Result<std::map<std::string, std::string>> ColumnsOf(ClickHouseClient& ch, const std::string& database,
                                                     const std::string& table) {
  SS_ASSIGN_OR_RETURN(
      std::string rows,
      ch.Query(fmt::format("SELECT name, type FROM system.columns WHERE database = {} AND table = {} "
                           "FORMAT RowBinary",
                           ClickHouseClient::QuoteString(database), ClickHouseClient::QuoteString(table))));
  SS_ASSIGN_OR_RETURN(std::vector<std::string> fields, ReadStrings(rows));
  if (fields.size() % 2 != 0) return Status::Fatal("system.columns: expected (name, type) pairs");
  std::map<std::string, std::string> columns;
  for (size_t i = 0; i < fields.size(); i += 2) columns[fields[i]] = fields[i + 1];
  return columns;
}

// A sharded raw table's Distributed table made again when its columns are not its local table's (after an ALTER,
// or one interrupted before the Distributed table followed).
Status SyncDistributed(ClickHouseClient& ch, const ClusterLayout& layout, const TableWriter& writer) {
  SS_ASSIGN_OR_RETURN(auto local, ColumnsOf(ch, writer.database(), layout.StorageName(writer.table_name())));
  SS_ASSIGN_OR_RETURN(auto distributed, ColumnsOf(ch, writer.database(), writer.table_name()));
  if (local == distributed) return Status::Ok();
  LogInfo("making the Distributed table {} again over the changed columns of its shards", writer.target());
  for (const std::string& sql :
       layout.RecreateDistributed(writer.database(), writer.table_name(), writer.ShardingKey())) {
    SS_RETURN_IF_ERROR(ch.Query(sql).status());
  }
  return Status::Ok();
}

}  // namespace

Status ReconcileTargetTable(ClickHouseClient& ch, TableWriter& writer, bool apply_changes,
                            std::vector<std::string>* added) {
  SS_ASSIGN_OR_RETURN(ClusterLayout layout, LayoutOf(ch));
  // With shards, the local table's columns (what an ALTER changes; the Distributed table follows).
  SS_ASSIGN_OR_RETURN(std::string rows,
                      ch.Query(fmt::format("SELECT name, type FROM system.columns WHERE database = {} AND table = {} "
                                           "FORMAT RowBinary",
                                           ClickHouseClient::QuoteString(writer.database()),
                                           ClickHouseClient::QuoteString(layout.StorageName(writer.table_name())))));
  SS_ASSIGN_OR_RETURN(std::vector<std::string> fields, ReadStrings(rows));
  const auto alter = [&](const std::string& action) -> Status {
    for (const std::string& sql : layout.AlterRawTable(writer.database(), writer.table_name(), action)) {
      SS_RETURN_IF_ERROR(ch.Query(sql).status());
    }
    return Status::Ok();
  };
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
      SS_RETURN_IF_ERROR(
          alter(fmt::format("ADD COLUMN {} {}", ClickHouseClient::QuoteIdent(c.name), c.type.clickhouse_type)));
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
      SS_RETURN_IF_ERROR(
          alter(fmt::format("MODIFY COLUMN {} {}", ClickHouseClient::QuoteIdent(c.name), *plan->alter_to)));
      if (plan->becomes_nullable && plan->effective.kind != ValueKind::kString) {
        // A value the NOT NULL column could not hold was stored as its default; now it is NULL, as in new rows
        // (docs/TYPE_MAPPING.md). A String column holds every value, so it has none.
        SS_RETURN_IF_ERROR(
            ch.Query(layout.MutateRawTable(
                         writer.database(), writer.table_name(),
                         fmt::format("UPDATE {} = NULL WHERE {} IS NOT NULL AND JSONHas(assumeNotNull({}), {}) "
                                     "SETTINGS mutations_sync = 2",
                                     ClickHouseClient::QuoteIdent(c.name), TableWriter::kUnfitColumn,
                                     TableWriter::kUnfitColumn, ClickHouseClient::QuoteString(c.name))))
                .status());
      }
    }
    writer.SetColumnType(i, plan->effective);
  }
  // Tables created before values that do not fit were kept in the row (docs/TYPE_MAPPING.md) lack _unfit.
  const std::string unfit(TableWriter::kUnfitColumn);
  if (apply_changes && !existing.count(unfit)) {
    LogInfo("adding column {} to {}", unfit, writer.target());
    SS_RETURN_IF_ERROR(alter(fmt::format("ADD COLUMN {} {}", ClickHouseClient::QuoteIdent(unfit),
                                         TableWriter::UnfitType().clickhouse_type)));
  }
  if (apply_changes && layout.sharded()) return SyncDistributed(ch, layout, writer);
  return Status::Ok();
}

Status TruncateTarget(ClickHouseClient& ch, const TableWriter& writer) {
  return TruncateRawTable(ch, writer.dialect(), writer.database(), writer.table_name(), /*if_exists=*/false);
}

Status TruncateRawTable(ClickHouseClient& ch, Dialect dialect, const std::string& database, const std::string& table,
                        bool if_exists) {
  SS_ASSIGN_OR_RETURN(ClusterLayout layout, LayoutOf(ch));
  if (!layout.clustered()) return ch.Query(layout.TruncateRawTable(dialect, database, table, if_exists)).status();
  const std::string storage = layout.StorageName(table);
  if (if_exists) {  // an ALTER has no IF EXISTS
    SS_ASSIGN_OR_RETURN(std::set<std::string> tables, ExistingTables(ch, database));
    if (!tables.count(storage)) return Status::Ok();
  }
  SS_RETURN_IF_ERROR(ch.Query(layout.TruncateRawTable(dialect, database, table, if_exists)).status());
  if (dialect == Dialect::kModern) return Status::Ok();
  const std::string pending =
      fmt::format("SELECT count() FROM system.mutations WHERE database = {} AND table = {} AND is_done = 0 FORMAT TSV",
                  ClickHouseClient::QuoteString(database), ClickHouseClient::QuoteString(storage));
  for (int i = 0; i < 600; ++i) {
    SS_ASSIGN_OR_RETURN(std::string n, ch.Query(pending));
    if (Trim(n) == "0") return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  LogWarn("the truncate of {}.{} is still being applied after a minute; going on (it removes only older rows)",
          database, table);
  return Status::Ok();
}

Status CreateUnlessExists(ClickHouseClient& ch, const ClusterLayout& layout, const std::string& database,
                          const std::string& table, const std::string& sql) {
  if (layout.clustered()) {
    // ON CLUSTER waits for every node (distributed_ddl_task_timeout) even when the table exists; with a node down
    // that would stall every start.
    SS_ASSIGN_OR_RETURN(
        std::string n,
        ch.Query(fmt::format("SELECT count() FROM system.tables WHERE database = {} AND name = {} FORMAT TSV",
                             ClickHouseClient::QuoteString(database), ClickHouseClient::QuoteString(table))));
    if (Trim(n) == "1") return Status::Ok();
  }
  return ch.Query(sql).status();
}

Result<std::set<std::string>> ExistingTables(ClickHouseClient& ch, const std::string& database) {
  SS_ASSIGN_OR_RETURN(std::string rows, ch.Query("SELECT name FROM system.tables WHERE database = " +
                                                 ClickHouseClient::QuoteString(database) + " FORMAT RowBinary"));
  SS_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadStrings(rows));
  return std::set<std::string>(names.begin(), names.end());
}

}  // namespace streamshop::clickhouse
