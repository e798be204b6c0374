// One replicated table on the ClickHouse side: its name and DDL under the type mapping, and a RowBinary
// buffer of pending rows. Rows carry `_unfit` (values their column cannot hold, below), `_version` (the change's
// LSN; 0 for snapshot rows) and `_deleted`.
//
// Values ClickHouse cannot hold (docs/TYPE_MAPPING.md): a value its column's type cannot represent (numeric NaN
// in a Decimal, a timestamp past Int64 microseconds, …) is stored as NULL (in a NOT NULL column of a modern server:
// its type's default, e.g. an empty array for a multi-dimensional one), and its exact PostgreSQL text is kept
// beside it in `_unfit`, a JSON object column name → text (NULL when every value fits). The row stays in the raw
// table; a dead letter records the replacement. Only a key column cannot take NULL: such a row is not written,
// the dead letter is then its only copy (and verify reports it).
//
// Key identity is the encoded bytes of the key columns (SameKey, the lookups of TOAST resolution): ClickHouse
// orders and replaces rows by those bytes, never by a rendering of them.
// Not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "clickhouse/ClusterLayout.h"
#include "clickhouse/TypeMapping.h"
#include "model/ChangeTarget.h"
#include "model/TableSchema.h"

namespace streamshop::clickhouse {

struct TargetColumn {
  std::string name;
  ColumnType type;
  int key_position = 0;  // as in model::Column
};

using model::RowValues;

class TableWriter final : public model::TargetTable {
 public:
  TableWriter(const model::TableSchema& table, Dialect dialect, const std::string& database);

  // The ClickHouse table of a source table: "raw_<table>" for schema public, "raw_<schema>__<table>"
  // otherwise. Injective — distinct PostgreSQL tables never share a name — by two rules (docs/TYPE_MAPPING.md):
  // - A part that could be misread (a table or schema containing "__" or '%', or a schema ending in '_') is
  //   written with every '_' as %5F and every '%' as %25. Other names are used as they are.
  // - A name longer than kMaxTargetFileNameBytes once escaped for ClickHouse's file names keeps a readable
  //   prefix and ends in "%h" and 16 hex digits of XXH64(schema NUL table).
  static std::string TargetName(const std::string& schema, const std::string& table);
  // The text key of a source table in the state rows (_streamshop_snapshots) and dead letters:
  // "<schema>.<table>" when the schema holds no '.', else '.' and both names in PostgreSQL quoting
  // (."a.b"."c", model::QuoteSqlIdent). Injective: a key of the first form never starts with '.' (a schema is never
  // empty) and splits at its first '.'.
  static std::string SourceKey(const std::string& schema, const std::string& table);
  // The ClickHouse type of a column (docs/TYPE_MAPPING.md): keys are never Nullable, and an array key keeps its
  // text (the TOAST lookups write keys as SQL literals); other columns are Nullable on legacy servers, and on
  // modern servers unless NOT NULL.
  static ColumnType MapColumn(const model::Column& column, Dialect dialect);
  // Longest target name, counted as ClickHouse's file name (bytes other than [A-Za-z0-9_] take three): fits
  // 18.16's limit (247: NAME_MAX less ".sql.tmp") and current servers' (213 less the database's length).
  static constexpr size_t kMaxTargetFileNameBytes = 180;

  const model::TableSchema& schema() const override { return schema_; }
  const std::string& target() const { return target_; }  // quoted `database`.`raw_x`
  const std::string& database() const { return database_; }
  const std::string& table_name() const { return table_name_; }  // raw_x
  const std::vector<TargetColumn>& columns() const { return columns_; }
  Dialect dialect() const { return dialect_; }
  // The statements that create the table under `layout` (ClusterLayout::CreateRawTable); CreateTableSql() is the
  // one statement of one server.
  std::vector<std::string> CreateTableStatements(const ClusterLayout& layout) const;
  // What a Distributed table over this table's shards hashes (ClusterLayout::ShardingKey).
  std::string ShardingKey() const;
  std::string CreateTableSql() const;
  // "SELECT <columns>, _unfit FROM <target> FINAL WHERE _deleted = 0 FORMAT RowBinary".
  std::string SelectLiveRowsSql() const;
  // Primary-key columns of `values` as "col=value, …" for messages only (ambiguous: never compare it).
  std::string DescribeKey(const RowValues& values) const;
  // Whether two rows have the same primary key in ClickHouse: their key columns encode to the same bytes. A key
  // ClickHouse cannot hold is compared value by value (its row is dead-lettered anyway).
  bool SameKey(const RowValues& a, const RowValues& b) const override;

  // The `_unfit` column: Nullable(String), a JSON object of the values stored as NULL (see above).
  static constexpr std::string_view kUnfitColumn = "_unfit";
  static const ColumnType& UnfitType();

