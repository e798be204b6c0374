#include "pipeline/KafkaSnapshotTarget.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <thread>

namespace streamshop::pipeline {
namespace {

constexpr std::string_view kChunkInfix = "/chunk/";
constexpr size_t kPollEveryRows = 1000;
// Records a sink may have produced but not yet seen delivered: what a crash can make the next run send again is
// bounded by this (plus the chunk in progress), and so is the producer's memory.
constexpr uint64_t kMaxUndelivered = 20'000;

int64_t NumberAfter(std::string_view text, std::string_view name) {
  int64_t n = 0;
  const size_t at = text.find(name);
  if (at != std::string_view::npos) std::from_chars(text.data() + at + name.size(), text.data() + text.size(), n);
  return n;
}

class KafkaSink : public SnapshotSink {
 public:
  KafkaSink(KafkaSnapshotTarget& target, std::unique_ptr<kafka::Producer> producer)
      : target_(target),
        options_(target.options()),
        producer_(std::move(producer)),
        transactional_(!options_.transactional_id.empty()) {}

  Status BeginChunk(const pg::TableInfo& table) override {
    if (transactional_) SS_RETURN_IF_ERROR(producer_->BeginTransaction());
    table_ = table;
    key_ = options_.state_key(table);
    chunk_pages_ = target_.ChunkPages(table.oid);
    return Status::Ok();
  }
  Status Write(const SnapshotRow& row) override {
    SS_RETURN_IF_ERROR(options_.emit(*producer_, scratch_, table_, row));
    if (++since_poll_ < kPollEveryRows) return Status::Ok();
    since_poll_ = 0;
    SS_RETURN_IF_ERROR(RecordDelivered());
    while (producer_->produced() - producer_->DeliveredPrefix() > kMaxUndelivered) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      SS_RETURN_IF_ERROR(RecordDelivered());
    }
    return Status::Ok();
  }
  Status EndChunk(int64_t chunk, uint64_t rows, std::function<std::optional<uint64_t>()> stored) override {
    if (transactional_) {
      // The chunk's record commits with its rows.
      const std::string key = fmt::format("{}{}{}", key_, kChunkInfix, chunk);
      const std::string value = fmt::format("chunk_pages={} rows={}", chunk_pages_, rows);
      SS_RETURN_IF_ERROR(producer_->Produce({options_.state_topic, key, value, {}}));
      SS_RETURN_IF_ERROR(producer_->CommitTransaction());
      target_.Apply(key, value);
      if (!stored()) return Status::Ok();
      SS_RETURN_IF_ERROR(producer_->BeginTransaction());
      SS_RETURN_IF_ERROR(producer_->Produce({options_.state_topic, key_, std::string("done"), {}}));
      SS_RETURN_IF_ERROR(producer_->CommitTransaction());
      target_.Apply(key_, "done");
      return Status::Ok();
    }
    pending_.push_back({producer_->produced(), key_, chunk, chunk_pages_, rows, std::move(stored)});
    return RecordDelivered();
  }
  Status Finish() override {
    SS_RETURN_IF_ERROR(producer_->Flush(std::chrono::minutes(5)));
    SS_RETURN_IF_ERROR(RecordDelivered());
    return producer_->Flush(std::chrono::seconds(60));
  }

 private:
  // Records every ended chunk whose records are all delivered.
  Status RecordDelivered() {
    SS_RETURN_IF_ERROR(producer_->Poll());
    const uint64_t delivered = producer_->DeliveredPrefix();
    while (!pending_.empty() && pending_.front().end_seq <= delivered) {
      Pending& p = pending_.front();
      SS_RETURN_IF_ERROR(Record(fmt::format("{}{}{}", p.key, kChunkInfix, p.chunk),
                                fmt::format("chunk_pages={} rows={}", p.chunk_pages, p.rows)));
      if (p.stored()) SS_RETURN_IF_ERROR(Record(p.key, "done"));
      pending_.pop_front();
    }
    return Status::Ok();
  }
  Status Record(const std::string& key, const std::string& value) {
    SS_RETURN_IF_ERROR(producer_->Produce({options_.state_topic, key, value, {}}));
    target_.Apply(key, value);
    return Status::Ok();
  }

  struct Pending {
    uint64_t end_seq;  // the chunk's records are delivered once DeliveredPrefix() reaches it
    std::string key;
    int64_t chunk;
    int64_t chunk_pages;
    uint64_t rows;
    std::function<std::optional<uint64_t>()> stored;
  };
  KafkaSnapshotTarget& target_;
  const KafkaSnapshotOptions& options_;
  std::unique_ptr<kafka::Producer> producer_;
  const bool transactional_;
  pg::TableInfo table_;
  std::string key_;
  int64_t chunk_pages_ = 0;
  std::vector<kafka::KafkaRecord> scratch_;
  size_t since_poll_ = 0;
  std::deque<Pending> pending_;
};

}  // namespace

