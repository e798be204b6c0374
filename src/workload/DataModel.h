// DataModel: the realistic-looking values of the e-commerce workload (people, places, e-mail addresses, a
// product catalogue with categories and prices) as pure functions of (seed, id, variant). No I/O, no global
// state, no floating point: the same inputs give the same strings on every machine. Thread-safe (immutable).
//
// Guarantees the workload and its tests rely on:
//  - Customer(id, v).email embeds the id ("first.last.<id>@domain"), so e-mails are unique per id for any
//    seed and variant — the UNIQUE constraint on customers.email can never fail for distinct ids.
//  - Prices are in integer cents, always >= kMinPriceCents (> 0); FormatCents renders them with exactly two
//    decimals ("12.30"), the text numeric(12,2) expects.
//  - Product(id).sku embeds the id, so SKUs are unique per id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace streamshop::workload {

struct CustomerValues {
  std::string email;
  std::string full_name;
  std::string country;
  std::string city;
};

struct ProductValues {
  std::string sku;
  std::string name;
  std::string category;
  int64_t price_cents = 0;
};

class DataModel {
 public:
  static constexpr int64_t kMinPriceCents = 50;
  static constexpr int64_t kMaxPriceCents = 9'999'999;  // stays far inside numeric(12,2) and orders' totals

  explicit DataModel(uint64_t seed) : seed_(seed) {}

  uint64_t seed() const { return seed_; }

  // The customer `customer_id` as created (variant 0) or after an update (any other variant: a move to
  // another city, a new surname or e-mail domain). The e-mail always embeds the id.
  CustomerValues Customer(int64_t customer_id, uint64_t variant = 0) const;

  // The catalogue entry `product_id` as first listed (its initial price).
  ProductValues Product(int64_t product_id) const;

  // A price change of `current_cents` (change number `change`, any value): up or down by 1–20 % (at least one
  // cent), then clamped to [kMinPriceCents, kMaxPriceCents].
  int64_t Repriced(int64_t product_id, int64_t current_cents, uint64_t change) const;

  // 1234 -> "12.34", 5 -> "0.05"; negative values get a leading '-'.
  static std::string FormatCents(int64_t cents);

 private:
  uint64_t seed_;
};

}  // namespace streamshop::workload