  // Encodes the column values of a row (PostgreSQL text, std::nullopt = NULL) in table column order, plus
  // _unfit, _version and _deleted. A value its column cannot hold is stored as above, and the row also goes to
  // <database>._streamshop_dead_letters (reason naming the column, every value as PostgreSQL text) as a record;
  // a key value ClickHouse cannot hold sends the row only there. Replication goes on either way.
  Status AppendRow(const RowValues& values, uint64_t version, bool deleted) override;
  uint64_t dead_letters() const { return dead_letters_total_; }
  uint64_t TakeStoredDeadLetters() override { return std::exchange(stored_dead_letters_, 0); }
  // CREATE TABLE IF NOT EXISTS for the dead-letter table of `database`.
  static constexpr std::string_view kDeadLetterColumns =
      "table String, lsn UInt64, key String, reason String, row String, _synced_at DateTime DEFAULT now()";
  static std::string CreateDeadLetterTableSql(const std::string& database, const ClusterLayout& layout = {});
  // A row from an UPDATE that left TOASTed columns unchanged (PostgreSQL did not send them; `unchanged` marks
  // them). Flush() takes those values from the newest version older than the change of the row already in
  // ClickHouse, found by `lookup_key` (the old key when the update changed the key). Rows are copied: the
  // caller's views may die.
  //
  // Why that version is right: Flush() first inserts every ordinary pending row, so ClickHouse holds all changes
  // up to this batch, and the newest earlier full value of the looked-up key is the value the change left
  // unchanged. A later version of it is not (on a replay, or a later row that reused the old key of a key change).
  //
  // A row with no earlier version is skipped when ClickHouse already holds a later version of the same key (a
  // replay after a merge: the later version supersedes it), or after a copy of the table (SetCopiedAt) when its
  // change precedes the copy's WAL position: the row was absent when the table was copied, so a later change in
  // the stream (a DELETE, a key change, a TRUNCATE) removes it anyway. Otherwise it goes to the dead letters.
  Status AppendRowWithUnchanged(const RowValues& values, const std::vector<bool>& unchanged,
                                const RowValues& lookup_key, uint64_t version) override;

  // A table without a key (model::RowIdentity::kFullRow) has a column `_row_hash UInt64` = RowHash of the row's
  // values, and is ordered by it: an UPDATE deletes the old row's hash and writes the new one. Rows equal in every
  // value share one hash, so they are stored once.
  uint64_t RowHash(const RowValues& values) const;

  // What EncodeColumns did with values their column cannot hold.
  struct Unfit {
    size_t values = 0;    // stored as NULL, kept in _unfit
    bool in_key = false;  // a key column's value: the row cannot be encoded (the Status says which)
    std::string reason;   // names each such column and why
  };
  // Encodes the columns and _unfit (what SelectLiveRowsSql reads back), no _version/_deleted, into `out`.
  // Fails (appending nothing usable) for a key value ClickHouse cannot hold or a row of the wrong width. With
  // `key_only` (a delete marker, whose non-key values are absent), a NULL in a NOT NULL column is its default.
  // A value its column cannot hold is NULL there (a NOT NULL column: its default) and its text goes to _unfit.
  Status EncodeColumns(const RowValues& values, std::string& out, Unfit* unfit = nullptr, bool key_only = false) const;

  // Encode column `i` for this type from now on (after the ClickHouse column was found wider or widened).
  // Only valid with no rows pending.
  void SetColumnType(size_t i, ColumnType type) { columns_[i].type = std::move(type); }

  // The WAL position read just before the table's latest copy began (0: no copy this session); see
  // AppendRowWithUnchanged.
  void SetCopiedAt(uint64_t lsn) override { copied_at_ = lsn; }
  // A non-key column that is not Nullable (a NOT NULL column on a modern server).
  bool HoldsNotNull() const override;
  uint64_t copied_at() const { return copied_at_; }

  size_t pending_rows() const override { return pending_rows_ + toast_rows_.size() + dead_letter_rows_; }
  size_t pending_bytes() const override { return buffer_.size() + toast_bytes_; }
  // Inserts the pending rows (then resolves and inserts the rows with unchanged TOAST values); they are
  // dropped from the buffer only when ClickHouse acknowledged them.
  Status Flush(ClickHouseClient& ch);
  void DiscardPending();

 private:
  model::TableSchema schema_;
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
  // Appends column `i`'s value; one its type cannot hold becomes NULL and a member of `unfit_json`.
  Status EncodeValue(size_t i, std::optional<std::string_view> value, std::string& out, std::string& unfit_json,
                     Unfit& unfit, const RowValues& row, bool key_only) const;
  void AppendDeadLetter(const RowValues& values, uint64_t version, const Status& reason);
  // The dead letter's reason for a row stored with values in _unfit.
  Status UnfitRecord(const Unfit& unfit) const;
  Status ResolveToastRows(ClickHouseClient& ch);
  // ClickHouse SQL literal of a key value (PostgreSQL text) for this column, for WHERE … IN lookups.
  Result<std::string> KeyLiteral(const TargetColumn& column, std::string_view text) const;

  std::string buffer_;
  size_t pending_rows_ = 0;
  std::vector<ToastRow> toast_rows_;
  std::string dead_letter_buffer_;  // RowBinary rows for the dead-letter table
  size_t dead_letter_rows_ = 0;
  uint64_t dead_letters_total_ = 0;
  uint64_t stored_dead_letters_ = 0;  // inserted into the dead-letter table since the last TakeStoredDeadLetters
  size_t toast_bytes_ = 0;
  uint64_t copied_at_ = 0;
};

// Connections a flush inserts its tables over at once (replicate and sink keep this many clients for it).
inline constexpr int kFlushConnections = 4;

// Flushes the writers with pending rows over up to `clients.size()` connections at once (one table per connection
// at a time), so a flush of several tables costs about its slowest insert, not the sum of them. Returns each
// writer's status, in the order of `writers`.
std::vector<Status> FlushConcurrently(const std::vector<TableWriter*>& writers,
                                      const std::vector<std::unique_ptr<ClickHouseClient>>& clients);

}  // namespace streamshop::clickhouse
