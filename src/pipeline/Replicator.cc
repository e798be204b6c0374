#include "pipeline/Replicator.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <set>

#include "clickhouse/ClickHouseTarget.h"
#include "clickhouse/MessageWriter.h"
#include "clickhouse/OutboxWriter.h"
#include "clickhouse/SnapshotState.h"
#include "clickhouse/TargetSchema.h"
#include "common/Log.h"
#include "pipeline/BatchPolicy.h"
#include "pipeline/ChangeSource.h"
#include "pipeline/ClickHouseSnapshotTarget.h"
#include "pipeline/Signal.h"
#include "pipeline/SlotSource.h"
#include "pipeline/Snapshotter.h"

namespace streamshop::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
using namespace clickhouse;  // NOLINT: the ClickHouse side's writers and DDL helpers

// The publication shape (row filter, partitions) each table was last copied under, kept in ClickHouse beside the
// snapshot state (`_streamshop_publication_shapes`, by slot key and table OID), so that a change made while
// replicate was stopped is noticed at start.
uint64_t ShapeId(const pg::PublishedShape& shape) {
  std::string bytes = shape.row_filter ? "F" + *shape.row_filter : "-";
  bytes += '\0' + shape.leaves;
  return XXH3_64bits(bytes.data(), bytes.size());
}

std::string ShapesTable(const SnapshotStateKey& key) {
  return ClickHouseClient::QuoteIdent(key.database) + ".`_streamshop_publication_shapes`";
}

Result<std::map<uint32_t, uint64_t>> LoadCopiedShapes(ClickHouseClient& ch, const SnapshotStateKey& key) {
  SS_RETURN_IF_ERROR(EnsureStateTable(ch, key.database, "_streamshop_publication_shapes",
                                      "slot_key String, table_oid UInt32, shape UInt64, updated_us UInt64", "MergeTree",
                                      "slot_key, table_oid"));
  SS_ASSIGN_OR_RETURN(std::string rows,
                      ch.Query(fmt::format("SELECT table_oid, argMax(shape, updated_us) FROM {} "
                                           "WHERE slot_key = {} GROUP BY table_oid FORMAT TSV",
                                           ShapesTable(key), ClickHouseClient::QuoteString(key.slot_key))));
  std::map<uint32_t, uint64_t> shapes;
  for (size_t pos = 0; pos < rows.size();) {
    const size_t end = std::min(rows.find('\n', pos), rows.size());
    const std::string line = rows.substr(pos, end - pos);
    pos = end + 1;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    shapes[static_cast<uint32_t>(std::stoul(line.substr(0, tab)))] = std::stoull(line.substr(tab + 1));
  }
  return shapes;
}

Status RecordCopiedShape(ClickHouseClient& ch, const SnapshotStateKey& key, uint32_t oid,
                         const pg::PublishedShape& shape) {
  const auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  return ch
      .Query(fmt::format("INSERT INTO {} VALUES ({}, {}, {}, {})", ShapesTable(key),
                         ClickHouseClient::QuoteString(key.slot_key), oid, ShapeId(shape), now_us.count()))
      .status();
}

// An identifier as SQL text: as is when PostgreSQL reads it back unchanged, else in double quotes.
std::string PlainOrQuoted(const std::string& name) {
  const bool plain = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                     std::all_of(name.begin(), name.end(), [](unsigned char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                     });
  return plain ? name : pg::PgConnection::QuoteIdent(name);
}

}  // namespace

// State of one connection lifetime. Everything here is discarded on a Retryable error.
struct Replicator::Session final : ChangeConsumer {
  Session(const ReplicatorOptions& o, const std::atomic<bool>& s, Metrics& m, std::set<std::string>& by_signal)
      : options(o), stop(s), stopped_by_signal(by_signal), batch(BatchLimits::Of(o)), metrics(m) {}
  const ReplicatorOptions& options;
  const std::atomic<bool>& stop;
  std::unique_ptr<ClickHouseClient> ch;  // the state tables and the logical messages
  std::unique_ptr<model::ChangeTarget> target;
  Dialect dialect = Dialect::kLegacy;
  std::unique_ptr<SourceCatalog> catalog;
  std::map<uint32_t, model::TargetTable*> writers;  // the replicating tables' handles in `target`, by table OID
  std::map<uint32_t, pg::TableInfo> sources;        // the PostgreSQL shape each of them replicates in
  std::map<uint32_t, std::string> failed_tables;    // stopped tables (OID → reason)
  // A stopped table's current shape, read before the WAL position `wal`: once the stream has passed `wal`, the
  // table's next change comes with a Relation message, so the table can resume in this shape (RetryStoppedTables).
  struct StoppedRetry {
    pg::TableInfo table;
    Lsn wal;
  };
  std::map<uint32_t, StoppedRetry> stopped_retries;
  std::map<uint32_t, std::string> skipped_tables;  // rows cannot be identified (OID → warning)
  std::map<uint32_t, pg::PublishedShape> shapes;   // of the replicated tables, as last copied
  std::map<uint32_t, Lsn> recopy_after;  // shape changed: copy the table again once the stream passed this LSN
  // A replicated table whose catalog shape differs from the one its writer has, read before the WAL position
  // `wal` (CatchUpSchemaChanges). Same wait as a stopped table's retry.
  std::map<uint32_t, StoppedRetry> shape_changes;
  // Per table copied this session: the WAL position read just before the copy began (TableWriter::SetCopiedAt).
  std::map<uint32_t, uint64_t> copied_at;
  uint64_t skipped_changes = 0;  // changes of stopped tables

  // The signal table (--signal-table): its OID (0: none) and the positions of `id`, `type` and `data` in its rows
  // (from its Relation message, else the catalog). Signals received wait in `pending_signals` until their
  // transaction's commit was received (Housekeeping runs them); meanwhile the session is not Settled, so nothing
  // past them is confirmed before they took effect.
  uint32_t signal_oid = 0;
  std::array<int, 3> signal_columns{-1, -1, -1};
  std::deque<Signal> pending_signals;
  // Tables stopped by a stop-replication signal (OID → schema.table): unlike a table stopped by an error, they are
  // not retried; `stopped_by_signal` (the Replicator's) keeps them stopped in the next session of this process.
  std::map<uint32_t, std::string> user_stopped;
  std::set<std::string>& stopped_by_signal;
  std::set<uint32_t> resuming;           // resume-replication received: resumed once the stream passed its point
  std::map<TableName, uint32_t> oid_of;  // the OIDs of the tables replicated this session, by name

  BatchPolicy batch;
  Clock::time_point last_lag_alarm{};

  // Progress counters.
  Metrics& metrics;
  ProgressLine progress{options.progress, metrics};
  std::map<std::string, uint64_t> rows_per_table;

  RowValues values;             // reused per change
  std::vector<bool> unchanged;  // per column of `values`: an unchanged TOASTed value PostgreSQL did not send
  SnapshotStateKey snapshot_state;
  std::unique_ptr<MessageWriter> messages;  // logical decoding messages (pg_logical_emit_message)
  ChangeSource* source = nullptr;           // set once streaming started: positions, status updates

