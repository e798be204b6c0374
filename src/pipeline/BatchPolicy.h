// When pending rows are flushed to the target: the one batching rule of every command. Adaptive: a batch is
// flushed as soon as its source has nothing more ready (light load: each change costs one insert round trip, no
// waiting for a timer), but not sooner than `idle_gap` after the previous flush (so a trickle of changes cannot
// turn into hundreds of tiny inserts a second); under load the source is always ready and batches grow to the rows,
// bytes or age limit. Pure: the caller passes the time, so tests need no clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace streamshop::pipeline {

struct BatchLimits {
  size_t rows = 200'000;
  size_t bytes = 32 << 20;
  std::chrono::milliseconds age{200};  // the oldest pending row waits at most this long
  std::chrono::milliseconds idle_gap{20};

  // From a command's user-facing --batch-rows, --batch-bytes and --flush-ms (cli/main.cc's AddBatchOptions): the
  // batch_rows, batch_bytes and flush_interval of its options.
  template <typename Options>
  static BatchLimits Of(const Options& o) {
    return {o.batch_rows, o.batch_bytes, o.flush_interval};
  }
};

class BatchPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  explicit BatchPolicy(BatchLimits limits) : limits_(limits) {}

  // Whether to flush `rows` pending rows of `bytes` now; `idle`: the source has nothing more ready and stands
  // between transactions.
  bool Due(size_t rows, size_t bytes, bool idle, Clock::time_point now) {
    if (rows == 0) return false;
    if (first_pending_ == Clock::time_point{}) first_pending_ = now;
    return rows >= limits_.rows || bytes >= limits_.bytes || now - first_pending_ >= limits_.age ||
           (idle && now - last_flush_ >= limits_.idle_gap);
  }
  // How long the source may wait for more when `rows` are pending: `longest`, or less when they become due sooner
  // (by age; or, `between_transactions`, by an idle source).
  std::chrono::milliseconds Wait(size_t rows, bool between_transactions, std::chrono::milliseconds longest,
                                 Clock::time_point now) const {
    if (rows == 0 || first_pending_ == Clock::time_point{}) return longest;
    auto due = first_pending_ + limits_.age;
    if (between_transactions) due = std::min(due, last_flush_ + limits_.idle_gap);
    return std::clamp(std::chrono::ceil<std::chrono::milliseconds>(due - now), std::chrono::milliseconds(0), longest);
  }
  // A flush succeeded (or was attempted): the next batch starts.
  void Flushed(Clock::time_point now) {
    first_pending_ = {};
    last_flush_ = now;
  }

  const BatchLimits& limits() const { return limits_; }

 private:
  BatchLimits limits_;
  Clock::time_point first_pending_{};
  Clock::time_point last_flush_{};
};

}  // namespace streamshop::pipeline
