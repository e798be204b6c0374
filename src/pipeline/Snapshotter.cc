#include "pipeline/Snapshotter.h"

#include <fmt/format.h>

#include <deque>
#include <mutex>
#include <thread>

#include "common/Log.h"
#include "pg/CopyTextParser.h"
#include "pipeline/Progress.h"

namespace streamshop::pipeline {
namespace {

struct Chunk {
  size_t table = 0;  // index into the tables being copied
  int64_t index = 0;
  int64_t first_page = 0;
  int64_t end_page = -1;  // exclusive; -1 = to the end of the table
};

std::string ChunkCopySql(const pg::TableInfo& table, const Chunk& c) {
  std::string where = fmt::format("ctid >= '({},0)'::tid", c.first_page);
  if (c.end_page >= 0) where += fmt::format(" AND ctid < '({},0)'::tid", c.end_page);
  return pg::CopySql(table, where);  // the publication's columns and row filter, within this chunk
}

// Work shared by the worker threads: a queue of chunks and the first error.
class WorkQueue {
 public:
  explicit WorkQueue(std::deque<Chunk> chunks) : chunks_(std::move(chunks)) {}
  bool Pop(Chunk& c) {
    std::lock_guard lock(mu_);
    if (chunks_.empty() || !error_.ok()) return false;
    c = chunks_.front();
    chunks_.pop_front();
    return true;
  }
  void Fail(Status st) {
    std::lock_guard lock(mu_);
    if (error_.ok()) error_ = std::move(st);
  }
  Status error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  std::mutex mu_;
  std::deque<Chunk> chunks_;
  Status error_;
};

}  // namespace

Snapshotter::Snapshotter(SnapshotOptions options, SnapshotTarget& target)
    : options_(std::move(options)), target_(target) {}

Status Snapshotter::Run(const std::vector<pg::TableInfo>& tables, const std::atomic<bool>& stop,
                        const std::function<Status()>& tick) {
  SS_ASSIGN_OR_RETURN(pg::PgConnection pg, pg::PgConnection::Connect(options_.pg_url));

  // Plan: the chunks of every table not yet done, minus those an earlier run copied.
  std::deque<Chunk> chunks;
  std::vector<const pg::TableInfo*> copied;
  progress_.clear();
  for (const auto& t : tables) {
    SS_ASSIGN_OR_RETURN(SnapshotTableState state, target_.Load(t));
    if (state.done) {
      if (options_.metrics) options_.metrics->SetSnapshotState(t.schema, t.name, SnapshotState::kDone);
      continue;
    }
    if (!state.started || state.chunk_pages <= 0) {
      state = SnapshotTableState{true, false, options_.chunk_pages, {}};
      SS_RETURN_IF_ERROR(target_.RecordReset(t, state.chunk_pages));
    }
    SS_RETURN_IF_ERROR(target_.BeginTable(t, state));
    const int64_t chunk_pages = state.chunk_pages;
    SS_ASSIGN_OR_RETURN(pg::PgResultPtr size,
                        pg.Exec("SELECT pg_relation_size($1::oid) / current_setting('block_size')::int8, "
                                "greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = $1::oid",
                                {std::to_string(t.oid)}));
    if (PQntuples(size.get()) != 1) return Status::Fatal(fmt::format("table {} disappeared", t.QualifiedName()));
    const int64_t pages = std::stoll(PQgetvalue(size.get(), 0, 0));
    auto p = std::make_unique<SnapshotProgress>();
    p->table = target_.Key(t);
    p->estimated_rows = std::stoull(PQgetvalue(size.get(), 0, 1));
    p->chunks_total = static_cast<int>(std::max<int64_t>(1, (pages + chunk_pages - 1) / chunk_pages));
    for (int64_t i = 0; i < p->chunks_total; ++i) {
      if (state.chunks_done.count(i)) {
        ++p->chunks_skipped;
        continue;
      }
      const bool last = i + 1 == p->chunks_total;
      chunks.push_back({copied.size(), i, i * chunk_pages, last ? -1 : (i + 1) * chunk_pages});
    }
    if (options_.metrics) {
      p->counters = &options_.metrics->SnapshotPlanned(t.schema, t.name, p->estimated_rows,
                                                       static_cast<uint64_t>(p->chunks_total),
                                                       static_cast<uint64_t>(p->chunks_skipped));
    }
    LogInfo("snapshot of {}: ~{} rows in {} chunk(s){}", p->table, p->estimated_rows, p->chunks_total,
            p->chunks_skipped ? fmt::format(", {} already copied by an earlier run", p->chunks_skipped) : "");
    copied.push_back(&t);
    progress_.push_back(std::move(p));
  }
  if (copied.empty()) return Status::Ok();

  WorkQueue queue(std::move(chunks));
  std::atomic<int> running{options_.workers};
  auto worker = [&]() {
    Status st = [&]() -> Status {
      SS_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotSink> sink, target_.OpenSink());
      Status outcome = [&]() -> Status {
        SS_ASSIGN_OR_RETURN(pg::PgConnection wpg, pg::PgConnection::Connect(options_.pg_url));
        pg::CopyTextParser parser;
        Chunk c;
        while (!stop && queue.Pop(c)) {
          pg::TableInfo table = *copied[c.table];
          SnapshotProgress& prog = *progress_[c.table];
          if (options_.metrics && prog.counters->snapshot_state.load() == SnapshotState::kPending) {
            options_.metrics->SetSnapshotState(table.schema, table.name, SnapshotState::kCopying);
          }
          uint64_t rows = 0, uncounted = 0;  // uncounted: rows not yet added to the metrics (every 1024)
          const auto count_rows = [&] {
            if (options_.metrics && uncounted > 0) options_.metrics->CountSnapshotRows(*prog.counters, uncounted);
            uncounted = 0;
          };
          // Columns dropped since the stream's point (DDL later in the WAL) read as NULL; the lock keeps them so.
          SS_RETURN_IF_ERROR(wpg.Exec("BEGIN").status());
          SS_RETURN_IF_ERROR(wpg.Exec("LOCK TABLE " + table.QuotedName() + " IN ACCESS SHARE MODE").status());
          SS_RETURN_IF_ERROR(pg::MarkDroppedColumns(wpg, table));
          SS_RETURN_IF_ERROR(sink->BeginChunk(table));
          Status copied_chunk = wpg.CopyOut(ChunkCopySql(table, c), [&](std::string_view line) -> Status {
            SS_ASSIGN_OR_RETURN(auto fields, parser.Parse(line));
            SS_RETURN_IF_ERROR(sink->Write(*fields));
            ++rows;
            ++prog.rows;
            if (++uncounted == 1024) count_rows();
            return stop ? Status::Retryable("snapshot interrupted") : Status::Ok();
          });
          count_rows();
          SS_RETURN_IF_ERROR(copied_chunk);
          SS_RETURN_IF_ERROR(wpg.Exec("COMMIT").status());
          SS_RETURN_IF_ERROR(sink->EndChunk(c.index, rows, [this, &prog, table]() -> std::optional<uint64_t> {
            if (prog.counters) ++prog.counters->snapshot_chunks_done;
            if (++prog.chunks_done + prog.chunks_skipped < prog.chunks_total) return std::nullopt;
            LogInfo("snapshot of {} done: {} rows copied", prog.table, prog.rows.load());
            if (options_.metrics) options_.metrics->SetSnapshotState(table.schema, table.name, SnapshotState::kDone);
            return prog.rows.load();
          }));
        }
        return Status::Ok();
      }();
      // Stopped (SIGTERM): what is stored still gets recorded. Failed: the sink goes; its unrecorded chunks
      // are copied again by the next run.
      if (!outcome.ok() && !stop) return outcome;
      return sink->Finish();
    }();
    if (!st.ok()) queue.Fail(st);
    --running;
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < options_.workers; ++i) threads.emplace_back(worker);
  Status tick_status;
  while (running > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (tick_status.ok()) tick_status = tick();
    if (!tick_status.ok()) queue.Fail(tick_status);
  }
  for (auto& t : threads) t.join();
  // Stopped or failed: a table no worker reads any more is not copying (the next run plans it again).
  for (size_t i = 0; options_.metrics && i < copied.size(); ++i) {
    if (progress_[i]->counters->snapshot_state.load() == SnapshotState::kCopying) {
      options_.metrics->SetSnapshotState(copied[i]->schema, copied[i]->name, SnapshotState::kPending);
    }
  }
  if (stop) return Status::Ok();
  return queue.error();
}

std::string Snapshotter::Describe() const {
  std::string out;
  for (const auto& p : progress_) {
    out += fmt::format(" {} {}/{} rows ({}/{} chunks)", p->table, p->rows.load(), p->estimated_rows,
                       p->chunks_done.load() + p->chunks_skipped, p->chunks_total);
  }
  return out;
}

}  // namespace streamshop::pipeline