  // The outbox table (--outbox-table): its OID (0: none), the writer of its events and the transaction being
  // received (Begin: its commit LSN and time, µs since 2000-01-01; the outbox inserts received of it so far).
  uint32_t outbox_oid = 0;
  std::unique_ptr<OutboxWriter> outbox;
  Lsn txn_commit_lsn;
  int64_t txn_commit_time = 0;
  uint64_t txn_outbox_inserts = 0;

  size_t PendingRows() const { return messages->pending() + target->pending_rows() + (outbox ? outbox->pending() : 0); }
  size_t PendingBytes() const { return target->pending_bytes(); }

  // What the last EnsureWriter's target said of the table it already held (model::ChangeTarget::Ensured).
  std::vector<std::string> added_columns;
  std::string rewritten_column;

  Result<model::TargetTable*> EnsureWriter(const pg::TableInfo& table) {
    auto known = writers.find(table.oid);
    SS_ASSIGN_OR_RETURN(model::ChangeTarget::Ensured ensured,
                        target->EnsureTable(pg::SchemaOf(table), known != writers.end() ? known->second : nullptr));
    added_columns = std::move(ensured.added_columns);
    rewritten_column = std::move(ensured.rewritten_column);
    if (auto c = copied_at.find(table.oid); c != copied_at.end()) ensured.table->SetCopiedAt(c->second);
    writers[table.oid] = ensured.table;
    sources[table.oid] = table;
    oid_of[TableName{table.schema, table.name}] = table.oid;
    return ensured.table;
  }

  // Copies the tables' existing rows (skipping what is already copied). While streaming, the stream gets
  // status updates meanwhile so the walsender does not time out. Each table copied notes the WAL position read
  // before the copy (copied_at).
  Status SnapshotTables(const std::vector<pg::TableInfo>& tables) {
    if (tables.empty()) return Status::Ok();
    SS_ASSIGN_OR_RETURN(Lsn before, catalog->CurrentWal());
    ClickHouseSnapshotTarget copies(
        {options.clickhouse, snapshot_state, dialect, options.batch_rows, options.batch_bytes, &metrics});
    Snapshotter snapshotter({options.pg_url, options.snapshot_workers, options.snapshot_chunk_pages, &metrics}, copies);
    SS_RETURN_IF_ERROR(snapshotter.Run(tables, stop, [&]() -> Status {
      progress.MaybePrintText("snapshot", [&] { return snapshotter.Describe(); });
      return source ? source->KeepAlive() : Status::Ok();
    }));
    for (const auto& t : tables) {
      const std::string key = TableWriter::SourceKey(t.schema, t.name);
      const auto& progress = snapshotter.progress();
      if (std::none_of(progress.begin(), progress.end(), [&](const auto& p) { return p->table == key; })) continue;
      copied_at[t.oid] = before.value;
      if (auto w = writers.find(t.oid); w != writers.end()) w->second->SetCopiedAt(before.value);
    }
    return Status::Ok();
  }

  // A Fatal error of one table's insert stops that table only (StopTable); a Retryable one retries the session.
  Status FlushAll() {
    const auto started = Clock::now();
    const size_t rows = PendingRows(), bytes = PendingBytes();
    std::vector<model::ChangeTarget::Failure> failed;
    SS_RETURN_IF_ERROR(target->Flush(&failed));
    for (const auto& [table, why] : failed) {
      auto w = std::find_if(writers.begin(), writers.end(), [&](const auto& e) { return e.second == table; });
      const model::TableSchema& t = table->schema();
      SS_RETURN_IF_ERROR(StopTable(w->first, TableWriter::SourceKey(t.schema, t.name), why));
    }
    SS_RETURN_IF_ERROR(messages->Flush(*ch));
    if (outbox) SS_RETURN_IF_ERROR(outbox->Flush(*ch));
    batch.Flushed(Clock::now());
    metrics.CountFlush(rows, bytes, Clock::now() - started);
    metrics.CountDeadLetters(DeadLetterReason::kValue, target->TakeStoredDeadLetters());
    return Status::Ok();
  }

  // Flushes everything pending, then confirms the last complete transaction (sent by the source's next Tick) —
  // unless signals received are still to be executed: the slot passes a signal only once it took effect.
  Status FlushAndConfirm() {
    SS_RETURN_IF_ERROR(FlushAll());
    if (pending_signals.empty()) source->Confirm(source->last_commit_end());
    return Status::Ok();
  }

  // ChangeConsumer
  Status OnChange(const pg::PgoutputMessage& msg, Lsn lsn) override;
  bool Settled() const override { return PendingRows() == 0 && pending_signals.empty(); }
  Status OnPublicationCheck() override {
    SS_RETURN_IF_ERROR(AdoptNewTables());
    SS_RETURN_IF_ERROR(RetryStoppedTables());
    return CatchUpSchemaChanges();
  }

  // Whether the stream has passed WAL position `wal` with nothing of it pending (a catalog shape read before
  // `wal` is then the table's shape at this point of the stream).
  bool Passed(Lsn wal) const { return !source->in_transaction() && PendingRows() == 0 && source->confirmed() >= wal; }

  // Creates or updates the ClickHouse table and writer for `table` (`name`: its state key, TableWriter::SourceKey,
  // which the snapshot state and the log use; empty if unknown). A
  // table ClickHouse cannot follow is stopped: its changes are skipped until it is fixed, every other table keeps
  // flowing. Nothing is acknowledged away: before any change of it is skipped, a fresh copy of the table is
  // recorded in the snapshot state (in ClickHouse, so a restart knows it too); the copy runs when the table
  // resumes (RecopyResumedTable, or the startup snapshot). A table whose rows cannot be identified (no key,
  // replica identity DEFAULT or NOTHING) is skipped with a warning naming the fix; it is looked at again with the
  // publication, so fixing it starts its replication. Returns whether it replicates.
  Result<bool> PrepareTable(uint32_t oid, const std::string& name, const Result<pg::TableInfo>& table) {
    if (table.ok() && table->skipped()) {
      if (!skipped_tables.count(oid)) LogWarn("{}", table->skip_reason);
      skipped_tables[oid] = table->skip_reason;
      Forget(oid);
      failed_tables.erase(oid);
      return false;
    }
    Result<model::TargetTable*> w = table.ok() ? EnsureWriter(*table) : Result<model::TargetTable*>(table.status());
    if (w.ok()) {
      failed_tables.erase(oid);
      stopped_retries.erase(oid);
      skipped_tables.erase(oid);
      return true;
    }
    if (w.status().retryable()) return w.status();
    SS_RETURN_IF_ERROR(StopTable(oid, name, w.status()));
    return false;
  }

  void Forget(uint32_t oid) {
    if (auto w = writers.find(oid); w != writers.end()) {
      target->Forget(w->second);
      writers.erase(w);
    }
    sources.erase(oid);
  }

  // Stops table `oid` on a Fatal error of its own (see PrepareTable): its writer and pending rows go, a fresh
  // copy is recorded first, and RetryStoppedTables tries it again every 10 s.
  // `by_signal`: asked for by a stop-replication signal (logged as information, not as an error).
  Status StopTable(uint32_t oid, const std::string& name, const Status& why, bool by_signal = false) {
    Forget(oid);
    shape_changes.erase(oid);
    auto [it, newly_stopped] = failed_tables.try_emplace(oid);
    if (newly_stopped && !name.empty()) {
      SS_RETURN_IF_ERROR(RecordSnapshotState(*ch, snapshot_state, name, kSnapshotReset, 0, 0));
    }
    if (it->second != why.message()) {
      const std::string text = fmt::format(
          "replication of {} stopped: {} (its changes are skipped meanwhile; it is copied again when it "
          "resumes)",
          name.empty() ? fmt::format("table OID {}", oid) : name, why.message());
      if (by_signal) {
        LogInfo("{}", text);
      } else {
        LogError("{}", text);
      }
      it->second = why.message();
    }
    return Status::Ok();
  }

