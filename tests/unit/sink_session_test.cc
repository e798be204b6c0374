// A real Sink session (pipeline/Sink.h) driven through its seams by doubles: a scripted Kafka (one group member's
// assignment, the group's committed offsets, a rebalance, the dead-letter topic) and a tiny ClickHouse behind the
// HttpTransport seam (answers the sink's DDL and metadata queries, stores or fails inserts). Records are Debezium
// JSON as `capture` writes them (debezium::DebeziumEncoder). Every commit is checked when it is made: each record
// before a committed offset must already be in an acknowledged insert, or (a bad record) in the dead-letter topic.
//
// Invariants proved: offsets are committed only past records ClickHouse stored; a failed flush (Fatal or
// Retryable insert error, failed dead-letter delivery) commits nothing of its batch; a rebalance stores and commits
// what was consumed from the revoked partitions before they go.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/HttpTransport.h"
#include "clickhouse/RowBinary.h"
#include "debezium/DebeziumEncoder.h"
#include "fake_clickhouse.h"
#include "kafka/KafkaConsumer.h"
#include "kafka/KafkaProducer.h"
#include "pg/TypeOids.h"
#include "pipeline/Sink.h"

namespace streamshop::pipeline {
namespace {

using clickhouse::HttpResponse;
using kafka::TopicPartition;
using testing_support::FakeClickHouse;
using testing_support::FakeTransport;

// ---- a scripted Kafka -----------------------------------------------------------------------------------------

struct Record {
  std::optional<std::string> key, value;
  bool dead_letter = false;  // a bad record: stored in the dead-letter topic, never in ClickHouse
  std::string id;            // bytes an insert of its row contains
};

// The topics, the group's committed offsets and the dead-letter topic, shared by the consumers and producers of
// successive sessions (a new session reads from the committed offsets, as after a restart).
struct FakeKafka {
  std::map<TopicPartition, std::vector<Record>> partitions;
  std::map<TopicPartition, int64_t> committed;
  std::vector<kafka::KafkaRecord> dead_letters;  // delivered to the dead-letter topic
  int dead_letter_flush_failures = 0;            // the next producer Flush() calls that fail
  // Once this many records were delivered, the next Poll revokes the partition (it goes to another member).
  std::optional<std::pair<int, TopicPartition>> revoke_after;
  std::set<TopicPartition> revoked;
  std::optional<int64_t> committed_when_revoked;  // the partition's committed offset right after its revoke hook ran
  int delivered = 0, commits = 0, refused_commits = 0, sessions = 0;
  std::vector<std::string> violations;  // commits past a record nobody stored
  std::atomic<bool>* stop = nullptr;    // set when every assigned record was delivered
  int idle_polls_before_stop = 0;       // Polls that find nothing more (an idle consumer) before `stop` is set
  std::map<TopicPartition, int64_t> committed_at_stop;  // the committed offsets when `stop` was set
  const FakeClickHouse* clickhouse = nullptr;

  bool DeadLettered(const TopicPartition& tp, int64_t offset) const {
    for (const kafka::KafkaRecord& d : dead_letters) {
      std::map<std::string, std::string> h(d.headers.begin(), d.headers.end());
      if (h["source.topic"] == tp.topic && h["source.partition"] == std::to_string(tp.partition) &&
          h["source.offset"] == std::to_string(offset)) {
        return true;
      }
    }
    return false;
  }

  // Runs before a commit takes effect: every record before a committed offset is acknowledged downstream.
  void CheckCommit(const std::vector<kafka::PartitionOffset>& offsets) {
    for (const kafka::PartitionOffset& o : offsets) {
      const std::vector<Record>& records = partitions.at(o.tp);
      for (int64_t i = 0; i < o.next_offset && i < static_cast<int64_t>(records.size()); ++i) {
        const Record& r = records[i];
        const bool acknowledged = r.dead_letter ? DeadLettered(o.tp, i) : clickhouse->Stored(r.id);
        if (!acknowledged) {
          violations.push_back(fmt::format("commit of {} [{}] at {} passes offset {} ({}), not {} yet", o.tp.topic,
                                           o.tp.partition, o.next_offset, i, r.dead_letter ? "bad record" : r.id,
                                           r.dead_letter ? "dead-lettered" : "stored in ClickHouse"));
        }
      }
    }
  }
};

class FakeConsumer final : public kafka::Consumer {
 public:
  FakeConsumer(FakeKafka& k, kafka::ConsumerOptions options) : k_(k), options_(std::move(options)) {
    ++k_.sessions;
    for (const auto& [tp, records] : k_.partitions) {
      if (k_.revoked.count(tp)) continue;
      assignment_.push_back(tp);
      position_[tp] = k_.committed.count(tp) ? k_.committed.at(tp) : 0;
    }
  }

