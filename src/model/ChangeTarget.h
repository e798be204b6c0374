// The target seam: where a pipeline's changes go, one table at a time, stored on Flush. ClickHouse implements it
// (clickhouse::ClickHouseTarget, whose tables are clickhouse::TableWriter). The ack invariant rests on its contract:
// a Flush that returns Ok stored every row appended before it; one that fails stored nothing the caller may count
// on (the rows stay pending, a retry stores them again, and a replay of them is harmless: rows are versioned).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"
#include "model/TableSchema.h"

namespace streamshop::model {

// The values of one row in its table's column order: PostgreSQL's text form of each value, nullopt for NULL.
using RowValues = std::vector<std::optional<std::string_view>>;

// One table of a target: its pending rows.
class TargetTable {
 public:
  virtual ~TargetTable() = default;
  virtual const TableSchema& schema() const = 0;
  // A change of one row at `version` (the change's WAL position; 0 for a copied row), a delete when `deleted`
  // (then only the key values count). A value the target cannot hold is dead-lettered there, never dropped
  // silently; an error is Retryable or stops the table.
  virtual Status AppendRow(const RowValues& values, uint64_t version, bool deleted) = 0;
  // An update whose `unchanged` columns the source did not send (PostgreSQL's unchanged TOASTed values): Flush
  // takes them from the newest version older than `version` the target holds of `lookup_key`'s row.
  virtual Status AppendRowWithUnchanged(const RowValues& values, const std::vector<bool>& unchanged,
                                        const RowValues& lookup_key, uint64_t version) = 0;
  // Whether two rows have the same key as the target identifies rows.
  virtual bool SameKey(const RowValues& a, const RowValues& b) const = 0;
  // The WAL position read just before the table's latest copy began (0: none this session): a row with
  // unchanged values and no earlier version is then known to have been absent from the copy.
  virtual void SetCopiedAt(uint64_t position) = 0;
  // Whether a column the source declares NOT NULL is not nullable in the target either, so the target must hear
  // of a DROP NOT NULL.
  virtual bool HoldsNotNull() const = 0;
  virtual size_t pending_rows() const = 0;
  virtual size_t pending_bytes() const = 0;
  // Rows with a value the target could not hold that flushes stored in the target's own dead-letter table since
  // the last call (the counters of dead letters by reason, `value`).
  virtual uint64_t TakeStoredDeadLetters() = 0;
};

class ChangeTarget {
 public:
  virtual ~ChangeTarget() = default;
  struct Ensured {
    TargetTable* table = nullptr;            // valid until it is replaced or forgotten
    std::vector<std::string> added_columns;  // columns the existing table lacked (added now)
    // A column whose existing values the target rewrote in its own form when it changed the column's type (e.g.
    // a number column turned into text): copy the table again to give them the source's form. Empty if none.
    std::string rewritten_column;
  };
  // Makes the target's table of `table` hold this shape (created, columns added or widened) and returns a new
  // handle for it. `previous` (a handle of an earlier shape of the table, or nullptr) is replaced: its pending
  // rows are stored first, then it is gone. On error nothing changes. Fatal: the target cannot follow this shape
  // (the message names the fix).
  virtual Result<Ensured> EnsureTable(const TableSchema& table, TargetTable* previous) = 0;
  // Drops a handle and its pending rows (the table stops replicating).
  virtual void Forget(TargetTable* table) = 0;
  // Stores every table's pending rows, then removes every row of the table `schema`.`name` (known or not: an
  // earlier run may have filled it).
  virtual Status Truncate(const std::string& schema, const std::string& name) = 0;
  // Stores every table's pending rows. Retryable if any table's insert was. A table whose insert failed with a
  // Fatal error: with `failed`, it is listed there (its rows stay pending: Forget it or flush again) and Flush
  // returns Ok for the others; without, Flush returns the first such error.
  struct Failure {
    TargetTable* table;
    Status status;
  };
  virtual Status Flush(std::vector<Failure>* failed = nullptr) = 0;
  virtual size_t pending_rows() const = 0;
  virtual size_t pending_bytes() const = 0;
  // What its tables' TakeStoredDeadLetters say, summed.
  virtual uint64_t TakeStoredDeadLetters() = 0;

  // The newest version stored of the table and when (ms since the epoch), if the table holds rows: a sink's
  // baseline for telling real positions from impossible ones (pipeline/LsnGuard).
  struct Stored {
    uint64_t version = 0;
    int64_t at_ms = 0;
  };
  virtual Result<std::optional<Stored>> NewestStored(const TableSchema& table) = 0;
};

}  // namespace streamshop::model
