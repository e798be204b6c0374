#include "pipeline/SlotSource.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "common/Log.h"

namespace streamshop::pipeline {
namespace {

// Microseconds between the Unix epoch and the PostgreSQL epoch (2000-01-01).
constexpr int64_t kPgEpochOffsetUs = 946'684'800'000'000;

}  // namespace

Result<SlotSource> OpenSlotSource(const SlotSourceOptions& options) {
  SlotSource s;
  SS_ASSIGN_OR_RETURN(pg::PgConnection catalog, pg::PgConnection::Connect(options.pg_url));
  s.catalog = std::make_unique<pg::PgConnection>(std::move(catalog));
  SS_RETURN_IF_ERROR(pg::CheckSource(*s.catalog));
  SS_RETURN_IF_ERROR(pg::EnsurePublication(*s.catalog, options.publication, options.tables));
  SS_ASSIGN_OR_RETURN(s.tables, pg::LoadPublishedTables(*s.catalog, options.publication));
  if (s.tables.empty()) {
    return Status::Fatal(fmt::format("publication '{}' has no tables: add some (ALTER PUBLICATION {} ADD TABLE …)",
                                     options.publication, options.publication));
  }
  SS_ASSIGN_OR_RETURN(pg::PgReplicationStream repl, pg::PgReplicationStream::Connect(options.pg_url));
  s.repl = std::make_unique<pg::PgReplicationStream>(std::move(repl));
  SS_ASSIGN_OR_RETURN(s.identity, s.repl->IdentifySystem());
  SS_ASSIGN_OR_RETURN(s.slot, pg::GetSlot(*s.catalog, options.slot));
  if (s.slot && s.slot->active_pid) {
    return Status::Retryable(fmt::format(
        "replication slot '{}' is in use by PostgreSQL backend pid {} (another streamshop process?): stop it, or "
        "give this one its own --slot",
        options.slot, *s.slot->active_pid));
  }
  if (s.slot && s.slot->database != s.identity.dbname) {
    return Status::Fatal(fmt::format("replication slot '{}' belongs to database '{}', not '{}': use another --slot",
                                     options.slot, s.slot->database, s.identity.dbname));
  }
  return s;
}

bool SameColumns(const pg::TableInfo& table, const pg::RelationMessage& rel) {
  if (table.columns.size() != rel.columns.size()) return false;
  if (table.replica_identity != rel.replica_identity) return false;  // rows may be identified differently now
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    const auto& a = table.columns[i];
    const auto& b = rel.columns[i];
    if (a.name != b.name || a.type_oid != b.type_oid || a.typmod != b.typmod) return false;
  }
  return true;
}

bool SameColumns(const pg::TableInfo& table, const pg::TableInfo& other) {
  if (table.columns.size() != other.columns.size()) return false;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const auto& a = table.columns[i];
    const auto& b = other.columns[i];
    if (a.name != b.name || a.type_oid != b.type_oid || a.typmod != b.typmod) return false;
    if (a.not_null != b.not_null) return false;  // DROP NOT NULL makes a ClickHouse column Nullable
  }
  return true;
}

Status ReadUnchangedValues(pg::PgConnection& catalog, const pg::TableInfo& t,
                           std::vector<std::optional<std::string_view>>& values, std::vector<bool>& unchanged,
                           pg::PgResultPtr& holder) {
  std::string select, where;
  std::vector<std::string> params;
  std::vector<size_t> wanted;
  for (size_t i = 0; i < t.columns.size() && i < values.size() && i < unchanged.size(); ++i) {
    const auto quoted = pg::PgConnection::QuoteIdent(t.columns[i].name);
    if (unchanged[i]) {
      select += (select.empty() ? "" : ", ") + quoted;
      wanted.push_back(i);
    }
    const bool identifies = t.identity == model::RowIdentity::kFullRow ? !unchanged[i] : t.columns[i].key_position > 0;
    if (!identifies || t.columns[i].dropped) continue;
    if (!values[i]) {
      where += fmt::format("{}{} IS NULL", where.empty() ? "" : " AND ", quoted);
      continue;
    }
    params.emplace_back(*values[i]);
    where += fmt::format("{}{} = ${}", where.empty() ? "" : " AND ", quoted, params.size());
  }
  if (wanted.empty()) return Status::Ok();
  const std::string sql =
      fmt::format("SELECT {} FROM {} WHERE {} LIMIT 1", select, t.QuotedName(), where.empty() ? "true" : where);
  // The walsender may send a transaction a moment before it is visible to other sessions (its commit record is
  // flushed before it leaves the proc array): a row not found yet is looked for again, for up to 2 s.
  bool found = false;
  for (int attempt = 0; attempt < 100 && !found; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    SS_ASSIGN_OR_RETURN(holder, catalog.Exec(sql, params));
    found = PQntuples(holder.get()) == 1;
  }
  for (size_t n = 0; n < wanted.size(); ++n) {
    const int col = static_cast<int>(n);
    unchanged[wanted[n]] = false;
    values[wanted[n]] = found && !PQgetisnull(holder.get(), 0, col)
                            ? std::optional<std::string_view>(PQgetvalue(holder.get(), 0, col))
                            : std::nullopt;
  }
  return Status::Ok();
}

