// Initial (and re-) snapshots of published tables into ClickHouse: parallel, chunked, resumable.
//
// Why this is correct without sharing one exported snapshot: every snapshot row is written with
// _version 0, and the replication slot existed before any chunk was read, so every change committed after
// the slot's confirmed position is replayed from the slot with a higher version. For each row, ClickHouse
// therefore ends with either the newest streamed change or, for rows untouched since, the value read here —
// whenever each chunk was read. Chunks are ranges of heap pages (`ctid`), which works for every table; rows
// that move between pages do so because they changed, and their change is streamed. Chunks read only what the
// publication publishes (pg::CopySql: its column list and row filter); a row that enters or leaves the filter
// later is streamed as an INSERT or a DELETE, so the same argument holds. A partitioned table published as its
// root is read through the root (one chunk).
//
// A table whose snapshot has no completed chunk is truncated in ClickHouse first (stale rows from an earlier
// slot could otherwise survive). Completed chunks are recorded (SnapshotState), so a restart skips them.
// Run() blocks; worker threads each own a PostgreSQL connection and a second thread with a ClickHouse client
// that inserts one batch while the worker reads the next.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/SnapshotState.h"
#include "clickhouse/TypeMapping.h"
#include "common/Status.h"
#include "pg/Catalog.h"

namespace streamshop::pipeline {

struct SnapshotOptions {
  std::string pg_url;
  clickhouse::Endpoint clickhouse;
  clickhouse::SnapshotStateKey state;
  int workers = 2;
  int64_t chunk_pages = 4096;  // 32 MB of heap per chunk with 8 kB pages
  size_t batch_rows = 200'000;
  size_t batch_bytes = 32 << 20;
};

struct SnapshotProgress {
  std::string table;
  std::atomic<uint64_t> rows{0};
  uint64_t estimated_rows = 0;
  int chunks_total = 0;
  int chunks_skipped = 0;  // already copied by an earlier run
  std::atomic<int> chunks_done{0};
};

class Snapshotter {
 public:
  Snapshotter(SnapshotOptions options, clickhouse::Dialect dialect);

  // Copies every table in `tables` that is not yet done. `tick` runs on the calling thread about every
  // 200 ms while workers copy (progress output, replication status updates); its error aborts the run.
  Status Run(const std::vector<pg::TableInfo>& tables, const std::atomic<bool>& stop,
             const std::function<Status()>& tick);

  const std::vector<std::unique_ptr<SnapshotProgress>>& progress() const { return progress_; }
  // "customers 1200/1500 rows (3/4 chunks)", for progress lines.
  std::string Describe() const;

 private:
  SnapshotOptions options_;
  clickhouse::Dialect dialect_;
  std::vector<std::unique_ptr<SnapshotProgress>> progress_;
};

}  // namespace streamshop::pipeline
