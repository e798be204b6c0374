// The seam between the replicator and a logical replication connection (LevelDB's Env idea): production
// code uses PgReplicationStream; tests substitute scripted streams to inject failures.
// Not thread-safe: one thread drives a stream.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "common/Status.h"

namespace streamshop::pg {

class ReplicationStream {
 public:
  virtual ~ReplicationStream() = default;
  // Waits up to `timeout` for the next CopyData message of a started stream. std::nullopt on timeout; the
  // view stays valid until the next call. A closed or broken stream is a Retryable error.
  virtual Result<std::optional<std::string_view>> Read(std::chrono::milliseconds timeout) = 0;
  // Sends one CopyData message to the server (a standby status update) and flushes it.
  virtual Status Send(std::string_view copy_data) = 0;
};

}  // namespace streamshop::pg
