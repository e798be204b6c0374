// DDL and bookkeeping on the ClickHouse side: dialect detection, the analytics database, raw_* tables and
// the replication state table. Stateless functions over a ClickHouseClient.
#pragma once

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

// Whether the initial snapshot for `key` (system id / database / slot) completed. Kept in
// <database>._streamshop_state so that a crash during the snapshot leads to a fresh one.
Result<bool> IsSnapshotDone(ClickHouseClient& ch, const std::string& database, const std::string& key);
Status MarkSnapshotDone(ClickHouseClient& ch, const std::string& database, const std::string& key);

}  // namespace streamshop::clickhouse
