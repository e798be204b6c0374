// DDL on the ClickHouse side: dialect detection, the analytics database and raw_* tables. Stateless functions over a ClickHouseClient.
#pragma once

#include <set>
#include <string>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/TableWriter.h"
#include "clickhouse/TypeMapping.h"

namespace streamshop::clickhouse {

Result<Dialect> DetectDialect(ClickHouseClient& ch);
Status EnsureDatabase(ClickHouseClient& ch, const std::string& database);
// CREATE TABLE IF NOT EXISTS for the writer's table, then adds columns it lacks.
Status EnsureTargetTable(ClickHouseClient& ch, const TableWriter& writer);
Status TruncateTarget(ClickHouseClient& ch, const TableWriter& writer);

// Names of the tables in `database`.
Result<std::set<std::string>> ExistingTables(ClickHouseClient& ch, const std::string& database);

}  // namespace streamshop::clickhouse