  // Copies a replicating table again (its raw table is truncated first), for `why`. A Fatal error of the copy
  // stops the table (copied again when it resumes); a Retryable one retries the session.
  Status RecopyTable(const pg::TableInfo& table, const std::string& why) {
    LogInfo("{}: copying {} again", why, table.QualifiedName());
    SS_RETURN_IF_ERROR(RecordCopyOwed(table.schema, table.name));
    Status st = SnapshotTables({table});
    if (st.ok() || st.retryable()) return st;
    return StopTable(table.oid, TableWriter::SourceKey(table.schema, table.name), st);
  }

  // Records that the table must be copied afresh: its next snapshot starts over (SnapshotState).
  Status RecordCopyOwed(const std::string& schema, const std::string& name) {
    return RecordSnapshotState(*ch, snapshot_state, TableWriter::SourceKey(schema, name), kSnapshotReset, 0, 0);
  }

  Status CopyNewTable(const pg::TableInfo& table) {
    if (!options.snapshot) return Status::Ok();
    LogInfo("{} joined the publication: copying its existing rows", table.QualifiedName());
    return SnapshotTables({table});
  }

  // A stopped table replicates again: its recorded copy replaces what ClickHouse holds (the snapshot truncates the
  // raw table first, so rows deleted meanwhile leave no ghosts); streamed changes after this point win over the
  // copied rows (version 0). Runs whatever --snapshot says: the skipped changes exist nowhere else.
  Status RecopyResumedTable(const pg::TableInfo& table) {
    return RecopyTable(table, fmt::format("replication of {} resumes (its changes were skipped while it was stopped)",
                                          table.QualifiedName()));
  }

  // A stopped table whose type was changed back, or whose raw table the user dropped, may see no further change
  // (and so no Relation message). Every 10 s: read its shape, then the WAL position; once the stream has passed
  // that position (nothing pending), retry the table in that shape.
  Status RetryStoppedTables() {
    if (failed_tables.empty()) return Status::Ok();
    SS_ASSIGN_OR_RETURN(std::vector<uint32_t> published, catalog->PublishedTableOids(options.publication));
    std::vector<uint32_t> oids;
    for (const auto& [oid, reason] : failed_tables) {
      if (user_stopped.count(oid)) continue;  // until a resume-replication signal
      if (std::find(published.begin(), published.end(), oid) != published.end()) oids.push_back(oid);
    }
    for (uint32_t oid : oids) {
      auto r = stopped_retries.find(oid);
      if (r != stopped_retries.end()) {
        if (!Passed(r->second.wal)) continue;
        const pg::TableInfo table = std::move(r->second.table);
        stopped_retries.erase(r);
        SS_ASSIGN_OR_RETURN(bool replicated,
                            PrepareTable(oid, TableWriter::SourceKey(table.schema, table.name), table));
        if (replicated) SS_RETURN_IF_ERROR(RecopyResumedTable(table));
        continue;
      }
      Result<pg::TableInfo> table = catalog->LoadTable(options.publication, oid);
      if (!table.ok()) {
        if (table.status().retryable()) return table.status();
        continue;
      }
      SS_ASSIGN_OR_RETURN(Lsn wal, catalog->CurrentWal());
      stopped_retries[oid] = {std::move(*table), wal};
    }
    return Status::Ok();
  }

  // A schema change (ADD COLUMN, a widening, …) of a table that sees no later change brings no Relation message,
  // yet PostgreSQL holds the new shape (an added column's default in every row). Every 10 s: read each
  // replicating table's shape, then the WAL position; a shape other than its writer's is applied, exactly as
  // its Relation message would be (ApplyShape), once the stream has passed that position with nothing pending
  // and no Relation of the table came meanwhile. Its next change then comes with a Relation of this shape.
  Status CatchUpSchemaChanges() {
    if (writers.empty()) return Status::Ok();
    // One catalog query for every table (a query per table would cost seconds with thousands of tables).
    Result<std::vector<pg::TableInfo>> published = catalog->LoadPublishedTables(options.publication);
    if (!published.ok()) return published.status().retryable() ? published.status() : Status::Ok();
    std::map<uint32_t, pg::TableInfo> current;
    for (auto& t : *published) current.emplace(t.oid, std::move(t));
    std::vector<uint32_t> oids;
    for (const auto& [oid, w] : writers) oids.push_back(oid);
    for (uint32_t oid : oids) {
      auto w = writers.find(oid);
      if (w == writers.end()) continue;  // stopped by an earlier table's change in this loop
      auto pending = shape_changes.find(oid);
      if (pending != shape_changes.end()) {
        if (!Passed(pending->second.wal)) continue;
        const pg::TableInfo table = std::move(pending->second.table);
        shape_changes.erase(pending);
        if (SameColumns(sources.at(oid), table)) continue;
        LogInfo("{} changed shape with no change of its rows since: applying the catalog's shape",
                table.QualifiedName());
        SS_RETURN_IF_ERROR(ApplyShape(oid, TableWriter::SourceKey(table.schema, table.name), table));
        continue;
      }
      auto table = current.find(oid);
      if (table == current.end()) continue;  // e.g. dropped: the stream says what follows
      if (SameColumns(sources.at(oid), table->second)) continue;
      SS_ASSIGN_OR_RETURN(Lsn wal, catalog->CurrentWal());
      shape_changes[oid] = {std::move(table->second), wal};
    }
    return Status::Ok();
  }

  // Tables added to the publication (or skipped ones fixed since) are copied even before their first change
  // arrives. A table whose row filter changed, or a partitioned table published as its root whose partitions were
  // attached or detached, is copied again: rows enter or leave the publication without a change in the stream.
  Status AdoptNewTables() {
    SS_ASSIGN_OR_RETURN(auto published, catalog->LoadPublishedShapes(options.publication));
    for (const auto& [oid, shape] : published) {
      if (writers.count(oid)) {
        auto [known, added] = shapes.try_emplace(oid, shape);
        if (added || known->second == shape) continue;
        known->second = shape;
        // The change committed before this point of the WAL; changes made under the old shape may still be on
        // their way, so the copy waits until the stream has passed it.
        SS_ASSIGN_OR_RETURN(recopy_after[oid], catalog->CurrentWal());
        LogInfo("the row filter or the partitions of {} changed: copying it again once the stream passed {}",
                writers[oid]->schema().QualifiedName(), recopy_after[oid].ToString());
        continue;
      }
      if (failed_tables.count(oid) || oid == signal_oid) continue;
      auto table = catalog->LoadTable(options.publication, oid);
      SS_ASSIGN_OR_RETURN(
          bool replicated,
          PrepareTable(oid, table.ok() ? TableWriter::SourceKey(table->schema, table->name) : "", table));
      if (!replicated) continue;
      shapes[oid] = shape;
      SS_RETURN_IF_ERROR(RecordCopiedShape(*ch, snapshot_state, oid, shape));
      SS_RETURN_IF_ERROR(CopyNewTable(*table));
    }
    return Status::Ok();
  }

