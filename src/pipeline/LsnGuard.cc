#include "pipeline/LsnGuard.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/Lsn.h"

namespace streamshop::pipeline {

void LsnGuard::Observe(uint64_t lsn, int64_t at_ms) {
  if (lsn > baseline_ && lsn < kMaxLsn) {
    baseline_ = lsn;
    baseline_ms_ = at_ms;
  }
}

Status LsnGuard::Check(uint64_t lsn, std::optional<int64_t> ts_ms, int64_t now_ms) const {
  if (lsn == 0) return Status::Fatal("impossible source.lsn 0 (no change has WAL position 0/0)");
  if (lsn >= kMaxLsn) {
    return Status::Fatal(
        fmt::format("impossible source.lsn {} ({}): beyond 2^60 bytes of WAL", lsn, Lsn{lsn}.ToString()));
  }
  if (max_jump_ == 0 || baseline_ == 0 || lsn <= baseline_) return Status::Ok();
  const int64_t at = std::min(ts_ms.value_or(now_ms), now_ms);
  const uint64_t elapsed_ms = at > baseline_ms_ ? static_cast<uint64_t>(at - baseline_ms_) : 0;
  // Saturating: baseline + jump + rate × elapsed.
  const uint64_t by_time = elapsed_ms > UINT64_MAX / rate_ ? UINT64_MAX : rate_ * elapsed_ms / 1000;
  uint64_t allowed = baseline_;
  for (uint64_t add : {max_jump_, by_time}) allowed = allowed > UINT64_MAX - add ? UINT64_MAX : allowed + add;
  if (lsn <= allowed) return Status::Ok();
  return Status::Fatal(fmt::format(
      "impossible source.lsn {} ({}): {} bytes ahead of the highest LSN seen ({}), more WAL than a server writes in "
      "{:.1f} s (limit {} bytes + {} bytes/s; sinks fed by several clusters: --max-lsn-jump 0)",
      lsn, Lsn{lsn}.ToString(), lsn - baseline_, Lsn{baseline_}.ToString(), elapsed_ms / 1000.0, max_jump_, rate_));
}

}  // namespace streamshop::pipeline
