// Unit tests of the generator's pure parts: the Workload state machine (run against an in-memory model of the
// four tables that enforces the schema's constraints), the token bucket, option parsing and the summary line.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "workload/Generator.h"
#include "workload/TokenBucket.h"
#include "workload/Workload.h"

using namespace streamshop::workload;  // NOLINT
using std::chrono::milliseconds;

namespace {

int64_t Cents(const std::string& text) {
  const size_t dot = text.find('.');
  EXPECT_NE(dot, std::string::npos) << text;
  EXPECT_EQ(text.size() - dot, 3u) << "two decimals: " << text;
  return std::stoll(text.substr(0, dot)) * 100 + std::stoll(text.substr(dot + 1));
}

// The four tables, with the constraints of sql/postgres/schema.sql (PKs, FKs with ON DELETE CASCADE, UNIQUE
// email and sku, CHECKs) and the status rules the generator promises. Each transaction applies atomically.
class FakeDatabase {
 public:
  struct Order {
    int64_t customer_id;
    std::string status;
    int64_t total;
    std::map<int, std::pair<int64_t, int64_t>> items;  // line_no -> (product_id, quantity * unit_price)
    std::vector<int64_t> products;
  };

  void Apply(const Transaction& txn) {
    ASSERT_FALSE(txn.statements.empty());
    events_in_txn = 0;
    for (const Statement& s : txn.statements) {
      ASSERT_EQ(s.param_count, SqlFor(s.kind).param_count);
      const auto& p = s.params;
      switch (s.kind) {
        case StatementKind::kInsertCustomer:
          ASSERT_TRUE(customers.emplace(std::stoll(p[0]), p[1]).second) << "duplicate customer " << p[0];
          ASSERT_TRUE(emails.insert(p[1]).second) << "duplicate e-mail " << p[1];
          break;
        case StatementKind::kUpdateCustomer: {
          auto it = customers.find(std::stoll(p[0]));
          ASSERT_NE(it, customers.end()) << "update of a missing customer " << p[0];
          emails.erase(it->second);
          ASSERT_TRUE(emails.insert(p[1]).second) << "duplicate e-mail " << p[1];
          it->second = p[1];
          ++customer_updates;
          break;
        }
        case StatementKind::kDeleteCustomer: {
          const int64_t id = std::stoll(p[0]);
          auto it = customers.find(id);
          ASSERT_NE(it, customers.end()) << "delete of a missing customer " << id;
          emails.erase(it->second);
          customers.erase(it);
          std::erase_if(orders, [id](const auto& kv) { return kv.second.customer_id == id; });  // cascade
          ++customer_deletes;
          break;
        }
        case StatementKind::kInsertProduct:
          ASSERT_TRUE(products.emplace(std::stoll(p[0]), Cents(p[4])).second) << "duplicate product " << p[0];
          ASSERT_TRUE(skus.insert(p[1]).second) << "duplicate sku " << p[1];
          ASSERT_GT(Cents(p[4]), 0);
          break;
        case StatementKind::kUpdatePrice: {
          auto it = products.find(std::stoll(p[0]));
          ASSERT_NE(it, products.end());
          it->second = Cents(p[1]);
          ASSERT_GT(it->second, 0);
          ++price_changes;
          break;
        }
        case StatementKind::kInsertOrder: {
          const int64_t customer = std::stoll(p[1]);
          ASSERT_TRUE(customers.contains(customer)) << "order for unknown customer " << customer;
          ASSERT_TRUE(orders.emplace(std::stoll(p[0]), Order{customer, "new", Cents(p[2]), {}, {}}).second);
          break;
        }
        case StatementKind::kInsertOrderItem: {
          auto it = orders.find(std::stoll(p[0]));
          ASSERT_NE(it, orders.end()) << "item of an unknown order " << p[0];
          const int64_t product = std::stoll(p[2]);
          auto prod = products.find(product);
          ASSERT_NE(prod, products.end()) << "item of an unknown product " << product;
          const int64_t quantity = std::stoll(p[3]);
          const int64_t unit_price = Cents(p[4]);
          ASSERT_GE(quantity, 1);
          ASSERT_LE(quantity, 5);
          ASSERT_EQ(unit_price, prod->second) << "unit_price is the product's current price";
          ASSERT_TRUE(it->second.items.emplace(std::stoi(p[1]), std::pair{product, quantity * unit_price}).second);
          it->second.products.push_back(product);
          break;
        }
        case StatementKind::kSetOrderStatus: {
          auto it = orders.find(std::stoll(p[0]));
          ASSERT_NE(it, orders.end()) << "status change of an unknown order " << p[0];
          ASSERT_EQ(it->second.status, p[2]) << "expected old status";
          const std::string& from = p[2];
          const std::string& to = p[1];
          const bool legal = (from == "new" && (to == "paid" || to == "cancelled")) ||
                             (from == "paid" && (to == "shipped" || to == "cancelled")) ||
                             (from == "shipped" && to == "delivered");
          ASSERT_TRUE(legal) << from << " -> " << to;
          it->second.status = to;
          ++transitions[from + "->" + to];
          break;
        }
        case StatementKind::kInsertOutbox: {
          ASSERT_EQ(p[0].size(), 36u) << p[0];
          ASSERT_EQ(p[0][14], '4') << "a version-4 UUID: " << p[0];
          ASSERT_TRUE(event_ids.insert(p[0]).second) << "duplicate event id " << p[0];
          ASSERT_TRUE(outbox.insert(p[0]).second);
          ASSERT_TRUE(p[1] == "order" || p[1] == "customer" || p[1] == "product") << p[1];
          ASSERT_EQ(p[4].front(), '{');
          ASSERT_NE(p[4].find(R"(_id": )" + p[2]), std::string::npos) << "payload names the aggregate: " << p[4];
          ++events[p[3]];
          ++events_in_txn;
          break;
        }
        case StatementKind::kDeleteOutbox:
          ASSERT_EQ(outbox.erase(p[0]), 1u) << "deleted an event that is not in the outbox: " << p[0];
          break;
      }
    }
  }

  // The invariants checked in PostgreSQL by tests/integration/test_generate.sh, on the model.
  void CheckInvariants() const {
    for (const auto& [id, o] : orders) {
      ASSERT_GE(o.items.size(), 1u) << id;
      ASSERT_LE(o.items.size(), 5u) << id;
      int64_t sum = 0;
      int expected_line = 1;
      for (const auto& [line, item] : o.items) {
        ASSERT_EQ(line, expected_line++) << "line numbers 1..n";
        sum += item.second;
      }
      ASSERT_EQ(o.total, sum) << "order " << id << " total = sum of its items";
      ASSERT_EQ(std::set<int64_t>(o.products.begin(), o.products.end()).size(), o.products.size())
          << "distinct products per order";
    }
  }

  std::map<int64_t, std::string> customers;  // id -> email
  std::set<std::string> emails;
  std::map<int64_t, int64_t> products;  // id -> price in cents
  std::set<std::string> skus;
  std::map<int64_t, Order> orders;
  std::map<std::string, int> transitions;
  int customer_updates = 0, customer_deletes = 0, price_changes = 0;
  std::set<std::string> event_ids;    // every event ever inserted
  std::set<std::string> outbox;       // the rows outbox_events holds
  std::map<std::string, int> events;  // by type
  int events_in_txn = 0;              // of the last transaction applied
};

// Runs `n` transactions of a fresh seeded workload (200 products, 300 customers) against a FakeDatabase.
void RunWorkload(uint64_t seed, int n, FakeDatabase& db, std::vector<Transaction>* log = nullptr,
                 WorkloadOptions options = {}) {
  Workload w(seed, WorkloadState{}, options);
  Transaction txn;
  w.AddProducts(200, txn);
  db.Apply(txn);
  w.AddCustomers(300, txn);
  db.Apply(txn);
  for (int i = 0; i < n; ++i) {
    w.Next(txn);
    db.Apply(txn);
    if (::testing::Test::HasFatalFailure()) return;
    EXPECT_EQ(db.events_in_txn, options.outbox ? 1 : 0) << "one domain event per business change";
    if (log) log->push_back(txn);
  }
  // The mirror agrees with the database.
  EXPECT_EQ(w.state().customers.size(), db.customers.size());
  EXPECT_EQ(w.state().products.size(), db.products.size());
  size_t open = 0;
  for (const auto& [id, o] : db.orders) open += o.status == "new" || o.status == "paid" || o.status == "shipped";
  EXPECT_EQ(w.state().open_orders.size(), open);
}

bool SameTransaction(const Transaction& a, const Transaction& b) {
  if (a.kind != b.kind || a.statements.size() != b.statements.size()) return false;
  for (size_t i = 0; i < a.statements.size(); ++i) {
    if (a.statements[i].kind != b.statements[i].kind || a.statements[i].params != b.statements[i].params) {
      return false;
    }
  }
  return true;
}

TEST(GeneratorWorkloadTest, SameSeedSameTransactions) {
  FakeDatabase db1, db2;
  std::vector<Transaction> a, b;
  RunWorkload(42, 20000, db1, &a);
  RunWorkload(42, 20000, db2, &b);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_TRUE(SameTransaction(a[i], b[i])) << "transaction " << i;
}

TEST(GeneratorWorkloadTest, DifferentSeedsDiffer) {
  FakeDatabase db1, db2;
  std::vector<Transaction> a, b;
  RunWorkload(42, 1000, db1, &a);
  RunWorkload(43, 1000, db2, &b);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += !SameTransaction(a[i], b[i]);
  EXPECT_GT(differ, 900);
}

TEST(GeneratorWorkloadTest, ConstraintsAndLifecycleHold) {
  FakeDatabase db;
  RunWorkload(7, 100000, db);
  ASSERT_FALSE(HasFatalFailure());
  db.CheckInvariants();
  // Every kind of change happened, including every lifecycle transition.
  for (const char* t : {"new->paid", "new->cancelled", "paid->shipped", "paid->cancelled", "shipped->delivered"}) {
    EXPECT_GT(db.transitions[t], 0) << t;
  }
  EXPECT_GT(db.customer_updates, 0);
  EXPECT_GT(db.customer_deletes, 0);
  EXPECT_GT(db.price_changes, 0);
  EXPECT_GT(db.products.size(), 200u);  // new products were listed
  std::map<std::string, int> by_status;
  for (const auto& [id, o] : db.orders) ++by_status[o.status];
  EXPECT_GT(by_status["delivered"], by_status["cancelled"]);
  EXPECT_GT(by_status["cancelled"], 0);
}

TEST(GeneratorWorkloadTest, OutboxEventsPerChangeAndCleanup) {
  FakeDatabase kept, cleaned, none;
  RunWorkload(7, 20000, kept);
  RunWorkload(7, 20000, cleaned, nullptr, {.outbox = true, .outbox_cleanup = true});
  RunWorkload(7, 2000, none, nullptr, {.outbox = false});
  ASSERT_FALSE(HasFatalFailure());
  for (const char* t : {"OrderPlaced", "OrderPaid", "OrderShipped", "OrderDelivered", "OrderCancelled", "PriceChanged",
                        "CustomerRegistered", "CustomerUpdated", "CustomerDeleted", "ProductListed"}) {
    EXPECT_GT(kept.events[t], 0) << t;
  }
  EXPECT_EQ(kept.events["ProductListed"], static_cast<int>(kept.products.size()));
  EXPECT_EQ(kept.outbox.size(), kept.event_ids.size());
  EXPECT_TRUE(cleaned.outbox.empty()) << "clean-up deletes every event in its own transaction";
  EXPECT_EQ(cleaned.event_ids, kept.event_ids) << "clean-up changes nothing else: same events, same ids";
  EXPECT_TRUE(none.event_ids.empty());
}

TEST(GeneratorWorkloadTest, EventIdsDependOnTheStartingState) {
  WorkloadState a;
  a.products = {{1, 100}};
  a.customers = {1};
  a.next_customer_id = 2;
  a.next_product_id = 2;
  WorkloadState b = a;
  b.products[0].price_cents = 101;  // e.g. an earlier run changed a price
  Transaction ta, tb, ta2;
  Workload(3, a).Next(ta);
  Workload(3, a).Next(ta2);
  Workload(3, b).Next(tb);
  auto event_id = [](const Transaction& t) {
    for (const Statement& s : t.statements)
      if (s.kind == StatementKind::kInsertOutbox) return s.params[0];
    return std::string();
  };
  ASSERT_FALSE(event_id(ta).empty());
  EXPECT_EQ(event_id(ta), event_id(ta2)) << "reproducible";
  EXPECT_NE(event_id(ta), event_id(tb)) << "a rerun on a changed database does not reuse the ids";
  EXPECT_EQ(FormatUuid(0, 0), "00000000-0000-4000-8000-000000000000");
}

TEST(GeneratorWorkloadTest, OpenOrdersStayBounded) {
  Workload w(11, WorkloadState{});
  Transaction txn;
  w.AddProducts(100, txn);
  w.AddCustomers(100, txn);
  size_t max_open = 0;
  for (int i = 0; i < 200000; ++i) {
    w.Next(txn);
    max_open = std::max(max_open, w.state().open_orders.size());
  }
  EXPECT_GE(max_open, Workload::kMinOpenOrders);
  EXPECT_LT(max_open, 1000u);
  EXPECT_GE(w.state().customers.size(), Workload::kMinCustomers);
}

TEST(GeneratorWorkloadTest, ResumesFromLoadedState) {
  // A state as loaded from a database that already has rows: ids continue after the maxima.
  WorkloadState state;
  state.products = {{10, 1999}, {11, 500}, {12, 12000}, {13, 250}, {14, 999}, {15, 4200}};
  for (int64_t id = 100; id < 200; ++id) state.customers.push_back(id);
  state.open_orders = {{500, 100, OrderStatus::kPaid}};
  state.next_customer_id = 300;
  state.next_product_id = 20;
  state.next_order_id = 1000;
  Workload w(1, state);
  Transaction txn;
  std::string order_500_status = "paid";
  for (int i = 0; i < 5000; ++i) {
    w.Next(txn);
    for (const Statement& s : txn.statements) {
      if (s.kind == StatementKind::kInsertOutbox || s.kind == StatementKind::kDeleteOutbox) continue;
      const int64_t id = std::stoll(s.params[0]);
      switch (s.kind) {
        case StatementKind::kInsertCustomer:
          EXPECT_GE(id, 300);
          break;
        case StatementKind::kInsertProduct:
          EXPECT_GE(id, 20);
          break;
        case StatementKind::kInsertOrder:
          EXPECT_GE(id, 1000);
          break;
        case StatementKind::kSetOrderStatus:
          if (id == 500) {
            EXPECT_EQ(s.params[2], order_500_status) << "the loaded status is where order 500 continues from";
            order_500_status = s.params[1];
          }
          break;
        default:
          break;
      }
    }
  }
}

TEST(GeneratorWorkloadTest, StatementSqlMatchesParameterCounts) {
  for (size_t i = 0; i < kStatementKindCount; ++i) {
    const StatementSql& s = SqlFor(static_cast<StatementKind>(i));
    const std::string sql = s.sql;
    EXPECT_NE(sql.find("$" + std::to_string(s.param_count)), std::string::npos) << s.name;
    EXPECT_EQ(sql.find("$" + std::to_string(s.param_count + 1)), std::string::npos) << s.name;
  }
  OrderStatus st{};
  EXPECT_TRUE(ParseOrderStatus("shipped", st));
  EXPECT_EQ(st, OrderStatus::kShipped);
  EXPECT_EQ(OrderStatusName(st), "shipped");
  EXPECT_FALSE(ParseOrderStatus("lost", st));
}

TEST(GeneratorTokenBucketTest, PacesAtTheRateWithoutInitialBurst) {
  const auto t0 = TokenBucket::Clock::time_point{} + std::chrono::hours(1);
  TokenBucket bucket(1000, 250, t0);
  EXPECT_FALSE(bucket.TryTake()) << "starts empty";
  EXPECT_GT(bucket.TimeToNext(), std::chrono::nanoseconds(0));
  EXPECT_LE(bucket.TimeToNext(), milliseconds(1) + std::chrono::nanoseconds(1));
  int taken = 0;
  for (int step = 1; step <= 10000; ++step) {  // 10 s in 1 ms steps
    bucket.Refill(t0 + milliseconds(step));
    while (bucket.TryTake()) ++taken;
  }
  EXPECT_NEAR(taken, 10000, 1);
}

TEST(GeneratorTokenBucketTest, BurstIsCapped) {
  const auto t0 = TokenBucket::Clock::time_point{} + std::chrono::hours(1);
  TokenBucket bucket(1000, 250, t0);
  bucket.Refill(t0 + std::chrono::seconds(10));  // a long stall
  int taken = 0;
  while (bucket.TryTake()) ++taken;
  EXPECT_EQ(taken, 250);
  bucket.Refill(t0 + std::chrono::seconds(20));
  bucket.Reset(t0 + std::chrono::seconds(20));
  EXPECT_FALSE(bucket.TryTake()) << "Reset drops accrued tokens";
}

TEST(GeneratorTokenBucketTest, ZeroRateIsUnlimited) {
  TokenBucket bucket(0, 1, TokenBucket::Clock::time_point{});
  EXPECT_TRUE(bucket.unlimited());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(bucket.TryTake());
  EXPECT_EQ(bucket.TimeToNext(), std::chrono::nanoseconds(0));
}

TEST(GeneratorOptionsTest, ParseRate) {
  EXPECT_EQ(*ParseRate("1000"), 1000.0);
  EXPECT_EQ(*ParseRate("1000/s"), 1000.0);
  EXPECT_EQ(*ParseRate("2.5/s"), 2.5);
  EXPECT_EQ(*ParseRate("0"), 0.0);
  for (const char* bad : {"", "/s", "-5", "fast", "10/m", "1e999", "nan"}) {
    auto r = ParseRate(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_TRUE(r.status().fatal());
    }
  }
}

TEST(GeneratorOptionsTest, ParseDuration) {
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("90"), milliseconds(90'000));
  EXPECT_EQ(*ParseDuration("30s"), milliseconds(30'000));
  EXPECT_EQ(*ParseDuration("2m"), milliseconds(120'000));
  EXPECT_EQ(*ParseDuration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  for (const char* bad : {"", "s", "-1s", "1.5s", "10x", "ms", "99999999999999999999h"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

TEST(GeneratorOptionsTest, SummaryLine) {
  GeneratorSummary s;
  s.transactions = 12000;
  s.errors = 0;
  s.seconds = 12.0;
  EXPECT_EQ(s.ToString(), "generate: 12000 transactions in 12.0 s (1000.0/s), 0 errors");
  EXPECT_EQ(GeneratorSummary{}.ToString(), "generate: 0 transactions in 0.0 s (0.0/s), 0 errors");
}

}  // namespace
