// A real Capture session (pipeline/Capture.h) driven through its seams by doubles: the scripted replication slot and
// fake catalog of fake_source.h, and a fake Kafka whose producers keep every record in flight until the test delivers
// (or fails) it; delivery reports are served on Poll and Flush, as librdkafka does, and DeliveredPrefix counts the
// records before the first one without a successful report. Every standby status update is checked when it is sent:
// each record of a transaction that ended at or before the position sent must be delivered (none of the current
// producer's still in flight).
//
// Invariants proved: the slot is never confirmed past a transaction whose records are not all delivered, whatever
// order the deliveries complete in; a failed delivery (Retryable) confirms nothing of it, and the next session
// streams it again from the slot and delivers it; a record too large for its topic goes to the dead-letter topic and
// its transaction is confirmed only once the dead letter is delivered; a keepalive's WAL end is confirmed only when
// the stream is between transactions with nothing in flight.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "debezium/TopicNames.h"
#include "fake_source.h"
#include "kafka/KafkaProducer.h"
#include "pipeline/Capture.h"
#include "pipeline/SourceCatalog.h"

namespace streamshop::pipeline {
namespace {

using namespace std::chrono_literals;
using namespace testing_support;  // NOLINT: the fake source (and ClickHouse) of these tests

constexpr uint32_t kOrders = 16384;
constexpr uint32_t kItems = 16385;
const std::string kOrdersTopic = "streamshop.public.orders";
const std::string kDeadLetterTopic = "streamshop.dead_letter";

// ---- Kafka -------------------------------------------------------------------------------------------------------

// Every record any producer produced, across sessions, and the topics' limits.
struct FakeKafka {
  enum class State { kInFlight, kAcked, kRefused, kDelivered, kFailed };  // kAcked/kRefused: report not served yet
  struct Record {
    int producer;
    kafka::KafkaRecord r;
    State state = State::kInFlight;
    bool Has(const std::string& marker) const {
      return (r.key && r.key->find(marker) != std::string::npos) ||
             (r.value && r.value->find(marker) != std::string::npos);
    }
  };
  std::vector<Record> log;
  int producers = 0;                     // made so far; the latest is the session's current one
  std::map<std::string, int64_t> limit;  // max.message.bytes by topic (default 1,000,000)

  // The broker stores (or refuses) the current producer's records in flight that `pred` selects; the producer
  // learns it at its next Poll or Flush.
  int Settle(const std::function<bool(const Record&)>& pred, State to) {
    int n = 0;
    for (Record& rec : log) {
      if (rec.producer == producers && rec.state == State::kInFlight && pred(rec)) rec.state = to, ++n;
    }
    return n;
  }
  int Deliver(const std::string& marker) {
    return Settle([&](const Record& r) { return r.Has(marker); }, State::kAcked);
  }
  int DeliverTopic(const std::string& topic) {
    return Settle([&](const Record& r) { return r.r.topic == topic; }, State::kAcked);
  }
  int DeliverAll() {
    return Settle([](const Record&) { return true; }, State::kAcked);
  }
  int Fail(const std::string& marker) {
    return Settle([&](const Record& r) { return r.Has(marker); }, State::kRefused);
  }

  bool Delivered(const std::string& marker) const {
    return std::any_of(log.begin(), log.end(),
                       [&](const Record& r) { return r.state == State::kDelivered && r.Has(marker); });
  }
  // A record of the current producer with `marker` has no successful report yet.
  bool InFlight(const std::string& marker) const {
    return std::any_of(log.begin(), log.end(), [&](const Record& r) {
      return r.producer == producers && r.state != State::kDelivered && r.state != State::kFailed && r.Has(marker);
    });
  }
  std::vector<const Record*> On(const std::string& topic) const {
    std::vector<const Record*> out;
    for (const Record& r : log) {
      if (r.r.topic == topic) out.push_back(&r);
    }
    return out;
  }
};

class FakeProducer final : public kafka::Producer {
 public:
  explicit FakeProducer(FakeKafka& kafka) : kafka_(kafka), id_(++kafka.producers) {}

