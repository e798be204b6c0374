// A scripted PostgreSQL source for unit tests of sessions (replicate, capture), behind the SlotSession seams
// (pipeline/SourceCatalog.h): the slot's WAL as pgoutput transactions, keepalives and idle moments, its confirmed
// position kept across sessions (a new session streams from it again, as PostgreSQL does after a reconnect), and a
// fake catalog of the publication's tables. Every standby status update goes through FakeSlot::check first.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "pg/TypeOids.h"
#include "pipeline/SourceCatalog.h"
#include "protocol_bytes.h"

namespace streamshop::testing_support {

using pipeline::SlotStream;
using pipeline::SourceCatalog;

inline pg::TableInfo Table(uint32_t oid, const std::string& name) {
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
  std::optional<std::string> third = {};  // an insert into a table of three text columns (e.g. a signal table)
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
// The test acts (e.g. its Kafka delivers records) at this point, and the stream has nothing ready for that read.
// Replayed by every session, as pauses and keepalives are.
struct Act {
  std::function<void()> run;
};
using WalItem = std::variant<Transaction, KeepaliveFrame, Pause, Act>;

// clang-format off
inline std::string Relation(uint32_t relid, const std::string& name) {
  return Bytes().U8('R').I32(relid).Str("public").Str(name).U8('d').I16(2)
      .U8(1).Str("id").I32(pg::oid::kText).I32(-1).U8(0).Str("note").I32(pg::oid::kText).I32(-1);
}
// A table of text columns as its catalog entry has them.
inline std::string Relation(const pg::TableInfo& t) {
  Bytes b;
  b.U8('R').I32(t.oid).Str(t.schema).Str(t.name).U8('d').I16(static_cast<int16_t>(t.columns.size()));
  for (const auto& c : t.columns) b.U8(c.key_position > 0 ? 1 : 0).Str(c.name).I32(c.type_oid).I32(c.typmod);
  return b;
}
inline std::string Message(const Change& c) {
  if (c.kind == 'I' && c.third) return Bytes().U8('I').I32(c.relid).U8('N').I16(3).Text(c.id).Text(c.note).Text(*c.third);
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
  bool lost = false;           // PostgreSQL invalidated it (wal_status 'lost')
  bool lost_at_start = false;  // invalidated after it was looked up: START_REPLICATION fails (as PostgreSQL's)
  int dropped = 0;             // DropSlot calls
  uint64_t confirmed = 0;
  int sessions = 0;
  std::vector<uint64_t> sent;          // the flushed position of every status update
  std::map<uint64_t, uint64_t> reply;  // a keepalive's WAL end → the position its reply carried
  std::vector<std::string> violations;
  std::atomic<bool>* stop = nullptr;
  std::function<void(uint64_t flushed)> check;  // runs before a status update takes effect

  // Before a status update with position `flushed` takes effect: every change of a transaction that ended there or
  // before must be `settled` (stored, delivered, …); each one that is not is a violation, `what` says what it lacks.
  void CheckPassed(uint64_t flushed, const std::function<bool(const Change&)>& settled, std::string_view what) {
    for (const WalItem& item : wal) {
      const auto* t = std::get_if<Transaction>(&item);
      if (!t || t->end > flushed) continue;
      for (const Change& c : t->changes) {
        if (settled(c)) continue;
        violations.push_back(fmt::format("status update at {:X} passes {} ({:X}…{:X}), {}", flushed, c.marker(),
                                         t->begin, t->end, what));
      }
    }
  }
  std::string Violations() const {
    std::string out;
    for (const std::string& v : violations) out += "\n  " + v;
    return out;
  }
  uint64_t MaxSent() const { return sent.empty() ? 0 : *std::max_element(sent.begin(), sent.end()); }

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

  Status Start(std::string_view slot, std::string_view) override {
    if (slot_.lost_at_start) {
      slot_.lost = true;
      return Status::Fatal(fmt::format(
          "PostgreSQL query failed (START_REPLICATION SLOT {} LOGICAL 0/0 …): ERROR:  cannot read from logical "
          "replication slot \"{}\"",
          slot, slot));
    }
    std::set<uint32_t> announced;
    for (const WalItem& item : slot_.wal) {
      if (std::holds_alternative<Pause>(item)) frames_.emplace_back();
      if (const auto* a = std::get_if<Act>(&item)) frames_.push_back(a->run);
      if (const auto* k = std::get_if<KeepaliveFrame>(&item)) frames_.push_back(Keepalive(k->wal_end, k->reply));
      const auto* t = std::get_if<Transaction>(&item);
      if (!t || t->end <= slot_.confirmed) continue;
      frames_.push_back(XLog(t->begin, Bytes().U8('B').I64(t->end - 0x10).I64(1000).I32(7)));
      if (t->keepalive_inside) frames_.push_back(Keepalive(*t->keepalive_inside, true));
      uint64_t lsn = t->begin;
      for (const Change& c : t->changes) {
        if (announced.insert(c.relid).second) {
          const pg::TableInfo& table = slot_.tables.at(c.relid);
          frames_.push_back(XLog(lsn, table.columns.size() == 2 ? Relation(c.relid, table.name) : Relation(table)));
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
    Frame frame = std::move(frames_.front());
    frames_.pop_front();
    if (auto* act = std::get_if<std::function<void()>>(&frame)) (*act)();
    current_ = std::holds_alternative<std::string>(frame) ? std::get<std::string>(std::move(frame)) : "";
    if (current_.empty()) {  // a pause (or an act)
      std::this_thread::sleep_for(timeout);
      return std::optional<std::string_view>();
    }
    if (current_[0] == 'k' && current_.back() == 1) awaiting_reply_ = KeepaliveWalEnd(current_);
    return std::optional<std::string_view>(current_);
  }

  Status Send(std::string_view data) override {
    EXPECT_EQ(data.at(0), 'r');
    const uint64_t flushed = StatusFlushedLsn(data);
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
  using Frame = std::variant<std::string, std::function<void()>>;  // bytes (none: a pause), or an act
  std::deque<Frame> frames_;
  std::string current_;
  std::optional<uint64_t> awaiting_reply_;  // a keepalive asked for a reply: the next status update is it
  int idle_reads_ = 0;
};

// The publication's tables, as the catalog has them; WAL positions and copies are not these tests' subject.
class FakeCatalog final : public SourceCatalog {
 public:
  explicit FakeCatalog(const std::map<uint32_t, pg::TableInfo>& tables, FakeSlot* slot = nullptr)
      : tables_(tables), slot_(slot) {}
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
  Result<std::vector<pg::ColumnDetails>> LoadColumnDetails(uint32_t oid) override {
    SS_ASSIGN_OR_RETURN(pg::TableInfo table, LoadTable("", oid));
    std::vector<pg::ColumnDetails> out;
    for (const auto& c : table.columns) out.push_back({c.name, c.not_null, std::nullopt, std::nullopt});
    return out;
  }
  Result<Lsn> CurrentWal() override { return Lsn(0x1000); }
  Status ReadUnchangedValues(const pg::TableInfo&, std::vector<std::optional<std::string_view>>&, std::vector<bool>&,
                             pg::PgResultPtr&) override {
    ADD_FAILURE() << "no change of this test leaves out a TOASTed value";
    return Status::Fatal("fake catalog: ReadUnchangedValues");
  }
  Status DropSlot(const std::string&) override {
    if (!slot_) return Status::Fatal("fake catalog: DropSlot without a slot");
    ++slot_->dropped;
    slot_->exists = slot_->lost = false;
    return Status::Ok();
  }
  pg::PgConnection* heartbeat_connection() override { return nullptr; }

 private:
  std::map<uint32_t, pg::TableInfo> tables_;
  FakeSlot* slot_;
};

// The seam that opens sessions on `slot`: the fake catalog and the scripted stream, the slot's state as it is
// then. At most three sessions: a fourth fails the test and sets `stop`.
inline std::function<Result<pipeline::SlotSession>(const pipeline::SlotSourceOptions&)> OpenScripted(
    FakeSlot& slot, const std::string& slot_name, const uint64_t& next_lsn, std::atomic<bool>& stop) {
  return [&slot, slot_name, &next_lsn, &stop](const pipeline::SlotSourceOptions& o) -> Result<pipeline::SlotSession> {
    EXPECT_EQ(o.slot, slot_name);
    if (++slot.sessions > 3) {
      ADD_FAILURE() << "more sessions than this test expects";
      stop = true;
      return Status::Fatal("too many sessions");
    }
    pipeline::SlotSession s;
    s.catalog = std::make_unique<FakeCatalog>(slot.tables, &slot);
    s.stream = std::make_unique<ScriptedSlotStream>(slot);
    s.identity = {"7000000000000000001", Lsn(next_lsn), "shop"};
    if (slot.exists) {
      s.slot = pg::SlotState{std::nullopt, Lsn(slot.confirmed), "shop", slot.lost ? "lost" : "reserved", std::nullopt};
    }
    for (const auto& [oid, t] : slot.tables) s.tables.push_back(t);
    return s;
  };
}

}  // namespace streamshop::testing_support
