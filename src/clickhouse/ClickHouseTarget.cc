#include "clickhouse/ClickHouseTarget.h"

#include <fmt/format.h>

#include <charconv>

#include "clickhouse/TargetSchema.h"
#include "common/Log.h"

namespace streamshop::clickhouse {

ClickHouseTarget::ClickHouseTarget(std::unique_ptr<ClickHouseClient> ch,
                                   std::vector<std::unique_ptr<ClickHouseClient>> flush_clients, Dialect dialect,
                                   std::string database)
    : ch_(std::move(ch)), flush_clients_(std::move(flush_clients)), dialect_(dialect), database_(std::move(database)) {}

Result<std::unique_ptr<ClickHouseTarget>> ClickHouseTarget::Open(const Connect& connect, const std::string& database) {
  std::unique_ptr<ClickHouseClient> ch = connect();
  std::vector<std::unique_ptr<ClickHouseClient>> flush_clients;
  for (int i = 0; i < kFlushConnections; ++i) flush_clients.push_back(connect());
  SS_ASSIGN_OR_RETURN(Dialect dialect, DetectDialect(*ch));
  SS_RETURN_IF_ERROR(EnsureDatabase(*ch, database));
  SS_RETURN_IF_ERROR(EnsureStateTable(*ch, database, "_streamshop_dead_letters", TableWriter::kDeadLetterColumns,
                                      "MergeTree", "table, lsn"));
  return std::unique_ptr<ClickHouseTarget>(
      new ClickHouseTarget(std::move(ch), std::move(flush_clients), dialect, database));
}

std::string ClickHouseTarget::QuotedTable(const std::string& schema, const std::string& name) const {
  return ClickHouseClient::QuoteIdent(database_) + "." +
         ClickHouseClient::QuoteIdent(TableWriter::TargetName(schema, name));
}

namespace {

// A column of `before` whose existing values ClickHouse rewrote in its own form when `after` changed its type: a
// float or decimal column turned into text (MODIFY COLUMN … String writes 1e+20 as 100000000000000000000, not as
// PostgreSQL does), or an array column that became text (made nullable: ClickHouse has no Nullable(Array)).
std::string RewrittenColumn(const model::TableSchema& before, const model::TableSchema& after, Dialect dialect) {
  for (const model::Column& c : after.columns) {
    for (const model::Column& old : before.columns) {
      if (old.name != c.name) continue;
      const ValueKind was = TableWriter::MapColumn(old, dialect).kind;
      const bool number = was == ValueKind::kFloat32 || was == ValueKind::kFloat64 || was == ValueKind::kDecimal;
      if ((number || was == ValueKind::kArray) && TableWriter::MapColumn(c, dialect).kind == ValueKind::kString) {
        return c.name;
      }
    }
  }
  return "";
}

}  // namespace

Result<model::ChangeTarget::Ensured> ClickHouseTarget::EnsureTable(const model::TableSchema& table,
                                                                   model::TargetTable* previous) {
  auto writer = std::make_unique<TableWriter>(table, dialect_, database_);
  // A table that gained or lost its key since its raw table was made is ordered the other way there: refused
  // before anything is changed.
  SS_ASSIGN_OR_RETURN(std::string columns,
                      ch_->Query(fmt::format("SELECT countIf(name = '_row_hash'), count() FROM system.columns WHERE "
                                             "database = {} AND table = {} FORMAT TSV",
                                             ClickHouseClient::QuoteString(database_),
                                             ClickHouseClient::QuoteString(writer->table_name()))));
  const bool exists =
      columns.find('\t') != std::string::npos && !columns.substr(columns.find('\t') + 1).starts_with('0');
  const bool full_row = table.identity == model::RowIdentity::kFullRow;
  if (exists && columns.starts_with('0') == full_row) {
    return Status::Fatal(fmt::format(
        "table {} {} a key since {} was created, so its rows are identified differently now: run DROP TABLE {} in "
        "ClickHouse and restart streamshop (the table is copied again)",
        table.QualifiedName(), full_row ? "lost" : "gained", writer->target(), writer->target()));
  }
  Ensured ensured;
  SS_RETURN_IF_ERROR(EnsureTargetTable(*ch_, *writer, &ensured.added_columns));
  if (previous) {
    auto& old = static_cast<TableWriter&>(*previous);
    SS_RETURN_IF_ERROR(old.Flush(*ch_));
    ensured.rewritten_column = RewrittenColumn(old.schema(), table, dialect_);
    Forget(previous);
  }
  ensured.table = writer.get();
  tables_.push_back(std::move(writer));
  return ensured;
}

void ClickHouseTarget::Forget(model::TargetTable* table) {
  std::erase_if(tables_, [&](const auto& w) { return w.get() == table; });
}

Status ClickHouseTarget::Truncate(const std::string& schema, const std::string& name) {
  SS_RETURN_IF_ERROR(Flush());
  LogInfo("truncate of {}.{}", schema, name);
  return TruncateRawTable(*ch_, dialect_, database_, TableWriter::TargetName(schema, name), /*if_exists=*/true);
}

Status ClickHouseTarget::Flush(std::vector<Failure>* failed) {
  std::vector<TableWriter*> writers;
  for (auto& w : tables_) writers.push_back(w.get());
  const std::vector<Status> results = FlushConcurrently(writers, flush_clients_);
  for (const Status& st : results) {
    if (st.retryable()) return st;
  }
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) continue;
    if (!failed) return results[i];
    failed->push_back({writers[i], results[i]});
  }
  return Status::Ok();
}

size_t ClickHouseTarget::pending_rows() const {
  size_t n = 0;
  for (const auto& w : tables_) n += w->pending_rows();
  return n;
}

size_t ClickHouseTarget::pending_bytes() const {
  size_t n = 0;
  for (const auto& w : tables_) n += w->pending_bytes();
  return n;
}

uint64_t ClickHouseTarget::TakeStoredDeadLetters() {
  uint64_t n = 0;
  for (const auto& w : tables_) n += w->TakeStoredDeadLetters();
  return n;
}

Result<std::optional<model::ChangeTarget::Stored>> ClickHouseTarget::NewestStored(const model::TableSchema& table) {
  SS_ASSIGN_OR_RETURN(std::string text,
                      ch_->Query(fmt::format("SELECT max(_version), toUInt64(toUInt32(max(_synced_at))) * 1000 FROM {} "
                                             "FORMAT TabSeparated",
                                             QuotedTable(table.schema, table.name))));
  Stored stored;
  const char* end = text.data() + text.size();
  auto [tab, e1] = std::from_chars(text.data(), end, stored.version);
  if (e1 != std::errc() || tab == end || *tab != '\t' ||
      std::from_chars(tab + 1, end, stored.at_ms).ec != std::errc()) {
    return Status::Fatal(fmt::format("table {}: unexpected answer to max(_version): {}", table.QualifiedName(), text));
  }
  if (stored.version == 0) return std::optional<Stored>();
  return std::optional<Stored>(stored);
}

}  // namespace streamshop::clickhouse
