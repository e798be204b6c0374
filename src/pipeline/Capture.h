// `streamshop capture`: PostgreSQL logical replication (pgoutput) → Kafka topics in Debezium's format, the source
// half of the Kafka topology (replaces Debezium on Kafka Connect).
//
// Same slot and stream handling as `replicate`: each change becomes Debezium records (debezium/DebeziumEncoder) on
// `<prefix>.<schema>.<table>`, produced with librdkafka's idempotent producer (acks=all). The slot's confirmed LSN
// moves only to the end of a transaction all of whose records — and all records before them — have successful
// delivery reports. Any failed delivery ends the session; the next one resumes from the slot, so a record may be
// produced twice (same key, same source.lsn: the sink's versions make that harmless) but never lost.
//
// Initial snapshot: tables are read after the slot exists by the Snapshotter (parallel ctid-range chunks) and
// produced as op `r` events (the sink stores them with version 0, so any streamed change wins — see
// Snapshotter.h for why that is correct), all delivered before streaming starts. Progress is kept in the state
// topic `<prefix>._streamshop_capture_state` (KafkaSnapshotTarget: a chunk is recorded only once Kafka stored its
// records), so a restart — even after kill -9 — sends only the chunks not yet acknowledged. Not thread-safe;
// Run() blocks.
//
// Exactly once (`exactly_once`, capture --exactly-once): the session's producer is transactional (transactional.id
// `transactional_id`, by default "streamshop-capture-<slot>"; the snapshot workers' are "<id>-snapshot-<n>" and
// "<id>-snapshot-control"). The records of whole PostgreSQL transactions — several per Kafka transaction, bounded
// by `transaction_interval` and `transaction_max_records` — and the position record (CapturePosition.h) commit in one
// Kafka transaction; the slot is confirmed only after that commit. A session starts by fencing every earlier
// producer of these ids (init_transactions aborts their open transactions), reads the position read_committed and
// skips the replayed transactions Kafka already holds. Snapshot chunks commit each in one transaction with their
// chunk record. So a read_committed consumer sees every record exactly once through kill -9 at any point.
//
// Seams (CaptureSeams): each session opens its PostgreSQL side (SourceCatalog.h, as `replicate` does), makes its
// producers (its own and the snapshot workers') and reads the state topic through factories, the real ones by
// default; tests/unit/capture_session_test.cc drives a session with a scripted slot and a fake producer. The
// snapshot's readers (Snapshotter) connect on their own: tests run with `snapshot = false`.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/Status.h"
#include "debezium/OutboxRouter.h"
#include "kafka/KafkaConfig.h"
#include "kafka/KafkaConsumer.h"
#include "kafka/KafkaProducer.h"
#include "pipeline/Progress.h"
#include "pipeline/SourceCatalog.h"

namespace streamshop::pipeline {

struct CaptureOptions {
  std::string pg_url;
  std::string brokers;
  kafka::KafkaProps kafka_props;  // passed to librdkafka over our defaults (TLS, SASL, tuning)
  std::string topic_prefix = "streamshop";
  std::string publication = "streamshop";
  std::string slot = "streamshop_capture";
  std::vector<std::string> tables;  // publication tables when creating it; empty = all of schema public
  int partitions = 1;               // for topics capture creates
  int replication_factor = 1;
  bool tombstones = true;  // a tombstone (null value) after each delete
  bool schemas = true;     // {"schema":…,"payload":…} like JsonConverter schemas.enable=true
  bool snapshot = true;
  int snapshot_workers = 2;             // parallel snapshot connections (and producers)
  int64_t snapshot_chunk_pages = 4096;  // heap pages per snapshot chunk
  bool progress = false;
  std::chrono::milliseconds ack_interval{200};  // how often delivered positions are confirmed to the slot
  std::chrono::seconds status_interval{10};
  std::chrono::seconds heartbeat_interval{10};  // 0 = no heartbeats
  // The slot lost (invalidated, or missing while the state topic holds this slot's snapshot state): capture stops
  // with the steps by hand either way (it cannot re-snapshot by itself: consumers would keep deleted rows).
  OnSlotLost on_slot_lost = OnSlotLost::kFail;
  bool exactly_once = false;
  std::string transactional_id;                         // empty: "streamshop-capture-<slot>"
  std::chrono::milliseconds transaction_interval{100};  // a Kafka transaction commits at most this long after it began
  int64_t transaction_max_records = 50'000;             // … or once it holds this many records (at a PG commit)
  // --outbox-table SCHEMA.TABLE: that table's inserts (and snapshot rows) go to the topics debezium::OutboxRouter
  // routes them to, like Debezium's EventRouter; its updates, deletes and truncates send nothing, and nothing goes
  // to its <prefix>.<schema>.<table> topic. Empty = no outbox. `outbox.schemas_enable` follows `schemas`.
  std::string outbox_table;
  debezium::OutboxRouterOptions outbox;
};

// The transactional.id of `options` (exactly_once): its own, or "streamshop-capture-<slot>".
std::string CaptureTransactionalId(const CaptureOptions& options);

// The clients of one capture session, built anew for every session. Defaults: OpenSlotSession (PostgreSQL over
// libpq), librdkafka's producer, the state topic read with a librdkafka consumer.
struct CaptureSeams {
  std::function<Result<SlotSession>(const SlotSourceOptions&)> open_source = OpenSlotSession;
  // The session's producer, and one per snapshot worker.
  std::function<Result<std::unique_ptr<kafka::Producer>>(const kafka::ProducerOptions&)> producer =
      kafka::MakeKafkaProducer;
  // Key and value of every record of a topic, oldest first (kafka::ReadWholeTopic): the state topic at start.
  std::function<Result<std::vector<std::pair<std::string, std::string>>>(
      const std::string& brokers, const kafka::KafkaProps& props, const std::string& topic)>
      read_topic = kafka::ReadWholeTopic;
};

class Capture {
 public:
  explicit Capture(CaptureOptions options, CaptureSeams seams = {});
  ~Capture();

  // Runs until `stop` is set (waits for outstanding deliveries, acknowledges, returns Ok) or a Fatal error.
  Status Run(const std::atomic<bool>& stop);
  const Metrics& metrics() const { return metrics_; }

 private:
  struct Session;
  CaptureOptions options_;
  CaptureSeams seams_;
  Metrics metrics_;
};

}  // namespace streamshop::pipeline
