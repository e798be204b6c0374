// capture --exactly-once: the position record in the state topic and the rule that skips replayed transactions
// (pipeline/CapturePosition.h).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "debezium/TopicNames.h"
#include "pipeline/CapturePosition.h"
#include "pipeline/KafkaSnapshotTarget.h"

namespace streamshop::pipeline {
namespace {

TEST(CapturePosition, EncodesAndDecodes) {
  EXPECT_EQ(EncodeCapturePosition(Lsn{0x1'0000'00A0}), "lsn=1/A0");
  EXPECT_EQ(EncodeCapturePosition(Lsn{}), "lsn=0/0");
  EXPECT_EQ(DecodeCapturePosition("lsn=1/A0"), Lsn{0x1'0000'00A0});
  EXPECT_EQ(DecodeCapturePosition(EncodeCapturePosition(Lsn{0xFFFF'FFFF'0000'0001})), Lsn{0xFFFF'FFFF'0000'0001});
  EXPECT_EQ(DecodeCapturePosition("done"), std::nullopt);
  EXPECT_EQ(DecodeCapturePosition("lsn="), std::nullopt);
  EXPECT_EQ(DecodeCapturePosition("lsn=1/A0x"), std::nullopt);
  EXPECT_EQ(DecodeCapturePosition("LSN=1/A0"), std::nullopt);
}

TEST(CapturePosition, LatestRecordOfItsKeyWins) {
  const std::string key = debezium::CapturePositionKey("7714197477826877399", "shop", "streamshop_capture");
  const std::string other = debezium::CapturePositionKey("7714197477826877399", "shop", "other_slot");
  EXPECT_EQ(key, "7714197477826877399/shop/streamshop_capture/position");
  EXPECT_EQ(CommittedCapturePosition({}, key), Lsn{});
  const std::vector<std::pair<std::string, std::string>> records = {
      {key, "lsn=0/100"}, {"7714197477826877399/shop/streamshop_capture/public.orders", "reset"},
      {key, "lsn=0/200"}, {other, "lsn=0/900"},
      {key, "garbage"},  // ignored
  };
  EXPECT_EQ(CommittedCapturePosition(records, key), Lsn{0x200});
  // A new slot of the same name writes 0/0: what an earlier slot held no longer counts.
  auto reset = records;
  reset.push_back({key, EncodeCapturePosition(Lsn{})});
  EXPECT_EQ(CommittedCapturePosition(reset, key), Lsn{});
}

TEST(CapturePosition, PositionRecordIsNotASnapshotState) {
  const std::string key = debezium::CapturePositionKey("1", "shop", "s");
  std::map<std::string, SnapshotTableState> states;
  ApplyCaptureStateRecord(states, key, "lsn=0/200");
  EXPECT_TRUE(states.empty());
}

// Transactions in commit order: T1 [Begin final_lsn 0/100, end 0/128], T2 [0/200, 0/228], T3 [0/300, 0/328].
// Kafka committed T1 and T2 (position 0/228); the slot was confirmed only to 0/128 and replays T2 and T3.
TEST(CapturePosition, SkipsExactlyTheTransactionsKafkaHolds) {
  const Lsn position{0x228};
  EXPECT_TRUE(AlreadyInKafka(Lsn{0x100}, position));
  EXPECT_TRUE(AlreadyInKafka(Lsn{0x200}, position));
  EXPECT_FALSE(AlreadyInKafka(Lsn{0x300}, position));
  // A transaction whose commit record starts right where the last one ended is new.
  EXPECT_FALSE(AlreadyInKafka(Lsn{0x228}, position));
  // Nothing committed yet: nothing is skipped.
  EXPECT_FALSE(AlreadyInKafka(Lsn{0}, Lsn{}));
}

TEST(CapturePosition, SnapshotTransactionalIds) {
  EXPECT_EQ(SnapshotTransactionalIds("streamshop-capture-s", 2),
            (std::vector<std::string>{"streamshop-capture-s-snapshot-0", "streamshop-capture-s-snapshot-1",
                                      "streamshop-capture-s-snapshot-control"}));
}

}  // namespace
}  // namespace streamshop::pipeline
