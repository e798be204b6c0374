#include "workload/DataModel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "workload/Rng.h"

using streamshop::workload::CustomerValues;
using streamshop::workload::DataModel;
using streamshop::workload::ProductValues;
using streamshop::workload::Rng;

namespace {

bool AllOf(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}
bool Lower(char c) { return c >= 'a' && c <= 'z'; }
bool Upper(char c) { return c >= 'A' && c <= 'Z'; }
bool Digit(char c) { return c >= '0' && c <= '9'; }

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// "first.last.<id>@label.label" (lowercase letters, decimal id); returns the id part or "" if malformed.
std::string EmailId(std::string_view email) {
  const auto at = Split(email, '@');
  if (at.size() != 2) return "";
  const auto local = Split(at[0], '.');
  const auto domain = Split(at[1], '.');
  if (local.size() != 3 || !AllOf(local[0], Lower) || !AllOf(local[1], Lower) || !AllOf(local[2], Digit)) return "";
  if (domain.size() != 2 || !AllOf(domain[0], Lower) || !AllOf(domain[1], Lower)) return "";
  return std::string(local[2]);
}

// "ABC-000123" (three capitals, six or more digits); returns the number or -1.
int64_t SkuNumber(std::string_view sku) {
  const auto parts = Split(sku, '-');
  if (parts.size() != 2 || parts[0].size() != 3 || !AllOf(parts[0], Upper) || parts[1].size() < 6 ||
      !AllOf(parts[1], Digit)) {
    return -1;
  }
  return std::stoll(std::string(parts[1]));
}

// "123.45": digits, a dot, exactly two digits.
bool IsMoney(std::string_view text) {
  const auto parts = Split(text, '.');
  return parts.size() == 2 && AllOf(parts[0], Digit) && parts[1].size() == 2 && AllOf(parts[1], Digit);
}

bool SameCustomer(const CustomerValues& a, const CustomerValues& b) {
  return a.email == b.email && a.full_name == b.full_name && a.country == b.country && a.city == b.city;
}
bool SameProduct(const ProductValues& a, const ProductValues& b) {
  return a.sku == b.sku && a.name == b.name && a.category == b.category && a.price_cents == b.price_cents;
}

TEST(DataModelTest, RngIsDeterministicAndSeedDependent) {
  Rng a(42), b(42), c(43);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differ += x != c.Next();
  }
  EXPECT_EQ(differ, 1000);
  // Pinned values: the stream must not change between versions or platforms (runs are reproducible).
  Rng pinned(0);
  EXPECT_EQ(pinned.Next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(pinned.Next(), 0x6E789E6AA1B965F4ull);
}

TEST(DataModelTest, RngRangesStayInBounds) {
  Rng rng(7);
  std::set<int64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_LT(rng.Below(5), 5u);
    const int64_t v = rng.Between(-3, 3);
    EXPECT_GE(v, -3);
    EXPECT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);  // every value of the range occurs
}

TEST(DataModelTest, SameSeedSameValues) {
  const DataModel a(42), b(42);
  for (int64_t id = 1; id <= 2000; ++id) {
    EXPECT_TRUE(SameCustomer(a.Customer(id), b.Customer(id))) << id;
    EXPECT_TRUE(SameCustomer(a.Customer(id, 99), b.Customer(id, 99))) << id;
    EXPECT_TRUE(SameProduct(a.Product(id), b.Product(id))) << id;
    EXPECT_EQ(a.Repriced(id, 1999, 5), b.Repriced(id, 1999, 5));
  }
}

TEST(DataModelTest, PinnedValuesForSeed42) {
  // Golden values: the data set of a seed must not change between versions or machines. Change them only on
  // purpose (it changes every generated data set).
  const DataModel m(42);
  const CustomerValues c = m.Customer(1);
  EXPECT_EQ(c.email, "quinn.urbina.1@example.net");
  EXPECT_EQ(c.full_name, "Quinn Urbina");
  EXPECT_EQ(c.country, "Italy");
  EXPECT_EQ(c.city, "Turin");
  const CustomerValues moved = m.Customer(1, 3);
  EXPECT_EQ(moved.email, "quinn.wagner.1@example.com");
  EXPECT_EQ(moved.full_name, "Quinn Wagner");
  EXPECT_EQ(moved.country, "United States");
  EXPECT_EQ(moved.city, "New York");
  const ProductValues p = m.Product(1);
  EXPECT_EQ(p.sku, "GAR-000001");
  EXPECT_EQ(p.name, "Essential Bird Feeder");
  EXPECT_EQ(p.category, "Garden");
  EXPECT_EQ(p.price_cents, 5049);
  EXPECT_EQ(m.Repriced(1, 1999, 7), 1796);
}

TEST(DataModelTest, DifferentSeedsGiveDifferentData) {
  const DataModel a(1), b(2);
  int customers_differ = 0, products_differ = 0;
  for (int64_t id = 1; id <= 200; ++id) {
    customers_differ += !SameCustomer(a.Customer(id), b.Customer(id));
    products_differ += !SameProduct(a.Product(id), b.Product(id));
  }
  EXPECT_GT(customers_differ, 180);
  EXPECT_GT(products_differ, 180);
}

