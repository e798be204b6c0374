#include "pipeline/ChangeSource.h"

#include <algorithm>

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
  return Status::Ok();
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
