// The change source and the batching policy, driven by a scripted replication stream and a fake target: the slot
// is never told a position the target has not stored, and batches flush when they should.
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "pipeline/BatchPolicy.h"
#include "pipeline/ChangeSource.h"
#include "protocol_bytes.h"

namespace streamshop::pipeline {
namespace {

using std::chrono::milliseconds;
using testing_support::Bytes;
using testing_support::Keepalive;
using testing_support::XLog;

// clang-format off
std::string Begin(uint64_t final_lsn) { return Bytes().U8('B').I64(final_lsn).I64(1000).I32(7); }
std::string Commit(uint64_t lsn, uint64_t end) { return Bytes().U8('C').U8(0).I64(lsn).I64(end).I64(2000); }
std::string Insert() { return Bytes().U8('I').I32(16384).U8('N').I16(1).Text("1"); }
// clang-format on

// Frames to hand out one per Read; records the standby status updates sent.
class ScriptedStream : public pg::ReplicationStream {
 public:
  std::deque<std::string> frames;
  std::vector<uint64_t> flushed;  // the flushed position of each status update sent

  Result<std::optional<std::string_view>> Read(milliseconds) override {
    if (frames.empty()) return std::optional<std::string_view>();
    current_ = std::move(frames.front());
    frames.pop_front();
    return std::optional<std::string_view>(current_);
  }
  Status Send(std::string_view data) override {
    EXPECT_EQ(data.at(0), 'r');
    flushed.push_back(testing_support::StatusFlushedLsn(data));
    return Status::Ok();
  }

 private:
  std::string current_;
};

// A target that holds rows until flushed.
class FakeTarget : public ChangeConsumer {
 public:
  size_t pending = 0;
  std::vector<char> kinds;
  Status OnChange(const pg::PgoutputMessage& msg, Lsn) override {
    if (std::holds_alternative<pg::InsertMessage>(msg)) ++pending;
    kinds.push_back(std::holds_alternative<pg::BeginMessage>(msg)    ? 'B'
                    : std::holds_alternative<pg::CommitMessage>(msg) ? 'C'
                                                                     : 'I');
    return Status::Ok();
  }
  bool Settled() const override { return pending == 0; }
};

class ChangeSourceTest : public ::testing::Test {
 protected:
  ScriptedStream stream;
  FakeTarget target;
  ChangeSource source{stream, nullptr, {milliseconds(0), std::chrono::seconds(10), std::chrono::seconds(0)}};