  // Records round-robin over the assigned partitions; sets the stop flag when none is left.
  Result<std::optional<kafka::ConsumedRecord>> Poll(std::chrono::milliseconds) override {
    if (k_.revoke_after && k_.delivered >= k_.revoke_after->first && !k_.revoked.count(k_.revoke_after->second)) {
      // As librdkafka's rebalance callback: inside poll, the hook first, then the partition is gone.
      const TopicPartition tp = k_.revoke_after->second;
      if (options_.on_revoke) options_.on_revoke({tp});
      k_.committed_when_revoked = k_.committed.count(tp) ? k_.committed.at(tp) : 0;
      k_.revoked.insert(tp);
      std::erase(assignment_, tp);
      return std::optional<kafka::ConsumedRecord>();
    }
    for (size_t n = 0; n < assignment_.size(); ++n) {
      const auto partition = k_.partitions.find(assignment_[next_++ % assignment_.size()]);
      int64_t& position = position_[partition->first];
      if (position >= static_cast<int64_t>(partition->second.size())) continue;
      const Record& r = partition->second[position];
      ++k_.delivered;
      kafka::ConsumedRecord c{partition->first.topic, partition->first.partition, position++, std::nullopt,
                              std::nullopt};
      if (r.key) c.key = *r.key;
      if (r.value) c.value = *r.value;
      return std::optional<kafka::ConsumedRecord>(c);
    }
    if (k_.idle_polls_before_stop > 0) {
      --k_.idle_polls_before_stop;
      return std::optional<kafka::ConsumedRecord>();
    }
    k_.committed_at_stop = k_.committed;
    k_.stop->store(true);
    return std::optional<kafka::ConsumedRecord>();
  }

  // As a broker after a rebalance: offsets of a partition this member no longer owns are refused.
  Status Commit(const std::vector<kafka::PartitionOffset>& offsets) override {
    if (offsets.empty()) return Status::Ok();
    for (const kafka::PartitionOffset& o : offsets) {
      if (std::find(assignment_.begin(), assignment_.end(), o.tp) == assignment_.end()) {
        ++k_.refused_commits;
        return Status::Retryable(fmt::format("fake Kafka: {} [{}] is not assigned", o.tp.topic, o.tp.partition));
      }
    }
    k_.CheckCommit(offsets);
    ++k_.commits;
    for (const kafka::PartitionOffset& o : offsets) k_.committed[o.tp] = o.next_offset;
    return Status::Ok();
  }

  std::vector<TopicPartition> Assignment() const override { return assignment_; }
  std::optional<int64_t> Lag() const override { return std::nullopt; }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    if (options_.on_revoke) options_.on_revoke(assignment_);
    assignment_.clear();
  }

 private:
  FakeKafka& k_;
  kafka::ConsumerOptions options_;
  std::vector<TopicPartition> assignment_;
  std::map<TopicPartition, int64_t> position_;
  size_t next_ = 0;
  bool closed_ = false;
};

// The dead-letter producer: records are delivered when Flush() succeeds; those still queued when the session ends
// are lost (the sink must not have committed past them).
class FakeProducer final : public kafka::Producer {
 public:
  explicit FakeProducer(FakeKafka& k) : k_(k) {}
  Status Produce(const kafka::KafkaRecord& record) override {
    queued_.push_back(record);
    ++produced_;
    return Status::Ok();
  }
  Status Poll() override { return Status::Ok(); }
  Status Flush(std::chrono::milliseconds) override {
    if (k_.dead_letter_flush_failures > 0) {
      --k_.dead_letter_flush_failures;
      return Status::Retryable("fake Kafka: dead-letter delivery timed out");
    }
    k_.dead_letters.insert(k_.dead_letters.end(), queued_.begin(), queued_.end());
    queued_.clear();
    return Status::Ok();
  }
  uint64_t produced() const override { return produced_; }
  uint64_t DeliveredPrefix() const override { return produced_ - queued_.size(); }
  Status EnsureTopics(const std::vector<std::string>&, int, int) override { return Status::Ok(); }
  Result<std::vector<int64_t>> MaxMessageBytes(const std::vector<std::string>& topics) override {
    return std::vector<int64_t>(topics.size(), 1 << 20);
  }

 private:
  FakeKafka& k_;
  std::vector<kafka::KafkaRecord> queued_;
  uint64_t produced_ = 0;
};

// ---- the tests ------------------------------------------------------------------------------------------------

class SinkSessionTest : public ::testing::Test {
 protected:
  SinkSessionTest() {
    kafka_.stop = &stop_;
    kafka_.clickhouse = &clickhouse_;
    options_.brokers = "fake-kafka:9092";
    options_.clickhouse.url = "http://fake-clickhouse:8123";
    options_.batch_rows = 4;
    options_.flush_interval = std::chrono::hours(1);  // batches end by row count or at stop only
    debezium::DebeziumColumn id{"id", {model::TypeKind::kText}, 1, true, std::nullopt, std::nullopt};
    debezium::DebeziumColumn note{"note", {model::TypeKind::kText}, 0, false, std::nullopt, std::nullopt};
    auto table = encoder_.Prepare(debezium::DebeziumTable{"public", "orders", {id, note}});
    EXPECT_TRUE(table.ok()) << table.status().message();
    orders_ = *table;
  }

