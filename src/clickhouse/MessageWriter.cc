#include "clickhouse/MessageWriter.h"

#include <fmt/format.h>

#include "clickhouse/RowBinary.h"
#include "clickhouse/TargetSchema.h"

namespace streamshop::clickhouse {

MessageWriter::MessageWriter(const std::string& database)
    : database_(database), table_(ClickHouseClient::QuoteIdent(database) + ".`_streamshop_messages`") {}

Status MessageWriter::EnsureTable(ClickHouseClient& ch) {
  return EnsureStateTable(
      ch, database_, "_streamshop_messages",
      "lsn UInt64, transactional UInt8, prefix String, content String, _synced_at DateTime DEFAULT now()",
      "ReplacingMergeTree", "lsn, prefix");
}

void MessageWriter::Append(uint64_t position, bool transactional, std::string_view prefix, std::string_view content) {
  AppendUInt64(buffer_, position);
  AppendUInt8(buffer_, transactional ? 1 : 0);
  AppendVarUInt(buffer_, prefix.size());
  buffer_.append(prefix);
  AppendVarUInt(buffer_, content.size());
  buffer_.append(content);
  ++pending_;
}

Status MessageWriter::Flush(ClickHouseClient& ch) {
  if (pending_ == 0) return Status::Ok();
  SS_RETURN_IF_ERROR(
      ch.Insert(fmt::format("INSERT INTO {} (lsn, transactional, prefix, content) FORMAT RowBinary", table_), buffer_));
  buffer_.clear();
  pending_ = 0;
  return Status::Ok();
}

}  // namespace streamshop::clickhouse
