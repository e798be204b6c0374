// Logical decoding messages (pg_logical_emit_message, e.g. an outbox) into <database>._streamshop_messages:
// one row per message, keyed by (lsn, prefix) so a replay after a restart collapses onto the same row.
// Not thread-safe.
#pragma once

#include <string>

#include "clickhouse/ClickHouseClient.h"
#include "pg/PgoutputDecoder.h"

namespace streamshop::clickhouse {

class MessageWriter {
 public:
  explicit MessageWriter(const std::string& database);
  Status EnsureTable(ClickHouseClient& ch);
  void Append(const pg::LogicalMessage& message);
  size_t pending() const { return pending_; }
  Status Flush(ClickHouseClient& ch);

 private:
  std::string table_;
  std::string buffer_;  // RowBinary rows
  size_t pending_ = 0;
};

}  // namespace streamshop::clickhouse
