// ClickHouse as the pipeline's ChangeTarget (model/ChangeTarget.h): one raw_* table per source table
// (TableWriter: its DDL, type mapping and pending RowBinary rows) in one database, flushed over several connections
// at once (FlushConcurrently). Not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/TableWriter.h"
#include "clickhouse/TypeMapping.h"
#include "model/ChangeTarget.h"

namespace streamshop::clickhouse {

class ClickHouseTarget final : public model::ChangeTarget {
 public:
  using Connect = std::function<std::unique_ptr<ClickHouseClient>()>;
  // Opens kFlushConnections + 1 clients through `connect`, detects the server's dialect, and creates `database`
  // and its dead-letter table unless they exist.
  static Result<std::unique_ptr<ClickHouseTarget>> Open(const Connect& connect, const std::string& database);

  Result<Ensured> EnsureTable(const model::TableSchema& table, model::TargetTable* previous) override;
  void Forget(model::TargetTable* table) override;
  Status Truncate(const std::string& schema, const std::string& name) override;
  Status Flush(std::vector<Failure>* failed = nullptr) override;
  size_t pending_rows() const override;
  size_t pending_bytes() const override;
  uint64_t TakeStoredDeadLetters() override;
  Result<std::optional<Stored>> NewestStored(const model::TableSchema& table) override;

  Dialect dialect() const { return dialect_; }

 private:
  ClickHouseTarget(std::unique_ptr<ClickHouseClient> ch, std::vector<std::unique_ptr<ClickHouseClient>> flush_clients,
                   Dialect dialect, std::string database);
  std::string QuotedTable(const std::string& schema, const std::string& name) const;

  std::unique_ptr<ClickHouseClient> ch_;
  std::vector<std::unique_ptr<ClickHouseClient>> flush_clients_;  // the tables of a flush are inserted at once
  Dialect dialect_;
  std::string database_;
  std::vector<std::unique_ptr<TableWriter>> tables_;  // the handles given out
};

}  // namespace streamshop::clickhouse
