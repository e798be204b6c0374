// What `replicate` and `capture` share on the PostgreSQL side before and around streaming: opening a session on a
// publication and a logical replication slot (with the checks that name the fix), the retry loop around sessions,
// heartbeats, the unchanged values of a row read back. Sessions reach these through SourceCatalog.h (the seam tests
// replace); streaming itself is ChangeSource's. Stateless functions; the returned connections are the caller's.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/Status.h"
#include "pg/Catalog.h"
#include "pg/PgReplicationStream.h"
#include "pg/PgoutputDecoder.h"
#include "pipeline/Progress.h"

namespace streamshop::pipeline {

struct SlotSourceOptions {
  std::string pg_url;
  std::string publication;
  std::string slot;
  std::vector<std::string> tables;  // publication tables when creating it; empty = all of schema public
};

struct SlotSource {
  std::unique_ptr<pg::PgConnection> catalog;      // normal connection for catalog queries and heartbeats
  std::unique_ptr<pg::PgReplicationStream> repl;  // replication connection, not started
  pg::SystemIdentity identity;
  std::optional<pg::SlotState> slot;  // nullopt: the slot does not exist yet
  std::vector<pg::TableInfo> tables;  // the publication's tables (never empty)
};

// Checks the server, ensures the publication, loads its tables and looks up the slot. Retryable when the slot
// is in use by another process; Fatal when it belongs to another database or the publication has no tables.
Result<SlotSource> OpenSlotSource(const SlotSourceOptions& options);

// What a command does when its slot is lost: PostgreSQL invalidated it (wal_status 'lost': it fell further behind
// than max_slot_wal_keep_size, the WAL it needs is gone), or it is missing while the target holds the pipeline's
// state (dropped, or a failover to a server without it). Either way the changes since its position can no longer
// be read, and a new slot would silently skip them. kFail: stop with SlotLostError. kResnapshot (replicate only):
// drop it, create it anew and copy every table again (Replicator).
enum class OnSlotLost { kFail, kResnapshot };
enum class SlotLoss { kInvalidated, kMissing };

// What happened to the slot, naming it and the database (the first part of SlotLostError).
std::string SlotLossCause(SlotLoss loss, const SlotSourceOptions& options, std::string_view database,
                          std::string_view state);
// The Fatal error for a lost slot: what happened, naming the slot, the publication and the database, and the exact
// recovery for `command` ("replicate" or "capture"; capture cannot re-snapshot by itself, so `on_lost` kResnapshot
// there says so and gives the steps by hand). `state`: where the target keeps the state that shows the pipeline
// ran before (the missing case).
Status SlotLostError(SlotLoss loss, const SlotSourceOptions& options, std::string_view database,
                     std::string_view command, OnSlotLost on_lost, std::string_view state);

// Whether an error of START_REPLICATION says PostgreSQL invalidated the slot ("cannot read from logical replication
// slot" up to PostgreSQL 15, "can no longer get changes from replication slot" from 16, "This slot has been
// invalidated" in their DETAIL).
bool IsSlotInvalidatedError(const Status& st);

// Runs `session` until `stop` is set, it returns Ok, or a Fatal error; Retryable errors are logged and the session
// starts again after a backoff (0.5 s doubling to 30 s, reset once a session reached streaming: `session` sets its
// bool argument then), counted in `metrics` (session_restarts). `what_is_safe` completes the log line ("nothing is
// acknowledged that … has not stored").
Status RunSessions(const std::atomic<bool>& stop, Metrics& metrics, const std::string& what_is_safe,
                   const std::function<Status(bool& streamed)>& session);

// Whether a Relation message announces the columns `table` already has (names, types, typmods, in order) and
// the same replica identity.
bool SameColumns(const pg::TableInfo& table, const pg::RelationMessage& rel);
// Whether two shapes of a table have the same columns (names, types, typmods, in order).
bool SameColumns(const pg::TableInfo& table, const pg::TableInfo& other);

// An UPDATE that moves a row into a publication's row filter is published as an INSERT, and PostgreSQL 15 leaves
// its unchanged TOASTed values out of it (unless the replica identity carries them); downstream never had the row.
// Reads those values (`unchanged`) of the row identified by `values` (its key; for a keyless table its other
// values) from PostgreSQL and puts them into `values`, as views into `holder`. The value read may be newer than
// the change, but any later change of it is streamed with its value, so the row converges to PostgreSQL's. A row
// deleted since reads as NULLs after 2 s of looking (its DELETE follows in the stream).
Status ReadUnchangedValues(pg::PgConnection& catalog, const pg::TableInfo& table,
                           std::vector<std::optional<std::string_view>>& values, std::vector<bool>& unchanged,
                           pg::PgResultPtr& holder);

// A non-transactional logical message that gives an idle publication something to decode and confirm, so the
// slot advances (and WAL is released) while only other databases or tables write. An error names the missing
// privilege and the fix (GRANT EXECUTE … or --heartbeat-interval 0). Sessions send them through Heartbeat.
Status EmitHeartbeat(pg::PgConnection& catalog);
inline constexpr std::string_view kHeartbeatPrefix = "streamshop.heartbeat";

// A session's heartbeats: MaybeEmit sends one when `interval` (0 = off) has passed since the last; the first failure
// is warned once and turns them off for the rest of the session.
class Heartbeat {
 public:
  void MaybeEmit(pg::PgConnection& catalog, std::chrono::seconds interval);

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  bool off_ = false;
};

// Now as microseconds since the PostgreSQL epoch (2000-01-01), for standby status updates.
pg::PgTimestamp PgNow();
// PostgreSQL epoch microseconds → Unix epoch microseconds.
int64_t UnixMicrosFromPg(pg::PgTimestamp t);

}  // namespace streamshop::pipeline
