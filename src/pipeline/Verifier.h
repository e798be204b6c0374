// `streamshop verify`: proves the invariant of ENGINEERING.md §3 for every published table. For each table it
// reads PostgreSQL (one REPEATABLE READ snapshot, COPY text) and ClickHouse (`raw_x FINAL WHERE _deleted = 0`,
// RowBinary), encodes the PostgreSQL rows under the same type mapping the pipeline uses, and compares row
// counts, an order-independent checksum (sum of per-row XXH3 hashes) and, row by row, the values per primary
// key. Values ClickHouse cannot hold are compared in the form the pipeline stores them (NULL plus the text in
// _unfit, counted in unfit_rows); a row whose key ClickHouse cannot hold is reported as differing. Holds one table's
// PostgreSQL key→hash map in memory at a time. Not thread-safe.
//
// It reads what the publication publishes (pg::CopySql: column list, row filter; a partitioned table as its root
// or as its leaves, as pg_publication_tables lists them). A table without a key compares whole rows (its key is
// every value: rows equal in every value count as one in ClickHouse, so PostgreSQL duplicates show as a difference).
// A table the pipeline skips (no key, no usable replica identity) is reported as SKIPPED with the fix, which is
// not a failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clickhouse/ClickHouseClient.h"
#include "common/Status.h"

namespace streamshop::pipeline {

struct VerifyOptions {
  std::string pg_url;
  clickhouse::Endpoint clickhouse;
  std::string publication = "streamshop";
  std::string database = "analytics";
  size_t max_reported_keys = 5;
  std::string signal_table;  // SCHEMA.TABLE of replicate's signal table: in the publication, never replicated
};

struct TableVerdict {
  std::string table;
  uint64_t pg_rows = 0;
  uint64_t ch_rows = 0;
  uint64_t pg_checksum = 0;
  uint64_t ch_checksum = 0;
  uint64_t differing_rows = 0;              // missing, extra or different
  std::vector<std::string> differing_keys;  // the first few, described
  std::string error;                        // set when the table could not be compared at all
  uint64_t unfit_rows = 0;  // PostgreSQL rows with values ClickHouse keeps in _unfit (compared as stored that way)
  std::string skipped;      // set for a table the pipeline does not replicate (rows cannot be identified): why
  bool ok() const {
    return !skipped.empty() ||
           (error.empty() && differing_rows == 0 && pg_rows == ch_rows && pg_checksum == ch_checksum);
  }
};

Result<std::vector<TableVerdict>> VerifyTables(const VerifyOptions& options);

// The per-table report printed by the CLI.
std::string FormatVerdicts(const std::vector<TableVerdict>& verdicts);

}  // namespace streamshop::pipeline
