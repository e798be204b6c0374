// The outbox in direct mode (`replicate --outbox-table SCHEMA.TABLE`): every row inserted into the outbox table is
// appended, as one domain event, to <database>.outbox_events — an append-only MergeTree ordered by
// (_commit_lsn, _seq): the table's columns (mapped as for its raw table, all Nullable) plus
//   _lsn          the insert's own WAL position (rows of one multi-insert record, e.g. COPY, share it),
//   _commit_lsn   its transaction's commit LSN (0: a row copied by the initial snapshot),
//   _seq          its number among the transaction's outbox inserts (1, 2, …; 0 for copied rows),
//   _commit_time  its transaction's commit time (Int64 µs since 1970 on legacy servers, DateTime64(6, 'UTC') on
//                 modern ones, as timestamps of raw tables),
//   _synced_at.
// Deletes and updates of the outbox table (the usual clean-up) never touch the events.
//
// Exactly once across crashes and replays, with no FINAL and no deduplication by the server: the stream delivers
// transactions in commit order and a transaction's changes in order, the same on every replay, so
// (_commit_lsn, _seq) strictly increases along the stream; each Flush is one INSERT (one block: atomic) and flushes
// happen in stream order, so what the table holds of the stream is always a prefix of it. A session starts by reading
// the largest stored position (LoadWatermark); a replayed event at or below it is skipped. This needs one writer per
// table: one replicate (slot) per outbox_events table.
//
// Rows that exist when the initial snapshot copies the table (into its raw mirror) are appended once by
// AppendCopiedRows, at position (0, 0), from the mirror's copied rows whose id is not stored yet.
//
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/TypeMapping.h"
#include "common/Status.h"
#include "model/ChangeTarget.h"
#include "model/TableSchema.h"

namespace streamshop::clickhouse {

class OutboxWriter {
 public:
  inline static constexpr std::string_view kTable = "outbox_events";

  struct Position {
    uint64_t commit_lsn = 0;
    uint64_t seq = 0;
    auto operator<=>(const Position&) const = default;
  };

  // `source`: the outbox table's shape (it must have an `id` column: Debezium EventRouter's event id).
  OutboxWriter(std::string database, model::TableSchema source, Dialect dialect);

  // Fatal when the outbox table has no `id` column.
  Status Validate() const;
  // CREATE TABLE IF NOT EXISTS, then reads the watermark (the largest stored streamed position).
  Status Open(ClickHouseClient& ch);
  Position watermark() const { return watermark_; }

  // One inserted row (`values` in the source's column order) at WAL position `lsn`, the `seq`-th outbox insert
  // (from 1) of the transaction committed at `commit_lsn`, time `commit_time_us` (µs since 1970 UTC). Returns false
  // (and stores nothing) for a replayed event at or below the watermark. Fatal if the row does not have the columns
  // the writer was made for (the table changed shape).
  Result<bool> Append(const model::RowValues& values, uint64_t lsn, uint64_t commit_lsn, uint64_t seq,
                      int64_t commit_time_us);
  size_t pending() const { return pending_; }
  Status Flush(ClickHouseClient& ch);

  // Appends, at position (0, 0), the rows of the raw mirror `raw_table` (same database) that a snapshot copied
  // (_version 0), that are live, and whose id is not stored yet. Returns how many.
  Result<uint64_t> AppendCopiedRows(ClickHouseClient& ch, const std::string& raw_table);

  const std::string& qualified_table() const { return table_; }

 private:
  std::string database_;
  std::string table_;  // quoted database.outbox_events
  model::TableSchema source_;
  Dialect dialect_;
  std::vector<ColumnType> types_;
  Position watermark_;
  std::string buffer_;  // RowBinary rows
  size_t pending_ = 0;
};

}  // namespace streamshop::clickhouse
