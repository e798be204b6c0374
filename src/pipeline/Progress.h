// The counters of a running command, and its progress line. A command's sessions count into one Metrics (it
// outlives them: totals cover every session of the process); the progress line on stderr (--progress: rewritten in
// place once a second) reads it, and so does the metrics endpoint (ops/HttpServer, ops/PrometheusText). Counters are
// atomics: a reader may be another thread. Writers are the command's threads; readers never block them.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/Signal.h"

namespace streamshop::pg {
struct InsertMessage;
struct UpdateMessage;
struct DeleteMessage;
}  // namespace streamshop::pg

namespace streamshop::pipeline {

// What a counted change did to its table. Changes arrive as Debezium op letters (c, u, d, t, r) or pgoutput
// messages (OpOf).
enum class EventOp : uint8_t { kInsert, kUpdate, kDelete, kTruncate, kRead };
inline constexpr size_t kEventOps = 5;
// "insert", "update", "delete", "truncate", "read": the metrics' `op` label.
std::string_view EventOpName(EventOp op);
// The op of a Debezium op letter: c insert, u update, d delete, t truncate, r read (anything else: update).
constexpr EventOp OpOf(char letter) {
  switch (letter) {
    case 'c':
      return EventOp::kInsert;
    case 'd':
      return EventOp::kDelete;
    case 't':
      return EventOp::kTruncate;
    case 'r':
      return EventOp::kRead;
    default:
      return EventOp::kUpdate;
  }
}
constexpr EventOp OpOf(const pg::InsertMessage&) { return EventOp::kInsert; }
constexpr EventOp OpOf(const pg::UpdateMessage&) { return EventOp::kUpdate; }
constexpr EventOp OpOf(const pg::DeleteMessage&) { return EventOp::kDelete; }

// Why a record or change went to a dead letter: the metrics' `reason` label (a bounded set; the full reason is in
// the dead letter). unparsable: not a change record (for the sink also one over --max-message-bytes, which its
// parser refuses); misrouted: on another table's topic; no_position: no or an impossible source LSN; schema: its
// table cannot be followed; value: a value its column cannot hold; too_large: a change over the topic's size limit
// (capture); target: the target refused the change.
enum class DeadLetterReason : uint8_t { kUnparsable, kMisrouted, kNoPosition, kSchema, kValue, kTooLarge, kTarget };
inline constexpr size_t kDeadLetterReasons = 7;
std::string_view DeadLetterReasonName(DeadLetterReason reason);

// Where a table's snapshot (the initial copy, or a re-copy) stands: kNone, no copy planned by this process and none
// found done; pending, planned and not started; copying, a chunk of it is being read; done, all its rows are stored
// (by this process or an earlier run).
enum class SnapshotState : uint8_t { kNone, kPending, kCopying, kDone };
inline constexpr size_t kSnapshotStates = 4;
// "none", "pending", "copying", "done": the metrics' `state` label.
std::string_view SnapshotStateName(SnapshotState state);

// One table's counters: its changes by op, and its snapshot's progress. `name` is TableLabel's, or kOtherTables for
// the tables beyond the cap (whose snapshot_state and progress mean nothing: several tables write them).
struct TableCounters {
  explicit TableCounters(std::string n) : name(std::move(n)) {}
  const std::string name;
  std::array<std::atomic<uint64_t>, kEventOps> events{};
  // Snapshot rows read and sent to the target, by every copy of the process (a chunk sent again after a failure
  // counts again).
  std::atomic<uint64_t> snapshot_rows{0};
  // The current copy: its state, its estimated rows (pg_class.reltuples; 0 if never analyzed), rows copied (starting
  // from the estimated share of the chunks an earlier run copied), and its chunks (of them done, those skipped too).
  std::atomic<SnapshotState> snapshot_state{SnapshotState::kNone};
  std::atomic<uint64_t> snapshot_estimated_rows{0};
  std::atomic<uint64_t> snapshot_copied_rows{0};
  std::atomic<uint64_t> snapshot_chunks_total{0};
  std::atomic<uint64_t> snapshot_chunks_done{0};
  // The current copy's progress in [0, 1]: copied / estimated rows (by chunks when there is no estimate), 1 when
  // done, 0 when none.
  double SnapshotRatio() const;
};

// "schema.table", a part in double quotes (PostgreSQL's way, "" for ") when it holds a dot or a double quote, so
// that two tables never share a label: public.orders, "a.b".c, a."b.c".
std::string TableLabel(std::string_view schema, std::string_view table);

// Per-table counters with a bounded number of series: the first kMaxTables tables seen get their own, every later
// one counts into the shared kOtherTables entry. Of() is lock-free once a table was seen (a hash probe; the same
// table as the thread's previous call is one comparison); a table's first event takes a mutex. Entries are never
// removed, so references stay valid for the set's lifetime.
class TableCounterSet {
 public:
  static constexpr size_t kMaxTables = 256;
  static constexpr std::string_view kOtherTables = "_other";

