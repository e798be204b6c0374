// `streamshop sink`: Kafka topics of Debezium change events (from `capture` or from real Debezium, JSON with or
// without schemas) → ClickHouse analytics.raw_*, the other half of the Kafka topology.
//
// A member of a consumer group: several sinks with the same --group split the partitions. Each event becomes one
// row with `_version` = source.lsn (0 for snapshot `r` events, so any streamed change wins) and `_deleted`; tables
// are created and evolved from the events' Connect schemas (schemaless events need the table to be known from an
// earlier event with schema). Rows are batched by count, bytes and age; consumer offsets are committed only after
// ClickHouse acknowledged every row before them (and the dead-letter topic every record before them). Replays
// after a crash are harmless: same key, same version.
//
// Records are not trusted: a record is stored only for the table its topic stands for (kafka/TopicNames.h; or for
// any table with route_by_source, for topic-routing setups), with a possible source.lsn (pipeline/LsnGuard.h), and
// with Debezium's unavailable-value placeholder only where Debezium can send it — an update's after image.
// A record that breaks a rule, or cannot be parsed or mapped, goes to the dead-letter topic with headers `reason`,
// `source.topic`, `source.partition`, `source.offset`, and the sink goes on. Not thread-safe; Run() blocks.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "clickhouse/ClickHouseClient.h"
#include "common/Status.h"
#include "kafka/KafkaConfig.h"

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
};

class Sink {
 public:
  explicit Sink(SinkOptions options);
  ~Sink();

  // Runs until `stop` is set (stores, commits and returns Ok) or a Fatal error.
  Status Run(const std::atomic<bool>& stop);

 private:
  struct Session;
  SinkOptions options_;
};

}  // namespace streamshop::pipeline
