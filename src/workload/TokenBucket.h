// TokenBucket: paces an open-loop workload at `rate` operations per second. Tokens accrue continuously at
// `rate` up to `burst`; each operation takes one. The clock is passed in (no hidden time source), so tests
// drive it with made-up time points. A rate <= 0 means unlimited. Pure value type; not thread-safe.
#pragma once

#include <algorithm>
#include <chrono>

namespace streamshop::workload {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts empty at `now`: the first token is available 1/rate later, so there is no initial burst.
  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(std::max(1.0, burst)), last_(now) {}

  bool unlimited() const { return rate_ <= 0; }

  void Refill(Clock::time_point now) {
    if (now <= last_) return;
    tokens_ = std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

  bool TryTake() {
    if (unlimited()) return true;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // How long after the last Refill() until one token is available (zero when one is).
  std::chrono::nanoseconds TimeToNext() const {
    if (unlimited() || tokens_ >= 1.0) return std::chrono::nanoseconds(0);
    return std::chrono::nanoseconds(static_cast<int64_t>((1.0 - tokens_) / rate_ * 1e9) + 1);
  }

  // Drops accrued tokens (e.g. after an outage, so that the lost time is not made up in a burst).
  void Reset(Clock::time_point now) {
    tokens_ = 0;
    last_ = now;
  }

 private:
  double rate_;
  double burst_;
  double tokens_ = 0;
  Clock::time_point last_;
};

}  // namespace streamshop::workload