  TableCounterSet();
  TableCounterSet(const TableCounterSet&) = delete;
  TableCounterSet& operator=(const TableCounterSet&) = delete;

  TableCounters& Of(std::string_view schema, std::string_view table);
  // The tables counted so far (then kOtherTables if any overflowed), in the order they were first seen.
  std::vector<const TableCounters*> Tables() const;

 private:
  // Names → counters: open addressing, slots published once (release) and never changed. Names beyond the cap
  // are recorded too (pointing at `other_`) while there is room, so their events stay on the lock-free path.
  struct Entry {
    std::string schema, table;
    TableCounters* counters;
  };
  static constexpr size_t kSlots = 4096;  // power of two; at most half filled
  TableCounters& Insert(std::string_view schema, std::string_view table, uint64_t hash);

  const uint64_t id_;  // unique per set in the process (the threads' last-table cache)
  std::unique_ptr<std::atomic<const Entry*>[]> slots_;
  mutable std::mutex mutex_;  // guards inserts and the deques
  std::deque<Entry> entries_;
  std::deque<TableCounters> tables_;
  size_t used_slots_ = 0;
  TableCounters other_{std::string(kOtherTables)};
  std::atomic<bool> overflowed_{false};
};

// A histogram with fixed bucket bounds (seconds). Observe is lock-free.
class LatencyHistogram {
 public:
  // Flushes and inserts: 1 ms to 60 s.
  static constexpr std::array<double, 14> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,    1,     2.5,  5,     10,   60};
  void Observe(std::chrono::steady_clock::duration took);
  // Per bound, the observations ≤ it (cumulative); then the count of all.
  std::array<uint64_t, kBounds.size() + 1> Cumulative() const;
  double SumSeconds() const { return static_cast<double>(sum_micros_.load()) / 1e6; }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};  // per bucket; the last: above every bound
  std::atomic<uint64_t> sum_micros_{0};
};

// pg_replication_slots.wal_status values: the metrics' `status` label of streamshop_slot_wal_status.
inline constexpr std::array<std::string_view, 4> kSlotWalStatuses = {"reserved", "extended", "unreserved", "lost"};

struct Metrics {
  std::atomic<uint64_t> events{0};         // changes (or records) read from the source
  std::atomic<uint64_t> flushes{0};        // batches the target stored
  std::atomic<uint64_t> flushed_rows{0};   // rows in them
  std::atomic<uint64_t> flushed_bytes{0};  // their encoded bytes sent to the target
  std::atomic<uint64_t> flush_micros{0};   // time spent storing them
  std::atomic<uint64_t> dead_letters{0};   // all reasons
  std::array<std::atomic<uint64_t>, kDeadLetterReasons> dead_letters_by_reason{};
  std::atomic<uint64_t> session_restarts{0};  // sessions opened again after a retryable error (reconnects)
  std::array<std::atomic<uint64_t>, kSignalTypes> signals{};  // signal-table rows seen, by SignalType
  // Kafka: the consumer group's rebalances this member took part in (sink), records behind the end of the assigned
  // partitions (sink; -1: not known yet), records produced and not yet acknowledged by the broker (capture; -1: none).
  std::atomic<uint64_t> kafka_rebalances{0};
  std::atomic<int64_t> kafka_consumer_lag{-1};
  std::atomic<int64_t> kafka_unacknowledged{-1};
  // The replication slot (commands reading one set reads_slot): losses seen (PostgreSQL invalidated it, or it is
  // missing while the target holds state of it), its wal_status as last polled (an index of kSlotWalStatuses; -1:
  // not known) and safe_wal_size (when slot_safe_wal_known: PostgreSQL said a value, not NULL).
  std::atomic<bool> reads_slot{false};
  std::atomic<uint64_t> slot_lost{0};
  std::atomic<int> slot_wal_status{-1};
  std::atomic<bool> slot_safe_wal_known{false};
  std::atomic<int64_t> slot_safe_wal_size{0};
  std::atomic<uint64_t> lag_bytes{0};  // how far the target is behind the source, as last seen
  std::atomic<uint64_t> lag_millis{0};
  std::atomic<bool> lag_known{false};  // SetLag was called (commands reading a slot)
  LatencyHistogram flush_seconds;
  TableCounterSet tables;