  Status Produce(const kafka::KafkaRecord& record) override {
    EXPECT_EQ(id_, kafka_.producers) << "a producer replaced by a newer one is still used";
    seqs_.push_back(kafka_.log.size());
    kafka_.log.push_back({id_, record});
    return Status::Ok();
  }
  // Serves the reports the broker made; the first failure since the last call is returned.
  Status Poll() override {
    Status failure = Status::Ok();
    for (size_t i : seqs_) {
      FakeKafka::Record& r = kafka_.log[i];
      if (r.state == FakeKafka::State::kAcked) r.state = FakeKafka::State::kDelivered;
      if (r.state == FakeKafka::State::kRefused) {
        r.state = FakeKafka::State::kFailed;
        if (failure.ok()) {
          failure = Status::Retryable(
              fmt::format("Kafka: delivery to {} failed: Broker: Not enough in-sync replicas", r.r.topic));
        }
      }
    }
    return failure;
  }
  // Every record in flight gets its report: stored, unless the test refused it.
  Status Flush(std::chrono::milliseconds) override {
    kafka_.Settle([&](const FakeKafka::Record& r) { return r.producer == id_; }, FakeKafka::State::kAcked);
    return Poll();
  }
  uint64_t produced() const override { return seqs_.size(); }
  uint64_t DeliveredPrefix() const override {
    uint64_t n = 0;
    while (n < seqs_.size() && kafka_.log[seqs_[n]].state == FakeKafka::State::kDelivered) ++n;
    return n;
  }
  Status EnsureTopics(const std::vector<std::string>&, int, int) override { return Status::Ok(); }
  Result<std::vector<int64_t>> MaxMessageBytes(const std::vector<std::string>& topics) override {
    std::vector<int64_t> out;
    for (const std::string& t : topics) out.push_back(kafka_.limit.count(t) ? kafka_.limit.at(t) : 1'000'000);
    return out;
  }

 private:
  FakeKafka& kafka_;
  const int id_;
  std::vector<size_t> seqs_;  // this producer's records in kafka_.log, in produce order
};

// ---- the tests ------------------------------------------------------------------------------------------------

class CaptureSessionTest : public ::testing::Test {
 protected:
  CaptureSessionTest() {
    slot_.tables = {{kOrders, Table(kOrders, "orders")}, {kItems, Table(kItems, "items")}};
    slot_.stop = &stop_;
    slot_.check = [this](uint64_t flushed) { CheckStatus(flushed); };
    options_.pg_url = "postgresql://fake-postgres/shop";
    options_.brokers = "fake-kafka:9092";
    options_.snapshot = false;  // no copies: the Snapshotter connects on its own
    options_.heartbeat_interval = 0s;
    options_.ack_interval = 0ms;  // a newly confirmed position is sent at once
  }

  uint64_t AddTransaction(std::vector<Change> changes, std::optional<uint64_t> keepalive_inside = {}) {
    Transaction t{std::move(changes), keepalive_inside, next_lsn_, 0};
    t.end = next_lsn_ + 0x80;
    next_lsn_ += 0x100;
    slot_.wal.emplace_back(t);
    return t.end;
  }
  static Change Insert(uint32_t relid, std::string id, std::string note = "new") { return {relid, 'I', id, note}; }
  void Then(std::function<void()> run) {
    slot_.wal.emplace_back(Act{std::move(run)});
    slot_.wal.emplace_back(Pause{});  // idle: the session serves the reports and confirms what they allow
  }

  Status Run() {
    CaptureSeams seams;
    seams.open_source = OpenScripted(slot_, options_.slot, next_lsn_, stop_);
    seams.producer = [this](const kafka::ProducerOptions& o) -> Result<std::unique_ptr<kafka::Producer>> {
      EXPECT_EQ(o.brokers, options_.brokers);
      return std::unique_ptr<kafka::Producer>(std::make_unique<FakeProducer>(kafka_));
    };
    seams.read_topic = [this](const std::string&, const kafka::KafkaProps&,
                              const std::string& topic) -> Result<std::vector<std::pair<std::string, std::string>>> {
      std::vector<std::pair<std::string, std::string>> out;
      for (const auto* r : kafka_.On(topic)) {
        if (r->state == FakeKafka::State::kDelivered) out.emplace_back(r->r.key.value_or(""), r->r.value.value_or(""));
      }
      return out;
    };
    Capture capture(options_, std::move(seams));
    Status st = capture.Run(stop_);
    dead_letters_ = capture.metrics().dead_letters;
    slot_lost_ = capture.metrics().slot_lost;
    return st;
  }

