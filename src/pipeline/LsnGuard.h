// The sink's rule for an impossible source.lsn. The LSN of a change becomes its row's _version, and a version that
// no later change can exceed freezes that key forever, so a record whose LSN no real WAL could have reached yet is
// refused (dead-lettered) instead of stored. An LSN is a byte position in one cluster's WAL; it only grows, and
// only as fast as the server writes WAL. Impossible:
//   1. 0 (InvalidXLogRecPtr: no change has it);
//   2. 2^60 or more (1 EiB of WAL: 36 years at a sustained 1 GB/s);
//   3. more than `max_jump_bytes` plus `max_wal_bytes_per_second` × elapsed ahead of the highest LSN accepted so far
//      (or already stored in ClickHouse), where elapsed is the record's source timestamp (commit time, capped at
//      the sink's clock) minus that LSN's. Sinks fed by several clusters (different LSN spaces) turn this off
//      with max_jump_bytes = 0.
// Before any baseline exists (an empty ClickHouse, a fresh sink) only 1 and 2 apply. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "common/Status.h"

namespace streamshop::pipeline {

class LsnGuard {
 public:
  static constexpr uint64_t kMaxLsn = uint64_t{1} << 60;
  static constexpr uint64_t kDefaultMaxJumpBytes = uint64_t{1} << 40;          // 1 TiB
  static constexpr uint64_t kDefaultMaxWalBytesPerSecond = uint64_t{4} << 30;  // 4 GiB/s

  explicit LsnGuard(uint64_t max_jump_bytes = kDefaultMaxJumpBytes,
                    uint64_t max_wal_bytes_per_second = kDefaultMaxWalBytesPerSecond)
      : max_jump_(max_jump_bytes), rate_(max_wal_bytes_per_second) {}

  // Raises the baseline to `lsn`, known to be real as of `at_ms` (Unix ms). An LSN ≥ kMaxLsn is ignored.
  void Observe(uint64_t lsn, int64_t at_ms);
  // Ok, or Fatal saying which rule `lsn` breaks. `ts_ms` is the record's source timestamp, if it has one.
  Status Check(uint64_t lsn, std::optional<int64_t> ts_ms, int64_t now_ms) const;

  uint64_t baseline() const { return baseline_; }

 private:
  uint64_t max_jump_, rate_;
  uint64_t baseline_ = 0;
  int64_t baseline_ms_ = 0;
};

}  // namespace streamshop::pipeline