TEST(DataModelTest, CustomerShapes) {
  const DataModel m(42);
  std::set<std::string> emails, countries, names;
  for (int64_t id = 1; id <= 20000; ++id) {
    for (uint64_t variant : {uint64_t{0}, uint64_t{0x1234567} | 1}) {
      const CustomerValues c = m.Customer(id, variant);
      EXPECT_EQ(EmailId(c.email), std::to_string(id)) << "shape first.last.<id>@domain: " << c.email;
      EXPECT_FALSE(c.full_name.empty());
      EXPECT_NE(c.full_name.find(' '), std::string::npos) << c.full_name;
      EXPECT_FALSE(c.country.empty());
      EXPECT_FALSE(c.city.empty());
      if (variant == 0) emails.insert(c.email);
      countries.insert(c.country);
      names.insert(c.full_name);
    }
  }
  EXPECT_EQ(emails.size(), 20000u) << "e-mails are unique per id";
  EXPECT_GE(countries.size(), 10u);
  EXPECT_GE(names.size(), 1000u);
}

TEST(DataModelTest, UpdateKeepsFirstNameAndChangesSomething) {
  const DataModel m(5);
  int changed = 0;
  for (int64_t id = 1; id <= 1000; ++id) {
    const CustomerValues before = m.Customer(id);
    const CustomerValues after = m.Customer(id, 77);
    EXPECT_EQ(before.full_name.substr(0, before.full_name.find(' ')),
              after.full_name.substr(0, after.full_name.find(' ')));
    changed += !SameCustomer(before, after);
  }
  EXPECT_GT(changed, 950);
}

TEST(DataModelTest, ProductShapes) {
  const DataModel m(42);
  std::set<std::string> skus, categories;
  for (int64_t id = 1; id <= 5000; ++id) {
    const ProductValues p = m.Product(id);
    EXPECT_EQ(SkuNumber(p.sku), id) << p.sku;
    skus.insert(p.sku);
    categories.insert(p.category);
    EXPECT_FALSE(p.name.empty());
    EXPECT_GE(p.price_cents, DataModel::kMinPriceCents);
    EXPECT_LE(p.price_cents, 400 * 100 + 99);  // the dearest category tops out at 400.99
  }
  EXPECT_EQ(skus.size(), 5000u);
  EXPECT_EQ(categories.size(), 10u);
}

TEST(DataModelTest, PricesArePositiveWithTwoDecimals) {
  const DataModel m(3);
  for (int64_t id = 1; id <= 2000; ++id) {
    int64_t price = m.Product(id).price_cents;
    for (uint64_t change = 0; change < 20; ++change) {
      const std::string text = DataModel::FormatCents(price);
      ASSERT_TRUE(IsMoney(text)) << text;
      EXPECT_GT(std::stod(text), 0.0) << text;
      const int64_t next = m.Repriced(id, price, change);
      EXPECT_GE(next, DataModel::kMinPriceCents);
      EXPECT_LE(next, DataModel::kMaxPriceCents);
      if (price > 10 * DataModel::kMinPriceCents) {
        EXPECT_NE(next, price);
        EXPECT_LE(std::abs(next - price), price / 5 + 1) << "at most 20 % per change";
      }
      price = next;
    }
  }
}

TEST(DataModelTest, ShapeCheckersRejectMalformedValues) {
  EXPECT_EQ(EmailId("anna.adams.12@example.com"), "12");
  for (const char* bad : {"anna.adams@example.com", "Anna.adams.1@example.com", "anna.adams.1x@example.com",
                          "anna.adams.1@example", "anna.adams.1@@example.com", ""}) {
    EXPECT_EQ(EmailId(bad), "") << bad;
  }
  EXPECT_EQ(SkuNumber("GAR-000001"), 1);
  EXPECT_EQ(SkuNumber("GA-000001"), -1);
  EXPECT_EQ(SkuNumber("GAR-00001"), -1);
  EXPECT_TRUE(IsMoney("0.50"));
  EXPECT_FALSE(IsMoney("0.5"));
  EXPECT_FALSE(IsMoney("-1.00"));
  EXPECT_FALSE(IsMoney("1"));
}

TEST(DataModelTest, FormatCents) {
  EXPECT_EQ(DataModel::FormatCents(0), "0.00");
  EXPECT_EQ(DataModel::FormatCents(5), "0.05");
  EXPECT_EQ(DataModel::FormatCents(50), "0.50");
  EXPECT_EQ(DataModel::FormatCents(1234), "12.34");
  EXPECT_EQ(DataModel::FormatCents(100000), "1000.00");
  EXPECT_EQ(DataModel::FormatCents(-1), "-0.01");
  EXPECT_EQ(DataModel::FormatCents(INT64_MIN), "-92233720368547758.08");
}

}  // namespace
