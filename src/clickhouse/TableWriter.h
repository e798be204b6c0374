// One replicated table on the ClickHouse side: its name and DDL under the type mapping, and a RowBinary
// buffer of pending rows. Rows carry `_version` (the change's LSN; 0 for snapshot rows) and `_deleted`.
// Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/TypeMapping.h"
#include "pg/Catalog.h"

namespace streamshop::clickhouse {

struct TargetColumn {
  std::string name;
  ColumnType type;
  int key_position = 0;  // as in pg::ColumnInfo
};

using RowValues = std::vector<std::optional<std::string_view>>;

class TableWriter {
 public:
  TableWriter(const pg::TableInfo& table, Dialect dialect, const std::string& database);

  // "raw_<table>" for schema public, "raw_<schema>__<table>" otherwise.
  static std::string TargetName(const std::string& schema, const std::string& table);

  const pg::TableInfo& source() const { return source_; }
  const std::string& target() const { return target_; }  // quoted `database`.`raw_x`
  const std::string& database() const { return database_; }
  const std::string& table_name() const { return table_name_; }  // raw_x
  const std::vector<TargetColumn>& columns() const { return columns_; }
  std::string CreateTableSql() const;
  // "SELECT <columns> FROM <target> FINAL WHERE _deleted = 0 FORMAT RowBinary".
  std::string SelectLiveRowsSql() const;
  // Primary-key columns of `values` as "col=value, …" for messages.
  std::string DescribeKey(const RowValues& values) const;

  // Encodes the column values of a row (PostgreSQL text, std::nullopt = NULL) in table column order, plus
  // _version and _deleted. A row with a value its ClickHouse column cannot hold (e.g. numeric NaN in a
  // Decimal) is not written: it goes to <database>._streamshop_dead_letters with the reason and every value
  // as PostgreSQL text, and replication goes on (verify then reports that row).
  Status AppendRow(const RowValues& values, uint64_t version, bool deleted);
  uint64_t dead_letters() const { return dead_letters_total_; }
  // CREATE TABLE IF NOT EXISTS for the dead-letter table of `database`.
  static std::string CreateDeadLetterTableSql(const std::string& database);
  // A row from an UPDATE that left TOASTed columns unchanged (PostgreSQL did not send them; `unchanged` marks
  // them). Flush() takes those values from the newest version of the row already in ClickHouse, found by
  // `lookup_key` (the old key when the update changed the key). Rows are copied: the caller's views may die.
  //
  // Why the newest version is right: Flush() first inserts every ordinary pending row, so ClickHouse holds all
  // changes up to this batch. For the newest version of a key, the newest earlier full value is the right one.
  // An older version that picks up a later value is superseded by that later version anyway.
  Status AppendRowWithUnchanged(const RowValues& values, const std::vector<bool>& unchanged,
                                const RowValues& lookup_key, uint64_t version);

  // A table without a key (pg::RowIdentity::kFullRow) has a column `_row_hash UInt64` = RowHash of the row's
  // values, and is ordered by it: an UPDATE deletes the old row's hash and writes the new one. Rows equal in every
  // value share one hash, so they are stored once.
  uint64_t RowHash(const RowValues& values) const;

  // Encodes only the columns (no _version/_deleted) into `out`; used by verify.
  Status EncodeColumns(const RowValues& values, std::string& out) const;

  // Encode column `i` for this type from now on (after the ClickHouse column was found wider or widened).
  // Only valid with no rows pending.
  void SetColumnType(size_t i, ColumnType type) { columns_[i].type = std::move(type); }

  size_t pending_rows() const { return pending_rows_ + toast_rows_.size() + dead_letter_rows_; }
  size_t pending_bytes() const { return buffer_.size() + toast_bytes_; }
  // Inserts the pending rows (then resolves and inserts the rows with unchanged TOAST values); they are
  // dropped from the buffer only when ClickHouse acknowledged them.
  Status Flush(ClickHouseClient& ch);
  void DiscardPending();

 private:
  pg::TableInfo source_;
  Dialect dialect_;
  std::string database_;
  std::string table_name_;
  std::string target_;
  std::vector<TargetColumn> columns_;
  std::string insert_sql_;
  struct ToastRow {
    std::vector<std::optional<std::string>> values;
    std::vector<bool> unchanged;
    std::vector<std::optional<std::string>> lookup_key;
    uint64_t version = 0;
  };
  Status InsertBuffer(ClickHouseClient& ch);
  void AppendDeadLetter(const RowValues& values, uint64_t version, const Status& reason);
  Status ResolveToastRows(ClickHouseClient& ch);
  // ClickHouse SQL literal of a key value (PostgreSQL text) for this column, for WHERE … IN lookups.
  Result<std::string> KeyLiteral(const TargetColumn& column, std::string_view text) const;

  std::string buffer_;
  size_t pending_rows_ = 0;
  std::vector<ToastRow> toast_rows_;
  std::string dead_letter_buffer_;  // RowBinary rows for the dead-letter table
  size_t dead_letter_rows_ = 0;
  uint64_t dead_letters_total_ = 0;
  size_t toast_bytes_ = 0;
};

}  // namespace streamshop::clickhouse
