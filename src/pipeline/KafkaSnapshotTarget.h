// The Snapshotter's target for `capture`: rows as Debezium op `r` records on the tables' topics, progress in
// the state topic <prefix>._streamshop_capture_state (one partition, read whole at start, oldest first).
//
// State records, key → value (<table> is debezium::CaptureStateKey: system id/database/slot/schema.table):
//   <table>            → "reset"                         a fresh snapshot starts: all recorded before it is void
//   <table>/chunk/<i>  → "chunk_pages=<n> rows=<r>"      chunk i (heap pages [i × n, (i + 1) × n)) is delivered
//   <table>            → "done"                          the table's snapshot is complete
// Keys of chunks are their own, so the latest record per key (what log compaction keeps) still tells the same
// story read in order. "reset" and "done" are what earlier versions wrote (one COPY per table); they keep working.
//
// Each sink (one per worker) owns an idempotent producer (acks=all): a chunk is recorded only after the
// producer reported the delivery of all its records — and all records before them (DeliveredPrefix); the table
// is recorded done after its last chunk. A crash loses at most the chunks in flight, which the restart sends
// again (the sink's versions make duplicates harmless); a sink waits rather than have more than 20,000 records
// undelivered, so that is little.
//
// Transactional (`transactional_id` set, capture --exactly-once): each sink's producer is transactional (id
// "<transactional_id>-snapshot-<n>", n < workers), each chunk's rows and its chunk record commit in one Kafka
// transaction ("done" in the next), and resets go through a producer of its own ("<id>-snapshot-control"). A crash
// then neither duplicates nor loses a row for read_committed consumers: an unfinished chunk's transaction is aborted
// (by the next run's init_transactions, or the broker's transaction timeout) and sent again.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kafka/KafkaConfig.h"
#include "kafka/KafkaProducer.h"
#include "pipeline/Snapshotter.h"

namespace streamshop::pipeline {

struct KafkaSnapshotOptions {
  std::string brokers;
  kafka::KafkaProps props;  // of the sinks' producers
  std::string state_topic;
  std::function<std::string(const pg::TableInfo&)> state_key;  // <table> above
  // Encodes one row of `table` as op r and produces its records (or dead letters) with `to`. Called on the
  // worker threads concurrently; `scratch` is the calling worker's.
  std::function<Status(kafka::Producer& to, std::vector<kafka::KafkaRecord>& scratch, const pg::TableInfo& table,
                       const SnapshotRow& row)>
      emit;
  // Makes each sink's producer (a seam: CaptureSeams::producer).
  std::function<Result<std::unique_ptr<kafka::Producer>>(const kafka::ProducerOptions&)> make_producer =
      kafka::MakeKafkaProducer;
  std::string transactional_id = {};  // non-empty: transactional (above)
  int workers = 1;                    // sinks open at once at most (ids "<transactional_id>-snapshot-<n % workers>")
};

// The transactional ids the snapshot of capture `transactional_id` uses with `workers` workers: what a new session
// fences before reading the state topic.
std::vector<std::string> SnapshotTransactionalIds(const std::string& transactional_id, int workers);

// Applies one state record (key, value) to the tables' states by <table> key; records of other kinds are
// ignored. Pure: what Load sees after the state topic's records are applied oldest first.
void ApplyCaptureStateRecord(std::map<std::string, SnapshotTableState>& states, const std::string& key,
                             const std::string& value);

class KafkaSnapshotTarget : public SnapshotTarget {
 public:
  // `control`: the producer state records of Run()'s thread (resets) go through; `records`: the state topic.
  KafkaSnapshotTarget(KafkaSnapshotOptions options, const std::unique_ptr<kafka::Producer>& control,
                      const std::vector<std::pair<std::string, std::string>>& records);

  std::string Key(const pg::TableInfo& table) const override;
  Result<SnapshotTableState> Load(const pg::TableInfo& table) override;
  // Writes "reset" and waits until Kafka stored it.
  Status RecordReset(const pg::TableInfo& table, int64_t chunk_pages) override;
  Status BeginTable(const pg::TableInfo& table, const SnapshotTableState& state) override;
  Result<std::unique_ptr<SnapshotSink>> OpenSink() override;

  // Keeps a record a sink delivered in the state Load reads (thread-safe).
  void Apply(const std::string& key, const std::string& value);
  int64_t ChunkPages(uint32_t oid);
  const KafkaSnapshotOptions& options() const { return options_; }

 private:
  KafkaSnapshotOptions options_;
  const std::unique_ptr<kafka::Producer>& control_;
  std::mutex mu_;
  std::map<std::string, SnapshotTableState> states_;  // by <table>
  std::map<uint32_t, int64_t> chunk_pages_;           // by OID, of the tables being copied
  int next_sink_ = 0;                                 // guarded by mu_
  std::unique_ptr<kafka::Producer> reset_producer_;   // transactional: resets' (Run()'s thread)
};

}  // namespace streamshop::pipeline