  // Copies again the tables of recopy_after whose point the stream has passed, under their current shape.
  Status RecopyReshaped() {
    const Lsn received = std::max(source->last_commit_end(), source->confirmed());
    for (auto it = recopy_after.begin(); it != recopy_after.end();) {
      auto w = writers.find(it->first);
      if (w != writers.end() && (source->in_transaction() || received < it->second)) {
        ++it;
        continue;
      }
      if (w != writers.end() && options.snapshot) {
        pg::TableInfo table = sources.at(it->first);
        table.row_filter = shapes[it->first].row_filter;
        SS_RETURN_IF_ERROR(FlushAll());
        SS_RETURN_IF_ERROR(RecordCopiedShape(*ch, snapshot_state, it->first, shapes[it->first]));
        SS_RETURN_IF_ERROR(
            RecopyTable(table, fmt::format("the row filter or the partitions of {} changed", table.QualifiedName())));
      }
      it = recopy_after.erase(it);
    }
    return Status::Ok();
  }

  // Copies owed by reshaped tables, the lag (metrics, alarm), called from the streaming loop.
  Status Housekeeping() {
    if (!pending_signals.empty() && !source->in_transaction()) SS_RETURN_IF_ERROR(ExecuteSignals());
    if (!resuming.empty()) SS_RETURN_IF_ERROR(ResumeTables());
    if (!recopy_after.empty()) SS_RETURN_IF_ERROR(RecopyReshaped());
    const uint64_t lag_bytes = source->LagBytes();
    const double lag_seconds = source->LagSeconds();
    metrics.SetLag(lag_bytes, lag_seconds);
    const bool over = (options.max_lag_bytes && lag_bytes > options.max_lag_bytes) ||
                      (options.max_lag_seconds > 0 && lag_seconds > options.max_lag_seconds);
    const auto now = Clock::now();
    if (over && now - last_lag_alarm >= std::chrono::seconds(60)) {
      last_lag_alarm = now;
      LogWarn("LAG ALARM: slot '{}' is {} and {:.1f} s behind (limits: --max-lag-bytes {}, --max-lag-seconds {})",
              options.slot, HumanBytes(lag_bytes), lag_seconds, options.max_lag_bytes, options.max_lag_seconds);
    }
    return Status::Ok();
  }

  void MaybePrintProgress() {
    progress.MaybePrint("streaming", [&] {
      std::string tables;
      for (const auto& [name, n] : rows_per_table) tables += fmt::format("{}{}={}", tables.empty() ? "" : " ", name, n);
      if (!failed_tables.empty())
        tables += fmt::format(" | {} table(s) STOPPED, {} changes skipped", failed_tables.size(), skipped_changes);
      return tables;
    });
  }

  // The positions of id, type and data among the signal table's columns; an error names a missing one (its
  // position is then -1: its value reads as NULL).
  Status SetSignalColumns(const std::vector<std::string>& names) {
    static constexpr std::array<std::string_view, 3> kColumns = {"id", "type", "data"};
    Status missing;
    for (size_t i = 0; i < kColumns.size(); ++i) {
      auto it = std::find(names.begin(), names.end(), kColumns[i]);
      signal_columns[i] = it == names.end() ? -1 : static_cast<int>(it - names.begin());
      if (it == names.end() && missing.ok()) {
        missing = Status::Fatal(fmt::format("signal table {} has no column {} (it needs id, type and data); {}",
                                            options.signal_table, kColumns[i], SignalTableDdl()));
      }
    }
    return missing;
  }

  std::string SignalTableDdl() const {
    return fmt::format(
        "create it with: CREATE TABLE {0} (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data text); "
        "ALTER PUBLICATION {1} ADD TABLE {0};",
        options.signal_table, PlainOrQuoted(options.publication));
  }

  // A row inserted into the signal table: counted, parsed, queued (a bad one is logged and skipped).
  Status OnSignalRow(const pg::Tuple& tuple) {
    auto field = [&](size_t i) -> std::optional<std::string_view> {
      const int at = signal_columns[i];
      if (at < 0 || static_cast<size_t>(at) >= tuple.size() || tuple[at].kind != pg::TupleValue::Kind::kText) {
        return std::nullopt;
      }
      return tuple[at].data;
    };
    const auto type = field(1);
    metrics.CountSignal(type ? *type : std::string_view());
    Result<Signal> signal = ParseSignal(field(0), type, field(2));
    if (!signal.ok()) {
      LogWarn("signal {} skipped: {}", field(0) ? Printable(*field(0), 100) : "(no id)",
              Printable(signal.status().message()));
      return Status::Ok();
    }
    pending_signals.push_back(std::move(*signal));
    return Status::Ok();
  }

  // Runs the received signals: what was received before them is stored first; the slot moves past them only
  // after they took effect (FlushAndConfirm at the end). Stopping (SIGTERM) meanwhile interrupts a copy, whose
  // owed state is recorded already: the next start finishes it.
  Status ExecuteSignals() {
    SS_RETURN_IF_ERROR(FlushAll());
    while (!pending_signals.empty()) {
      SS_RETURN_IF_ERROR(ExecuteSignal(pending_signals.front()));
      pending_signals.pop_front();
    }
    return FlushAndConfirm();
  }

  // The replicated (or stopped) table of this name; nullopt, with a warning, when there is none.
  std::optional<uint32_t> SignalTarget(const Signal& signal, const TableName& name) {
    auto it = oid_of.find(name);
    if (it != oid_of.end() && (writers.count(it->second) || failed_tables.count(it->second))) return it->second;
    LogWarn("signal {} ({}): {} is not a table this replicate replicates (publication '{}'); skipped",
            Printable(signal.id, 100), SignalTypeName(signal.type), Printable(name.Qualified(), 200),
            options.publication);
    return std::nullopt;
  }