Status RunSessions(const std::atomic<bool>& stop, Metrics& metrics, const std::string& what_is_safe,
                   const std::function<Status(bool& streamed)>& session) {
  auto backoff = std::chrono::milliseconds(500);
  while (!stop) {
    bool streamed = false;
    Status st = session(streamed);
    if (st.ok() || stop || st.fatal()) return st;
    if (streamed) backoff = std::chrono::milliseconds(500);
    ++metrics.session_restarts;
    LogWarn("{} — retrying in {:.1f}s ({})", st.message(), backoff.count() / 1000.0, what_is_safe);
    for (auto slept = std::chrono::milliseconds(0); slept < backoff && !stop; slept += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
  }
  return Status::Ok();
}

std::string SlotLossCause(SlotLoss loss, const SlotSourceOptions& options, std::string_view database,
                          std::string_view state) {
  return loss == SlotLoss::kInvalidated
             ? fmt::format(
                   "replication slot '{}' of database '{}' was invalidated by PostgreSQL "
                   "(pg_replication_slots.wal_status = 'lost'): it fell further behind than "
                   "max_slot_wal_keep_size allows and the WAL it needed was removed, so the changes made "
                   "since its confirmed position can no longer be read",
                   options.slot, database)
             : fmt::format(
                   "replication slot '{}' does not exist in database '{}', but {} holds the state of a "
                   "pipeline that read it: the slot was dropped, or this server never had it (a failover "
                   "to a replica without it); the changes since its last position cannot be read, and a new "
                   "slot would silently skip them (if --pg or --slot names the wrong server or slot, fix "
                   "that instead)",
                   options.slot, database, state);
}

Status SlotLostError(SlotLoss loss, const SlotSourceOptions& options, std::string_view database,
                     std::string_view command, OnSlotLost on_lost, std::string_view state) {
  const std::string& slot = options.slot;
  const std::string what = SlotLossCause(loss, options, database, state);
  const std::string drop = fmt::format("SELECT pg_drop_replication_slot('{}')", slot);
  if (command == "capture") {
    return Status::Fatal(fmt::format(
        "{}. capture cannot recover by itself{}: consumers would keep the rows deleted meanwhile. By hand: {}start "
        "capture with a new --slot (a new slot sends every table of publication '{}' again as snapshot records, op "
        "r) and rebuild what the consumers built from the topics; or replicate into ClickHouse directly with "
        "`streamshop replicate --on-slot-lost resnapshot`",
        what, on_lost == OnSlotLost::kResnapshot ? " (--on-slot-lost resnapshot is replicate's only)" : "",
        loss == SlotLoss::kInvalidated ? fmt::format("{} on the server, then ", drop) : "", options.publication));
  }
  return Status::Fatal(fmt::format(
      "{}. To recover, run `streamshop replicate --on-slot-lost resnapshot` once (or STREAMSHOP_ON_SLOT_LOST="
      "resnapshot): it {}creates slot '{}' anew and copies every table of publication '{}' again (each raw table "
      "is truncated first, so rows deleted meanwhile go too); then `streamshop verify` confirms ClickHouse equals "
      "PostgreSQL{}",
      what, loss == SlotLoss::kInvalidated ? fmt::format("drops the lost slot ({}), ", drop) : "", slot,
      options.publication,
      loss == SlotLoss::kInvalidated ? ". To keep it from happening again: raise max_slot_wal_keep_size, and alert on "
                                       "streamshop_slot_wal_status and streamshop_slot_safe_wal_size_bytes"
                                     : ""));
}

bool IsSlotInvalidatedError(const Status& st) {
  const std::string& m = st.message();
  return m.find("cannot read from logical replication slot") != std::string::npos ||        // PostgreSQL 13–15
         m.find("can no longer get changes from replication slot") != std::string::npos ||  // 16 on
         m.find("has been invalidated") != std::string::npos;                               // their DETAIL
}

Status EmitHeartbeat(pg::PgConnection& catalog) {
  auto r = catalog.Exec(fmt::format("SELECT pg_logical_emit_message(false, '{}', now()::text)", kHeartbeatPrefix));
  if (r.ok()) return Status::Ok();
  std::string fix;
  if (r.status().message().find("permission denied") != std::string::npos) {
    // The function's exact signature for the GRANT (PostgreSQL 17 added a 4th argument, flush).
    auto signature = catalog.QueryValue(
        "SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proname = 'pg_logical_emit_message' "
        "AND p.proargtypes[2] = 'text'::regtype ORDER BY p.pronargs LIMIT 1");
    auto role = catalog.QueryValue("SELECT quote_ident(current_user)");
    const std::string name = role.ok() && *role ? **role : "<role>";
    fix = fmt::format(
        "role {} lacks EXECUTE on it: GRANT EXECUTE ON FUNCTION pg_catalog.{} TO {} (as a superuser), or ", name,
        signature.ok() && *signature ? **signature : "pg_logical_emit_message(boolean, text, text)", name);
  }
  return r.status().WithContext(
      fmt::format("heartbeat (pg_logical_emit_message) failed, so an idle publication's slot may hold WAL back; {}turn "
                  "heartbeats off with --heartbeat-interval 0",
                  fix));
}

void Heartbeat::MaybeEmit(pg::PgConnection& catalog, std::chrono::seconds interval) {
  const auto now = std::chrono::steady_clock::now();
  if (off_ || interval.count() <= 0 || now - last_ < interval) return;
  last_ = now;
  if (Status st = EmitHeartbeat(catalog); !st.ok()) {
    LogWarn("{} (heartbeats are off until the next session)", st.message());
    off_ = true;
  }
}

pg::PgTimestamp PgNow() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(now).count() - kPgEpochOffsetUs;
}

int64_t UnixMicrosFromPg(pg::PgTimestamp t) { return t + kPgEpochOffsetUs; }

}  // namespace streamshop::pipeline
