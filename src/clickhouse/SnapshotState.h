// Progress of initial snapshots, kept in ClickHouse (<database>._streamshop_snapshots) next to the data it
// describes, so a restart — even after kill -9 — continues with the chunks not yet copied.
//
// Rows are (slot_key, table, chunk, chunk_pages, rows, updated_us): chunk ≥ 0 marks a copied chunk,
// kSnapshotTableDone a finished table, kSnapshotReset the start of a fresh snapshot of that table (everything
// recorded before it is void). Chunk i covers heap pages [i × chunk_pages, (i + 1) × chunk_pages); the chunk
// size is fixed by the reset marker, so a restart with another --snapshot-chunk-pages still skips exactly
// what was copied.
// `table` is TableWriter::SourceKey of the PostgreSQL table (distinct tables never share a key).
// Stateless functions; thread-safe as far as the ClickHouseClient passed in is.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "clickhouse/ClickHouseClient.h"

namespace streamshop::clickhouse {

struct SnapshotStateKey {
  std::string database;
  std::string slot_key;  // "<system id>/<database>/<slot>"
};

struct TableSnapshotState {
  bool started = false;  // a reset marker exists
  bool done = false;
  int64_t chunk_pages = 0;  // from the reset marker
  std::set<int64_t> chunks_done;
};

constexpr int64_t kSnapshotReset = -1;
constexpr int64_t kSnapshotTableDone = -2;

Status EnsureSnapshotStateTable(ClickHouseClient& ch, const SnapshotStateKey& key);
Result<TableSnapshotState> LoadSnapshotState(ClickHouseClient& ch, const SnapshotStateKey& key,
                                             const std::string& table);
// Whether any snapshot progress is recorded for the slot of `key` — by its database and slot name, from any
// PostgreSQL system (a failover target may have another system identifier): a pipeline ran on it before.
Result<bool> HasSnapshotState(ClickHouseClient& ch, const SnapshotStateKey& key);
// Appends one marker row (a chunk index, kSnapshotReset or kSnapshotTableDone).
Status RecordSnapshotState(ClickHouseClient& ch, const SnapshotStateKey& key, const std::string& table, int64_t chunk,
                           int64_t chunk_pages, uint64_t rows);

}  // namespace streamshop::clickhouse
