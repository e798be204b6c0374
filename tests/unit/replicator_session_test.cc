// A real Replicator session (pipeline/Replicator.h) driven through its seams by doubles: a scripted replication slot
// (its WAL as pgoutput transactions, keepalives and idle moments; its confirmed position; a new session streams from
// it again), a fake catalog of two tables, and the tiny ClickHouse of fake_clickhouse.h. Every standby status update
// is checked when it is sent: each change of a transaction that ended at or before the position sent must already be
// in an acknowledged insert, or its table must be stopped with a fresh copy recorded (the snapshot state's reset row).
//
// Invariants proved: the slot is confirmed only past rows ClickHouse stored; a failed flush (Retryable insert error)
// confirms nothing, and the next session streams it again from the slot and stores it; a table whose insert fails
// Fatally is stopped while the others keep flowing, and its copy is recorded before any of its changes is
// acknowledged; a keepalive's WAL end is confirmed only on an idle stream with nothing pending.
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
#include "pg/TypeOids.h"
#include "pipeline/Replicator.h"
#include "pipeline/SourceCatalog.h"
#include "protocol_bytes.h"

namespace streamshop::pipeline {
namespace {

using namespace std::chrono_literals;
using clickhouse::HttpResponse;
using testing_support::Bytes;
using testing_support::FakeClickHouse;
using testing_support::FakeTransport;

constexpr uint32_t kOrders = 16384;
constexpr uint32_t kItems = 16385;

pg::TableInfo Table(uint32_t oid, const std::string& name) {
  pg::TableInfo t;
  t.oid = oid;
  t.schema = "public";
  t.name = name;
  t.columns = {{"id", pg::oid::kText, -1, 1}, {"note", pg::oid::kText, -1, 0}};
  t.columns[0].not_null = true;
  return t;
}

// ---- the slot's WAL ----------------------------------------------------------------------------------------------

// One change of a transaction. `marker` is what an insert of its row holds (unique per change): the id of an
// inserted or deleted row, the new note of an updated one.
struct Change {
  uint32_t relid;
  char kind;  // 'I', 'U', 'D'
  std::string id, note;
  std::string marker() const { return kind == 'U' ? note : id; }
};
struct Transaction {
  std::vector<Change> changes;
  std::optional<uint64_t> keepalive_inside;  // a keepalive (reply requested) with this WAL end, right after Begin
  uint64_t begin = 0, end = 0;               // end: the commit's end LSN
};
struct KeepaliveFrame {
  uint64_t wal_end;
  bool reply;
};
struct Pause {};  // the stream has nothing ready for one read
using WalItem = std::variant<Transaction, KeepaliveFrame, Pause>;

// clang-format off
std::string XLog(uint64_t start, const std::string& payload) {
  return Bytes().U8('w').I64(start).I64(start).I64(0).Raw(payload);
}
std::string Keepalive(uint64_t wal_end, bool reply) { return Bytes().U8('k').I64(wal_end).I64(0).U8(reply ? 1 : 0); }
std::string Relation(uint32_t relid, const std::string& name) {
  return Bytes().U8('R').I32(relid).Str("public").Str(name).U8('d').I16(2)
      .U8(1).Str("id").I32(pg::oid::kText).I32(-1).U8(0).Str("note").I32(pg::oid::kText).I32(-1);
}
std::string Message(const Change& c) {
  if (c.kind == 'I') return Bytes().U8('I').I32(c.relid).U8('N').I16(2).Text(c.id).Text(c.note);
  if (c.kind == 'U') return Bytes().U8('U').I32(c.relid).U8('N').I16(2).Text(c.id).Text(c.note);
  return Bytes().U8('D').I32(c.relid).U8('K').I16(2).Text(c.id).U8('n');
}
// clang-format on

// The slot and the fakes' shared state, across sessions (a new session streams from the confirmed position, as
// PostgreSQL does after a reconnect).
struct FakeSlot {
  std::map<uint32_t, pg::TableInfo> tables;
  std::vector<WalItem> wal;
  bool exists = false;
  uint64_t confirmed = 0;
  int sessions = 0;
  std::vector<uint64_t> sent;          // the flushed position of every status update
  std::map<uint64_t, uint64_t> reply;  // a keepalive's WAL end → the position its reply carried
  std::vector<std::string> violations;
  std::atomic<bool>* stop = nullptr;
  std::function<void(uint64_t flushed)> check;  // runs before a status update takes effect

