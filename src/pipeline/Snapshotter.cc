#include "pipeline/Snapshotter.h"

#include <fmt/format.h>

#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "clickhouse/TableWriter.h"
#include "clickhouse/TargetSchema.h"
#include "common/Log.h"
#include "pg/CopyTextParser.h"

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

// Inserts a worker's batches into ClickHouse on a second thread while the worker reads and encodes the next
// batch, so the COPY from PostgreSQL and the insert into ClickHouse overlap. One batch is in flight at a time,
// so batches are inserted in the order submitted.
class BatchInserter {
 public:
  using After = std::function<Status(clickhouse::ClickHouseClient&)>;
  explicit BatchInserter(const clickhouse::Endpoint& endpoint) : ch_(clickhouse::MakeClickHouseClient(endpoint)) {}

  // Waits for the batch in flight, then starts inserting `batch`; `after` (if any) runs once it is stored.
  Status Submit(std::unique_ptr<clickhouse::TableWriter> batch, After after = nullptr) {
    SS_RETURN_IF_ERROR(Wait());
    in_flight_ = std::async(std::launch::async, [this, batch = std::move(batch), after = std::move(after)] {
      SS_RETURN_IF_ERROR(batch->Flush(*ch_));
      return after ? after(*ch_) : Status::Ok();
    });
    return Status::Ok();
  }
  // The outcome of the batch in flight (Ok if none).
  Status Wait() { return in_flight_.valid() ? in_flight_.get() : Status::Ok(); }

 private:
  std::unique_ptr<clickhouse::ClickHouseClient> ch_;
  std::future<Status> in_flight_;  // declared last: its destructor waits for the insert before ch_ goes
};

}  // namespace

Snapshotter::Snapshotter(SnapshotOptions options, clickhouse::Dialect dialect)
    : options_(std::move(options)), dialect_(dialect) {}

