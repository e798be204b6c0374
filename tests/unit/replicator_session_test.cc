// A real Replicator session (pipeline/Replicator.h) driven through its seams by doubles: a scripted replication slot
// (its WAL as pgoutput transactions, keepalives and idle moments; its confirmed position; a new session streams from
// it again) and a fake catalog of two tables (fake_source.h), and the tiny ClickHouse of fake_clickhouse.h. Every
// standby status update is checked when it is sent: each change of a transaction that ended at or before the position
// sent must already be in an acknowledged insert, or its table must be stopped with a fresh copy recorded (the snapshot
// state's reset row).
//
// Invariants proved: the slot is confirmed only past rows ClickHouse stored; a failed flush (Retryable insert error)
// confirms nothing, and the next session streams it again from the slot and stores it; a table whose insert fails
// Fatally is stopped while the others keep flowing, and its copy is recorded before any of its changes is
// acknowledged; a keepalive's WAL end is confirmed only on an idle stream with nothing pending; a signal-table row
// (--signal-table) is never stored, and the slot passes a stop-replication signal only once it took effect.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/SnapshotState.h"
#include "fake_clickhouse.h"
#include "fake_source.h"
#include "pg/TypeOids.h"
#include "pipeline/Replicator.h"
#include "pipeline/SourceCatalog.h"
#include "protocol_bytes.h"

namespace streamshop::pipeline {
namespace {

using namespace std::chrono_literals;
using clickhouse::HttpResponse;
using namespace testing_support;  // NOLINT: the fake source (and ClickHouse) of these tests

constexpr uint32_t kOrders = 16384;
constexpr uint32_t kItems = 16385;
constexpr uint32_t kSignals = 16386;

// ---- the tests ------------------------------------------------------------------------------------------------

class ReplicatorSessionTest : public ::testing::Test {
 protected:
  ReplicatorSessionTest() {
    slot_.tables = {{kOrders, Table(kOrders, "orders")}, {kItems, Table(kItems, "items")}};
    slot_.stop = &stop_;
    slot_.check = [this](uint64_t flushed) { CheckStatus(flushed); };
    options_.pg_url = "postgresql://fake-postgres/shop";
    options_.clickhouse.url = "http://fake-clickhouse:8123";
    options_.snapshot = false;  // no copies: the Snapshotter connects on its own
    options_.heartbeat_interval = 0s;
    options_.batch_rows = 3;
    options_.flush_interval = 1h;  // batches end by row count or when the stream is idle
    // What replicate asks ClickHouse beyond the sink's statements: its bookkeeping tables start empty; the
    // snapshot state's and the publication shapes' rows are recorded.
    clickhouse_.answer = [this](const std::string& sql) -> std::optional<HttpResponse> {
      if (sql.starts_with("SELECT name FROM system.tables")) return FakeClickHouse::Answer("");
      if (sql.starts_with("SELECT table_oid, argMax(shape")) return FakeClickHouse::Answer("");
      if (sql.starts_with("SELECT chunk, chunk_pages FROM")) return FakeClickHouse::Answer("");
      if (sql.starts_with("SELECT count() FROM `analytics`.`_streamshop_snapshots`")) {
        const auto n = std::count_if(statements_.begin(), statements_.end(), [](const std::string& st) {
          return st.find("`_streamshop_snapshots`") != std::string::npos;
        });
        return FakeClickHouse::Answer(fmt::format("{}\n", n));
      }
      if (sql.starts_with("INSERT INTO ")) {
        statements_.push_back(sql);
        return FakeClickHouse::Answer("");
      }
      return std::nullopt;
    };
  }

  // Appends a transaction of `changes` to the WAL (positions in order, 0x100 apart).
  uint64_t AddTransaction(std::vector<Change> changes, std::optional<uint64_t> keepalive_inside = {}) {
    Transaction t{std::move(changes), keepalive_inside, next_lsn_, 0};
    t.end = next_lsn_ + 0x80;
    next_lsn_ += 0x100;
    slot_.wal.emplace_back(t);
    return t.end;
  }
  static Change Insert(uint32_t relid, std::string id) { return {relid, 'I', id, "new"}; }

  Status Run() {
    ReplicatorSeams seams;
    seams.open_source = OpenScripted(slot_, options_.slot, next_lsn_, stop_);
    seams.clickhouse = [this](const clickhouse::Endpoint& e) {
      return std::make_unique<clickhouse::ClickHouseClient>(e.url, std::make_unique<FakeTransport>(clickhouse_));
    };
    Replicator replicator(options_, std::move(seams));
    Status st = replicator.Run(stop_);
    slot_lost_ = replicator.metrics().slot_lost.load();
    return st;
  }