  Status ExecuteSignal(const Signal& signal) {
    const std::string what = fmt::format("signal {} ({})", Printable(signal.id, 100), SignalTypeName(signal.type));
    switch (signal.type) {
      case SignalType::kLog:
        LogInfo("{}: {}", what, Printable(signal.message));
        return Status::Ok();
      case SignalType::kExecuteSnapshot:
        if (!signal.blocking) {
          LogInfo("{}: incremental runs as blocking: the stream waits while {} is copied", what,
                  DescribeCollections(signal.collections));
        }
        for (const TableName& name : signal.collections) {
          const std::optional<uint32_t> oid = SignalTarget(signal, name);
          if (!oid) continue;
          if (failed_tables.count(*oid)) {
            LogWarn("{}: {} is stopped; it is copied again when it resumes", what, name.Qualified());
            continue;
          }
          pg::TableInfo table = sources.at(*oid);
          table.row_filter = shapes[*oid].row_filter;
          SS_RETURN_IF_ERROR(RecopyTable(table, what));
        }
        return Status::Ok();
      case SignalType::kStopReplication:
        for (const TableName& name : signal.collections) {
          const std::optional<uint32_t> oid = SignalTarget(signal, name);
          if (!oid) continue;
          if (user_stopped.count(*oid)) continue;
          LogInfo("{}: stopping replication of {} until a resume-replication signal (or a restart)", what,
                  name.Qualified());
          SS_RETURN_IF_ERROR(StopTable(*oid, TableWriter::SourceKey(name.schema, name.name),
                                       Status::Fatal(fmt::format("stopped by {}", what)), /*by_signal=*/true));
          user_stopped[*oid] = name.Qualified();
          stopped_by_signal.insert(name.Qualified());
        }
        return Status::Ok();
      case SignalType::kResumeReplication:
        for (const TableName& name : signal.collections) {
          auto it = std::find_if(user_stopped.begin(), user_stopped.end(),
                                 [&](const auto& e) { return e.second == name.Qualified(); });
          if (it == user_stopped.end()) {
            LogWarn("{}: {} was not stopped by a stop-replication signal; skipped", what,
                    Printable(name.Qualified(), 200));
            continue;
          }
          const uint32_t oid = it->first;
          user_stopped.erase(it);
          stopped_by_signal.erase(name.Qualified());
          // As RetryStoppedTables: the catalog's shape, read before a WAL position the stream must pass first.
          Result<pg::TableInfo> table = catalog->LoadTable(options.publication, oid);
          if (!table.ok()) {
            if (table.status().retryable()) return table.status();
            LogWarn("{}: {} cannot resume: {}", what, name.Qualified(), table.status().message());
            continue;
          }
          SS_ASSIGN_OR_RETURN(Lsn wal, catalog->CurrentWal());
          LogInfo("{}: {} resumes once the stream passed {}: copied again, then replicated", what, name.Qualified(),
                  wal.ToString());
          stopped_retries[oid] = {std::move(*table), wal};
          resuming.insert(oid);
        }
        return Status::Ok();
      case SignalType::kUnknown:
        break;
    }
    return Status::Ok();
  }

  // The tables of resume-replication signals whose point the stream has passed: copied again, then replicated.
  Status ResumeTables() {
    for (auto it = resuming.begin(); it != resuming.end();) {
      auto r = stopped_retries.find(*it);
      if (r == stopped_retries.end() || !failed_tables.count(*it)) {  // resumed by RetryStoppedTables meanwhile
        it = resuming.erase(it);
        continue;
      }
      if (!Passed(r->second.wal)) {
        ++it;
        continue;
      }
      const uint32_t oid = *it;
      const pg::TableInfo table = std::move(r->second.table);
      stopped_retries.erase(r);
      it = resuming.erase(it);
      SS_ASSIGN_OR_RETURN(bool replicated, PrepareTable(oid, TableWriter::SourceKey(table.schema, table.name), table));
      if (replicated) SS_RETURN_IF_ERROR(RecopyResumedTable(table));
    }
    return Status::Ok();
  }

  // A row inserted into the outbox table: one event for outbox_events (a replayed one is skipped by the writer).
  Status OnOutboxRow(const pg::Tuple& tuple, Lsn lsn) {
    model::RowValues row(tuple.size());
    for (size_t i = 0; i < tuple.size(); ++i) {
      if (tuple[i].kind == pg::TupleValue::Kind::kText) row[i] = tuple[i].data;
      if (tuple[i].kind == pg::TupleValue::Kind::kUnchangedToast || tuple[i].kind == pg::TupleValue::Kind::kBinary) {
        return Status::Fatal(
            fmt::format("outbox table {}: an inserted row without the text of column {} (row "
                        "filters on the outbox table are not supported)",
                        options.outbox_table, i + 1));
      }
    }
    constexpr int64_t kPgEpochUs = 946'684'800'000'000;  // 2000-01-01 in µs since 1970
    return outbox->Append(row, lsn.value, txn_commit_lsn.value, ++txn_outbox_inserts, txn_commit_time + kPgEpochUs)
        .status();
  }

  Status Stream(pg::ReplicationStream& repl);
  Status HandleRelation(const pg::RelationMessage& rel);
  Status ApplyShape(uint32_t oid, const std::string& name, const Result<pg::TableInfo>& table);
  Status HandleTruncate(const pg::TruncateMessage& t);
  Status TupleToValues(const model::TargetTable& w, const pg::Tuple& tuple, const pg::Tuple* old_full);
  pg::PgResultPtr unchanged_source;  // holds the values ReadUnchangedValues put into `values`
};

Replicator::Replicator(ReplicatorOptions options, ReplicatorSeams seams)
    : options_(std::move(options)), seams_(std::move(seams)) {}
Replicator::~Replicator() = default;

Status Replicator::Run(const std::atomic<bool>& stop) {
  metrics_.reads_slot = true;
  return RunSessions(stop, metrics_, "nothing is acknowledged that ClickHouse has not stored",
                     [&](bool& streamed) { return RunSession(stop, streamed); });
}

