#include "workload/Workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "common/JsonString.h"

namespace streamshop::workload {
namespace {

constexpr StatementSql kSql[kStatementKindCount] = {
    {"ss_gen_insert_customer",
     "INSERT INTO customers (customer_id, email, full_name, country, city) VALUES ($1, $2, $3, $4, $5)", 5},
    {"ss_gen_update_customer",
     "UPDATE customers SET email = $2, full_name = $3, country = $4, city = $5, updated_at = now() "
     "WHERE customer_id = $1",
     5},
    {"ss_gen_delete_customer", "DELETE FROM customers WHERE customer_id = $1", 1},
    {"ss_gen_insert_product",
     "INSERT INTO products (product_id, sku, name, category, price) VALUES ($1, $2, $3, $4, $5)", 5},
    {"ss_gen_update_price", "UPDATE products SET price = $2, updated_at = now() WHERE product_id = $1", 2},
    {"ss_gen_insert_order", "INSERT INTO orders (order_id, customer_id, status, total) VALUES ($1, $2, 'new', $3)", 3},
    {"ss_gen_insert_order_item",
     "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price) VALUES ($1, $2, $3, $4, $5)", 5},
    {"ss_gen_set_order_status", "UPDATE orders SET status = $2, updated_at = now() WHERE order_id = $1 AND status = $3",
     3},
    // occurred_at: the transaction's time, the one value of an event the generator cannot know.
    {"ss_gen_insert_outbox",
     "INSERT INTO outbox_events (id, aggregatetype, aggregateid, type, payload) VALUES ($1, $2, $3, $4, "
     "$5::jsonb || jsonb_build_object('occurred_at', now()))",
     5},
    {"ss_gen_delete_outbox", "DELETE FROM outbox_events WHERE id = $1", 1},
};

constexpr std::string_view kStatusNames[] = {"new", "paid", "shipped", "delivered", "cancelled"};

// The mix, in per-mille. Advancing must outpace new orders by ~2.9x (steps per order) for the set of open
// orders to stay bounded; when it is small, advancing falls back to a new order, so it hovers near
// kMinOpenOrders.
struct MixEntry {
  TransactionKind kind;
  uint32_t per_mille;
};
constexpr MixEntry kMix[] = {
    {TransactionKind::kNewOrder, 220},   {TransactionKind::kAdvanceOrder, 680},  {TransactionKind::kPriceChange, 50},
    {TransactionKind::kNewCustomer, 25}, {TransactionKind::kUpdateCustomer, 15}, {TransactionKind::kDeleteCustomer, 5},
    {TransactionKind::kNewProduct, 5},
};
static_assert([] {
  uint32_t sum = 0;
  for (const MixEntry& e : kMix) sum += e.per_mille;
  return sum == 1000;
}());

// Items per order: 1 (35 %), 2 (25 %), 3 (20 %), 4 (12 %), 5 (8 %).
constexpr uint32_t kLinesCumulative[] = {350, 600, 800, 920, 1000};

// Cancellation chances (per mille) when advancing a new or a paid order.
constexpr uint32_t kCancelNew = 80;
constexpr uint32_t kCancelPaid = 50;

std::string Str(int64_t v) { return std::to_string(v); }

// A fingerprint of everything the state holds: two runs from different database contents get different event ids.
uint64_t StateHash(uint64_t seed, const WorkloadState& s) {
  uint64_t h = Hash64({seed, 0x6f7574626f78ull /* "outbox" */, static_cast<uint64_t>(s.next_customer_id),
                       static_cast<uint64_t>(s.next_product_id), static_cast<uint64_t>(s.next_order_id)});
  for (const ProductState& p : s.products) {
    h = Hash64({h, static_cast<uint64_t>(p.product_id), static_cast<uint64_t>(p.price_cents)});
  }
  for (int64_t c : s.customers) h = Hash64({h, static_cast<uint64_t>(c)});
  for (const OpenOrder& o : s.open_orders) {
    h = Hash64({h, static_cast<uint64_t>(o.order_id), static_cast<uint64_t>(o.status)});
  }
  return h;
}

// A JSON string literal, escaped as PostgreSQL writes it.
std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(out, s, JsonDialect::kPostgres);
  return out;
}

}  // namespace