  // Whether a fresh copy of the table (state key public.<name>) is recorded: its snapshot state's reset row.
  bool CopyRecorded(const std::string& name) const {
    const std::string row = fmt::format("'public.{}', {}, ", name, clickhouse::kSnapshotReset);
    return std::any_of(statements_.begin(), statements_.end(), [&](const std::string& sql) {
      return sql.find("`_streamshop_snapshots`") != std::string::npos && sql.find(row) != std::string::npos;
    });
  }

  // Before a status update with position `flushed` is sent: every change of a transaction that ended there or
  // before is stored in ClickHouse, or its table is stopped with a fresh copy recorded.
  void CheckStatus(uint64_t flushed) {
    slot_.CheckPassed(
        flushed,
        [&](const Change& c) { return clickhouse_.Stored(c.marker()) || CopyRecorded(slot_.tables.at(c.relid).name); },
        "not stored in ClickHouse");
  }

  ReplicatorOptions options_;
  std::atomic<bool> stop_{false};
  FakeSlot slot_;
  FakeClickHouse clickhouse_;
  std::vector<std::string> statements_;  // INSERT … VALUES statements (snapshot state, publication shapes)
  uint64_t next_lsn_ = 0x10000;
  uint64_t slot_lost_ = 0;  // the last Run's streamshop_slot_lost_total
};

TEST_F(ReplicatorSessionTest, ConfirmsOnlyTransactionsWhoseRowsClickHouseStored) {
  // Batches of 3 rows: flushes end inside the second and third transactions, and at the end.
  const uint64_t t1 = AddTransaction({Insert(kOrders, "o1#"), Insert(kItems, "i1#")});
  const uint64_t t2 = AddTransaction({Insert(kOrders, "o2#"), {kOrders, 'U', "o1#", "u1#"}, Insert(kItems, "i2#")});
  slot_.wal.emplace_back(KeepaliveFrame{next_lsn_, true});  // u1 and i2 pending
  const uint64_t t3 =
      AddTransaction({{kOrders, 'D', "d1#", ""}, Insert(kItems, "i3#"), Insert(kItems, "i4#"), Insert(kOrders, "o3#")});
  const uint64_t end = AddTransaction({Insert(kOrders, "o4#")});
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  for (const char* marker : {"o1#", "i1#", "o2#", "u1#", "i2#", "d1#", "i3#", "i4#", "o3#", "o4#"}) {
    EXPECT_TRUE(clickhouse_.Stored(marker)) << marker;
  }
  // The keepalive's reply: t1. The third transaction's rows were all flushed by its commit: settled there.
  EXPECT_EQ(slot_.sent, (std::vector<uint64_t>{t1, t1, t2, t3, end, end}));
  EXPECT_EQ(slot_.sessions, 1);
}

TEST_F(ReplicatorSessionTest, ALostSlotStopsWithTheRecoveryNamingTheSlotAndPublication) {
  slot_.exists = true;
  slot_.lost = true;  // PostgreSQL invalidated it: wal_status 'lost'
  AddTransaction({Insert(kOrders, "o1#")});
  Status st = Run();
  ASSERT_TRUE(st.fatal()) << st.message();
  for (const char* part :
       {"replication slot 'streamshop' of database 'shop' was invalidated by PostgreSQL", "max_slot_wal_keep_size",
        "--on-slot-lost resnapshot", "SELECT pg_drop_replication_slot('streamshop')", "publication 'streamshop'"}) {
    EXPECT_NE(st.message().find(part), std::string::npos) << part << " in: " << st.message();
  }
  EXPECT_EQ(slot_.dropped, 0);
  EXPECT_EQ(slot_lost_, 1u);
  EXPECT_FALSE(clickhouse_.Stored("o1#"));
  EXPECT_TRUE(slot_.sent.empty());
}

TEST_F(ReplicatorSessionTest, AMissingSlotWithSnapshotStateInClickHouseIsALostSlot) {
  // A pipeline copied orders under this slot before; the slot is gone (e.g. a failover to a replica without it).
  statements_.push_back(
      "INSERT INTO `analytics`.`_streamshop_snapshots` VALUES ('7000000000000000001/shop/streamshop', "
      "'public.orders', -2, 0, 0, 1)");
  AddTransaction({Insert(kOrders, "o1#")});
  Status st = Run();
  ASSERT_TRUE(st.fatal()) << st.message();
  for (const char* part : {"replication slot 'streamshop' does not exist in database 'shop'",
                           "analytics._streamshop_snapshots", "--on-slot-lost resnapshot"}) {
    EXPECT_NE(st.message().find(part), std::string::npos) << part << " in: " << st.message();
  }
  EXPECT_FALSE(slot_.exists);  // no new slot silently skipping the changes
  EXPECT_EQ(slot_lost_, 1u);
}

TEST_F(ReplicatorSessionTest, ResnapshotOfALostSlotNeedsCopies) {
  slot_.exists = true;
  slot_.lost = true;
  options_.on_slot_lost = OnSlotLost::kResnapshot;  // but --snapshot never (options_.snapshot = false)
  Status st = Run();
  ASSERT_TRUE(st.fatal()) << st.message();
  EXPECT_NE(st.message().find("--snapshot never"), std::string::npos) << st.message();
  EXPECT_EQ(slot_.dropped, 0);
}

TEST_F(ReplicatorSessionTest, ASlotInvalidatedBeforeStartReplicationIsALostSlot) {
  slot_.exists = true;
  slot_.lost_at_start = true;  // wal_status was not 'lost' yet when the session looked
  Status st = Run();
  ASSERT_TRUE(st.fatal()) << st.message();
  EXPECT_NE(st.message().find("replication slot 'streamshop' of database 'shop' was invalidated"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("--on-slot-lost resnapshot"), std::string::npos) << st.message();
  EXPECT_EQ(slot_lost_, 1u);
  EXPECT_EQ(slot_.sessions, 1);
}

TEST_F(ReplicatorSessionTest, WithResnapshotASlotInvalidatedBeforeStartReplicationIsRecoveredByTheNextSession) {
  slot_.exists = true;
  slot_.lost_at_start = true;
  options_.on_slot_lost = OnSlotLost::kResnapshot;
  Status st = Run();
  // The next session finds the slot lost (wal_status) and would recover it; without copies (--snapshot never) it
  // refuses instead. The loss counts once.
  ASSERT_TRUE(st.fatal()) << st.message();
  EXPECT_NE(st.message().find("--snapshot never"), std::string::npos) << st.message();
  EXPECT_EQ(slot_.sessions, 2);
  EXPECT_EQ(slot_lost_, 1u);
}

TEST_F(ReplicatorSessionTest, RetryableInsertErrorConfirmsNothingAndTheNextSessionStoresIt) {
  const uint64_t first = AddTransaction({Insert(kOrders, "o1#"), Insert(kOrders, "o2#")});
  AddTransaction({Insert(kOrders, "o3#"), Insert(kOrders, "o4#")});
  const uint64_t end = AddTransaction({Insert(kOrders, "o5#")});
  // The first flush (o1-o3) is stored; the second (o4, o5) fails.
  clickhouse_.fail_insert[2] = FakeClickHouse::Error(503, 252, "Too many parts (300).");
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.sessions, 2);
  EXPECT_EQ(slot_.sent.front(), first);  // the first session confirmed its first transaction only
  EXPECT_EQ(clickhouse_.inserts, 3);     // the second session streamed o3-o5 again and stored them at once
  for (const char* marker : {"o1#", "o2#", "o3#", "o4#", "o5#"}) EXPECT_TRUE(clickhouse_.Stored(marker)) << marker;
  EXPECT_EQ(slot_.MaxSent(), end);
}

TEST_F(ReplicatorSessionTest, FatalInsertErrorStopsTheTableAndRecordsItsCopyBeforeAcknowledgingIt) {
  AddTransaction({Insert(kOrders, "o1#"), Insert(kItems, "i1#")});
  AddTransaction({Insert(kOrders, "o2#"), Insert(kItems, "i2#"), Insert(kOrders, "o3#")});
  AddTransaction({Insert(kOrders, "o4#"), Insert(kItems, "i3#")});
  const uint64_t end = AddTransaction({Insert(kOrders, "o5#")});
  clickhouse_.fail_inserts_into["raw_items"] =
      FakeClickHouse::Error(500, 27, "Cannot parse input: expected \\t before: …");
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.sessions, 1);
  EXPECT_TRUE(CopyRecorded("items"));
  EXPECT_FALSE(CopyRecorded("orders"));
  for (const char* marker : {"o1#", "o2#", "o3#", "o4#", "o5#"}) EXPECT_TRUE(clickhouse_.Stored(marker)) << marker;
  for (const char* marker : {"i1#", "i2#", "i3#"}) EXPECT_FALSE(clickhouse_.Stored(marker)) << marker;
  EXPECT_EQ(slot_.MaxSent(), end);  // the other table kept flowing, and the stopped one does not hold the slot back
}

TEST_F(ReplicatorSessionTest, AKeepaliveIsConfirmedOnlyOnAnIdleStreamWithNothingPending) {
  options_.batch_rows = 100;  // rows are flushed when the stream is idle
  const uint64_t first = AddTransaction({Insert(kOrders, "o1#")});
  const uint64_t pending = next_lsn_ + 0x10;  // o1 not stored yet
  slot_.wal.emplace_back(KeepaliveFrame{pending, true});
  slot_.wal.emplace_back(Pause{});  // idle: o1 is flushed and its transaction confirmed
  const uint64_t idle = next_lsn_ + 0x20;
  slot_.wal.emplace_back(KeepaliveFrame{idle, true});
  next_lsn_ += 0x100;
  const uint64_t inside = next_lsn_ + 0x400;  // beyond the transaction's end
  const uint64_t end = AddTransaction({Insert(kOrders, "o2#")}, inside);
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.reply[pending], 0u);  // rows pending: nothing confirmed yet
  EXPECT_EQ(slot_.reply[idle], idle);   // idle and settled: the keepalive's WAL end
  EXPECT_GT(idle, first);
  EXPECT_EQ(slot_.reply[inside], idle);  // inside a transaction: what was confirmed before
  EXPECT_EQ(slot_.MaxSent(), end);
  EXPECT_LT(end, inside);
}