  // Before a status update with position `flushed` is sent: every record of every change of a transaction that
  // ended there or before is delivered.
  void CheckStatus(uint64_t flushed) {
    slot_.CheckPassed(
        flushed, [&](const Change& c) { return kafka_.Delivered(c.marker()) && !kafka_.InFlight(c.marker()); },
        "not all delivered");
  }
  uint64_t FirstConfirmed() const {
    for (uint64_t s : slot_.sent) {
      if (s) return s;
    }
    return 0;
  }

  CaptureOptions options_;
  std::atomic<bool> stop_{false};
  FakeSlot slot_;
  FakeKafka kafka_;
  uint64_t next_lsn_ = 0x10000;
  uint64_t dead_letters_ = 0;
  uint64_t slot_lost_ = 0;
};

TEST_F(CaptureSessionTest, ConfirmsOnlyTransactionsWhoseRecordsAreAllDelivered) {
  const uint64_t t1 = AddTransaction({Insert(kOrders, "o1#"), Insert(kItems, "i1#")});
  const uint64_t t2 = AddTransaction({Insert(kOrders, "o2#"), {kOrders, 'D', "d1#", ""}});  // delete + tombstone
  const uint64_t t3 = AddTransaction({Insert(kItems, "i2#")});
  // Three transactions in flight; the later two are stored first: nothing may be confirmed.
  Then([&] { EXPECT_EQ(kafka_.Deliver("o2#") + kafka_.Deliver("d1#") + kafka_.Deliver("i2#"), 4); });
  const uint64_t k1 = next_lsn_ + 0x10;
  slot_.wal.emplace_back(KeepaliveFrame{k1, true});
  // Half of the first: still nothing.
  Then([&] { EXPECT_EQ(kafka_.Deliver("o1#"), 1); });
  const uint64_t k2 = next_lsn_ + 0x20;
  slot_.wal.emplace_back(KeepaliveFrame{k2, true});
  // The rest of the first: all three at once.
  Then([&] { EXPECT_EQ(kafka_.Deliver("i1#"), 1); });
  next_lsn_ += 0x100;
  const uint64_t end = AddTransaction({Insert(kOrders, "o3#")});
  Then([&] { kafka_.DeliverAll(); });

  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.reply[k1], 0u);
  EXPECT_EQ(slot_.reply[k2], 0u);
  EXPECT_EQ(FirstConfirmed(), t3);  // never t1 or t2 alone: the first transaction held them back
  EXPECT_GT(t3, t2);
  EXPECT_GT(t2, t1);
  EXPECT_EQ(slot_.MaxSent(), end);
  EXPECT_EQ(slot_.sessions, 1);
  for (const char* marker : {"o1#", "i1#", "o2#", "d1#", "i2#", "o3#"}) EXPECT_TRUE(kafka_.Delivered(marker)) << marker;
}

TEST_F(CaptureSessionTest, AFailedDeliveryConfirmsNothingOfItAndTheNextSessionDeliversIt) {
  const uint64_t t1 = AddTransaction({Insert(kOrders, "o1#"), Insert(kOrders, "o2#")});
  AddTransaction({Insert(kOrders, "o3#"), Insert(kItems, "i1#")});
  Then([&] {
    if (slot_.sessions == 1) kafka_.Deliver("o1#"), kafka_.Deliver("o2#");
  });
  Then([&] {  // the second transaction: one record stored, one refused
    if (slot_.sessions == 1) {
      EXPECT_EQ(kafka_.Deliver("o3#") + kafka_.Fail("i1#"), 2);
    }
  });
  const uint64_t end = AddTransaction({Insert(kItems, "i2#")});
  Then([&] { kafka_.DeliverAll(); });

  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.sessions, 2);
  EXPECT_EQ(FirstConfirmed(), t1);  // the first session confirmed its first transaction only
  // The second session streamed the failed transaction again from the slot and delivered it.
  int i1_sent = 0, o3_sent = 0;
  for (const auto& r : kafka_.log) {
    i1_sent += r.Has("i1#");
    o3_sent += r.Has("o3#");
    if (r.Has("o1#")) {
      EXPECT_EQ(r.producer, 1) << "the confirmed transaction was streamed again";
    }
  }
  EXPECT_EQ(i1_sent, 2);
  EXPECT_EQ(o3_sent, 2);
  EXPECT_TRUE(kafka_.Delivered("i1#"));
  EXPECT_EQ(slot_.MaxSent(), end);
}

