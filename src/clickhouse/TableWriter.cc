#include "clickhouse/TableWriter.h"

#include <fmt/format.h>

#include <algorithm>

#include "clickhouse/RowBinary.h"

namespace streamshop::clickhouse {

TableWriter::TableWriter(const pg::TableInfo& table, Dialect dialect, const std::string& database)
    : source_(table),
      dialect_(dialect),
      database_(database),
      table_name_(TargetName(table.schema, table.name)),
      target_(ClickHouseClient::QuoteIdent(database_) + "." + ClickHouseClient::QuoteIdent(table_name_)) {
  std::string names;
  for (const auto& c : table.columns) {
    columns_.push_back({c.name, MapColumnType(c.type_oid, c.typmod, c.key_position == 0, dialect), c.key_position});
    names += ClickHouseClient::QuoteIdent(c.name) + ", ";
  }
  insert_sql_ = fmt::format("INSERT INTO {} ({}_version, _deleted) FORMAT RowBinary", target_, names);
}

std::string TableWriter::TargetName(const std::string& schema, const std::string& table) {
  return schema == "public" ? "raw_" + table : "raw_" + schema + "__" + table;
}

std::string TableWriter::CreateTableSql() const {
  std::string cols;
  std::vector<const TargetColumn*> keys;
  for (const auto& c : columns_) {
    cols += fmt::format("{} {}, ", ClickHouseClient::QuoteIdent(c.name), c.type.clickhouse_type);
    if (c.key_position > 0) keys.push_back(&c);
  }
  std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return a->key_position < b->key_position; });
  std::string order_by;
  for (const auto* k : keys) order_by += (order_by.empty() ? "" : ", ") + ClickHouseClient::QuoteIdent(k->name);
  const std::string engine =
      dialect_ == Dialect::kModern ? "ReplacingMergeTree(_version, _deleted)" : "ReplacingMergeTree(_version)";
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS {} ({}_version UInt64, _deleted UInt8, _synced_at DateTime DEFAULT now()) "
      "ENGINE = {} ORDER BY ({})",
      target_, cols, engine, order_by);
}

std::string TableWriter::SelectLiveRowsSql() const {
  std::string names;
  for (const auto& c : columns_) names += (names.empty() ? "" : ", ") + ClickHouseClient::QuoteIdent(c.name);
  return fmt::format("SELECT {} FROM {} FINAL WHERE _deleted = 0 FORMAT RowBinary", names, target_);
}

std::string TableWriter::DescribeKey(const RowValues& values) const {
  std::string out;
  for (size_t i = 0; i < columns_.size() && i < values.size(); ++i) {
    if (columns_[i].key_position == 0) continue;
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", columns_[i].name, values[i].value_or("NULL"));
  }
  return out;
}

Status TableWriter::EncodeColumns(const RowValues& values, std::string& out) const {
  if (values.size() != columns_.size()) {
    return Status::Fatal(fmt::format("table {}: row has {} columns, expected {}", source_.QualifiedName(),
                                     values.size(), columns_.size()));
  }
  for (size_t i = 0; i < columns_.size(); ++i) {
    Status st = AppendValue(columns_[i].type, values[i], out);
    if (!st.ok()) {
      return st.WithContext(
          fmt::format("table {} column {} (key {})", source_.QualifiedName(), columns_[i].name, DescribeKey(values)));
    }
  }
  return Status::Ok();
}

Status TableWriter::AppendRow(const RowValues& values, uint64_t version, bool deleted) {
  const size_t mark = buffer_.size();
  Status st = EncodeColumns(values, buffer_);
  if (!st.ok()) {
    buffer_.resize(mark);
    return st;
  }
  AppendUInt64(buffer_, version);
  AppendUInt8(buffer_, deleted ? 1 : 0);
  ++pending_rows_;
  return Status::Ok();
}

Status TableWriter::Flush(ClickHouseClient& ch) {
  if (pending_rows_ == 0) return Status::Ok();
  SS_RETURN_IF_ERROR(ch.Insert(insert_sql_, buffer_));
  DiscardPending();
  return Status::Ok();
}

void TableWriter::DiscardPending() {
  buffer_.clear();
  pending_rows_ = 0;
}

}  // namespace streamshop::clickhouse