  // Liveness, kept by the sessions' ProgressLine (one per session): `sessions` open now, the last beat of their
  // loops (milliseconds on the monotonic clock), whether the current session streams (its loop reached
  // ProgressLine::MaybePrint).
  std::atomic<int> sessions{0};
  std::atomic<int64_t> heartbeat_ms{0};
  std::atomic<bool> streaming{false};

  // One change of `schema`.`table` (events and the table's counter for `op`).
  void CountEvent(std::string_view schema, std::string_view table, EventOp op) {
    events.fetch_add(1, std::memory_order_relaxed);
    tables.Of(schema, table).events[static_cast<size_t>(op)].fetch_add(1, std::memory_order_relaxed);
  }
  void CountDeadLetters(DeadLetterReason reason, uint64_t n = 1) {
    dead_letters.fetch_add(n, std::memory_order_relaxed);
    dead_letters_by_reason[static_cast<size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
  }
  // One row of the signal table, by its `type` text (a name other than the known ones counts as unknown).
  void CountSignal(std::string_view type) {
    signals[static_cast<size_t>(SignalTypeOf(type))].fetch_add(1, std::memory_order_relaxed);
  }
  void CountFlush(uint64_t rows, uint64_t bytes, std::chrono::steady_clock::duration took);

  // Snapshot progress, fed by the snapshot engine (Snapshotter) for every copy, initial or again. A copy of a table
  // is planned (pending; `estimated_rows` from pg_class.reltuples; `chunks_skipped` of its `chunks_total` chunks an
  // earlier run copied), starts (copying), copies rows, stores chunks, and is done; a table found done is done.
  // Tables beyond the cap count their rows under kOtherTables; the per-state table counts cover every table.
  TableCounters& SnapshotPlanned(std::string_view schema, std::string_view table, uint64_t estimated_rows,
                                 uint64_t chunks_total, uint64_t chunks_skipped);
  void SetSnapshotState(std::string_view schema, std::string_view table, SnapshotState state);
  void CountSnapshotRows(TableCounters& table, uint64_t rows) {
    table.snapshot_rows.fetch_add(rows, std::memory_order_relaxed);
    table.snapshot_copied_rows.fetch_add(rows, std::memory_order_relaxed);
  }
  // Tables per snapshot state (index: SnapshotState).
  std::array<uint64_t, kSnapshotStates> SnapshotTableCounts() const;
  void SetLag(uint64_t bytes, double seconds);
  // The slot's pg_replication_slots.wal_status and safe_wal_size as just read (nullopt: NULL).
  void SetSlotHealth(std::string_view wal_status, std::optional<int64_t> safe_wal_size);
  // "12 flushes of 340 rows in 8.1 ms on average".
  std::string FlushSummary() const;

  // Marks the loop alive now (a coarse monotonic clock read: a few ns).
  void Beat();
  // Healthy: no session is open (between sessions the command only waits out a backoff) or the open one's loop beat
  // within `max_silence`. Ready: a session streams.
  bool Healthy(std::chrono::milliseconds max_silence = std::chrono::seconds(30)) const;
  bool Ready() const { return sessions.load() > 0 && streaming.load(); }
  // Milliseconds since the last beat.
  int64_t SilenceMillis() const;

 private:
  mutable std::mutex snapshot_mutex_;
  std::map<std::string, SnapshotState> snapshot_states_;  // by TableLabel; guarded by snapshot_mutex_
};

// A session's progress line; also its loop's heartbeat in Metrics: constructed when the session opens, each
// MaybePrint* call (every loop iteration) beats, MaybePrint (the streaming loop's) marks the session streaming, and
// the destructor (the session ends) clears it.
class ProgressLine {
 public:
  ProgressLine(bool enabled, Metrics& metrics);
  ~ProgressLine();
  // Once a second: "<phase> | <n> ev/s | <n> events | lag <bytes> <s>s[ | <extra()>]".
  void MaybePrint(std::string_view phase, const std::function<std::string()>& extra = nullptr);
  // Once a second: "<phase> |<text()>" (free-form, e.g. a snapshot's tables).
  void MaybePrintText(std::string_view phase, const std::function<std::string()>& text);
  // Ends the line if one was printed.
  void Finish();

 private:
  bool Due();
  void Print(const std::string& line);

  bool enabled_;
  Metrics& metrics_;
  bool printed_ = false;
  uint64_t events_at_last_ = 0;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  double seconds_ = 0;  // since the previous line (Due)
};

// "512 B", "1.5 kB", "3.2 MB", "1.1 GB".
std::string HumanBytes(uint64_t bytes);

}  // namespace streamshop::pipeline