Status Replicator::RunSession(const std::atomic<bool>& stop, bool& streamed) {
  Session s(options_, stop, metrics_, stopped_by_signal_);
  SS_ASSIGN_OR_RETURN(SlotSession source,
                      seams_.open_source({options_.pg_url, options_.publication, options_.slot, options_.tables}));
  s.catalog = std::move(source.catalog);
  std::optional<pg::SlotState>& slot = source.slot;
  if (slot) metrics_.SetSlotHealth(slot->wal_status, slot->safe_wal_size);
  const pg::SystemIdentity& identity = source.identity;
  SlotStream& repl = *source.stream;

  SS_ASSIGN_OR_RETURN(
      std::unique_ptr<ClickHouseTarget> target,
      ClickHouseTarget::Open([this] { return seams_.clickhouse(options_.clickhouse); }, options_.database));
  s.dialect = target->dialect();
  s.target = std::move(target);
  s.ch = seams_.clickhouse(options_.clickhouse);
  s.messages = std::make_unique<MessageWriter>(options_.database);
  SS_RETURN_IF_ERROR(s.messages->EnsureTable(*s.ch));

  s.snapshot_state = {options_.database, fmt::format("{}/{}/{}", identity.system_id, identity.dbname, options_.slot)};
  SS_RETURN_IF_ERROR(EnsureSnapshotStateTable(*s.ch, s.snapshot_state));
  // Before anything of this session records state: a missing slot with state recorded is a lost one.
  if (slot && slot->lost()) {
    SS_RETURN_IF_ERROR(RecoverLostSlot(s, SlotLoss::kInvalidated, source.tables, identity.dbname));
    slot.reset();
  } else if (!slot) {
    SS_ASSIGN_OR_RETURN(bool ran_before, HasSnapshotState(*s.ch, s.snapshot_state));
    if (ran_before) SS_RETURN_IF_ERROR(RecoverLostSlot(s, SlotLoss::kMissing, source.tables, identity.dbname));
  }
  SS_ASSIGN_OR_RETURN(std::set<std::string> existing, ExistingTables(*s.ch, options_.database));
  if (!options_.signal_table.empty()) {
    SS_ASSIGN_OR_RETURN(TableName name, ParseTableName(options_.signal_table));
    auto it = std::find_if(source.tables.begin(), source.tables.end(),
                           [&](const pg::TableInfo& t) { return t.schema == name.schema && t.name == name.name; });
    if (it == source.tables.end()) {
      return Status::Fatal(fmt::format("signal table {} does not exist or is not in publication '{}'; {}",
                                       name.Qualified(), options_.publication, s.SignalTableDdl()));
    }
    std::vector<std::string> columns;
    for (const auto& c : it->columns) columns.push_back(c.name);
    SS_RETURN_IF_ERROR(s.SetSignalColumns(columns));
    s.signal_oid = it->oid;
    source.tables.erase(it);  // not replicated
    LogInfo("signals: reading rows inserted into {} (OID {})", name.Qualified(), s.signal_oid);
  }
  if (!options_.outbox_table.empty()) {
    SS_ASSIGN_OR_RETURN(TableName name, ParseTableName(options_.outbox_table));
    auto it = std::find_if(source.tables.begin(), source.tables.end(),
                           [&](const pg::TableInfo& t) { return t.schema == name.schema && t.name == name.name; });
    if (it == source.tables.end()) {
      return Status::Fatal(fmt::format(
          "outbox table {} does not exist or is not in publication '{}'; add it with: ALTER PUBLICATION {} ADD TABLE "
          "{}",
          name.Qualified(), options_.publication, PlainOrQuoted(options_.publication), options_.outbox_table));
    }
    if (it->oid == s.signal_oid) {
      return Status::Fatal(fmt::format("--outbox-table and --signal-table name the same table {}", name.Qualified()));
    }
    s.outbox = std::make_unique<OutboxWriter>(options_.database, pg::SchemaOf(*it), s.dialect);
    SS_RETURN_IF_ERROR(s.outbox->Open(*s.ch));
    s.outbox_oid = it->oid;
    LogInfo("outbox: rows inserted into {} (OID {}) are appended to {}.{} (stored up to commit {}, event {} of it)",
            name.Qualified(), s.outbox_oid, options_.database, OutboxWriter::kTable,
            Lsn{s.outbox->watermark().commit_lsn}.ToString(), s.outbox->watermark().seq);
  }
  std::vector<pg::TableInfo> replicated;  // without tables stopped by an incompatible schema
  for (const auto& t : source.tables) {
    if (stopped_by_signal_.count(t.QualifiedName())) {
      // Stopped by a stop-replication signal in an earlier session of this process: stays stopped (its copy is
      // owed already).
      s.oid_of[TableName{t.schema, t.name}] = t.oid;
      s.user_stopped[t.oid] = t.QualifiedName();
      SS_RETURN_IF_ERROR(s.StopTable(t.oid, TableWriter::SourceKey(t.schema, t.name),
                                     Status::Fatal("stopped by a stop-replication signal"), /*by_signal=*/true));
      continue;
    }
    SS_ASSIGN_OR_RETURN(bool ok, s.PrepareTable(t.oid, TableWriter::SourceKey(t.schema, t.name), t));
    if (!ok) continue;
    // A column added with a default while replicate was down (and not yet announced by the stream): existing
    // rows got a value no change carries, so the table is copied again.
    for (const std::string& column : s.added_columns) {
      SS_ASSIGN_OR_RETURN(bool has_default, s.catalog->ColumnHasDefault(t.oid, column));
      if (!has_default || !options_.snapshot) continue;
      LogInfo("column {} was added to {} with a default: it will be copied again", column, t.QualifiedName());
      SS_RETURN_IF_ERROR(s.RecordCopyOwed(t.schema, t.name));
      break;
    }
    // A raw table that is missing (e.g. dropped by the user to resynchronise it) is copied again.
    if (options_.snapshot && slot && !existing.count(TableWriter::TargetName(t.schema, t.name))) {
      LogInfo("{} is missing in ClickHouse: it will be copied again", t.QualifiedName());
      SS_RETURN_IF_ERROR(s.RecordCopyOwed(t.schema, t.name));
    }
    replicated.push_back(t);
  }
  SS_ASSIGN_OR_RETURN(s.shapes, s.catalog->LoadPublishedShapes(options_.publication));
  SS_ASSIGN_OR_RETURN(auto copied_shapes, LoadCopiedShapes(*s.ch, s.snapshot_state));
  for (auto& t : replicated) {
    t.row_filter = s.shapes[t.oid].row_filter;  // copied as recorded
    auto copied = copied_shapes.find(t.oid);
    const bool changed = copied != copied_shapes.end() && copied->second != ShapeId(s.shapes[t.oid]);
    if (changed && options_.snapshot && slot) {
      LogInfo("the row filter or the partitions of {} changed while streamshop was stopped: copying it again",
              t.QualifiedName());
      SS_RETURN_IF_ERROR(s.RecordCopyOwed(t.schema, t.name));
    }
    if (changed || copied == copied_shapes.end()) {
      SS_RETURN_IF_ERROR(RecordCopiedShape(*s.ch, s.snapshot_state, t.oid, s.shapes[t.oid]));
    }
  }

  if (!slot) {
    SS_ASSIGN_OR_RETURN(Lsn consistent_point, repl.CreateSlot(options_.slot));
    LogInfo("created slot '{}' at {}{}", options_.slot, consistent_point.ToString(),
            options_.snapshot ? "" : " (no initial snapshot: --snapshot never)");
    // A new slot starts every table from scratch: rows left by an earlier slot could be stale.
    for (const auto& t : replicated) {
      if (!options_.snapshot) break;
      SS_RETURN_IF_ERROR(s.RecordCopyOwed(t.schema, t.name));
    }
  } else {
    LogInfo("resuming slot '{}' from confirmed LSN {}", options_.slot,
            slot->confirmed_flush ? slot->confirmed_flush->ToString() : "?");
  }
  if (!options_.snapshot) {
    // No initial copies, but on an existing slot a copy recorded for a table that was stopped (or one begun) is
    // still owed.
    std::vector<pg::TableInfo> owed;
    for (const auto& t : replicated) {
      if (!slot) break;
      SS_ASSIGN_OR_RETURN(TableSnapshotState state, LoadSnapshotState(*s.ch, s.snapshot_state, t.QualifiedName()));
      if (state.started && !state.done) owed.push_back(t);
    }
    replicated = std::move(owed);
  }
  SS_RETURN_IF_ERROR(s.SnapshotTables(replicated));
  if (stop) return Status::Ok();
  if (s.outbox && s.writers.count(s.outbox_oid)) {
    // The outbox's rows a snapshot copied (the initial one: consistent with the slot's start) become events once.
    const model::TableSchema& t = s.writers.at(s.outbox_oid)->schema();
    SS_ASSIGN_OR_RETURN(uint64_t copied, s.outbox->AppendCopiedRows(*s.ch, TableWriter::TargetName(t.schema, t.name)));
    if (copied > 0) LogInfo("outbox: {} row(s) copied from {} appended as events", copied, t.QualifiedName());
  }

  if (Status st = repl.Start(options_.slot, options_.publication); !st.ok()) {
    if (!IsSlotInvalidatedError(st)) return st;
    // Invalidated since it was looked up: the next session finds it lost (wal_status) and acts on it.
    if (options_.on_slot_lost == OnSlotLost::kResnapshot) {
      return Status::Retryable(fmt::format("{} (--on-slot-lost resnapshot: the next session recovers)", st.message()));
    }
    ++metrics_.slot_lost;
    return SlotLostError(SlotLoss::kInvalidated, {options_.pg_url, options_.publication, options_.slot, {}},
                         identity.dbname, "replicate", options_.on_slot_lost, "");
  }
  streamed = true;
  recovering_slot_ = false;
  return s.Stream(repl);
}

