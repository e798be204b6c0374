// Rng: the generator's own seeded pseudo-random stream (splitmix64), plus the stateless Hash64 mixer the data
// model derives values from. Pure and platform-independent: the same seed yields the same numbers on every
// machine and compiler (integer arithmetic only, no std:: distributions, whose output is implementation-defined).
// A value type; not thread-safe (copy it per thread).
#pragma once

#include <cstdint>
#include <initializer_list>

namespace streamshop::workload {

// splitmix64's output function: a bijective 64-bit mixer.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Hash of a sequence of words; different sequences give (with overwhelming probability) different values.
constexpr uint64_t Hash64(std::initializer_list<uint64_t> words) {
  uint64_t h = 0x6A09E667F3BCC908ull;
  for (uint64_t w : words) h = Mix64(h ^ Mix64(w));
  return h;
}

// Maps a uniform 64-bit value onto [0, n) (n > 0) by multiply-shift; bias is below 2^-40 for the n used here.
constexpr uint64_t Reduce(uint64_t x, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(x) * n) >> 64);
}

class Rng {
 public:
  explicit constexpr Rng(uint64_t seed) : state_(seed) {}

  constexpr uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n must be > 0.
  constexpr uint64_t Below(uint64_t n) { return Reduce(Next(), n); }
  // Uniform in [lo, hi] (inclusive, lo <= hi).
  constexpr int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // True with probability per_mille / 1000.
  constexpr bool PerMille(uint32_t per_mille) { return Below(1000) < per_mille; }

 private:
  uint64_t state_;
};

}  // namespace streamshop::workload