const StatementSql& SqlFor(StatementKind kind) { return kSql[static_cast<size_t>(kind)]; }

std::string_view TransactionKindName(TransactionKind kind) {
  switch (kind) {
    case TransactionKind::kNewOrder:
      return "new_order";
    case TransactionKind::kAdvanceOrder:
      return "advance_order";
    case TransactionKind::kPriceChange:
      return "price_change";
    case TransactionKind::kNewCustomer:
      return "new_customer";
    case TransactionKind::kUpdateCustomer:
      return "update_customer";
    case TransactionKind::kDeleteCustomer:
      return "delete_customer";
    case TransactionKind::kNewProduct:
      return "new_product";
    case TransactionKind::kSeed:
      return "seed";
  }
  return "unknown";
}

std::string FormatUuid(uint64_t hi, uint64_t lo) {
  hi = (hi & ~0xF000ull) | 0x4000ull;                         // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF, lo >> 48,
                     lo & 0xFFFFFFFFFFFFull);
}

std::string_view OrderStatusName(OrderStatus status) { return kStatusNames[static_cast<size_t>(status)]; }

bool ParseOrderStatus(std::string_view name, OrderStatus& out) {
  for (size_t i = 0; i < std::size(kStatusNames); ++i) {
    if (kStatusNames[i] == name) {
      out = static_cast<OrderStatus>(i);
      return true;
    }
  }
  return false;
}

Workload::Workload(uint64_t seed, WorkloadState state, WorkloadOptions options)
    : model_(seed),
      rng_(Hash64({seed, 0x776f726b6c6f6164ull /* "workload" */})),
      state_(std::move(state)),
      options_(options),
      event_salt_(StateHash(seed, state_)) {}

void Workload::Event(Transaction& out, std::string_view aggregatetype, int64_t aggregateid, std::string_view type,
                     std::string payload) {
  if (!options_.outbox) return;
  const uint64_t n = events_++;
  std::string id = FormatUuid(Hash64({event_salt_, n, 1}), Hash64({event_salt_, n, 2}));
  Add(out, StatementKind::kInsertOutbox).params = {id, std::string(aggregatetype), Str(aggregateid), std::string(type),
                                                   std::move(payload)};
  if (options_.outbox_cleanup) Add(out, StatementKind::kDeleteOutbox).params = {std::move(id), {}, {}, {}, {}};
}

Statement& Workload::Add(Transaction& out, StatementKind kind) {
  Statement& s = out.statements.emplace_back();
  s.kind = kind;
  s.param_count = SqlFor(kind).param_count;
  return s;
}

void Workload::AddProducts(int count, Transaction& out) {
  out.statements.clear();
  for (int i = 0; i < count; ++i) NewProduct(out);
  out.kind = TransactionKind::kSeed;
}

void Workload::AddCustomers(int count, Transaction& out) {
  out.statements.clear();
  for (int i = 0; i < count; ++i) NewCustomer(out);
  out.kind = TransactionKind::kSeed;
}

void Workload::Next(Transaction& out) {
  out.statements.clear();
  uint64_t roll = rng_.Below(1000);
  TransactionKind kind = TransactionKind::kNewOrder;
  for (const MixEntry& e : kMix) {
    if (roll < e.per_mille) {
      kind = e.kind;
      break;
    }
    roll -= e.per_mille;
  }
  // Fallbacks keep every population large enough for the mix to make sense.
  if (state_.products.empty()) kind = TransactionKind::kNewProduct;
  if (state_.customers.empty() && kind != TransactionKind::kNewProduct) kind = TransactionKind::kNewCustomer;
  if (kind == TransactionKind::kAdvanceOrder && state_.open_orders.size() < kMinOpenOrders) {
    kind = TransactionKind::kNewOrder;
  }
  if (kind == TransactionKind::kDeleteCustomer && state_.customers.size() <= kMinCustomers) {
    kind = TransactionKind::kNewCustomer;
  }
  switch (kind) {
    case TransactionKind::kNewOrder:
      NewOrder(out);
      break;
    case TransactionKind::kAdvanceOrder:
      AdvanceOrder(out);
      break;
    case TransactionKind::kPriceChange:
      PriceChange(out);
      break;
    case TransactionKind::kNewCustomer:
      NewCustomer(out);
      break;
    case TransactionKind::kUpdateCustomer:
      UpdateCustomer(out);
      break;
    case TransactionKind::kDeleteCustomer:
      DeleteCustomer(out);
      break;
    case TransactionKind::kNewProduct:
    case TransactionKind::kSeed:
      NewProduct(out);
      break;
  }
}

