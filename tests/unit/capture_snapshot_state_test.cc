// capture's snapshot progress as read back from its state topic (pipeline/KafkaSnapshotTarget.h): records applied
// oldest first, the old per-table "done"/"reset" records included.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/KafkaSnapshotTarget.h"

namespace streamshop::pipeline {
namespace {

const std::string kTable = "7714197477826877399/shop/streamshop_capture/public.orders";

SnapshotTableState StateAfter(const std::vector<std::pair<std::string, std::string>>& records) {
  std::map<std::string, SnapshotTableState> states;
  for (const auto& [key, value] : records) ApplyCaptureStateRecord(states, key, value);
  return states[kTable];
}

std::pair<std::string, std::string> Chunk(int i, int pages = 10) {
  return {kTable + "/chunk/" + std::to_string(i), "chunk_pages=" + std::to_string(pages) + " rows=1000"};
}

TEST(CaptureSnapshotState, NothingRecordedIsNotStarted) {
  const SnapshotTableState s = StateAfter({});
  EXPECT_FALSE(s.started);
  EXPECT_FALSE(s.done);
  EXPECT_TRUE(s.chunks_done.empty());
}

TEST(CaptureSnapshotState, EarlierVersionsRecordsKeepWorking) {
  EXPECT_TRUE(StateAfter({{kTable, "done"}}).done);
  const SnapshotTableState reset = StateAfter({{kTable, "done"}, {kTable, "reset"}});
  EXPECT_TRUE(reset.started);
  EXPECT_FALSE(reset.done);
  EXPECT_EQ(reset.chunk_pages, 0);  // unknown: the snapshot starts over with the current chunk size
}

TEST(CaptureSnapshotState, ChunksAfterTheResetCountWithTheirSize) {
  const SnapshotTableState s = StateAfter({{kTable, "reset"}, Chunk(0), Chunk(3), Chunk(3)});
  EXPECT_TRUE(s.started);
  EXPECT_FALSE(s.done);
  EXPECT_EQ(s.chunk_pages, 10);
  EXPECT_EQ(s.chunks_done, (std::set<int64_t>{0, 3}));
  EXPECT_TRUE(StateAfter({{kTable, "reset"}, Chunk(0), Chunk(1), {kTable, "done"}}).done);
}

TEST(CaptureSnapshotState, AResetVoidsEverythingBefore) {
  // Also as log compaction leaves it: the latest record of each key, in order.
  const SnapshotTableState s = StateAfter({Chunk(0), Chunk(1), {kTable, "reset"}, Chunk(2, 20)});
  EXPECT_EQ(s.chunk_pages, 20);
  EXPECT_EQ(s.chunks_done, (std::set<int64_t>{2}));
}

TEST(CaptureSnapshotState, OtherTablesAndMalformedRecordsAreIgnored) {
  const SnapshotTableState s = StateAfter({{kTable, "reset"},
                                           {kTable + "x/chunk/1", "chunk_pages=10 rows=1"},
                                           {kTable + "/chunk/2x", "chunk_pages=10 rows=1"},
                                           {kTable + "/chunk/-1", "chunk_pages=10 rows=1"},
                                           {kTable + "/chunk/4", "rows=1"},
                                           {kTable + "/chunk/5", ""},
                                           Chunk(6),
                                           Chunk(7, 30)});  // another chunk size: not of this snapshot
  EXPECT_EQ(s.chunks_done, (std::set<int64_t>{6}));
  EXPECT_FALSE(s.done);
}

}  // namespace
}  // namespace streamshop::pipeline