  void ReadAll() {
    while (!stream.frames.empty()) ASSERT_TRUE(*source.Next(target, milliseconds(0)));
  }
};

TEST_F(ChangeSourceTest, TracksTransactionsAndHandsEveryMessageOver) {
  stream.frames = {XLog(0x100, Begin(0x180)), XLog(0x110, Insert())};
  ReadAll();
  EXPECT_TRUE(source.in_transaction());
  stream.frames = {XLog(0x180, Commit(0x180, 0x1B0))};
  ReadAll();
  EXPECT_FALSE(source.in_transaction());
  EXPECT_EQ(source.last_commit_end().value, 0x1B0u);
  EXPECT_EQ(target.kinds, (std::vector<char>{'B', 'I', 'C'}));
  EXPECT_FALSE(*source.Next(target, milliseconds(0)));  // nothing more ready
}

TEST_F(ChangeSourceTest, NeverConfirmsPastWhatTheTargetHasNotStored) {
  stream.frames = {XLog(0x100, Begin(0x180)), XLog(0x110, Insert()), XLog(0x180, Commit(0x180, 0x1B0)),
                   Keepalive(0x200, /*reply=*/true)};
  ReadAll();
  // The row is pending: the keepalive's wal_end is not settled, and the reply carries nothing confirmed.
  EXPECT_EQ(source.confirmed().value, 0u);
  ASSERT_EQ(stream.flushed, (std::vector<uint64_t>{0}));
  ASSERT_TRUE(source.Tick(target).ok());
  EXPECT_EQ(stream.flushed.size(), 1u);  // nothing new to send
  // The target stored the transaction: its end goes to the slot at the next tick.
  target.pending = 0;
  source.Confirm(source.last_commit_end());
  ASSERT_TRUE(source.Tick(target).ok());
  EXPECT_EQ(stream.flushed.back(), 0x1B0u);
  // Idle and settled: a keepalive's wal_end may be confirmed.
  stream.frames = {Keepalive(0x300, false)};
  ReadAll();
  EXPECT_EQ(source.confirmed().value, 0x300u);
  // A confirmation never moves the position back.
  source.Confirm(Lsn{0x250});
  EXPECT_EQ(source.confirmed().value, 0x300u);
}

TEST_F(ChangeSourceTest, ATransactionThatLeftNothingToStoreIsConfirmedAtItsCommit) {
  stream.frames = {XLog(0x100, Begin(0x180)), XLog(0x180, Commit(0x180, 0x1B0))};
  ReadAll();
  EXPECT_EQ(source.confirmed().value, 0x1B0u);
  stream.frames = {XLog(0x200, Begin(0x280)), XLog(0x210, Insert()), XLog(0x280, Commit(0x280, 0x2B0))};
  ReadAll();
  EXPECT_EQ(source.confirmed().value, 0x1B0u);  // its row waits in the target
}

TEST_F(ChangeSourceTest, AKeepaliveInsideATransactionConfirmsNothing) {
  stream.frames = {XLog(0x100, Begin(0x180)), Keepalive(0x400, true)};
  ReadAll();  // settled (no row yet) but inside a transaction
  EXPECT_EQ(source.confirmed().value, 0u);
  EXPECT_EQ(stream.flushed, (std::vector<uint64_t>{0}));
  EXPECT_EQ(source.server_wal_end().value, 0x400u);
  EXPECT_EQ(source.LagBytes(), 0u);  // nothing confirmed yet: unknown
}

TEST_F(ChangeSourceTest, ACorruptFrameIsAnErrorNotASkip) {
  stream.frames = {std::string("x")};
  EXPECT_FALSE(source.Next(target, milliseconds(0)).ok());
}

TEST(BatchPolicyTest, FlushesWhenTheSourceIsIdleButNotMoreOftenThanTheGap) {
  using Clock = BatchPolicy::Clock;
  BatchPolicy batch({1000, 1 << 20, milliseconds(200), milliseconds(20)});
  const Clock::time_point t0 = Clock::now();
  EXPECT_FALSE(batch.Due(0, 0, true, t0));  // nothing pending
  EXPECT_TRUE(batch.Due(1, 10, true, t0));  // one row, source idle: flush now
  batch.Flushed(t0);
  EXPECT_FALSE(batch.Due(1, 10, true, t0 + milliseconds(5)));  // within the gap of the last flush
  EXPECT_EQ(batch.Wait(1, true, milliseconds(100), t0 + milliseconds(5)), milliseconds(15));
  EXPECT_EQ(batch.Wait(1, false, milliseconds(100), t0 + milliseconds(5)), milliseconds(100));  // by age: 200 ms
  EXPECT_TRUE(batch.Due(1, 10, true, t0 + milliseconds(20)));
  EXPECT_FALSE(batch.Due(1, 10, false, t0 + milliseconds(20)));  // the source has more: keep batching
}

TEST(BatchPolicyTest, FlushesByRowsBytesOrAgeUnderLoad) {
  using Clock = BatchPolicy::Clock;
  const Clock::time_point t0 = Clock::now();
  BatchPolicy batch({1000, 1 << 20, milliseconds(200), milliseconds(20)});
  EXPECT_FALSE(batch.Due(999, 10, false, t0));
  EXPECT_TRUE(batch.Due(1000, 10, false, t0));
  EXPECT_TRUE(batch.Due(1, 1 << 20, false, t0));
  EXPECT_FALSE(batch.Due(5, 10, false, t0 + milliseconds(199)));
  EXPECT_TRUE(batch.Due(5, 10, false, t0 + milliseconds(200)));  // the age counts from the first pending row
  EXPECT_EQ(batch.Wait(5, false, milliseconds(100), t0 + milliseconds(150)), milliseconds(50));
  batch.Flushed(t0 + milliseconds(200));
  EXPECT_FALSE(batch.Due(5, 10, false, t0 + milliseconds(300)));  // a new batch: its age starts now
}

}  // namespace
}  // namespace streamshop::pipeline