void Workload::NewOrder(Transaction& out) {
  out.kind = TransactionKind::kNewOrder;
  const int64_t order_id = state_.next_order_id++;
  const int64_t customer_id = state_.customers[rng_.Below(state_.customers.size())];

  const uint64_t lines_roll = rng_.Below(1000);
  size_t lines = 1;
  while (lines < std::size(kLinesCumulative) && lines_roll >= kLinesCumulative[lines - 1]) ++lines;
  lines = std::min(lines, state_.products.size());

  // Distinct products per order: draw indexes, redrawing duplicates (the catalogue is far larger than 5).
  std::array<size_t, 5> picked{};
  for (size_t i = 0; i < lines; ++i) {
    size_t idx = 0;
    bool dup = true;
    while (dup) {
      idx = rng_.Below(state_.products.size());
      dup = std::find(picked.begin(), picked.begin() + i, idx) != picked.begin() + i;
    }
    picked[i] = idx;
  }

  Add(out, StatementKind::kInsertOrder);  // parameters below, once the total is known
  int64_t total = 0;
  for (size_t i = 0; i < lines; ++i) {
    const ProductState& p = state_.products[picked[i]];
    const uint64_t q = rng_.Below(100);
    const int64_t quantity = q < 70 ? 1 : q < 90 ? 2 : 3 + static_cast<int64_t>(rng_.Below(3));
    total += quantity * p.price_cents;
    Statement& item = Add(out, StatementKind::kInsertOrderItem);
    item.params = {Str(order_id), Str(static_cast<int64_t>(i) + 1), Str(p.product_id), Str(quantity),
                   DataModel::FormatCents(p.price_cents)};
  }
  // By position: emplacing the items may have moved the order statement.
  out.statements.front().params = {Str(order_id), Str(customer_id), DataModel::FormatCents(total), {}, {}};
  state_.open_orders.push_back({order_id, customer_id, OrderStatus::kNew});
  Event(out, "order", order_id, "OrderPlaced",
        fmt::format(R"({{"order_id": {}, "customer_id": {}, "total": {}, "items": {}, "status": "new"}})", order_id,
                    customer_id, DataModel::FormatCents(total), lines));
}

void Workload::AdvanceOrder(Transaction& out) {
  out.kind = TransactionKind::kAdvanceOrder;
  const size_t idx = rng_.Below(state_.open_orders.size());
  OpenOrder& o = state_.open_orders[idx];
  const OrderStatus from = o.status;
  OrderStatus to = OrderStatus::kDelivered;
  switch (from) {
    case OrderStatus::kNew:
      to = rng_.PerMille(kCancelNew) ? OrderStatus::kCancelled : OrderStatus::kPaid;
      break;
    case OrderStatus::kPaid:
      to = rng_.PerMille(kCancelPaid) ? OrderStatus::kCancelled : OrderStatus::kShipped;
      break;
    default:
      to = OrderStatus::kDelivered;
      break;
  }
  Statement& s = Add(out, StatementKind::kSetOrderStatus);
  s.params = {Str(o.order_id), std::string(OrderStatusName(to)), std::string(OrderStatusName(from)), {}, {}};
  static constexpr std::string_view kEventOf[] = {"OrderPlaced", "OrderPaid", "OrderShipped", "OrderDelivered",
                                                  "OrderCancelled"};
  Event(out, "order", o.order_id, kEventOf[static_cast<size_t>(to)],
        fmt::format(R"({{"order_id": {}, "customer_id": {}, "status": "{}", "previous_status": "{}"}})", o.order_id,
                    o.customer_id, OrderStatusName(to), OrderStatusName(from)));
  if (to == OrderStatus::kDelivered || to == OrderStatus::kCancelled) {
    state_.open_orders[idx] = state_.open_orders.back();
    state_.open_orders.pop_back();
  } else {
    o.status = to;
  }
}