  uint64_t LastCommitEnd() const {
    uint64_t end = 0;
    for (const WalItem& item : wal) {
      if (const auto* t = std::get_if<Transaction>(&item)) end = std::max(end, t->end);
    }
    return end;
  }
};

// The replication connection of one session: on Start, the frames of everything after the confirmed position;
// each table's Relation message before its first change of the session. Once everything was read and confirmed, it
// sets the stop flag.
class ScriptedSlotStream final : public SlotStream {
 public:
  explicit ScriptedSlotStream(FakeSlot& slot) : slot_(slot) {}

  Result<Lsn> CreateSlot(std::string_view) override {
    EXPECT_FALSE(slot_.exists);
    slot_.exists = true;
    return Lsn(0x1000);
  }

  Status Start(std::string_view, std::string_view) override {
    std::set<uint32_t> announced;
    for (const WalItem& item : slot_.wal) {
      if (std::holds_alternative<Pause>(item)) frames_.emplace_back();
      if (const auto* k = std::get_if<KeepaliveFrame>(&item)) frames_.push_back(Keepalive(k->wal_end, k->reply));
      const auto* t = std::get_if<Transaction>(&item);
      if (!t || t->end <= slot_.confirmed) continue;
      frames_.push_back(XLog(t->begin, Bytes().U8('B').I64(t->end - 0x10).I64(1000).I32(7)));
      if (t->keepalive_inside) frames_.push_back(Keepalive(*t->keepalive_inside, true));
      uint64_t lsn = t->begin;
      for (const Change& c : t->changes) {
        if (announced.insert(c.relid).second) {
          frames_.push_back(XLog(lsn, Relation(c.relid, slot_.tables.at(c.relid).name)));
        }
        frames_.push_back(XLog(lsn += 0x8, Message(c)));
      }
      frames_.push_back(XLog(t->end - 0x10, Bytes().U8('C').U8(0).I64(t->end - 0x10).I64(t->end).I64(2000)));
    }
    return Status::Ok();
  }

  // Nothing ready: waits `timeout`, as a real stream does. Caught up, it sends every other read a keepalive with the
  // end of the WAL, as a walsender does while the client's flushed position is behind.
  Result<std::optional<std::string_view>> Read(std::chrono::milliseconds timeout) override {
    if (frames_.empty()) {
      if (slot_.confirmed >= slot_.LastCommitEnd() || ++idle_reads_ > 100) {
        EXPECT_LE(idle_reads_, 100) << "the session never confirmed the end of the WAL";
        slot_.stop->store(true);
      }
      if (idle_reads_ % 2 == 0) {
        current_ = Keepalive(slot_.LastCommitEnd(), false);
        return std::optional<std::string_view>(current_);
      }
      std::this_thread::sleep_for(timeout);
      return std::optional<std::string_view>();
    }
    current_ = std::move(frames_.front());
    frames_.pop_front();
    if (current_.empty()) {  // a pause
      std::this_thread::sleep_for(timeout);
      return std::optional<std::string_view>();
    }
    if (current_[0] == 'k' && current_.back() == 1) awaiting_reply_ = KeepaliveWalEnd(current_);
    return std::optional<std::string_view>(current_);
  }

  Status Send(std::string_view data) override {
    EXPECT_EQ(data.at(0), 'r');
    uint64_t flushed = 0;
    for (int i = 9; i < 17; ++i) flushed = (flushed << 8) | static_cast<uint8_t>(data.at(i));
    slot_.check(flushed);
    if (awaiting_reply_) slot_.reply[*awaiting_reply_] = flushed;
    awaiting_reply_.reset();
    slot_.sent.push_back(flushed);
    slot_.confirmed = std::max(slot_.confirmed, flushed);
    return Status::Ok();
  }