  TopicPartition Partition(int32_t p) const { return {orders_->topic(), p}; }

  // Appends `n` inserts into public.orders to partition `p`, as capture encodes them; a row's id is
  // "<partition>/<offset>#" (no id is a prefix of another).
  void AddRows(int32_t p, int n) {
    for (int i = 0; i < n; ++i) {
      std::vector<Record>& records = kafka_.partitions[Partition(p)];
      Record r;
      r.id = fmt::format("{}/{}#", p, records.size());
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      debezium::DebeziumChange change;
      change.op = debezium::DebeziumOp::kCreate;
      change.after = debezium::RowImage{{r.id, "note"}, {}};
      change.source.ts_us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
      change.source.lsn = next_lsn_ += 100;
      change.ts_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
      std::vector<kafka::KafkaRecord> out;
      Status st = encoder_.Encode(*orders_, change, out);
      ASSERT_TRUE(st.ok()) << st.message();
      ASSERT_EQ(out.size(), 1u);
      ASSERT_EQ(out[0].topic, Partition(p).topic);
      r.key = out[0].key;
      r.value = out[0].value;
      records.push_back(std::move(r));
    }
  }
  // A record that is not JSON: the sink dead-letters it.
  void AddBadRecord(int32_t p) {
    Record r;
    r.key = "{}";
    r.value = "not a Debezium event";
    r.dead_letter = true;
    kafka_.partitions[Partition(p)].push_back(std::move(r));
  }

  Status Run() {
    SinkSeams seams;
    seams.consumer = [this](kafka::ConsumerOptions o) -> Result<std::unique_ptr<kafka::Consumer>> {
      return std::unique_ptr<kafka::Consumer>(std::make_unique<FakeConsumer>(kafka_, std::move(o)));
    };
    seams.dead_letter_producer = [this](const kafka::ProducerOptions&) -> Result<std::unique_ptr<kafka::Producer>> {
      return std::unique_ptr<kafka::Producer>(std::make_unique<FakeProducer>(kafka_));
    };
    seams.clickhouse = [this](const clickhouse::Endpoint& e) {
      return std::make_unique<clickhouse::ClickHouseClient>(e.url, std::make_unique<FakeTransport>(clickhouse_));
    };
    return Sink(options_, std::move(seams)).Run(stop_);
  }

  // Every row of `p` up to `end` (exclusive) is in ClickHouse.
  void ExpectStored(int32_t p, int64_t end) {
    const std::vector<Record>& records = kafka_.partitions.at(Partition(p));
    for (int64_t i = 0; i < end; ++i) {
      if (!records[i].dead_letter) {
        EXPECT_TRUE(clickhouse_.Stored(records[i].id)) << records[i].id;
      }
    }
  }
  int64_t Committed(int32_t p) const {
    auto it = kafka_.committed.find(Partition(p));
    return it == kafka_.committed.end() ? 0 : it->second;
  }

  SinkOptions options_;
  std::atomic<bool> stop_{false};
  FakeKafka kafka_;
  FakeClickHouse clickhouse_;
  debezium::DebeziumEncoder encoder_{debezium::DebeziumEncoderOptions{}};
  std::shared_ptr<const debezium::PreparedTable> orders_;
  uint64_t next_lsn_ = 0x1000000;
};

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "\n  " + l;
  return out;
}

TEST_F(SinkSessionTest, CommitsOnlyOffsetsOfRowsClickHouseStored) {
  AddRows(0, 10);
  AddRows(1, 7);
  ASSERT_TRUE(Run().ok());
  EXPECT_TRUE(kafka_.violations.empty()) << Lines(kafka_.violations);
  EXPECT_EQ(Committed(0), 10);
  EXPECT_EQ(Committed(1), 7);
  ExpectStored(0, 10);
  ExpectStored(1, 7);
  EXPECT_GE(kafka_.commits, 4);  // the check ran at each batch, not only at the end
  EXPECT_EQ(kafka_.commits, clickhouse_.inserts);
  EXPECT_EQ(kafka_.sessions, 1);
}

