// `streamshop sink`: Kafka topics of Debezium change events (from `capture` or from real Debezium, JSON with or
// without schemas) → ClickHouse analytics.raw_*, the other half of the Kafka topology.
//
// A member of a consumer group: several sinks with the same --group split the partitions. Each event becomes one
// row with `_version` = source.lsn (0 for snapshot `r` events, so any streamed change wins) and `_deleted`; tables
// are created and evolved from the events' Connect schemas (schemaless events need the table to be known from an
// earlier event with schema). Rows are batched by pipeline/BatchPolicy.h (stored as soon as the consumer has nothing
// more ready, else by count, bytes and age; every point between records is a boundary); consumer offsets are
// committed only after ClickHouse acknowledged every row before them (and the dead-letter topic every record before
// them). Replays after a crash are harmless: same key, same version.
//
// Records are not trusted: a record is stored only for the table its topic stands for (debezium/TopicNames.h; or for
// any table with route_by_source, for topic-routing setups), with a possible source.lsn (pipeline/LsnGuard.h), and
// with Debezium's unavailable-value placeholder only where Debezium can send it — an update's after image.
// A record that breaks a rule, or cannot be parsed or mapped, goes to the dead-letter topic with headers `reason`,
// `source.topic`, `source.partition`, `source.offset`, and the sink goes on. Not thread-safe; Run() blocks.
//
// Seams (SinkSeams): each session builds its consumer, dead-letter producer and ClickHouse client through factories,
// the real clients by default; unit tests (tests/unit/sink_session_test.cc) inject doubles. A rebalance reaches the
// sink only through the consumer's on_revoke hook (kafka/KafkaConsumer.h), which the factory receives.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "clickhouse/ClickHouseClient.h"
#include "common/Status.h"
#include "debezium/DebeziumTypes.h"
#include "kafka/KafkaConfig.h"
#include "kafka/KafkaConsumer.h"
#include "kafka/KafkaProducer.h"
#include "pipeline/Progress.h"

namespace streamshop::pipeline {

struct SinkOptions {
  std::string brokers;
  kafka::KafkaProps kafka_props;
  std::string group = "streamshop-sink";
  std::string topics_regex = R"(^streamshop\.[^.]+\.[^.]+$)";
  clickhouse::Endpoint clickhouse;
  std::string database = "analytics";
  std::string dead_letter_topic = "streamshop.dead_letter";
  size_t batch_rows = 200'000;
  size_t batch_bytes = 32 << 20;
  std::chrono::milliseconds flush_interval{200};
  size_t max_message_bytes = 16u << 20;
  bool route_by_source = false;        // take the table from source.schema/table whatever the topic
  uint64_t max_lsn_jump = 1ull << 40;  // LsnGuard's max_jump_bytes; 0 = only the absolute rules
  bool progress = false;
  // The connector's value settings where the records' schemas do not say them (debezium/DebeziumTypes.h).
  debezium::DebeziumModes debezium_modes;
};

// The clients of one sink session, built anew for every session (a session after a Retryable error starts with fresh
// ones). Defaults: librdkafka's consumer and producer, ClickHouse over CurlTransport.
struct SinkSeams {
  // Receives the subscription and the on_revoke hook: the consumer calls it, while polling, before it takes
  // partitions away.
  std::function<Result<std::unique_ptr<kafka::Consumer>>(kafka::ConsumerOptions)> consumer = kafka::MakeKafkaConsumer;
  std::function<Result<std::unique_ptr<kafka::Producer>>(const kafka::ProducerOptions&)> dead_letter_producer =
      kafka::MakeKafkaProducer;
  std::function<std::unique_ptr<clickhouse::ClickHouseClient>(const clickhouse::Endpoint&)> clickhouse =
      clickhouse::MakeClickHouseClient;
};

class Sink {
 public:
  explicit Sink(SinkOptions options, SinkSeams seams = {});
  ~Sink();

  // Runs until `stop` is set (stores, commits and returns Ok) or a Fatal error.
  Status Run(const std::atomic<bool>& stop);
  const Metrics& metrics() const { return metrics_; }

 private:
  struct Session;
  SinkOptions options_;
  SinkSeams seams_;
  Metrics metrics_;
};

}  // namespace streamshop::pipeline
