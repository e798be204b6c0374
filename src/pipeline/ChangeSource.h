// The reading side of a started logical replication session, the one change source of `replicate` and `capture`:
// reads and decodes the stream's frames, tracks transactions (in one or not, the end and time of the last one
// received in full) and the server's WAL end, and keeps the slot's confirmed position. The consumer hands each
// decoded message to its target and calls Confirm(lsn) once the target stored everything up to lsn; Tick() sends
// the position to PostgreSQL (standby status updates), heartbeats, the publication checks, and polls the slot's
// health into the metrics.
//
// The invariant it keeps: the slot is told only what a consumer confirmed, or what is settled without it: the end of
// a transaction after whose commit the consumer has nothing waiting to be stored, and — on an idle stream whose
// consumer is settled — the server's WAL end, since nothing before it is owed.
// Not thread-safe; the stream (a seam: tests drive it with scripted frames) and the catalog connection are the
// caller's and outlive the source.
#pragma once

#include <chrono>

#include "common/Lsn.h"
#include "common/Status.h"
#include "pg/PgoutputDecoder.h"
#include "pg/ReplicationStream.h"
#include "pipeline/Progress.h"
#include "pipeline/SlotSource.h"

namespace streamshop::pipeline {

// What a change source hands its messages to.
class ChangeConsumer {
 public:
  virtual ~ChangeConsumer() = default;
  // One decoded pgoutput message (Begin and Commit included) of WAL position `lsn`.
  virtual Status OnChange(const pg::PgoutputMessage& msg, Lsn lsn) = 0;
  // Whether nothing received is still waiting to be stored by the target.
  virtual bool Settled() const = 0;
  // Every `publication_check` (Tick): look at the publication (tables added, shapes changed, …).
  virtual Status OnPublicationCheck() { return Status::Ok(); }
};

struct ChangeSourceOptions {
  std::chrono::milliseconds ack_interval{0};    // a newly confirmed position is sent at most this often
  std::chrono::seconds status_interval{10};     // a status update at least this often (walsender timeout)
  std::chrono::seconds heartbeat_interval{10};  // 0 = no heartbeats
  std::chrono::seconds publication_check{10};
  // The slot's health (pg_replication_slots.wal_status, safe_wal_size) is read over the catalog connection this
  // often, first at the first Tick, into `metrics` (none: not polled).
  std::string slot{};
  Metrics* metrics = nullptr;
  std::chrono::seconds slot_check{10};
};

class ChangeSource {
 public:
  using Clock = std::chrono::steady_clock;
  // `catalog`: a normal connection for heartbeats (nullptr: none).
  ChangeSource(pg::ReplicationStream& stream, pg::PgConnection* catalog, ChangeSourceOptions options,
               Lsn confirmed = {});

  // Waits up to `wait` for the next frame and handles it: a keepalive's WAL end is noted (and confirmed when the
  // stream is idle and `consumer` settled; a reply is sent when asked), a change is decoded and handed to
  // `consumer`. Returns whether a frame was ready (false: the stream has nothing more for now).
  Result<bool> Next(ChangeConsumer& consumer, std::chrono::milliseconds wait);
  // The target stored everything up to `lsn`.
  void Confirm(Lsn lsn) { confirmed_ = std::max(confirmed_, lsn); }
  // Sends a status update when one is due, a heartbeat when due, and calls consumer.OnPublicationCheck() when due.
  Status Tick(ChangeConsumer& consumer);
  // Sends a status update if the last is status_interval old (for long work between reads, e.g. a copy).
  Status KeepAlive();
  // Sends the confirmed position now.
  Status SendStatus();

  bool in_transaction() const { return in_transaction_; }
  Lsn last_commit_end() const { return last_commit_end_; }  // of the last transaction received in full
  Lsn confirmed() const { return confirmed_; }
  Lsn server_wal_end() const { return server_wal_end_; }
  // How far the target is behind: WAL bytes not confirmed, and the age of the newest received transaction while
  // some are unconfirmed.
  uint64_t LagBytes() const;
  double LagSeconds() const;

 private:
  pg::ReplicationStream& stream_;
  pg::PgConnection* catalog_;
  ChangeSourceOptions options_;
  bool in_transaction_ = false;
  Lsn last_commit_end_;
  pg::PgTimestamp last_commit_time_ = 0;
  Lsn confirmed_;
  Lsn sent_;
  Lsn server_wal_end_;
  Clock::time_point last_status_ = Clock::now();
  Clock::time_point last_publication_check_ = Clock::now();
  Clock::time_point last_slot_check_{};
  bool slot_check_warned_ = false;
  Heartbeat heartbeat_;

  void PollSlotHealth();
};

}  // namespace streamshop::pipeline
