#include "pipeline/ChangeSource.h"

#include <algorithm>

#include "common/Log.h"

namespace streamshop::pipeline {

ChangeSource::ChangeSource(pg::ReplicationStream& stream, pg::PgConnection* catalog, ChangeSourceOptions options,
                           Lsn confirmed)
    : stream_(stream), catalog_(catalog), options_(options), confirmed_(confirmed), sent_(confirmed) {}

Result<bool> ChangeSource::Next(ChangeConsumer& consumer, std::chrono::milliseconds wait) {
  SS_ASSIGN_OR_RETURN(std::optional<std::string_view> data, stream_.Read(wait));
  if (!data) return false;
  SS_ASSIGN_OR_RETURN(pg::CopyDataMessage frame, pg::DecodeCopyData(*data));
  if (auto* ka = std::get_if<pg::Keepalive>(&frame)) {
    server_wal_end_ = std::max(server_wal_end_, ka->wal_end);
    // Idle and nothing waiting to be stored: everything up to wal_end is settled, so the slot may advance.
    if (!in_transaction_ && consumer.Settled()) Confirm(ka->wal_end);
    if (ka->reply_requested) SS_RETURN_IF_ERROR(SendStatus());
    return true;
  }
  const auto& xlog = std::get<pg::XLogData>(frame);
  server_wal_end_ = std::max(server_wal_end_, xlog.wal_end);
  SS_ASSIGN_OR_RETURN(pg::PgoutputMessage msg, pg::DecodePgoutput(xlog.payload));
  if (std::holds_alternative<pg::BeginMessage>(msg)) {
    in_transaction_ = true;
  } else if (const auto* commit = std::get_if<pg::CommitMessage>(&msg)) {
    in_transaction_ = false;
    last_commit_end_ = commit->end_lsn;
    last_commit_time_ = commit->commit_time;
  }
  SS_RETURN_IF_ERROR(consumer.OnChange(msg, xlog.wal_start));
  // A transaction that left nothing waiting to be stored (its rows flushed already, or none to store) is settled.
  if (std::holds_alternative<pg::CommitMessage>(msg) && consumer.Settled()) Confirm(last_commit_end_);
  return true;
}

Status ChangeSource::Tick(ChangeConsumer& consumer) {
  const auto now = Clock::now();
  if ((confirmed_ > sent_ && now - last_status_ >= options_.ack_interval) ||
      now - last_status_ >= options_.status_interval) {
    SS_RETURN_IF_ERROR(SendStatus());
  }
  if (now - last_publication_check_ >= options_.publication_check) {
    last_publication_check_ = now;
    SS_RETURN_IF_ERROR(consumer.OnPublicationCheck());
  }
  if (catalog_) heartbeat_.MaybeEmit(*catalog_, options_.heartbeat_interval);
  if (now - last_slot_check_ >= options_.slot_check) {
    last_slot_check_ = now;
    PollSlotHealth();
  }
  return Status::Ok();
}

void ChangeSource::PollSlotHealth() {
  if (!catalog_ || !options_.metrics || options_.slot.empty()) return;
  // On the catalog connection, never the replication one; a failure leaves the last values and is warned once (a
  // broken connection ends the session soon anyway).
  auto slot = pg::GetSlot(*catalog_, options_.slot);
  if (slot.ok() && *slot) {
    options_.metrics->SetSlotHealth((*slot)->wal_status, (*slot)->safe_wal_size);
  } else if (!slot.ok() && !slot_check_warned_) {
    slot_check_warned_ = true;
    LogWarn("reading the health of slot '{}' failed (metrics keep the last values): {}", options_.slot,
            slot.status().message());
  }
}

Status ChangeSource::KeepAlive() {
  return Clock::now() - last_status_ >= options_.status_interval ? SendStatus() : Status::Ok();
}

Status ChangeSource::SendStatus() {
  last_status_ = Clock::now();
  sent_ = confirmed_;
  return stream_.Send(pg::EncodeStandbyStatus(confirmed_, confirmed_, confirmed_, PgNow(), /*reply_requested=*/false));
}

uint64_t ChangeSource::LagBytes() const {
  return server_wal_end_ > confirmed_ && confirmed_.value ? server_wal_end_.value - confirmed_.value : 0;
}

double ChangeSource::LagSeconds() const {
  return last_commit_end_ > confirmed_ ? std::max<double>(0, (PgNow() - last_commit_time_) / 1e6) : 0.0;
}

}  // namespace streamshop::pipeline