Status Snapshotter::Run(const std::vector<pg::TableInfo>& tables, const std::atomic<bool>& stop,
                        const std::function<Status()>& tick) {
  auto ch = clickhouse::MakeClickHouseClient(options_.clickhouse);
  SS_ASSIGN_OR_RETURN(pg::PgConnection pg, pg::PgConnection::Connect(options_.pg_url));
  SS_RETURN_IF_ERROR(clickhouse::EnsureSnapshotStateTable(*ch, options_.state));

  // Plan: the chunks of every table not yet done, minus those an earlier run copied.
  std::deque<Chunk> chunks;
  std::vector<const pg::TableInfo*> copied;
  // Per copied table, a writer encoding for the ClickHouse column types found (e.g. a column widened to String
  // before the type went back): batches are copies of it.
  std::vector<std::unique_ptr<clickhouse::TableWriter>> prototypes;
  progress_.clear();
  for (const auto& t : tables) {
    SS_ASSIGN_OR_RETURN(
        clickhouse::TableSnapshotState state,
        clickhouse::LoadSnapshotState(*ch, options_.state, clickhouse::TableWriter::SourceKey(t.schema, t.name)));
    if (state.done) continue;
    auto prototype = std::make_unique<clickhouse::TableWriter>(t, dialect_, options_.state.database);
    clickhouse::TableWriter& writer = *prototype;
    SS_RETURN_IF_ERROR(clickhouse::ReconcileTargetTable(*ch, writer, /*apply_changes=*/false));
    if (!state.started || state.chunk_pages <= 0) {
      state.chunk_pages = options_.chunk_pages;
      state.chunks_done.clear();
      SS_RETURN_IF_ERROR(clickhouse::RecordSnapshotState(*ch, options_.state,
                                                         clickhouse::TableWriter::SourceKey(t.schema, t.name),
                                                         clickhouse::kSnapshotReset, state.chunk_pages, 0));
    }
    const int64_t chunk_pages = state.chunk_pages;
    if (state.chunks_done.empty()) SS_RETURN_IF_ERROR(clickhouse::TruncateTarget(*ch, writer));
    SS_ASSIGN_OR_RETURN(pg::PgResultPtr size,
                        pg.Exec("SELECT pg_relation_size($1::oid) / current_setting('block_size')::int8, "
                                "greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = $1::oid",
                                {std::to_string(t.oid)}));
    if (PQntuples(size.get()) != 1) return Status::Fatal(fmt::format("table {} disappeared", t.QualifiedName()));
    const int64_t pages = std::stoll(PQgetvalue(size.get(), 0, 0));
    auto p = std::make_unique<SnapshotProgress>();
    p->table = clickhouse::TableWriter::SourceKey(t.schema, t.name);
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
    LogInfo("snapshot of {}: ~{} rows in {} chunk(s){}", p->table, p->estimated_rows, p->chunks_total,
            p->chunks_skipped ? fmt::format(", {} already copied by an earlier run", p->chunks_skipped) : "");
    copied.push_back(&t);
    prototypes.push_back(std::move(prototype));
    progress_.push_back(std::move(p));
  }
  if (copied.empty()) return Status::Ok();

  WorkQueue queue(std::move(chunks));
  std::atomic<int> running{options_.workers};
  auto worker = [&]() {
    Status st = [&]() -> Status {
      BatchInserter inserter(options_.clickhouse);
      SS_ASSIGN_OR_RETURN(pg::PgConnection wpg, pg::PgConnection::Connect(options_.pg_url));
      pg::CopyTextParser parser;
      Chunk c;
      while (!stop && queue.Pop(c)) {
        pg::TableInfo table = *copied[c.table];
        SnapshotProgress& prog = *progress_[c.table];
        uint64_t rows = 0;
        // Columns dropped since the stream's point (DDL later in the WAL) read as NULL; the lock keeps them so.
        SS_RETURN_IF_ERROR(wpg.Exec("BEGIN").status());
        SS_RETURN_IF_ERROR(wpg.Exec("LOCK TABLE " + table.QuotedName() + " IN ACCESS SHARE MODE").status());
        SS_RETURN_IF_ERROR(pg::MarkDroppedColumns(wpg, table));
        auto new_batch = [&] { return std::make_unique<clickhouse::TableWriter>(*prototypes[c.table]); };
        auto batch = new_batch();
        SS_RETURN_IF_ERROR(wpg.CopyOut(ChunkCopySql(table, c), [&](std::string_view line) -> Status {
          SS_ASSIGN_OR_RETURN(auto fields, parser.Parse(line));
          SS_RETURN_IF_ERROR(batch->AppendRow(*fields, /*version=*/0, /*deleted=*/false));
          ++rows;
          ++prog.rows;
          if (batch->pending_rows() >= options_.batch_rows || batch->pending_bytes() >= options_.batch_bytes) {
            SS_RETURN_IF_ERROR(inserter.Submit(std::exchange(batch, new_batch())));
          }
          return stop ? Status::Retryable("snapshot interrupted") : Status::Ok();
        }));
        SS_RETURN_IF_ERROR(wpg.Exec("COMMIT").status());
        // The chunk counts as copied once its last batch, and so every earlier one, is stored.
        SS_RETURN_IF_ERROR(inserter.Submit(std::move(batch), [&prog, &opts = options_, c, rows](auto& ch) -> Status {
          SS_RETURN_IF_ERROR(clickhouse::RecordSnapshotState(ch, opts.state, prog.table, c.index, 0, rows));
          if (++prog.chunks_done + prog.chunks_skipped == prog.chunks_total) {
            SS_RETURN_IF_ERROR(clickhouse::RecordSnapshotState(ch, opts.state, prog.table,
                                                               clickhouse::kSnapshotTableDone, 0, prog.rows));
            LogInfo("snapshot of {} done: {} rows copied", prog.table, prog.rows.load());
          }
          return Status::Ok();
        }));
      }
      SS_RETURN_IF_ERROR(inserter.Wait());
      return Status::Ok();
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
