// PgPipeline: one libpq connection in pipeline mode that executes Workload transactions as prepared
// statements without waiting for a round trip per statement.
//
// Atomicity: a transaction is sent as its statements followed by a Sync, so the server runs it as one
// implicit transaction block: it commits at the Sync, or, if a statement fails, the server skips the rest
// up to the Sync and nothing of it commits. Results are matched to transactions strictly in send order.
//
// I/O: the socket is non-blocking. Send() only queues (libpq buffers what the socket cannot take yet);
// Pump() flushes, waits at most `timeout` for the socket, and consumes every result that has arrived.
// Errors: a failed transaction is reported through Completions (classified by PgConnection::ErrorStatus);
// a non-ok Status from Send()/Pump() means the connection is unusable — the outcome of every transaction
// still in flight is unknown — and the object must be discarded. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string_view>

#include "common/Status.h"
#include "pg/PgConnection.h"
#include "workload/Workload.h"

namespace streamshop::workload {

class PgPipeline {
 public:
  struct Completions {
    uint64_t committed = 0;
    uint64_t failed = 0;
    Status first_error;  // of the first failed transaction, if any
  };

  // Connects, prepares every StatementKind and enters pipeline mode. With `synchronous_commit` false the
  // session does not wait for each commit's WAL flush (a crash may lose the last few acknowledged
  // transactions, never consistency).
  static Result<PgPipeline> Open(std::string_view url, bool synchronous_commit);

  Status Send(const Transaction& txn);
  // Adds the transactions that finished to `done`.
  Status Pump(std::chrono::milliseconds timeout, Completions& done);

  size_t in_flight() const { return in_flight_.size(); }

 private:
  explicit PgPipeline(pg::PgConnection conn) : conn_(std::move(conn)) {}
  Status ConnectionLost(std::string_view what) const;

  pg::PgConnection conn_;
  std::deque<bool> in_flight_;  // per transaction sent and not yet synced: has it failed?
};

}  // namespace streamshop::workload
