// Workload: the e-commerce transaction mix of `streamshop generate` as a pure state machine. It mirrors the
// rows that matter (live customers, the catalogue with current prices, orders not yet delivered or cancelled)
// and turns a seeded random stream into transactions — lists of prepared statements with text parameters —
// without any I/O. The caller executes each transaction atomically, in order.
//
// Determinism: for the same seed and the same initial WorkloadState, the sequence of transactions (kinds,
// ids, values) is identical on every run and machine. Ids are assigned here, never by the database.
//
// Invariants of the transactions produced, provided each one commits and nobody else writes these tables:
//  - a new order inserts the order and its 1–5 items (line_no 1..n, distinct products, quantity 1–5,
//    unit_price = the product's current price) in one transaction; orders.total = sum(quantity * unit_price);
//  - status moves only new → paid → shipped → delivered, or new/paid → cancelled; each status UPDATE also
//    requires the expected old status, so a mirror that drifted from the database can never move an order
//    backwards or out of a terminal state — it updates nothing instead;
//  - orders reference live customers and existing products; deleting a customer relies on ON DELETE CASCADE
//    for its orders and their items and drops its open orders from the mirror;
//  - e-mails and SKUs embed their ids (see DataModel), so UNIQUE constraints never fail;
//  - with the outbox on (WorkloadOptions), every transaction of the mix (and every seeded row) also inserts one
//    domain event per business change into outbox_events (OrderPlaced, OrderPaid, OrderShipped, OrderDelivered,
//    OrderCancelled, PriceChanged, CustomerRegistered, CustomerUpdated, CustomerDeleted, ProductListed) — and, with
//    clean-up, deletes it again in the same transaction. Event ids are UUIDs derived from the seed, a fingerprint
//    of the initial WorkloadState and the event's number: reproducible, and distinct from the events of an earlier
//    run on the same database (whose state differed).
// If a transaction fails, the mirror may drift: the caller reloads it from the database with Reset().
// Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workload/DataModel.h"
#include "workload/Rng.h"

namespace streamshop::workload {

enum class StatementKind : uint8_t {
  kInsertCustomer,   // $1 customer_id, $2 email, $3 full_name, $4 country, $5 city
  kUpdateCustomer,   // $1 customer_id, $2 email, $3 full_name, $4 country, $5 city
  kDeleteCustomer,   // $1 customer_id
  kInsertProduct,    // $1 product_id, $2 sku, $3 name, $4 category, $5 price
  kUpdatePrice,      // $1 product_id, $2 price
  kInsertOrder,      // $1 order_id, $2 customer_id, $3 total
  kInsertOrderItem,  // $1 order_id, $2 line_no, $3 product_id, $4 quantity, $5 unit_price
  kSetOrderStatus,   // $1 order_id, $2 new status, $3 expected old status
  kInsertOutbox,     // $1 id (uuid), $2 aggregatetype, $3 aggregateid, $4 type, $5 payload (JSON object)
  kDeleteOutbox,     // $1 id (uuid)
};
inline constexpr size_t kStatementKindCount = 10;

struct StatementSql {
  const char* name;  // prepared-statement name
  const char* sql;
  int param_count;
};
// The SQL of each statement kind, indexed by StatementKind. Table names are unqualified (search_path).
const StatementSql& SqlFor(StatementKind kind);

struct Statement {
  StatementKind kind{};
  int param_count = 0;
  std::array<std::string, 5> params;
};

enum class TransactionKind : uint8_t {
  kNewOrder,
  kAdvanceOrder,
  kPriceChange,
  kNewCustomer,
  kUpdateCustomer,
  kDeleteCustomer,
  kNewProduct,
  kSeed,  // initial catalogue / customers
};
std::string_view TransactionKindName(TransactionKind kind);

struct Transaction {
  TransactionKind kind{};
  std::vector<Statement> statements;
};

enum class OrderStatus : uint8_t { kNew, kPaid, kShipped, kDelivered, kCancelled };
std::string_view OrderStatusName(OrderStatus status);
// "new" -> kNew, …; false for an unknown name.
bool ParseOrderStatus(std::string_view name, OrderStatus& out);

struct ProductState {
  int64_t product_id = 0;
  int64_t price_cents = 0;
};
struct OpenOrder {
  int64_t order_id = 0;
  int64_t customer_id = 0;
  OrderStatus status = OrderStatus::kNew;  // kNew, kPaid or kShipped
};

// What the workload needs to know of the database. Loaded in primary-key order so that the same database
// content gives the same state; the next_* ids are max(id) + 1 (1 on empty tables).
struct WorkloadState {
  std::vector<ProductState> products;  // active products
  std::vector<int64_t> customers;      // live customer ids
  std::vector<OpenOrder> open_orders;  // orders in status new, paid or shipped
  int64_t next_customer_id = 1;
  int64_t next_product_id = 1;
  int64_t next_order_id = 1;
};

struct WorkloadOptions {
  bool outbox = true;           // write a domain event into outbox_events with each business change
  bool outbox_cleanup = false;  // and delete it again in the same transaction (the common clean-up pattern)
};

// Formats 128 bits as a version-4 UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"). Pure.
std::string FormatUuid(uint64_t hi, uint64_t lo);

class Workload {
 public:
  // Below these the mix tops the population up instead of shrinking it or advancing orders.
  static constexpr size_t kMinCustomers = 50;
  static constexpr size_t kMinOpenOrders = 64;

  Workload(uint64_t seed, WorkloadState state, WorkloadOptions options = {});

  // One transaction inserting `count` new products (resp. customers) with fresh ids; updates the mirror.
  void AddProducts(int count, Transaction& out);
  void AddCustomers(int count, Transaction& out);

  // The next transaction of the mix (overwrites `out`); updates the mirror as if it
  // committed.
  void Next(Transaction& out);

  // Replaces the mirror (after reloading it from the database); the random stream continues where it was.
  void Reset(WorkloadState state) { state_ = std::move(state); }

  const WorkloadState& state() const { return state_; }
  const DataModel& model() const { return model_; }

 private:
  void NewOrder(Transaction& out);
  void AdvanceOrder(Transaction& out);
  void PriceChange(Transaction& out);
  void NewCustomer(Transaction& out);
  void UpdateCustomer(Transaction& out);
  void DeleteCustomer(Transaction& out);
  void NewProduct(Transaction& out);
  Statement& Add(Transaction& out, StatementKind kind);
  // The domain event of the business change just added (a no-op with the outbox off). `payload`: a JSON object.
  void Event(Transaction& out, std::string_view aggregatetype, int64_t aggregateid, std::string_view type,
             std::string payload);

  DataModel model_;
  Rng rng_;
  WorkloadState state_;
  WorkloadOptions options_;
  uint64_t event_salt_ = 0;  // Hash64 of the seed and the initial state
  uint64_t events_ = 0;      // events produced so far
};

}  // namespace streamshop::workload
