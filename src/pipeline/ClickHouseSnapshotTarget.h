// The Snapshotter's target for `replicate`: rows into ClickHouse analytics.raw_* (version 0), progress in
// <database>._streamshop_snapshots (clickhouse/SnapshotState; the rows earlier versions wrote keep working).
//
// A table whose snapshot has no completed chunk is truncated in ClickHouse first (stale rows from an earlier
// slot could otherwise survive). Each sink owns a ClickHouse client on a second thread that inserts one batch
// while its worker reads the next; a chunk is recorded once its last batch, and so every earlier one, is stored.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/SnapshotState.h"
#include "clickhouse/TableWriter.h"
#include "clickhouse/TypeMapping.h"
#include "pipeline/Progress.h"
#include "pipeline/Snapshotter.h"

namespace streamshop::pipeline {

struct ClickHouseSnapshotOptions {
  clickhouse::Endpoint clickhouse;
  clickhouse::SnapshotStateKey state;
  clickhouse::Dialect dialect{};
  size_t batch_rows = 200'000;
  size_t batch_bytes = 32 << 20;
  Metrics* metrics = nullptr;  // counts the dead letters the copies store
};

class ClickHouseSnapshotTarget : public SnapshotTarget {
 public:
  explicit ClickHouseSnapshotTarget(ClickHouseSnapshotOptions options);

  std::string Key(const pg::TableInfo& table) const override;
  Result<SnapshotTableState> Load(const pg::TableInfo& table) override;
  Status RecordReset(const pg::TableInfo& table, int64_t chunk_pages) override;
  Status BeginTable(const pg::TableInfo& table, const SnapshotTableState& state) override;
  Result<std::unique_ptr<SnapshotSink>> OpenSink() override;

 private:
  Status Connect();
  ClickHouseSnapshotOptions options_;
  std::unique_ptr<clickhouse::ClickHouseClient> ch_;  // Run()'s thread
  // Per table (OID) copied, a writer encoding for the ClickHouse column types found (e.g. a column widened to
  // String before the type went back): batches are copies of it. Complete before the first OpenSink.
  std::map<uint32_t, std::unique_ptr<clickhouse::TableWriter>> prototypes_;
};

}  // namespace streamshop::pipeline
