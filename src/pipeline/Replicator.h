// `streamshop replicate`: PostgreSQL logical replication (pgoutput) straight into ClickHouse, no broker.
//
// Lifecycle of a session: check the source, ensure publication and slot (a lost one: --on-slot-lost, see
// RecoverLostSlot in the .cc); if the slot is new (or its initial
// snapshot never completed) take a consistent snapshot through the slot's exported snapshot (rows get
// _version 0, so any streamed change wins), then stream. Each change becomes one row with _version = the
// change's own LSN. Pending rows are flushed by count, bytes or age; only after ClickHouse acknowledged a
// flush does the slot's confirmed LSN move, and only to the end of the last transaction received in full.
// Any Retryable error ends the session, drops unacknowledged state and starts over from the slot after a
// backoff: duplicates are harmless (same key, same version). Not thread-safe; Run() blocks.
//
// Signals (--signal-table; pipeline/Signal.h): an insert into the signal table is read from the stream like any
// change and executed once its transaction's commit was received, after everything received before it is stored
// and before anything after it is read; the slot is confirmed past it only once it took effect (a crash before
// that executes it again: every signal is idempotent). execute-snapshot copies the tables again through the same
// path as a resumed table (truncate, copy at _version 0, stream on), which is correct for the reason the initial
// snapshot is: see docs/OPERATIONS.md, "Signals".
//
// Seams (ReplicatorSeams): each session opens its PostgreSQL side (catalog queries, the slot's stream, the slot's
// state and the publication's tables; SourceCatalog.h) and makes its ClickHouse clients through factories, the real
// ones by default; unit tests (tests/unit/replicator_session_test.cc) inject doubles. The initial and later copies
// (Snapshotter) connect on their own: tests run with `snapshot = false` and no copy owed.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/TableWriter.h"
#include "common/Lsn.h"
#include "common/Status.h"
#include "pg/Catalog.h"
#include "pg/PgoutputDecoder.h"
#include "pipeline/Progress.h"
#include "pipeline/SourceCatalog.h"

namespace streamshop::pipeline {

struct ReplicatorOptions {
  std::string pg_url;
  clickhouse::Endpoint clickhouse;
  std::string publication = "streamshop";
  std::string slot = "streamshop";
  std::vector<std::string> tables;  // publication tables when creating it; empty = all of schema public
  std::string database = "analytics";
  size_t batch_rows = 200'000;
  size_t batch_bytes = 32 << 20;
  std::chrono::milliseconds flush_interval{200};
  std::chrono::seconds status_interval{10};
  int snapshot_workers = 2;
  int64_t snapshot_chunk_pages = 4096;
  bool snapshot = true;   // false: stream from the slot (created if missing) without an initial snapshot
  bool progress = false;  // one-line progress on stderr every second
  std::chrono::seconds heartbeat_interval{10};  // 0 = no heartbeats
  // The slot lost (invalidated by PostgreSQL, or missing while ClickHouse holds this pipeline's snapshot state):
  // kFail stops with the recovery steps; kResnapshot drops it, creates it anew and copies every table again.
  OnSlotLost on_slot_lost = OnSlotLost::kFail;
  uint64_t max_lag_bytes = 0;  // lag alarm thresholds; 0 = off
  double max_lag_seconds = 0;
  // SCHEMA.TABLE of the signal table (pipeline/Signal.h; docs/OPERATIONS.md, "Signals"); empty = no signals. It
  // must be in the publication (checked at start) and is not replicated itself.
  std::string signal_table;
  // SCHEMA.TABLE of an outbox table (docs/OPERATIONS.md, "Outbox"); empty = none. It must be in the publication
  // (checked at start); it is replicated as any table (its raw mirror) and, in addition, every row inserted into it
  // is appended once to <database>.outbox_events (clickhouse/OutboxWriter.h), which its deletes never touch.
  std::string outbox_table;
};

// The clients of one replicate session, built anew for every session (a session after a Retryable error starts with
// fresh ones). Defaults: OpenSlotSession (PostgreSQL over libpq), ClickHouse over CurlTransport.
struct ReplicatorSeams {
  std::function<Result<SlotSession>(const SlotSourceOptions&)> open_source = OpenSlotSession;
  // The session's client for DDL and metadata, and one per flush connection.
  std::function<std::unique_ptr<clickhouse::ClickHouseClient>(const clickhouse::Endpoint&)> clickhouse =
      clickhouse::MakeClickHouseClient;
};

class Replicator {
 public:
  explicit Replicator(ReplicatorOptions options, ReplicatorSeams seams = {});
  ~Replicator();

  // Runs until `stop` is set (flushes, acknowledges and returns Ok) or a Fatal error.
  Status Run(const std::atomic<bool>& stop);
  const Metrics& metrics() const { return metrics_; }

 private:
  struct Session;
  Status RunSession(const std::atomic<bool>& stop, bool& streamed);
  Status RecoverLostSlot(Session& s, SlotLoss loss, const std::vector<pg::TableInfo>& tables,
                         const std::string& database);

  ReplicatorOptions options_;
  bool recovering_slot_ = false;  // a lost slot was counted and its recovery has not reached streaming yet
  ReplicatorSeams seams_;
  Metrics metrics_;
  // Tables stopped by a stop-replication signal (schema.table): they stay stopped across sessions of this process
  // until a resume-replication signal; a new process replicates (copies) them again.
  std::set<std::string> stopped_by_signal_;
};

}  // namespace streamshop::pipeline