// The slot is lost (SlotLoss; OnSlotLost says why that matters). kFail: the error with the recovery steps.
// kResnapshot: every table's copy is recorded as owed (in ClickHouse) before the lost slot is dropped, so a crash
// anywhere after leaves a restart owing the copies; the caller then creates the slot anew, which (with
// --snapshot initial) truncates and copies every table again under the new slot (Snapshotter, version 0 rows;
// changes after the new slot's start win). Why the result is correct: rows deleted while the slot was lost are
// gone with the truncation; every other row is either copied as PostgreSQL has it now or changed later in the
// new slot's stream with a higher version.
Status Replicator::RecoverLostSlot(Session& s, SlotLoss loss, const std::vector<pg::TableInfo>& tables,
                                   const std::string& database) {
  // One loss counts once, also when its recovery takes more than one session (e.g. ClickHouse was briefly away).
  if (!recovering_slot_) ++metrics_.slot_lost;
  recovering_slot_ = true;
  const SlotSourceOptions source{options_.pg_url, options_.publication, options_.slot, {}};
  const std::string state = fmt::format("ClickHouse ({}._streamshop_snapshots)", options_.database);
  if (options_.on_slot_lost == OnSlotLost::kFail) {
    return SlotLostError(loss, source, database, "replicate", options_.on_slot_lost, state);
  }
  if (!options_.snapshot) {
    return SlotLostError(loss, source, database, "replicate", options_.on_slot_lost, state)
        .WithContext("--on-slot-lost resnapshot copies every table again, which --snapshot never forbids");
  }
  LogWarn("{} — --on-slot-lost resnapshot: {}creating it anew and copying every table of publication '{}' again",
          SlotLossCause(loss, source, database, state),
          loss == SlotLoss::kInvalidated ? "dropping the lost slot, " : "", options_.publication);
  for (const auto& t : tables) SS_RETURN_IF_ERROR(s.RecordCopyOwed(t.schema, t.name));
  if (loss == SlotLoss::kInvalidated) SS_RETURN_IF_ERROR(s.catalog->DropSlot(options_.slot));
  return Status::Ok();
}

Status Replicator::Session::Stream(pg::ReplicationStream& repl) {
  LogInfo("streaming changes of publication '{}' from slot '{}'", options.publication, options.slot);
  ChangeSource changes(repl, catalog->heartbeat_connection(),
                       {std::chrono::milliseconds(0), options.status_interval, options.heartbeat_interval,
                        std::chrono::seconds(10), options.slot, &metrics});
  source = &changes;
  while (true) {
    if (stop) {
      SS_RETURN_IF_ERROR(FlushAndConfirm());
      SS_RETURN_IF_ERROR(changes.SendStatus());
      progress.Finish();
      LogInfo("stopped cleanly; slot '{}' confirmed up to {} ({})", options.slot, changes.confirmed().ToString(),
              metrics.FlushSummary());
      return Status::Ok();
    }
    const bool between = !changes.in_transaction();
    SS_ASSIGN_OR_RETURN(bool ready, changes.Next(*this, batch.Wait(PendingRows(), between,
                                                                   std::chrono::milliseconds(100), Clock::now())));
    if (batch.Due(PendingRows(), PendingBytes(), !ready && !changes.in_transaction(), Clock::now())) {
      SS_RETURN_IF_ERROR(FlushAndConfirm());
    }
    SS_RETURN_IF_ERROR(changes.Tick(*this));
    SS_RETURN_IF_ERROR(Housekeeping());
    MaybePrintProgress();
  }
}

Status Replicator::Session::OnChange(const pg::PgoutputMessage& msg, Lsn lsn) {
  return std::visit(
      [&](const auto& m) -> Status {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, pg::RelationMessage>) {
          return HandleRelation(m);
        } else if constexpr (std::is_same_v<T, pg::TruncateMessage>) {
          return HandleTruncate(m);
        } else if constexpr (std::is_same_v<T, pg::InsertMessage> || std::is_same_v<T, pg::UpdateMessage> ||
                             std::is_same_v<T, pg::DeleteMessage>) {
          if (m.relid == signal_oid && signal_oid != 0) {
            if constexpr (std::is_same_v<T, pg::InsertMessage>) return OnSignalRow(m.new_tuple);
            return Status::Ok();  // updates and deletes of signal rows mean nothing
          }
          if constexpr (std::is_same_v<T, pg::InsertMessage>) {
            if (m.relid == outbox_oid && outbox_oid != 0) SS_RETURN_IF_ERROR(OnOutboxRow(m.new_tuple, lsn));
          }
          auto it = writers.find(m.relid);
          if (it == writers.end()) {
            if (skipped_tables.count(m.relid)) return Status::Ok();  // cannot be replicated (warned once)
            if (!failed_tables.count(m.relid))
              return Status::Fatal(fmt::format("change for unknown relation OID {}", m.relid));
            ++skipped_changes;
            return Status::Ok();
          }
          model::TargetTable& w = *it->second;
          metrics.CountEvent(w.schema().schema, w.schema().name, OpOf(m));
          ++rows_per_table[w.schema().name];
          if constexpr (std::is_same_v<T, pg::InsertMessage>) {
            SS_RETURN_IF_ERROR(TupleToValues(w, m.new_tuple, nullptr));
            if (std::find(unchanged.begin(), unchanged.end(), true) != unchanged.end()) {
              // A row entering a row filter: PostgreSQL left out its unchanged TOASTed values.
              SS_RETURN_IF_ERROR(
                  catalog->ReadUnchangedValues(sources.at(m.relid), values, unchanged, unchanged_source));
            }
            return w.AppendRow(values, lsn.value, false);
          } else if constexpr (std::is_same_v<T, pg::DeleteMessage>) {
            SS_RETURN_IF_ERROR(TupleToValues(w, m.old_tuple, nullptr));
            return w.AppendRow(values, lsn.value, true);
          } else {
            // The old key, when sent: deleted if the key changed, and where unchanged TOAST values live.
            RowValues old_key_values;
            if (m.old_kind != 0) {
              SS_RETURN_IF_ERROR(TupleToValues(w, m.old_tuple, nullptr));
              old_key_values = values;
            }
            SS_RETURN_IF_ERROR(TupleToValues(w, m.new_tuple, m.old_kind == 'O' ? &m.old_tuple : nullptr));
            // Compared as ClickHouse keys them (encoded bytes): a rendering like "a=x, b=y" is ambiguous. A table
            // identified by all its values (no key) always replaces the old row.
            const bool key_changed = m.old_kind != 0 && (w.schema().identity == model::RowIdentity::kFullRow ||
                                                         !w.SameKey(values, old_key_values));
            if (key_changed) SS_RETURN_IF_ERROR(w.AppendRow(old_key_values, lsn.value, true));
            if (std::find(unchanged.begin(), unchanged.end(), true) != unchanged.end()) {
              return w.AppendRowWithUnchanged(values, unchanged, key_changed ? old_key_values : values, lsn.value);
            }
            return w.AppendRow(values, lsn.value, false);
          }
        } else if constexpr (std::is_same_v<T, pg::BeginMessage>) {
          txn_commit_lsn = m.final_lsn;
          txn_commit_time = m.commit_time;
          txn_outbox_inserts = 0;
        } else if constexpr (std::is_same_v<T, pg::LogicalMessage>) {
          if (m.prefix != kHeartbeatPrefix) messages->Append(m.lsn.value, m.transactional, m.prefix, m.content);
        }
        return Status::Ok();  // Begin, Commit (the source keeps track), Origin and Type: nothing to store
      },
      msg);
}