std::vector<std::string> SnapshotTransactionalIds(const std::string& transactional_id, int workers) {
  std::vector<std::string> ids;
  for (int n = 0; n < workers; ++n) ids.push_back(fmt::format("{}-snapshot-{}", transactional_id, n));
  ids.push_back(transactional_id + "-snapshot-control");
  return ids;
}

void ApplyCaptureStateRecord(std::map<std::string, SnapshotTableState>& states, const std::string& key,
                             const std::string& value) {
  const size_t infix = key.rfind(kChunkInfix);
  if (infix == std::string::npos) {
    if (value == "reset") {
      states[key] = SnapshotTableState{true, false, 0, {}};
    } else if (value == "done") {
      states[key].started = true;
      states[key].done = true;
    }
    return;
  }
  SnapshotTableState& s = states[key.substr(0, infix)];
  int64_t chunk = -1;
  const char* first = key.data() + infix + kChunkInfix.size();
  const char* last = key.data() + key.size();
  if (auto r = std::from_chars(first, last, chunk); r.ptr != last || chunk < 0) return;
  const int64_t chunk_pages = NumberAfter(value, "chunk_pages=");
  if (chunk_pages <= 0) return;
  if (s.chunk_pages == 0 && s.chunks_done.empty()) s.chunk_pages = chunk_pages;
  if (s.chunk_pages != chunk_pages) return;  // of another chunk size: not a chunk of this snapshot
  s.started = true;
  s.chunks_done.insert(chunk);
}

KafkaSnapshotTarget::KafkaSnapshotTarget(KafkaSnapshotOptions options, const std::unique_ptr<kafka::Producer>& control,
                                         const std::vector<std::pair<std::string, std::string>>& records)
    : options_(std::move(options)), control_(control) {
  for (const auto& [key, value] : records) ApplyCaptureStateRecord(states_, key, value);
}

std::string KafkaSnapshotTarget::Key(const pg::TableInfo& table) const { return table.schema + "." + table.name; }

Result<SnapshotTableState> KafkaSnapshotTarget::Load(const pg::TableInfo& table) {
  std::lock_guard lock(mu_);
  auto it = states_.find(options_.state_key(table));
  return it == states_.end() ? SnapshotTableState{} : it->second;
}

Status KafkaSnapshotTarget::RecordReset(const pg::TableInfo& table, int64_t chunk_pages) {
  const std::string key = options_.state_key(table);
  if (!options_.transactional_id.empty()) {
    if (!reset_producer_) {
      SS_ASSIGN_OR_RETURN(reset_producer_,
                          options_.make_producer({options_.brokers, options_.props,
                                                  SnapshotTransactionalIds(options_.transactional_id, 0).back()}));
      SS_RETURN_IF_ERROR(reset_producer_->InitTransactions());
    }
    SS_RETURN_IF_ERROR(reset_producer_->BeginTransaction());
    SS_RETURN_IF_ERROR(reset_producer_->Produce({options_.state_topic, key, std::string("reset"), {}}));
    SS_RETURN_IF_ERROR(reset_producer_->CommitTransaction());
  } else {
    SS_RETURN_IF_ERROR(control_->Produce({options_.state_topic, key, std::string("reset"), {}}));
    SS_RETURN_IF_ERROR(control_->Flush(std::chrono::seconds(60)));
  }
  std::lock_guard lock(mu_);
  // A "reset" carries no chunk size; the chunk records after it do.
  states_[key] = SnapshotTableState{true, false, chunk_pages, {}};
  return Status::Ok();
}

Status KafkaSnapshotTarget::BeginTable(const pg::TableInfo& table, const SnapshotTableState& state) {
  std::lock_guard lock(mu_);
  chunk_pages_[table.oid] = state.chunk_pages;
  return Status::Ok();
}

Result<std::unique_ptr<SnapshotSink>> KafkaSnapshotTarget::OpenSink() {
  std::string id;
  if (!options_.transactional_id.empty()) {
    std::lock_guard lock(mu_);
    id = SnapshotTransactionalIds(options_.transactional_id, std::max(options_.workers, 1))
             .at(static_cast<size_t>(next_sink_++ % std::max(options_.workers, 1)));
  }
  SS_ASSIGN_OR_RETURN(std::unique_ptr<kafka::Producer> producer,
                      options_.make_producer({options_.brokers, options_.props, id}));
  if (!id.empty()) SS_RETURN_IF_ERROR(producer->InitTransactions());
  return std::unique_ptr<SnapshotSink>(std::make_unique<KafkaSink>(*this, std::move(producer)));
}

void KafkaSnapshotTarget::Apply(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  ApplyCaptureStateRecord(states_, key, value);
}

int64_t KafkaSnapshotTarget::ChunkPages(uint32_t oid) {
  std::lock_guard lock(mu_);
  return chunk_pages_.at(oid);
}

}  // namespace streamshop::pipeline