TEST_F(SinkSessionTest, FatalInsertErrorCommitsNothingOfItsBatch) {
  AddRows(0, 10);
  clickhouse_.fail_insert[2] = FakeClickHouse::Error(500, 60, "Table analytics.raw_orders doesn't exist.");
  Status st = Run();
  EXPECT_TRUE(st.fatal()) << st.message();
  EXPECT_TRUE(kafka_.violations.empty()) << Lines(kafka_.violations);
  EXPECT_EQ(Committed(0), 4);  // the first batch only
  EXPECT_EQ(kafka_.commits, 1);
  EXPECT_EQ(clickhouse_.inserts, 2);
}

TEST_F(SinkSessionTest, RetryableInsertErrorCommitsNothingOfItsBatchAndTheNextSessionStoresIt) {
  AddRows(0, 10);
  clickhouse_.fail_insert[2] = FakeClickHouse::Error(503, 252, "Too many parts (300).");
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(kafka_.violations.empty()) << Lines(kafka_.violations);
  EXPECT_EQ(kafka_.sessions, 2);
  EXPECT_EQ(kafka_.delivered, 8 + 6);  // the failed batch was read again from the committed offset 4
  EXPECT_EQ(Committed(0), 10);
  ExpectStored(0, 10);
}

TEST_F(SinkSessionTest, RevokedPartitionIsStoredAndCommittedBeforeItGoes) {
  AddRows(0, 6);
  AddRows(1, 6);
  options_.batch_rows = 1000;                 // nothing is flushed by size
  kafka_.revoke_after = {{5, Partition(0)}};  // after p0 offsets 0-2 and p1 offsets 0-1
  ASSERT_TRUE(Run().ok());
  EXPECT_TRUE(kafka_.violations.empty()) << Lines(kafka_.violations);
  ASSERT_TRUE(kafka_.committed_when_revoked.has_value());
  EXPECT_EQ(*kafka_.committed_when_revoked, 3);  // committed by the hook, before the partition went
  ExpectStored(0, 3);
  EXPECT_EQ(Committed(0), 3);
  EXPECT_EQ(Committed(1), 6);
  ExpectStored(1, 6);
  EXPECT_EQ(kafka_.refused_commits, 0);  // never committed a partition it no longer owned
}

TEST_F(SinkSessionTest, RevokeWhoseFlushFailsCommitsNothingAndEndsTheSession) {
  AddRows(0, 6);
  AddRows(1, 6);
  options_.batch_rows = 1000;
  kafka_.revoke_after = {{5, Partition(0)}};
  clickhouse_.fail_insert[1] = FakeClickHouse::Error(503, 252, "Too many parts (300).");  // the revoke's flush
  ASSERT_TRUE(Run().ok());
  EXPECT_TRUE(kafka_.violations.empty()) << Lines(kafka_.violations);
  ASSERT_TRUE(kafka_.committed_when_revoked.has_value());
  EXPECT_EQ(*kafka_.committed_when_revoked, 0);
  EXPECT_EQ(Committed(0), 0);  // the partition's next owner reads it again
  EXPECT_EQ(kafka_.sessions, 2);
  EXPECT_EQ(Committed(1), 6);
  ExpectStored(1, 6);
  EXPECT_EQ(kafka_.refused_commits, 0);
}

TEST_F(SinkSessionTest, DeadLetteredRecordIsCommittedOnlyAfterTheDeadLetterIsDelivered) {
  AddRows(0, 2);
  AddBadRecord(0);  // offset 2
  AddRows(0, 7);
  options_.batch_rows = 3;                // the first batch ends at offset 3, with the dead letter queued
  kafka_.dead_letter_flush_failures = 1;  // its delivery fails once
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(kafka_.violations.empty()) << Lines(kafka_.violations);
  EXPECT_EQ(kafka_.sessions, 2);
  EXPECT_EQ(Committed(0), 10);
  ExpectStored(0, 10);
  ASSERT_EQ(kafka_.dead_letters.size(), 1u);
  EXPECT_TRUE(kafka_.DeadLettered(Partition(0), 2));
  EXPECT_EQ(kafka_.dead_letters[0].topic, options_.dead_letter_topic);
  EXPECT_EQ(kafka_.dead_letters[0].value, "not a Debezium event");
}

TEST_F(SinkSessionTest, LoneRecordIsStoredAndCommittedAsSoonAsTheConsumerHasNothingMore) {
  AddRows(0, 1);
  options_.batch_rows = 1000;         // and flush_interval is an hour: neither count nor age ends the batch
  kafka_.idle_polls_before_stop = 1;  // one Poll finds nothing more, then the sink is stopped
  ASSERT_TRUE(Run().ok());
  EXPECT_TRUE(kafka_.violations.empty()) << Lines(kafka_.violations);
  EXPECT_EQ(kafka_.committed_at_stop[Partition(0)], 1);  // stored and committed by the idle Poll, not by the stop
  ExpectStored(0, 1);
  EXPECT_EQ(kafka_.commits, 1);
}

}  // namespace
}  // namespace streamshop::pipeline
