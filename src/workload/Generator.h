// `streamshop generate`: drives the e-commerce Workload into PostgreSQL at a target rate.
//
// Startup: connects (retrying while PostgreSQL is unreachable), requires the tables of
// sql/postgres/schema.sql (outbox_events too unless the outbox is off) (a Fatal error naming `psql -f
// sql/postgres/schema.sql` otherwise), loads the workload's mirror from the tables, seeds a catalogue and customers
// into empty tables, and moves the identity sequences past the ids in use. The generator assigns ids itself (max(id) +
// 1 onwards), so it must be the only writer of these tables while it runs; the sequences are moved again on exit so
// that later inserts relying on the column defaults do not collide.
//
// Steady state: open loop, paced by a token bucket, transactions pipelined on one connection (PgPipeline),
// at most `max_in_flight` unacknowledged. A failed transaction is counted as an error; new transactions
// wait until the pipeline drains and the mirror is reloaded from the database. A lost connection counts
// every transaction in flight as an error (their outcome is unknown; some may have committed), then
// reconnects with exponential backoff (0.1 s … 5 s), reloads the mirror and continues; only Fatal errors outside
// transactions (missing tables, 100 consecutive failed transactions) end the run. Deterministic: with the same seed,
// database content and no errors, the same transactions are executed in the same order.
//
// Stops after `duration`, after `transactions`, or when `stop` is set, whichever comes first, waiting for
// the transactions in flight (at most 10 s). Not thread-safe; Run() blocks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/Status.h"

namespace streamshop::workload {

struct GeneratorOptions {
  enum class Progress { kOff, kLine, kLog };

  std::string pg_url;
  double rate = 1000;                     // transactions per second; <= 0: as fast as possible
  std::chrono::milliseconds duration{0};  // 0: until stopped
  uint64_t transactions = 0;              // stop after sending this many (committed + failed); 0: no limit
  uint64_t seed = 1;
  int seed_products = 500;    // catalogue size when the products table is empty
  int seed_customers = 2000;  // customers when the customers table is empty
  size_t max_in_flight = 256;
  // The session's synchronous_commit. Off by default: one connection's commits are serial, so with it on
  // the rate is bounded by the disk's flush latency (one fdatasync per transaction, no group commit; on
  // this machine 0.2–2 ms depending on other load). Off, the same WAL is written in the same order and
  // walsenders still only ship flushed WAL, so CDC sees exactly what it would; a server crash (not a
  // restart) may lose the last acknowledged transactions of the run.
  bool synchronous_commit = false;
  // kLine: one line on stderr rewritten every second (for a terminal); kLog: a log line every 5 s.
  Progress progress = Progress::kLog;
  // Domain events into outbox_events with each business change (Workload.h); clean-up deletes each one again in
  // its transaction.
  bool outbox = true;
  bool outbox_cleanup = false;
};

struct GeneratorSummary {
  uint64_t transactions = 0;  // committed (acknowledged by PostgreSQL)
  uint64_t errors = 0;        // failed, or in flight when the connection was lost
  double seconds = 0;         // from the first transaction sent to the last one finished
  double rate() const { return seconds > 0 ? transactions / seconds : 0; }
  // "generate: 12000 transactions in 12.0 s (1000.0/s), 0 errors"
  std::string ToString() const;
};

// "1000", "1000/s", "2.5/s", "0" (unlimited). Fatal on anything else.
Result<double> ParseRate(std::string_view text);
// "0", "90" (seconds), "30s", "2m", "1h", "500ms". Fatal on anything else.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

class Generator {
 public:
  explicit Generator(GeneratorOptions options) : options_(std::move(options)) {}

  Result<GeneratorSummary> Run(const std::atomic<bool>& stop);

 private:
  GeneratorOptions options_;
};

}  // namespace streamshop::workload