// Signals (--signal-table): the signal table is not replicated; a stop-replication signal takes effect at its place
// in the stream (the table's earlier changes are stored, its later ones skipped while the other tables flow); the slot
// is confirmed past a signal only once it took effect (here: the stopped table's copy recorded); a bad signal is
// skipped.
TEST_F(ReplicatorSessionTest, SignalsTakeEffectInStreamOrderBeforeTheSlotPassesThem) {
  pg::TableInfo signals = Table(kSignals, "signals");
  signals.columns = {{"id", pg::oid::kText, -1, 1}, {"type", pg::oid::kText, -1, 0}, {"data", pg::oid::kText, -1, 0}};
  slot_.tables[kSignals] = signals;
  options_.signal_table = "public.signals";
  slot_.check = [this](uint64_t flushed) {
    slot_.CheckPassed(
        flushed,
        [&](const Change& c) {
          if (c.relid == kSignals) return c.note != "stop-replication" || CopyRecorded("items");
          return clickhouse_.Stored(c.marker()) || CopyRecorded(slot_.tables.at(c.relid).name);
        },
        "not stored in ClickHouse (or, for a signal, not in effect)");
  };
  auto signal = [](std::string id, std::string type, std::string data) {
    return Change{kSignals, 'I', std::move(id), std::move(type), std::move(data)};
  };
  AddTransaction({Insert(kOrders, "o1#"), Insert(kItems, "i1#")});
  AddTransaction({signal("s1#", "log", R"({"message": "hello"})"), signal("s2#", "pause-snapshot", "{}")});
  AddTransaction({Insert(kItems, "i2#"), Insert(kOrders, "o2#")});
  slot_.wal.emplace_back(Pause{});  // idle: everything before is flushed and confirmed
  // Alone in its transaction: nothing is pending at its commit, yet the slot must not pass it before it took effect.
  AddTransaction({signal("s3#", "stop-replication", R"({"data-collections": ["items"]})")});
  AddTransaction({Insert(kOrders, "o3#"), Insert(kItems, "i3#")});
  // Updates and deletes of signal rows are no signals.
  const uint64_t end = AddTransaction({Insert(kOrders, "o4#"),
                                       {kSignals, 'U', "s3#", "resume-replication"},
                                       {kSignals, 'D', "s1#", ""},
                                       Insert(kItems, "i4#")});
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << slot_.Violations();
  EXPECT_EQ(slot_.sessions, 1);
  EXPECT_TRUE(CopyRecorded("items"));
  EXPECT_FALSE(clickhouse_.Stored("i4#"));
  EXPECT_FALSE(CopyRecorded("orders"));
  // Items' changes up to the end of the signal's transaction are stored; later ones are skipped.
  for (const char* marker : {"o1#", "i1#", "i2#", "o2#", "o3#", "o4#"})
    EXPECT_TRUE(clickhouse_.Stored(marker)) << marker;
  EXPECT_FALSE(clickhouse_.Stored("i3#"));
  for (const char* marker : {"s1#", "s2#", "s3#"}) EXPECT_FALSE(clickhouse_.Stored(marker)) << marker;
  EXPECT_EQ(slot_.MaxSent(), end);
}

}  // namespace
}  // namespace streamshop::pipeline