void Workload::PriceChange(Transaction& out) {
  out.kind = TransactionKind::kPriceChange;
  ProductState& p = state_.products[rng_.Below(state_.products.size())];
  const int64_t previous = p.price_cents;
  p.price_cents = model_.Repriced(p.product_id, p.price_cents, rng_.Next());
  Statement& s = Add(out, StatementKind::kUpdatePrice);
  s.params = {Str(p.product_id), DataModel::FormatCents(p.price_cents), {}, {}, {}};
  Event(out, "product", p.product_id, "PriceChanged",
        fmt::format(R"({{"product_id": {}, "price": {}, "previous_price": {}}})", p.product_id,
                    DataModel::FormatCents(p.price_cents), DataModel::FormatCents(previous)));
}

void Workload::NewCustomer(Transaction& out) {
  out.kind = TransactionKind::kNewCustomer;
  const int64_t id = state_.next_customer_id++;
  CustomerValues c = model_.Customer(id);
  std::string payload =
      fmt::format(R"({{"customer_id": {}, "country": {}, "city": {}}})", id, Quoted(c.country), Quoted(c.city));
  Statement& s = Add(out, StatementKind::kInsertCustomer);
  s.params = {Str(id), std::move(c.email), std::move(c.full_name), std::move(c.country), std::move(c.city)};
  state_.customers.push_back(id);
  Event(out, "customer", id, "CustomerRegistered", std::move(payload));
}

void Workload::UpdateCustomer(Transaction& out) {
  out.kind = TransactionKind::kUpdateCustomer;
  const int64_t id = state_.customers[rng_.Below(state_.customers.size())];
  CustomerValues c = model_.Customer(id, rng_.Next() | 1);  // variant 0 is "as created"
  std::string payload =
      fmt::format(R"({{"customer_id": {}, "country": {}, "city": {}}})", id, Quoted(c.country), Quoted(c.city));
  Statement& s = Add(out, StatementKind::kUpdateCustomer);
  s.params = {Str(id), std::move(c.email), std::move(c.full_name), std::move(c.country), std::move(c.city)};
  Event(out, "customer", id, "CustomerUpdated", std::move(payload));
}

void Workload::DeleteCustomer(Transaction& out) {
  out.kind = TransactionKind::kDeleteCustomer;
  const size_t idx = rng_.Below(state_.customers.size());
  const int64_t id = state_.customers[idx];
  state_.customers[idx] = state_.customers.back();
  state_.customers.pop_back();
  // The database cascades to the customer's orders and items; forget its open orders too.
  std::erase_if(state_.open_orders, [id](const OpenOrder& o) { return o.customer_id == id; });
  Statement& s = Add(out, StatementKind::kDeleteCustomer);
  s.params = {Str(id), {}, {}, {}, {}};
  Event(out, "customer", id, "CustomerDeleted", fmt::format(R"({{"customer_id": {}}})", id));
}

void Workload::NewProduct(Transaction& out) {
  out.kind = TransactionKind::kNewProduct;
  const int64_t id = state_.next_product_id++;
  ProductValues p = model_.Product(id);
  std::string payload = fmt::format(R"({{"product_id": {}, "category": {}, "price": {}}})", id, Quoted(p.category),
                                    DataModel::FormatCents(p.price_cents));
  Statement& s = Add(out, StatementKind::kInsertProduct);
  s.params = {Str(id), std::move(p.sku), std::move(p.name), std::move(p.category),
              DataModel::FormatCents(p.price_cents)};
  state_.products.push_back({id, p.price_cents});
  Event(out, "product", id, "ProductListed", std::move(payload));
}

}  // namespace streamshop::workload