Status Replicator::Session::TupleToValues(const model::TargetTable& w, const pg::Tuple& tuple,
                                          const pg::Tuple* old_full) {
  const auto& cols = w.schema().columns;
  if (tuple.size() != cols.size()) {
    return Status::Fatal(fmt::format("table {}: change has {} columns but the table has {}", w.schema().QualifiedName(),
                                     tuple.size(), cols.size()));
  }
  values.resize(cols.size());
  unchanged.assign(cols.size(), false);
  for (size_t i = 0; i < cols.size(); ++i) {
    const pg::TupleValue* v = &tuple[i];
    if (v->kind == pg::TupleValue::Kind::kUnchangedToast && old_full && i < old_full->size()) v = &(*old_full)[i];
    switch (v->kind) {
      case pg::TupleValue::Kind::kNull:
        values[i] = std::nullopt;
        break;
      case pg::TupleValue::Kind::kText:
        values[i] = v->data;
        break;
      case pg::TupleValue::Kind::kUnchangedToast:  // resolved from ClickHouse when flushed (TableWriter)
        values[i] = std::nullopt;
        unchanged[i] = true;
        break;
      case pg::TupleValue::Kind::kBinary:
        return Status::Fatal(fmt::format("table {}: unexpected binary tuple value", w.schema().QualifiedName()));
    }
  }
  return Status::Ok();
}

Status Replicator::Session::HandleRelation(const pg::RelationMessage& rel) {
  if (rel.relid == signal_oid && signal_oid != 0) {
    std::vector<std::string> names;
    for (const auto& c : rel.columns) names.push_back(c.name);
    // Altered while streaming: never fatal; its rows are read as well as its columns allow (and logged).
    if (Status st = SetSignalColumns(names); !st.ok()) LogError("{}", st.message());
    return Status::Ok();
  }
  if (user_stopped.count(rel.relid)) return Status::Ok();  // its shape is read again when it resumes
  auto it = writers.find(rel.relid);
  // The Relation message does not say whether a column is NOT NULL: where ClickHouse has a column that is not
  // Nullable (modern servers), the catalog says whether it still may be (DROP NOT NULL sends a Relation).
  const bool same_columns = it != writers.end() && SameColumns(sources.at(rel.relid), rel);
  if (same_columns && !it->second->HoldsNotNull()) return Status::Ok();
  auto announced = TableFromRelation(*catalog, options.publication, rel);
  if (announced.ok() && !*announced) return Status::Ok();  // a partition whose changes come as its root's
  if (same_columns) {
    // Nothing the stream shows changed: keep the table as it is unless the catalog says a column may now be NULL
    // (a table dropped since keeps streaming its last changes, as before).
    if (!announced.ok() && announced.status().retryable()) return announced.status();
    if (!announced.ok() || SameColumns(sources.at(rel.relid), **announced)) return Status::Ok();
  }
  const Result<pg::TableInfo> table =
      announced.ok() ? Result<pg::TableInfo>(std::move(**announced)) : Result<pg::TableInfo>(announced.status());
  // A new table or changed columns: flush what was encoded under the old shape first.
  SS_RETURN_IF_ERROR(FlushAll());
  if (!table.ok() || !table->skipped()) {
    LogInfo("relation {}.{} ({} columns) announced; ensuring its ClickHouse table", rel.nspname, rel.relname,
            rel.columns.size());
  }
  stopped_retries.erase(rel.relid);  // the stream's own shape of the table supersedes a retry's
  shape_changes.erase(rel.relid);    // and a catalog shape read earlier
  return ApplyShape(rel.relid, TableWriter::SourceKey(rel.nspname, rel.relname), table);
}

// The one place a table takes a new shape: from its Relation message, or from the catalog when no Relation
// comes (CatchUpSchemaChanges). Nothing of the table may be pending.
Status Replicator::Session::ApplyShape(uint32_t oid, const std::string& name, const Result<pg::TableInfo>& table) {
  auto it = writers.find(oid);
  const bool known = it != writers.end();
  const std::vector<pg::ColumnInfo> previous_columns = known ? sources.at(oid).columns : std::vector<pg::ColumnInfo>{};
  const bool was_stopped = failed_tables.count(oid) > 0;
  SS_ASSIGN_OR_RETURN(bool replicated, PrepareTable(oid, name, table));
  if (!replicated) return Status::Ok();
  if (was_stopped) return RecopyResumedTable(*table);
  if (!known) return CopyNewTable(*table);
  if (!options.snapshot) return Status::Ok();
  // Rows identified by all their values: after a column is dropped or retyped (the text of a value may change),
  // changes no longer match the stored rows' hashes.
  if (table->identity == model::RowIdentity::kFullRow) {
    for (const auto& old : previous_columns) {
      bool same = false;
      for (const auto& c : table->columns)
        same |= c.name == old.name && c.type_oid == old.type_oid && c.typmod == old.typmod;
      if (same) continue;
      return RecopyTable(*table, fmt::format("column {} of {}, whose rows are identified by all their values, was "
                                             "dropped or changed",
                                             old.name, table->QualifiedName()));
    }
  }
  // A column whose existing values the target rewrote in its own form (a float or decimal column turned into
  // text: ClickHouse writes 1e+20 as 100000000000000000000; an array column made nullable): copy the table again,
  // so they hold PostgreSQL's text.
  if (!rewritten_column.empty()) {
    return RecopyTable(*table, fmt::format("column {} of {} became text (existing rows must hold PostgreSQL's text)",
                                           rewritten_column, table->QualifiedName()));
  }
  // A column added with a default, or an existing one the column list now publishes, gives existing rows values
  // that no change carries: copy the table again.
  for (const auto& c : table->columns) {
    bool added = true;
    for (const auto& old : previous_columns) added &= old.name != c.name;
    if (!added) continue;
    SS_ASSIGN_OR_RETURN(bool has_default, catalog->ColumnHasDefault(oid, c.name));
    if (!has_default) continue;
    return RecopyTable(*table, fmt::format("column {} was added to {} with a default or with values (also: newly in "
                                           "the publication's column list; existing rows get them)",
                                           c.name, table->QualifiedName()));
  }
  return Status::Ok();
}

Status Replicator::Session::HandleTruncate(const pg::TruncateMessage& t) {
  SS_RETURN_IF_ERROR(FlushAll());
  for (uint32_t relid : t.relids) {
    auto it = writers.find(relid);
    if (it == writers.end()) continue;
    const model::TableSchema& t = it->second->schema();
    metrics.CountEvent(t.schema, t.name, EventOp::kTruncate);
    SS_RETURN_IF_ERROR(target->Truncate(t.schema, t.name));
  }
  return Status::Ok();
}

}  // namespace streamshop::pipeline
