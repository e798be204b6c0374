// A libpq logical replication connection (replication=database): slot management and the CopyBoth stream.
// Owns its connection; not thread-safe.
#pragma once

#include <string>

#include "common/Lsn.h"
#include "pg/PgConnection.h"
#include "pg/ReplicationStream.h"

namespace streamshop::pg {

struct SystemIdentity {
  std::string system_id;
  Lsn xlogpos;
  std::string dbname;
};

class PgReplicationStream final : public ReplicationStream {
 public:
  static Result<PgReplicationStream> Connect(std::string_view url);

  Result<SystemIdentity> IdentifySystem();
  // CREATE_REPLICATION_SLOT … LOGICAL pgoutput, without an exported snapshot; returns the consistent point.
  Result<Lsn> CreateSlot(std::string_view slot);
  // START_REPLICATION from the slot's confirmed position with pgoutput proto 1 and logical messages.
  Status Start(std::string_view slot, std::string_view publication);

  Result<std::optional<std::string_view>> Read(std::chrono::milliseconds timeout) override;
  Status Send(std::string_view copy_data) override;

 private:
  explicit PgReplicationStream(PgConnection conn) : conn_(std::move(conn)) {}
  PgConnection conn_;
  struct FreeMem {
    void operator()(char* p) const { PQfreemem(p); }
  };
  std::unique_ptr<char, FreeMem> buffer_;
};

}  // namespace streamshop::pg