 private:
  static uint64_t KeepaliveWalEnd(const std::string& bytes) {
    uint64_t v = 0;
    for (int i = 1; i < 9; ++i) v = (v << 8) | static_cast<uint8_t>(bytes.at(i));
    return v;
  }

  FakeSlot& slot_;
  std::deque<std::string> frames_;  // an empty one: a pause
  std::string current_;
  std::optional<uint64_t> awaiting_reply_;  // a keepalive asked for a reply: the next status update is it
  int idle_reads_ = 0;
};

// The publication's two tables, as the catalog has them; WAL positions and copies are not this test's subject.
class FakeCatalog final : public SourceCatalog {
 public:
  explicit FakeCatalog(const std::map<uint32_t, pg::TableInfo>& tables) : tables_(tables) {}
  Result<std::vector<pg::TableInfo>> LoadPublishedTables(const std::string&) override {
    std::vector<pg::TableInfo> out;
    for (const auto& [oid, t] : tables_) out.push_back(t);
    return out;
  }
  Result<std::vector<uint32_t>> PublishedTableOids(const std::string&) override {
    std::vector<uint32_t> out;
    for (const auto& [oid, t] : tables_) out.push_back(oid);
    return out;
  }
  Result<pg::TableInfo> LoadTable(const std::string&, uint32_t oid) override {
    auto t = tables_.find(oid);
    if (t == tables_.end()) return Status::Fatal(fmt::format("fake catalog: no table OID {}", oid));
    return t->second;
  }
  Result<bool> PublishedAsAncestor(const std::string&, uint32_t) override { return false; }
  Result<std::map<uint32_t, pg::PublishedShape>> LoadPublishedShapes(const std::string&) override {
    std::map<uint32_t, pg::PublishedShape> out;
    for (const auto& [oid, t] : tables_) out[oid] = {};
    return out;
  }
  Result<bool> ColumnHasDefault(uint32_t, const std::string&) override { return false; }
  Result<Lsn> CurrentWal() override { return Lsn(0x1000); }
  Status ReadUnchangedValues(const pg::TableInfo&, std::vector<std::optional<std::string_view>>&, std::vector<bool>&,
                             pg::PgResultPtr&) override {
    ADD_FAILURE() << "no change of this test leaves out a TOASTed value";
    return Status::Fatal("fake catalog: ReadUnchangedValues");
  }
  pg::PgConnection* heartbeat_connection() override { return nullptr; }

 private:
  std::map<uint32_t, pg::TableInfo> tables_;
};

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
      if (sql.starts_with("SELECT count() FROM system.columns")) return FakeClickHouse::Answer("0\n");  // _row_hash
      if (sql.starts_with("SELECT table_oid, argMax(shape")) return FakeClickHouse::Answer("");
      if (sql.starts_with("SELECT chunk, chunk_pages FROM")) return FakeClickHouse::Answer("");
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
    seams.open_source = [this](const SlotSourceOptions& o) -> Result<SlotSession> {
      EXPECT_EQ(o.slot, options_.slot);
      if (++slot_.sessions > 3) {
        ADD_FAILURE() << "more sessions than this test expects";
        stop_ = true;
        return Status::Fatal("too many sessions");
      }
      SlotSession s;
      s.catalog = std::make_unique<FakeCatalog>(slot_.tables);
      s.stream = std::make_unique<ScriptedSlotStream>(slot_);
      s.identity = {"7000000000000000001", Lsn(next_lsn_), "shop"};
      if (slot_.exists) s.slot = pg::SlotState{std::nullopt, Lsn(slot_.confirmed), "shop"};
      for (const auto& [oid, t] : slot_.tables) s.tables.push_back(t);
      return s;
    };
    seams.clickhouse = [this](const clickhouse::Endpoint& e) {
      return std::make_unique<clickhouse::ClickHouseClient>(e.url, std::make_unique<FakeTransport>(clickhouse_));
    };
    return Replicator(options_, std::move(seams)).Run(stop_);
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
    for (const WalItem& item : slot_.wal) {
      const auto* t = std::get_if<Transaction>(&item);
      if (!t || t->end > flushed) continue;
      for (const Change& c : t->changes) {
        if (clickhouse_.Stored(c.marker())) continue;
        if (CopyRecorded(slot_.tables.at(c.relid).name)) continue;
        slot_.violations.push_back(fmt::format("status update at {:X} passes {} ({:X}…{:X}), not stored in ClickHouse",
                                               flushed, c.marker(), t->begin, t->end));
      }
    }
  }

