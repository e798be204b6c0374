#include "pipeline/Verifier.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <set>
#include <unordered_map>

#include "clickhouse/RowBinary.h"
#include "clickhouse/TableWriter.h"
#include "clickhouse/TargetSchema.h"
#include "pg/Catalog.h"
#include "pg/CopyTextParser.h"
#include "pipeline/Signal.h"

namespace streamshop::pipeline {
namespace {

using clickhouse::TableWriter;

struct EncodedRow {
  std::string key;  // encoded key columns, in table order
  uint64_t hash = 0;
};

// Splits one encoded row at the start of `data` into key bytes and a hash of all its bytes; returns the
// row's length.
Result<size_t> SplitRow(const TableWriter& w, std::string_view data, EncodedRow& row) {
  row.key.clear();
  size_t offset = 0;
  for (const auto& c : w.columns()) {
    SS_ASSIGN_OR_RETURN(size_t n, clickhouse::EncodedSize(c.type, data.substr(offset)));
    if (c.key_position > 0) row.key.append(data.substr(offset, n));
    offset += n;
  }
  if (w.schema().identity == model::RowIdentity::kFullRow) row.key.assign(data.substr(0, offset));  // all values
  SS_ASSIGN_OR_RETURN(size_t n, clickhouse::EncodedSize(TableWriter::UnfitType(), data.substr(offset)));
  offset += n;
  row.hash = XXH3_64bits(data.data(), offset);
  return offset;
}

std::string DescribeKey(const TableWriter& w, std::string_view key) {
  std::string out;
  size_t offset = 0;
  const bool full_row = w.schema().identity == model::RowIdentity::kFullRow;
  for (const auto& c : w.columns()) {
    if (c.key_position == 0 && !full_row) continue;
    auto n = clickhouse::EncodedSize(c.type, key.substr(offset));
    if (!n.ok()) break;
    std::string value = clickhouse::RenderValue(c.type, key.substr(offset, *n));
    if (full_row && value.size() > 64) value = value.substr(0, 61) + "...";  // a whole row: keep the line short
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", c.name, value);
    offset += *n;
  }
  return out;
}

Result<TableVerdict> VerifyTable(pg::PgConnection& pg, clickhouse::ClickHouseClient& ch, const pg::TableInfo& table,
                                 const TableWriter& w, bool ch_table_exists, size_t max_keys) {
  TableVerdict v;
  v.table = w.schema().QualifiedName();
  std::unordered_map<std::string, uint64_t> pg_rows;
  std::vector<std::string> duplicates;  // rows of a keyless table equal in every value to an earlier one
  pg::CopyTextParser parser;
  std::string encoded;
  EncodedRow row;
  SS_RETURN_IF_ERROR(pg.CopyOut(pg::CopySql(table), [&](std::string_view line) -> Status {
    SS_ASSIGN_OR_RETURN(auto fields, parser.Parse(line));
    encoded.clear();
    TableWriter::Unfit unfit;
    Status st = w.EncodeColumns(*fields, encoded, &unfit);
    if (!st.ok() && unfit.in_key) {  // the pipeline dead-letters such a row: report it, compare the others
      ++v.pg_rows;
      ++v.differing_rows;
      if (v.differing_keys.size() < max_keys)
        v.differing_keys.push_back(
            fmt::format("{} (only in the dead letters: {})", w.DescribeKey(*fields), st.message()));
      return Status::Ok();
    }
    SS_RETURN_IF_ERROR(st);
    v.unfit_rows += unfit.values > 0;
    SS_RETURN_IF_ERROR(SplitRow(w, encoded, row).status());
    if (!pg_rows.emplace(row.key, row.hash).second) duplicates.push_back(row.key);
    v.pg_checksum += row.hash;
    ++v.pg_rows;
    return Status::Ok();
  }));

  std::string ch_data;  // a table the pipeline has not created yet (no event of it so far) holds no rows
  if (ch_table_exists) {
    SS_ASSIGN_OR_RETURN(ch_data, ch.Query(w.SelectLiveRowsSql()));
  }
  auto report = [&](std::string_view key, std::string_view what) {
    ++v.differing_rows;
    if (v.differing_keys.size() < max_keys)
      v.differing_keys.push_back(fmt::format("{} ({})", DescribeKey(w, key), what));
  };
  for (std::string_view rest = ch_data; !rest.empty();) {
    SS_ASSIGN_OR_RETURN(size_t n, SplitRow(w, rest, row));
    rest.remove_prefix(n);
    v.ch_checksum += row.hash;
    ++v.ch_rows;
    auto it = pg_rows.find(row.key);
    if (it == pg_rows.end()) {
      report(row.key, "only in ClickHouse");
      continue;
    }
    if (it->second != row.hash) report(row.key, "values differ");
    pg_rows.erase(it);
  }
  for (const auto& [key, hash] : pg_rows) report(key, "missing in ClickHouse");
  for (const auto& key : duplicates) report(key, "duplicate row in PostgreSQL: a keyless table stores it once");
  return v;
}

}  // namespace

Result<std::vector<TableVerdict>> VerifyTables(const VerifyOptions& options) {
  SS_ASSIGN_OR_RETURN(pg::PgConnection pg, pg::PgConnection::Connect(options.pg_url));
  SS_RETURN_IF_ERROR(pg.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  SS_ASSIGN_OR_RETURN(std::vector<pg::TableInfo> tables, pg::LoadPublishedTables(pg, options.publication));
  auto ch = clickhouse::MakeClickHouseClient(options.clickhouse);
  SS_ASSIGN_OR_RETURN(clickhouse::Dialect dialect, clickhouse::DetectDialect(*ch));
  SS_RETURN_IF_ERROR(clickhouse::LayoutOf(*ch).status());  // refuses a cluster the server does not know
  SS_ASSIGN_OR_RETURN(std::set<std::string> existing, clickhouse::ExistingTables(*ch, options.database));
  std::optional<TableName> signal_table;
  if (!options.signal_table.empty()) {
    SS_ASSIGN_OR_RETURN(signal_table, ParseTableName(options.signal_table));
  }
  std::vector<TableVerdict> verdicts;
  for (const auto& t : tables) {
    if (signal_table && signal_table->schema == t.schema && signal_table->name == t.name) continue;
    if (t.skipped()) {
      TableVerdict skipped;
      skipped.table = t.QualifiedName();
      skipped.skipped = t.skip_reason;
      verdicts.push_back(std::move(skipped));
      continue;
    }
    TableWriter w(pg::SchemaOf(t), dialect, options.database);
    const bool exists = existing.count(w.table_name()) > 0;
    std::vector<std::string> missing;
    Status st = exists ? clickhouse::ReconcileTargetTable(*ch, w, /*apply_changes=*/false, &missing) : Status::Ok();
    // A column ClickHouse lacks differs even when NULL in every row: queries naming it fail there
    // (docs/TYPE_MAPPING.md, "Schema changes").
    if (st.ok() && !missing.empty()) {
      std::string names;
      for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
      st = Status::Fatal(fmt::format("{} lacks column(s) {} of {} (replicate adds them within ~20 s while it runs)",
                                     w.target(), names, t.QualifiedName()));
    }
    auto v = st.ok() ? VerifyTable(pg, *ch, t, w, exists, options.max_reported_keys) : Result<TableVerdict>(st);
    if (!v.ok() && v.status().retryable()) return v.status();
    if (!v.ok()) {
      // This table cannot be compared (e.g. its ClickHouse columns no longer match); report it, go on.
      TableVerdict failed;
      failed.table = t.QualifiedName();
      failed.error = v.status().message();
      verdicts.push_back(std::move(failed));
      continue;
    }
    verdicts.push_back(std::move(v).value());
  }
  SS_RETURN_IF_ERROR(pg.Exec("COMMIT").status());
  return verdicts;
}

std::string FormatVerdicts(const std::vector<TableVerdict>& verdicts) {
  std::string out = fmt::format("{:<32} {:>10} {:>10} {:>18} {:>18}  {}\n", "table", "pg rows", "ch rows",
                                "pg checksum", "ch checksum", "status");
  for (const auto& v : verdicts) {
    out += fmt::format("{:<32} {:>10} {:>10} {:>18x} {:>18x}  {}\n", v.table, v.pg_rows, v.ch_rows, v.pg_checksum,
                       v.ch_checksum,
                       !v.skipped.empty() ? "SKIPPED"
                       : v.ok()           ? "OK"
                       : v.error.empty()  ? fmt::format("DIFFERENT ({} rows)", v.differing_rows)
                                          : "DIFFERENT (cannot compare)");
    if (!v.error.empty()) out += fmt::format("    {}\n", v.error);
    if (v.unfit_rows > 0) {
      out += fmt::format(
          "    {} row(s) hold values ClickHouse cannot store: NULL in their column, the PostgreSQL text "
          "in _unfit (docs/TYPE_MAPPING.md)\n",
          v.unfit_rows);
    }
    if (!v.skipped.empty()) out += fmt::format("    {}\n", v.skipped);
    for (const auto& k : v.differing_keys) out += fmt::format("    {}\n", k);
  }
  return out;
}

}  // namespace streamshop::pipeline