// --outbox-table: an insert of the outbox is one record on its routed topic (nothing on the table's own topic);
// updates and deletes of it send nothing, yet their transactions are confirmed like any other; an insert deleted in
// the same transaction is still delivered; a row that cannot be routed is dead-lettered.
TEST_F(CaptureSessionTest, OutboxInsertsAreRoutedAndItsUpdatesAndDeletesSendNothing) {
  options_.outbox_table = "public.items";
  options_.outbox.field_event_id = "id";
  options_.outbox.field_event_key = "id";
  options_.outbox.field_event_payload = "note";
  options_.outbox.route_by_field = "note";
  options_.outbox.route_topic_replacement = "events.${routedByValue}";
  // Updates and deletes of the outbox have no record to wait for.
  slot_.check = [this](uint64_t flushed) {
    slot_.CheckPassed(
        flushed,
        [&](const Change& c) {
          return (c.relid == kItems && c.kind != 'I') || (kafka_.Delivered(c.marker()) && !kafka_.InFlight(c.marker()));
        },
        "not all delivered");
  };
  AddTransaction({Insert(kItems, "e1#", "placed"), Insert(kOrders, "o1#")});
  AddTransaction({{kItems, 'U', "e1#", "changed#"}, {kItems, 'D', "e1#", ""}});
  AddTransaction({Insert(kItems, "e2#", "paid"), {kItems, 'D', "e2#", ""}});
  const uint64_t end = AddTransaction({Insert(kItems, "e3#", "bad topic")});
  Then([&] { kafka_.DeliverAll(); });

  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.MaxSent(), end);
  EXPECT_TRUE(kafka_.On("streamshop.public.items").empty());
  ASSERT_EQ(kafka_.On("events.placed").size(), 1u);
  const kafka::KafkaRecord& e1 = kafka_.On("events.placed")[0]->r;
  EXPECT_EQ(*e1.key, R"({"schema":{"type":"string","optional":false},"payload":"e1#"})");
  EXPECT_EQ(*e1.value, R"({"schema":{"type":"string","optional":true},"payload":"placed"})");
  EXPECT_EQ(e1.headers, (std::vector<std::pair<std::string, std::string>>{{"id", "e1#"}}));
  EXPECT_EQ(kafka_.On("events.paid").size(), 1u);
  EXPECT_EQ(kafka_.On(kOrdersTopic).size(), 1u);
  for (const auto& r : kafka_.log) EXPECT_FALSE(r.Has("changed#")) << r.r.topic;
  ASSERT_EQ(kafka_.On(kDeadLetterTopic).size(), 1u);
  EXPECT_TRUE(kafka_.On(kDeadLetterTopic)[0]->Has("e3#"));
  EXPECT_EQ(dead_letters_, 1u);
}

TEST_F(CaptureSessionTest, AnOutboxTableWithoutTheConfiguredColumnStopsCaptureNamingIt) {
  options_.outbox_table = "public.items";  // no aggregatetype, aggregateid, payload columns
  AddTransaction({Insert(kItems, "e1#")});
  Status st = Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("outbox table public.items has no column \"aggregateid\""), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("--outbox-key-column"), std::string::npos) << st.message();
}

