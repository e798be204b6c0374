// Logical decoding messages (pg_logical_emit_message, e.g. an outbox) into <database>._streamshop_messages:
// one row per message, keyed by (lsn, prefix) so a replay after a restart collapses onto the same row.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "clickhouse/ClickHouseClient.h"

namespace streamshop::clickhouse {

class MessageWriter {
 public:
  explicit MessageWriter(const std::string& database);
  Status EnsureTable(ClickHouseClient& ch);
  // One message at WAL position `position` (its LSN), emitted in a transaction or not.
  void Append(uint64_t position, bool transactional, std::string_view prefix, std::string_view content);
  size_t pending() const { return pending_; }
  Status Flush(ClickHouseClient& ch);

 private:
  std::string database_;
  std::string table_;
  std::string buffer_;  // RowBinary rows
  size_t pending_ = 0;
};

}  // namespace streamshop::clickhouse
