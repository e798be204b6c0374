// Initial (and re-) snapshots of published tables: parallel, chunked, resumable — the one snapshot engine of
// `replicate` (into ClickHouse: ClickHouseSnapshotTarget) and `capture` (into Kafka: KafkaSnapshotTarget).
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
// Progress is kept by the target (SnapshotTarget), next to the data it describes: a chunk is recorded done only
// after its rows are durably stored there, so a restart — even after kill -9 — copies only the chunks not yet
// recorded (a chunk in flight at the crash is sent again: duplicates, never gaps). Chunk i covers heap pages
// [i × chunk_pages, (i + 1) × chunk_pages); the chunk size is fixed when a table's snapshot starts (reset), so a
// restart with another --snapshot-chunk-pages still skips exactly what was copied.
// Run() blocks; worker threads each own a PostgreSQL connection and a SnapshotSink of the target.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"
#include "pg/Catalog.h"

namespace streamshop::pipeline {

struct Metrics;
struct TableCounters;

// A table's recorded snapshot progress.
struct SnapshotTableState {
  bool started = false;  // a snapshot of it started (reset) and was not voided since
  bool done = false;
  int64_t chunk_pages = 0;  // fixed at the start; 0 = unknown (the snapshot starts over)
  std::set<int64_t> chunks_done;
};

using SnapshotRow = std::vector<std::optional<std::string_view>>;  // COPY text fields; nullopt = NULL

// One worker's writer into the target. Used by one worker thread only; calls come as BeginChunk, Write…,
// EndChunk, repeated, then Finish.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual Status BeginChunk(const pg::TableInfo& table) = 0;
  virtual Status Write(const SnapshotRow& row) = 0;
  // All `rows` rows of chunk `chunk` are written. Once they are durably stored, the sink records the chunk done,
  // then calls `stored` (on any thread); when that returns the table's total rows (this chunk completed the
  // table), the sink records the table done too.
  virtual Status EndChunk(int64_t chunk, uint64_t rows, std::function<std::optional<uint64_t>()> stored) = 0;
  // Waits until everything written is stored and recorded.
  virtual Status Finish() = 0;
};

// Where snapshot rows and their progress go. Everything but OpenSink is called on Run()'s thread before any
// worker starts; OpenSink is called once per worker, concurrently.
class SnapshotTarget {
 public:
  virtual ~SnapshotTarget() = default;
  // The table's name in progress lines and logs.
  virtual std::string Key(const pg::TableInfo& table) const = 0;
  virtual Result<SnapshotTableState> Load(const pg::TableInfo& table) = 0;
  // Starts a fresh snapshot of the table with this chunk size: everything recorded for it before is void.
  virtual Status RecordReset(const pg::TableInfo& table, int64_t chunk_pages) = 0;
  // The table is about to be copied with `state` (chunk_pages set; chunks_done empty = nothing copied yet).
  virtual Status BeginTable(const pg::TableInfo& table, const SnapshotTableState& state) = 0;
  virtual Result<std::unique_ptr<SnapshotSink>> OpenSink() = 0;
};

struct SnapshotOptions {
  std::string pg_url;
  int workers = 2;
  int64_t chunk_pages = 4096;  // 32 MB of heap per chunk with 8 kB pages
  // Where the progress is counted for /metrics and the status page (Metrics::SnapshotPlanned…); may be null.
  // Must outlive Run().
  Metrics* metrics = nullptr;
};

struct SnapshotProgress {
  std::string table;  // SnapshotTarget::Key
  std::atomic<uint64_t> rows{0};
  uint64_t estimated_rows = 0;
  int chunks_total = 0;
  int chunks_skipped = 0;  // already copied by an earlier run
  std::atomic<int> chunks_done{0};
  TableCounters* counters = nullptr;  // in SnapshotOptions::metrics, if any
};

class Snapshotter {
 public:
  Snapshotter(SnapshotOptions options, SnapshotTarget& target);

  // Copies every table in `tables` that is not yet done. `tick` runs on the calling thread about every
  // 200 ms while workers copy (progress output, replication status updates); its error aborts the run.
  Status Run(const std::vector<pg::TableInfo>& tables, const std::atomic<bool>& stop,
             const std::function<Status()>& tick);

  const std::vector<std::unique_ptr<SnapshotProgress>>& progress() const { return progress_; }
  // "customers 1200/1500 rows (3/4 chunks)", for progress lines.
  std::string Describe() const;

 private:
  SnapshotOptions options_;
  SnapshotTarget& target_;
  std::vector<std::unique_ptr<SnapshotProgress>> progress_;
};

}  // namespace streamshop::pipeline