TEST_F(CaptureSessionTest, ARecordTooLargeForItsTopicIsConfirmedOnlyOnceItsDeadLetterIsDelivered) {
  kafka_.limit[kOrdersTopic] = 20'000;
  const uint64_t t1 = AddTransaction({Insert(kOrders, "o1#")});
  // The dead letter is the last record of its transaction.
  const uint64_t t2 = AddTransaction({Insert(kItems, "i1#"), Insert(kOrders, "big#", std::string(30'000, 'x'))});
  Then([&] { EXPECT_EQ(kafka_.DeliverTopic(kOrdersTopic) + kafka_.DeliverTopic("streamshop.public.items"), 2); });
  const uint64_t k1 = next_lsn_ + 0x10;
  slot_.wal.emplace_back(KeepaliveFrame{k1, true});
  Then([&] { EXPECT_EQ(kafka_.DeliverTopic(kDeadLetterTopic), 1); });
  next_lsn_ += 0x100;
  const uint64_t end = AddTransaction({Insert(kOrders, "o2#")});
  Then([&] { kafka_.DeliverAll(); });

  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.reply[k1], t1);  // the dead letter in flight holds its transaction back
  EXPECT_GT(t2, t1);
  EXPECT_EQ(slot_.MaxSent(), end);
  EXPECT_EQ(dead_letters_, 1u);
  const auto dead = kafka_.On(kDeadLetterTopic);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_TRUE(dead[0]->Has("big#"));
  EXPECT_EQ(dead[0]->state, FakeKafka::State::kDelivered);
  const auto& h = dead[0]->r.headers;
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h[0].first, "reason");
  EXPECT_NE(h[0].second.find("exceeds max.message.bytes = 20000 of topic " + kOrdersTopic), std::string::npos)
      << h[0].second;
  for (const auto* r : kafka_.On(kOrdersTopic)) EXPECT_FALSE(r->Has("big#"));
}

TEST_F(CaptureSessionTest, AKeepaliveIsConfirmedOnlyBetweenTransactionsWithNothingInFlight) {
  const uint64_t first = AddTransaction({Insert(kOrders, "o1#")});
  slot_.wal.emplace_back(Pause{});  // idle, o1 in flight
  const uint64_t in_flight = next_lsn_ + 0x10;
  slot_.wal.emplace_back(KeepaliveFrame{in_flight, true});
  Then([&] { kafka_.DeliverAll(); });  // o1 delivered: its transaction is confirmed
  const uint64_t idle = next_lsn_ + 0x20;
  slot_.wal.emplace_back(KeepaliveFrame{idle, true});
  next_lsn_ += 0x100;
  const uint64_t inside = next_lsn_ + 0x400;  // beyond the transaction's end
  const uint64_t end = AddTransaction({Insert(kOrders, "o2#")}, inside);
  Then([&] { kafka_.DeliverAll(); });

  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.reply[in_flight], 0u);  // a record in flight: nothing confirmed yet
  EXPECT_EQ(slot_.reply[idle], idle);     // between transactions, nothing in flight: the keepalive's WAL end
  EXPECT_GT(idle, first);
  EXPECT_EQ(slot_.reply[inside], idle);  // inside a transaction: what was confirmed before
  EXPECT_EQ(slot_.MaxSent(), end);
  EXPECT_LT(end, inside);
}

TEST_F(CaptureSessionTest, ALostSlotStopsWithTheStepsByHandEvenWithResnapshot) {
  slot_.exists = true;
  slot_.lost = true;  // PostgreSQL invalidated it: wal_status 'lost'
  options_.on_slot_lost = OnSlotLost::kResnapshot;
  AddTransaction({Insert(kOrders, "o1#")});
  Status st = Run();
  ASSERT_TRUE(st.fatal()) << st.message();
  for (const char* part :
       {"replication slot 'streamshop_capture' of database 'shop' was invalidated",
        "capture cannot recover by itself (--on-slot-lost resnapshot is replicate's only)",
        "SELECT pg_drop_replication_slot('streamshop_capture')", "new --slot", "publication 'streamshop'"}) {
    EXPECT_NE(st.message().find(part), std::string::npos) << part << " in: " << st.message();
  }
  EXPECT_EQ(slot_.dropped, 0);
  EXPECT_EQ(slot_lost_, 1u);
  EXPECT_TRUE(kafka_.On(kOrdersTopic).empty());
}

TEST_F(CaptureSessionTest, AMissingSlotWithSnapshotStateInTheStateTopicIsALostSlot) {
  const std::string state_topic = "streamshop._streamshop_capture_state";
  kafka_.log.push_back(
      {0,
       {state_topic,
        debezium::CaptureStateKey("7000000000000000001", "shop", "streamshop_capture", "public", "orders"),
        std::string("done"),
        {}},
       FakeKafka::State::kDelivered});
  AddTransaction({Insert(kOrders, "o1#")});
  Status st = Run();
  ASSERT_TRUE(st.fatal()) << st.message();
  for (const char* part : {"replication slot 'streamshop_capture' does not exist in database 'shop'",
                           "Kafka (topic streamshop._streamshop_capture_state)", "new --slot"}) {
    EXPECT_NE(st.message().find(part), std::string::npos) << part << " in: " << st.message();
  }
  EXPECT_FALSE(slot_.exists);  // no new slot silently skipping the changes
  EXPECT_EQ(slot_lost_, 1u);
}

TEST_F(CaptureSessionTest, ASlotInvalidatedBeforeStartReplicationIsALostSlot) {
  slot_.exists = true;
  slot_.lost_at_start = true;
  Status st = Run();
  ASSERT_TRUE(st.fatal()) << st.message();
  EXPECT_NE(st.message().find("replication slot 'streamshop_capture' of database 'shop' was invalidated"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(slot_lost_, 1u);
}

}  // namespace
}  // namespace streamshop::pipeline
