// The PostgreSQL side of a `replicate` or `capture` session as seams (ReplicatorSeams and CaptureSeams open them;
// unit tests substitute fakes): SourceCatalog, the catalog queries a session makes over its normal connection, and
// SlotStream, the slot's replication connection (create the slot, start streaming, then the frames). SlotSession is
// what opening the source yields. Production: PgSourceCatalog forwards to the pg:: catalog functions over a
// PgConnection, PgSlotStream to a PgReplicationStream, OpenSlotSession to OpenSlotSource. Not thread-safe: one
// session's thread uses them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Lsn.h"
#include "common/Status.h"
#include "pg/Catalog.h"
#include "pg/PgReplicationStream.h"
#include "pg/PgoutputDecoder.h"
#include "pg/ReplicationStream.h"
#include "pipeline/SlotSource.h"

namespace streamshop::pipeline {

// The catalog calls of a session, each as the pg:: function of the same name (pg/Catalog.h) or, for
// ReadUnchangedValues, as pipeline::ReadUnchangedValues (SlotSource.h).
class SourceCatalog {
 public:
  virtual ~SourceCatalog() = default;
  virtual Result<std::vector<pg::TableInfo>> LoadPublishedTables(const std::string& publication) = 0;
  virtual Result<std::vector<uint32_t>> PublishedTableOids(const std::string& publication) = 0;
  virtual Result<pg::TableInfo> LoadTable(const std::string& publication, uint32_t oid) = 0;
  virtual Result<bool> PublishedAsAncestor(const std::string& publication, uint32_t oid) = 0;
  virtual Result<std::map<uint32_t, pg::PublishedShape>> LoadPublishedShapes(const std::string& publication) = 0;
  virtual Result<bool> ColumnHasDefault(uint32_t oid, const std::string& column) = 0;
  virtual Result<std::vector<pg::ColumnDetails>> LoadColumnDetails(uint32_t oid) = 0;
  // pg_current_wal_lsn(): the server's WAL position now.
  virtual Result<Lsn> CurrentWal() = 0;
  virtual Status ReadUnchangedValues(const pg::TableInfo& table, std::vector<std::optional<std::string_view>>& values,
                                     std::vector<bool>& unchanged, pg::PgResultPtr& holder) = 0;
  // Drops the replication slot (a lost one, before it is created anew: --on-slot-lost resnapshot).
  virtual Status DropSlot(const std::string& slot) = 0;
  // The connection heartbeats are emitted and the slot's health is polled over (ChangeSource); nullptr: none.
  virtual pg::PgConnection* heartbeat_connection() = 0;
};

class PgSourceCatalog final : public SourceCatalog {
 public:
  explicit PgSourceCatalog(std::unique_ptr<pg::PgConnection> conn) : owned_(std::move(conn)), conn_(*owned_) {}
  explicit PgSourceCatalog(pg::PgConnection& conn) : conn_(conn) {}  // borrowed: `conn` outlives this

  Result<std::vector<pg::TableInfo>> LoadPublishedTables(const std::string& publication) override;
  Result<std::vector<uint32_t>> PublishedTableOids(const std::string& publication) override;
  Result<pg::TableInfo> LoadTable(const std::string& publication, uint32_t oid) override;
  Result<bool> PublishedAsAncestor(const std::string& publication, uint32_t oid) override;
  Result<std::map<uint32_t, pg::PublishedShape>> LoadPublishedShapes(const std::string& publication) override;
  Result<bool> ColumnHasDefault(uint32_t oid, const std::string& column) override;
  Result<std::vector<pg::ColumnDetails>> LoadColumnDetails(uint32_t oid) override;
  Result<Lsn> CurrentWal() override;
  Status ReadUnchangedValues(const pg::TableInfo& table, std::vector<std::optional<std::string_view>>& values,
                             std::vector<bool>& unchanged, pg::PgResultPtr& holder) override;
  Status DropSlot(const std::string& slot) override { return pg::DropSlot(conn_, slot); }
  pg::PgConnection* heartbeat_connection() override { return &conn_; }

 private:
  std::unique_ptr<pg::PgConnection> owned_;
  pg::PgConnection& conn_;
};

// A logical replication slot's connection: the stream's frames once started (pg::ReplicationStream).
class SlotStream : public pg::ReplicationStream {
 public:
  // Creates the slot (pgoutput); returns its consistent point.
  virtual Result<Lsn> CreateSlot(std::string_view slot) = 0;
  // Starts streaming the publication's changes from the slot's confirmed position.
  virtual Status Start(std::string_view slot, std::string_view publication) = 0;
};

class PgSlotStream final : public SlotStream {
 public:
  explicit PgSlotStream(std::unique_ptr<pg::PgReplicationStream> stream) : stream_(std::move(stream)) {}
  Result<Lsn> CreateSlot(std::string_view slot) override { return stream_->CreateSlot(slot); }
  Status Start(std::string_view slot, std::string_view publication) override {
    return stream_->Start(slot, publication);
  }
  Result<std::optional<std::string_view>> Read(std::chrono::milliseconds timeout) override {
    return stream_->Read(timeout);
  }
  Status Send(std::string_view copy_data) override { return stream_->Send(copy_data); }

 private:
  std::unique_ptr<pg::PgReplicationStream> stream_;
};

// A session's opened source: as SlotSource, with the catalog and the stream behind their seams.
struct SlotSession {
  std::unique_ptr<SourceCatalog> catalog;
  std::unique_ptr<SlotStream> stream;  // not started
  pg::SystemIdentity identity;
  std::optional<pg::SlotState> slot;  // nullopt: the slot does not exist yet
  std::vector<pg::TableInfo> tables;  // the publication's tables (never empty)
};

// OpenSlotSource, with its connections behind PgSourceCatalog and PgSlotStream.
Result<SlotSession> OpenSlotSession(const SlotSourceOptions& options);

// The table as a Relation message announces it at this point of the stream (its published columns), with the key
// (and composite fields), row identity and row filter from the catalog; columns the catalog no longer has
// (dropped later in the WAL) are marked `dropped`. nullopt for a partition whose changes the publication sends as
// its root's (publish_via_partition_root): pgoutput announces it too, but nothing of it is to be replicated.
Result<std::optional<pg::TableInfo>> TableFromRelation(SourceCatalog& catalog, const std::string& publication,
                                                       const pg::RelationMessage& rel);

}  // namespace streamshop::pipeline