  std::string Violations() const {
    std::string out;
    for (const std::string& v : slot_.violations) out += "\n  " + v;
    return out;
  }
  uint64_t MaxSent() const { return slot_.sent.empty() ? 0 : *std::max_element(slot_.sent.begin(), slot_.sent.end()); }

  ReplicatorOptions options_;
  std::atomic<bool> stop_{false};
  FakeSlot slot_;
  FakeClickHouse clickhouse_;
  std::vector<std::string> statements_;  // INSERT … VALUES statements (snapshot state, publication shapes)
  uint64_t next_lsn_ = 0x10000;
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
  EXPECT_TRUE(slot_.violations.empty()) << Violations();
  for (const char* marker : {"o1#", "i1#", "o2#", "u1#", "i2#", "d1#", "i3#", "i4#", "o3#", "o4#"}) {
    EXPECT_TRUE(clickhouse_.Stored(marker)) << marker;
  }
  // The keepalive's reply: t1. The third transaction's rows were all flushed by its commit: settled there.
  EXPECT_EQ(slot_.sent, (std::vector<uint64_t>{t1, t1, t2, t3, end, end}));
  EXPECT_EQ(slot_.sessions, 1);
}

TEST_F(ReplicatorSessionTest, RetryableInsertErrorConfirmsNothingAndTheNextSessionStoresIt) {
  const uint64_t first = AddTransaction({Insert(kOrders, "o1#"), Insert(kOrders, "o2#")});
  AddTransaction({Insert(kOrders, "o3#"), Insert(kOrders, "o4#")});
  const uint64_t end = AddTransaction({Insert(kOrders, "o5#")});
  // The first flush (o1-o3) is stored; the second (o4, o5) fails.
  clickhouse_.fail_insert[2] = FakeClickHouse::Error(503, 252, "Too many parts (300).");
  Status st = Run();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(slot_.violations.empty()) << Violations();
  EXPECT_EQ(slot_.sessions, 2);
  EXPECT_EQ(slot_.sent.front(), first);  // the first session confirmed its first transaction only
  EXPECT_EQ(clickhouse_.inserts, 3);     // the second session streamed o3-o5 again and stored them at once
  for (const char* marker : {"o1#", "o2#", "o3#", "o4#", "o5#"}) EXPECT_TRUE(clickhouse_.Stored(marker)) << marker;
  EXPECT_EQ(MaxSent(), end);
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
  EXPECT_TRUE(slot_.violations.empty()) << Violations();
  EXPECT_EQ(slot_.sessions, 1);
  EXPECT_TRUE(CopyRecorded("items"));
  EXPECT_FALSE(CopyRecorded("orders"));
  for (const char* marker : {"o1#", "o2#", "o3#", "o4#", "o5#"}) EXPECT_TRUE(clickhouse_.Stored(marker)) << marker;
  for (const char* marker : {"i1#", "i2#", "i3#"}) EXPECT_FALSE(clickhouse_.Stored(marker)) << marker;
  EXPECT_EQ(MaxSent(), end);  // the other table kept flowing, and the stopped one does not hold the slot back
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
  EXPECT_TRUE(slot_.violations.empty()) << Violations();
  EXPECT_EQ(slot_.reply[pending], 0u);  // rows pending: nothing confirmed yet
  EXPECT_EQ(slot_.reply[idle], idle);   // idle and settled: the keepalive's WAL end
  EXPECT_GT(idle, first);
  EXPECT_EQ(slot_.reply[inside], idle);  // inside a transaction: what was confirmed before
  EXPECT_EQ(MaxSent(), end);
  EXPECT_LT(end, inside);
}

}  // namespace
}  // namespace streamshop::pipeline
