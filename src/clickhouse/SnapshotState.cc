#include "clickhouse/SnapshotState.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>

#include "clickhouse/TargetSchema.h"

namespace streamshop::clickhouse {
namespace {

std::string StateTable(const SnapshotStateKey& key) {
  return ClickHouseClient::QuoteIdent(key.database) + ".`_streamshop_snapshots`";
}

uint64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status EnsureSnapshotStateTable(ClickHouseClient& ch, const SnapshotStateKey& key) {
  return EnsureStateTable(
      ch, key.database, "_streamshop_snapshots",
      "slot_key String, table String, chunk Int64, chunk_pages Int64, rows UInt64, updated_us UInt64", "MergeTree",
      "slot_key, table, chunk");
}

Result<bool> HasSnapshotState(ClickHouseClient& ch, const SnapshotStateKey& key) {
  // slot_key is "<system id>/<database>/<slot>"; the database and slot part follows the first '/'.
  const size_t slash = key.slot_key.find('/');
  const std::string suffix = slash == std::string::npos ? key.slot_key : key.slot_key.substr(slash);
  SS_ASSIGN_OR_RETURN(std::string rows,
                      ch.Query(fmt::format("SELECT count() FROM {} WHERE slot_key = {} OR endsWith(slot_key, {}) "
                                           "FORMAT TSV",
                                           StateTable(key), ClickHouseClient::QuoteString(key.slot_key),
                                           ClickHouseClient::QuoteString(suffix))));
  return !rows.empty() && rows[0] != '0';
}

Result<TableSnapshotState> LoadSnapshotState(ClickHouseClient& ch, const SnapshotStateKey& key,
                                             const std::string& table) {
  SS_ASSIGN_OR_RETURN(std::string rows,
                      ch.Query(fmt::format("SELECT chunk, chunk_pages FROM {} WHERE slot_key = {} AND "
                                           "table = {} ORDER BY updated_us FORMAT TSV",
                                           StateTable(key), ClickHouseClient::QuoteString(key.slot_key),
                                           ClickHouseClient::QuoteString(table))));
  TableSnapshotState state;
  for (size_t pos = 0, end; (end = rows.find('\n', pos)) != std::string::npos; pos = end + 1) {
    int64_t chunk = 0, chunk_pages = 0;
    auto r = std::from_chars(rows.data() + pos, rows.data() + end, chunk);
    if (r.ptr < rows.data() + end) std::from_chars(r.ptr + 1, rows.data() + end, chunk_pages);
    if (chunk == kSnapshotReset) {
      state = TableSnapshotState{true, false, chunk_pages, {}};
    } else if (chunk == kSnapshotTableDone) {
      state.done = true;
    } else {
      state.chunks_done.insert(chunk);
    }
  }
  return state;
}

Status RecordSnapshotState(ClickHouseClient& ch, const SnapshotStateKey& key, const std::string& table, int64_t chunk,
                           int64_t chunk_pages, uint64_t rows) {
  return ch
      .Query(fmt::format("INSERT INTO {} VALUES ({}, {}, {}, {}, {}, {})", StateTable(key),
                         ClickHouseClient::QuoteString(key.slot_key), ClickHouseClient::QuoteString(table), chunk,
                         chunk_pages, rows, NowMicros()))
      .status();
}

}  // namespace streamshop::clickhouse
