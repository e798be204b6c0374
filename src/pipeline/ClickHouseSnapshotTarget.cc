#include "pipeline/ClickHouseSnapshotTarget.h"

#include <future>

#include "clickhouse/TargetSchema.h"

namespace streamshop::pipeline {
namespace {

// Inserts a worker's batches into ClickHouse on a second thread while the worker reads and encodes the next
// batch, so the COPY from PostgreSQL and the insert into ClickHouse overlap. One batch is in flight at a time,
// so batches are inserted in the order submitted.
class BatchInserter {
 public:
  using After = std::function<Status(clickhouse::ClickHouseClient&)>;
  BatchInserter(const clickhouse::Endpoint& endpoint, Metrics* metrics)
      : ch_(clickhouse::MakeClickHouseClient(endpoint)), metrics_(metrics) {}

  // Waits for the batch in flight, then starts inserting `batch`; `after` (if any) runs once it is stored.
  Status Submit(std::unique_ptr<clickhouse::TableWriter> batch, After after = nullptr) {
    SS_RETURN_IF_ERROR(Wait());
    in_flight_ = std::async(std::launch::async, [this, batch = std::move(batch), after = std::move(after)] {
      SS_RETURN_IF_ERROR(batch->Flush(*ch_));
      if (metrics_) metrics_->CountDeadLetters(DeadLetterReason::kValue, batch->TakeStoredDeadLetters());
      return after ? after(*ch_) : Status::Ok();
    });
    return Status::Ok();
  }
  // The outcome of the batch in flight (Ok if none).
  Status Wait() { return in_flight_.valid() ? in_flight_.get() : Status::Ok(); }

 private:
  std::unique_ptr<clickhouse::ClickHouseClient> ch_;
  Metrics* metrics_;
  std::future<Status> in_flight_;  // declared last: its destructor waits for the insert before ch_ goes
};

class ClickHouseSink : public SnapshotSink {
 public:
  ClickHouseSink(const ClickHouseSnapshotOptions& options,
                 const std::map<uint32_t, std::unique_ptr<clickhouse::TableWriter>>& prototypes)
      : options_(options), prototypes_(prototypes), inserter_(options.clickhouse, options.metrics) {}

  Status BeginChunk(const pg::TableInfo& table) override {
    prototype_ = prototypes_.at(table.oid).get();
    key_ = clickhouse::TableWriter::SourceKey(table.schema, table.name);
    batch_ = std::make_unique<clickhouse::TableWriter>(*prototype_);
    return Status::Ok();
  }
  Status Write(const SnapshotRow& row) override {
    SS_RETURN_IF_ERROR(batch_->AppendRow(row, /*version=*/0, /*deleted=*/false));
    if (batch_->pending_rows() >= options_.batch_rows || batch_->pending_bytes() >= options_.batch_bytes) {
      SS_RETURN_IF_ERROR(
          inserter_.Submit(std::exchange(batch_, std::make_unique<clickhouse::TableWriter>(*prototype_))));
    }
    return Status::Ok();
  }
  Status EndChunk(int64_t chunk, uint64_t rows, std::function<std::optional<uint64_t>()> stored) override {
    // The chunk counts as copied once its last batch, and so every earlier one, is stored.
    return inserter_.Submit(
        std::move(batch_),
        [state = options_.state, key = key_, chunk, rows, stored = std::move(stored)](auto& ch) -> Status {
          SS_RETURN_IF_ERROR(clickhouse::RecordSnapshotState(ch, state, key, chunk, 0, rows));
          if (std::optional<uint64_t> total = stored()) {
            SS_RETURN_IF_ERROR(
                clickhouse::RecordSnapshotState(ch, state, key, clickhouse::kSnapshotTableDone, 0, *total));
          }
          return Status::Ok();
        });
  }
  Status Finish() override { return inserter_.Wait(); }

 private:
  const ClickHouseSnapshotOptions& options_;
  const std::map<uint32_t, std::unique_ptr<clickhouse::TableWriter>>& prototypes_;
  const clickhouse::TableWriter* prototype_ = nullptr;
  std::string key_;
  std::unique_ptr<clickhouse::TableWriter> batch_;
  BatchInserter inserter_;  // declared last: waits for the batch in flight before the rest goes
};

}  // namespace

ClickHouseSnapshotTarget::ClickHouseSnapshotTarget(ClickHouseSnapshotOptions options) : options_(std::move(options)) {}

Status ClickHouseSnapshotTarget::Connect() {
  if (ch_) return Status::Ok();
  ch_ = clickhouse::MakeClickHouseClient(options_.clickhouse);
  Status st = clickhouse::EnsureSnapshotStateTable(*ch_, options_.state);
  if (!st.ok()) ch_.reset();
  return st;
}

std::string ClickHouseSnapshotTarget::Key(const pg::TableInfo& table) const {
  return clickhouse::TableWriter::SourceKey(table.schema, table.name);
}

Result<SnapshotTableState> ClickHouseSnapshotTarget::Load(const pg::TableInfo& table) {
  SS_RETURN_IF_ERROR(Connect());
  SS_ASSIGN_OR_RETURN(clickhouse::TableSnapshotState s,
                      clickhouse::LoadSnapshotState(*ch_, options_.state, Key(table)));
  return SnapshotTableState{s.started, s.done, s.chunk_pages, std::move(s.chunks_done)};
}

Status ClickHouseSnapshotTarget::RecordReset(const pg::TableInfo& table, int64_t chunk_pages) {
  SS_RETURN_IF_ERROR(Connect());
  return clickhouse::RecordSnapshotState(*ch_, options_.state, Key(table), clickhouse::kSnapshotReset, chunk_pages, 0);
}

Status ClickHouseSnapshotTarget::BeginTable(const pg::TableInfo& table, const SnapshotTableState& state) {
  SS_RETURN_IF_ERROR(Connect());
  auto prototype =
      std::make_unique<clickhouse::TableWriter>(pg::SchemaOf(table), options_.dialect, options_.state.database);
  SS_RETURN_IF_ERROR(clickhouse::ReconcileTargetTable(*ch_, *prototype, /*apply_changes=*/false));
  if (state.chunks_done.empty()) SS_RETURN_IF_ERROR(clickhouse::TruncateTarget(*ch_, *prototype));
  prototypes_[table.oid] = std::move(prototype);
  return Status::Ok();
}

Result<std::unique_ptr<SnapshotSink>> ClickHouseSnapshotTarget::OpenSink() {
  return std::unique_ptr<SnapshotSink>(std::make_unique<ClickHouseSink>(options_, prototypes_));
}

}  // namespace streamshop::pipeline
