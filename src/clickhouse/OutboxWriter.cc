#include "clickhouse/OutboxWriter.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "clickhouse/RowBinary.h"
#include "clickhouse/TargetSchema.h"

namespace streamshop::clickhouse {
namespace {

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

Result<uint64_t> ParseUInt(std::string_view s, std::string_view what) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return Status::Fatal(fmt::format("unexpected {} '{}' from ClickHouse", what, s));
  }
  return v;
}

}  // namespace

OutboxWriter::OutboxWriter(std::string database, model::TableSchema source, Dialect dialect)
    : database_(std::move(database)),
      table_(ClickHouseClient::QuoteIdent(database_) + "." + ClickHouseClient::QuoteIdent(kTable)),
      source_(std::move(source)),
      dialect_(dialect) {
  for (const auto& c : source_.columns) types_.push_back(MapColumnType(c.type, /*nullable=*/true, dialect_));
}

Status OutboxWriter::Validate() const {
  const bool has_id = std::any_of(source_.columns.begin(), source_.columns.end(),
                                  [](const model::Column& c) { return c.name == "id"; });
  if (has_id) return Status::Ok();
  return Status::Fatal(fmt::format(
      "outbox table {} has no column id (the event id; Debezium EventRouter's default columns are id, aggregatetype, "
      "aggregateid, type, payload): add it, or pass the right table to --outbox-table",
      source_.QualifiedName()));
}

Status OutboxWriter::Open(ClickHouseClient& ch) {
  SS_RETURN_IF_ERROR(Validate());
  std::string columns;
  for (size_t i = 0; i < source_.columns.size(); ++i) {
    columns += fmt::format("{} {}, ", ClickHouseClient::QuoteIdent(source_.columns[i].name), types_[i].clickhouse_type);
  }
  columns +=
      fmt::format("_lsn UInt64, _commit_lsn UInt64, _seq UInt64, _commit_time {}, _synced_at DateTime DEFAULT now()",
                  dialect_ == Dialect::kModern ? "DateTime64(6, 'UTC')" : "Int64");
  SS_RETURN_IF_ERROR(EnsureStateTable(ch, database_, std::string(kTable), columns, "MergeTree", "_commit_lsn, _seq"));
  SS_ASSIGN_OR_RETURN(std::string row, ch.Query(fmt::format("SELECT _commit_lsn, _seq FROM {} WHERE _commit_lsn > 0 "
                                                            "ORDER BY _commit_lsn DESC, _seq DESC LIMIT 1 FORMAT TSV",
                                                            table_)));
  const std::string_view line = Trimmed(row);
  watermark_ = {};
  if (line.empty()) return Status::Ok();
  const size_t tab = line.find('\t');
  if (tab == std::string_view::npos) return Status::Fatal(fmt::format("unexpected answer '{}' from ClickHouse", line));
  SS_ASSIGN_OR_RETURN(watermark_.commit_lsn, ParseUInt(line.substr(0, tab), "_commit_lsn"));
  SS_ASSIGN_OR_RETURN(watermark_.seq, ParseUInt(line.substr(tab + 1), "_seq"));
  return Status::Ok();
}

Result<bool> OutboxWriter::Append(const model::RowValues& values, uint64_t lsn, uint64_t commit_lsn, uint64_t seq,
                                  int64_t commit_time_us) {
  if (Position{commit_lsn, seq} <= watermark_) return false;
  if (values.size() != types_.size()) {
    return Status::Fatal(fmt::format(
        "outbox table {} now has {} columns, {}.{} was made for {}: add the new columns to {} (ALTER TABLE … ADD "
        "COLUMN, Nullable) and restart replicate",
        source_.QualifiedName(), values.size(), database_, kTable, types_.size(), table_));
  }
  const size_t mark = buffer_.size();
  for (size_t i = 0; i < values.size(); ++i) {
    if (Status st = AppendValue(types_[i], values[i], buffer_); !st.ok()) {
      buffer_.resize(mark);
      return st.WithContext(
          fmt::format("outbox table {}, column {}", source_.QualifiedName(), source_.columns[i].name));
    }
  }
  AppendUInt64(buffer_, lsn);
  AppendUInt64(buffer_, commit_lsn);
  AppendUInt64(buffer_, seq);
  AppendUInt64(buffer_, static_cast<uint64_t>(commit_time_us));
  ++pending_;
  return true;
}

Status OutboxWriter::Flush(ClickHouseClient& ch) {
  if (pending_ == 0) return Status::Ok();
  std::string columns;
  for (const auto& c : source_.columns) columns += ClickHouseClient::QuoteIdent(c.name) + ", ";
  SS_RETURN_IF_ERROR(ch.Insert(
      fmt::format("INSERT INTO {} ({}_lsn, _commit_lsn, _seq, _commit_time) FORMAT RowBinary", table_, columns),
      buffer_));
  buffer_.clear();
  pending_ = 0;
  return Status::Ok();
}

Result<uint64_t> OutboxWriter::AppendCopiedRows(ClickHouseClient& ch, const std::string& raw_table) {
  std::string columns;
  for (const auto& c : source_.columns) columns += ClickHouseClient::QuoteIdent(c.name) + ", ";
  // The current rows first (FINAL in a subquery: a condition next to FINAL may be moved to PREWHERE, before the
  // versions collapse), then those a copy wrote (version 0), alive, and not stored yet.
  const std::string copied = fmt::format(
      "(SELECT {}_version, _deleted FROM {}.{} FINAL) WHERE _deleted = 0 AND _version = 0 AND id NOT IN "
      "(SELECT id FROM {})",
      columns, ClickHouseClient::QuoteIdent(database_), ClickHouseClient::QuoteIdent(raw_table), table_);
  SS_ASSIGN_OR_RETURN(std::string count, ch.Query(fmt::format("SELECT count() FROM {} FORMAT TSV", copied)));
  SS_ASSIGN_OR_RETURN(uint64_t n, ParseUInt(Trimmed(count), "count"));
  if (n == 0) return n;
  SS_RETURN_IF_ERROR(
      ch.Query(fmt::format("INSERT INTO {} ({}_lsn, _commit_lsn, _seq, _commit_time) SELECT {}0, 0, 0, {} FROM {}",
                           table_, columns, columns,
                           dialect_ == Dialect::kModern ? "toDateTime64(0, 6, 'UTC')" : "toInt64(0)", copied))
          .status());
  return n;
}

}  // namespace streamshop::clickhouse
