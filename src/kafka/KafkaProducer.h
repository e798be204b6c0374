// Producing records to a Kafka-API broker, behind a narrow interface so pipelines can be tested with a double.
//
// Delivery tracking: every Produce() gets the next sequence number (0, 1, 2, …). DeliveredPrefix() is the
// number of leading records whose delivery reports all succeeded: every record with a smaller sequence is stored
// by the broker (acks=all). A failed delivery is reported once by Poll()/Flush() as a Retryable Status; the
// prefix never moves past it, so the caller restarts from its own durable position and nothing is lost.
// Not thread-safe: delivery reports are served on the thread that calls Poll(), Produce() or Flush().
//
// Transactions (ProducerOptions::transactional_id set): InitTransactions() once (it fences any earlier producer
// of the same id: its open transaction is aborted and it can no longer commit), then every Produce() inside
// BeginTransaction() … CommitTransaction(). A record is visible to read_committed consumers only once its
// transaction committed; CommitTransaction() flushes first. A failed commit or abort is Retryable (the caller
// starts a new session, which fences this producer), or Fatal when the broker cannot do transactions. A
// producer without a transactional id refuses the transactional calls (Fatal).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/Status.h"
#include "kafka/KafkaConfig.h"
#include "kafka/KafkaRecord.h"

namespace streamshop::kafka {

class Producer {
 public:
  virtual ~Producer() = default;
  // Queues a record (key/value nullopt = Kafka null). Waits, serving reports, while the local queue is full.
  virtual Status Produce(const KafkaRecord& record) = 0;
  // Serves delivery reports without waiting; the first failed delivery since the last call is returned.
  virtual Status Poll() = 0;
  // Waits until every queued record has its report (or `timeout`: Retryable).
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
  virtual uint64_t produced() const = 0;
  virtual uint64_t DeliveredPrefix() const = 0;
  // Creates the topics that do not exist yet (an existing topic is left as it is).
  virtual Status EnsureTopics(const std::vector<std::string>& topics, int partitions, int replication_factor) = 0;
  // The largest record batch each existing topic accepts: its `max.message.bytes` as the broker reports it
  // (DescribeConfigs; a topic without an override reports the broker's `message.max.bytes`). Retryable when the
  // broker does not answer; Fatal when it refuses (e.g. no DescribeConfigs ACL).
  virtual Result<std::vector<int64_t>> MaxMessageBytes(const std::vector<std::string>& topics) = 0;

  virtual Status InitTransactions() { return NotTransactional(); }
  virtual Status BeginTransaction() { return NotTransactional(); }
  virtual Status CommitTransaction() { return NotTransactional(); }
  virtual Status AbortTransaction() { return NotTransactional(); }

 private:
  static Status NotTransactional() {
    return Status::Fatal("this Kafka producer has no transactional.id: transactions are not available");
  }
};

// Bytes a record takes in a batch beyond its key, value and headers' names and values (batch header, varints,
// attributes): what to leave when comparing a record's size with a topic's `max.message.bytes`.
inline constexpr int64_t kRecordOverheadBytes = 256;
// The size a record is checked against its topic's limit with. Compression is not counted on: the check holds
// for incompressible values too.
int64_t RecordSize(const KafkaRecord& record);

struct ProducerOptions {
  std::string brokers;
  KafkaProps props;  // --kafka-prop, applied over our defaults (idempotence, acks=all, lz4, linger 5 ms)
  // Non-empty: a transactional producer with this transactional.id (set after `props`, so it wins).
  std::string transactional_id = {};
};

// The transaction timeout capture asks for (transaction.timeout.ms): a transaction open longer is aborted by the
// broker. 120 s: librdkafka wants it ≥ message.timeout.ms (ours: 120 s); brokers allow up to 15 min by default.
inline constexpr int kTransactionTimeoutMs = 120'000;

// The librdkafka producer. Fatal for a rejected property.
Result<std::unique_ptr<Producer>> MakeKafkaProducer(const ProducerOptions& options);

}  // namespace streamshop::kafka
