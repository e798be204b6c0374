// DDL on the ClickHouse side: dialect detection, the analytics database and raw_* tables. Stateless functions over a
// ClickHouseClient.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/TableWriter.h"
#include "clickhouse/TypeMapping.h"

namespace streamshop::clickhouse {

// A column name ClickHouse cannot hold in a raw table on every supported server: streamshop's own columns
// (_version, _deleted, _synced_at, _unfit, _row_hash),
// MergeTree virtual columns that hide a real column of the same name on 18.16 (_part, _part_index,
// _partition_id, _sample_factor: measured, SELECT returns the part's values), and the persistent virtual
// columns newer servers refuse (_row_exists, _block_number, _block_offset).
bool IsReservedColumnName(std::string_view name);

Result<Dialect> DetectDialect(ClickHouseClient& ch);
// How the tables are laid out for `ch`: one server, or the cluster it names (ClickHouseClient::cluster), its shards
// counted in the server's system.clusters on first use and kept in the client. A cluster the server does not know
// is a Fatal error naming the clusters it knows and the fix.
Result<ClusterLayout> LayoutOf(ClickHouseClient& ch);
// Creates `database` unless it exists (checked first, so a user without CREATE DATABASE can use one made for it).
Status EnsureDatabase(ClickHouseClient& ch, const std::string& database);
// CREATE TABLE IF NOT EXISTS for the writer's table, then ReconcileTargetTable(…, true). A Fatal error means
// the table's PostgreSQL schema changed in a way its ClickHouse table cannot follow (the message names the
// column and the fix), or that a column has a reserved name (IsReservedColumnName). `added` (if given) receives
// the PostgreSQL columns it added to an existing table.
Status EnsureTargetTable(ClickHouseClient& ch, TableWriter& writer, std::vector<std::string>* added = nullptr);
// Compares the writer's columns with the existing ClickHouse table (ColumnEvolution rules) and makes the
// writer encode for the column types found there. With `apply_changes` also adds missing columns and widens
// columns; without, only adopts the compatible existing types (what verify needs). `added` (if given) receives
// the writer's columns the ClickHouse table lacked (added to it with `apply_changes`).
Status ReconcileTargetTable(ClickHouseClient& ch, TableWriter& writer, bool apply_changes,
                            std::vector<std::string>* added = nullptr);
Status TruncateTarget(ClickHouseClient& ch, const TableWriter& writer);
// Empties the raw table `table` of `database` (ClusterLayout::TruncateRawTable); with `if_exists`, a table that does
// not exist is left alone. On an 18.16 cluster, waits (up to a minute) until the server the client talks to has
// applied the mutation, so reads after it no longer see the rows.
Status TruncateRawTable(ClickHouseClient& ch, Dialect dialect, const std::string& database, const std::string& table,
                        bool if_exists);
// CREATE TABLE IF NOT EXISTS of a bookkeeping table (ClusterLayout::CreateStateTable).
Status EnsureStateTable(ClickHouseClient& ch, const std::string& database, const std::string& table,
                        std::string_view columns, std::string_view kind, std::string_view order_by);

// Names of the tables in `database`, byte for byte (read as RowBinary).
Result<std::set<std::string>> ExistingTables(ClickHouseClient& ch, const std::string& database);

}  // namespace streamshop::clickhouse
