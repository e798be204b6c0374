#include "workload/Generator.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "common/Log.h"
#include "pg/PgConnection.h"
#include "workload/PgPipeline.h"
#include "workload/TokenBucket.h"
#include "workload/Workload.h"

namespace streamshop::workload {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kMaxBackoff = milliseconds(5000);
constexpr auto kDrainTimeout = std::chrono::seconds(10);
constexpr uint64_t kMaxConsecutiveFailures = 100;

Result<int64_t> ParseInt(const char* text) {
  int64_t v = 0;
  const std::string_view s(text);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Status::Fatal(fmt::format("unexpected integer '{}' from PostgreSQL", s));
  }
  return v;
}

Status CheckSchema(pg::PgConnection& conn, bool outbox) {
  SS_ASSIGN_OR_RETURN(std::optional<std::string> missing,
                      conn.QueryValue(fmt::format("SELECT string_agg(t, ', ') FROM unnest(ARRAY['customers', "
                                                  "'products', 'orders', 'order_items'{}]) AS t "
                                                  "WHERE to_regclass(t) IS NULL",
                                                  outbox ? ", 'outbox_events'" : "")));
  if (missing) {
    return Status::Fatal(
        fmt::format("table(s) {} not found (search_path of the --pg database): load the schema first, e.g. "
                    "`psql \"$STREAMSHOP_PG_URL\" -f sql/postgres/schema.sql`{}",
                    *missing, outbox ? " (or run generate with --outbox off)" : ""));
  }
  return Status::Ok();
}

// The workload's mirror, read in one consistent snapshot, in primary-key order (same content, same state).
Result<WorkloadState> LoadState(pg::PgConnection& conn) {
  SS_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  WorkloadState state;
  {
    SS_ASSIGN_OR_RETURN(pg::PgResultPtr r, conn.Exec("SELECT product_id, (price * 100)::bigint FROM products "
                                                     "WHERE active ORDER BY product_id"));
    state.products.reserve(PQntuples(r.get()));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      SS_ASSIGN_OR_RETURN(int64_t id, ParseInt(PQgetvalue(r.get(), i, 0)));
      SS_ASSIGN_OR_RETURN(int64_t cents, ParseInt(PQgetvalue(r.get(), i, 1)));
      state.products.push_back({id, std::max(cents, DataModel::kMinPriceCents)});
    }
  }
  {
    SS_ASSIGN_OR_RETURN(pg::PgResultPtr r, conn.Exec("SELECT customer_id FROM customers ORDER BY customer_id"));
    state.customers.reserve(PQntuples(r.get()));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      SS_ASSIGN_OR_RETURN(int64_t id, ParseInt(PQgetvalue(r.get(), i, 0)));
      state.customers.push_back(id);
    }
  }
  {
    SS_ASSIGN_OR_RETURN(pg::PgResultPtr r, conn.Exec("SELECT order_id, customer_id, status FROM orders "
                                                     "WHERE status IN ('new', 'paid', 'shipped') ORDER BY order_id"));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      OpenOrder o;
      SS_ASSIGN_OR_RETURN(o.order_id, ParseInt(PQgetvalue(r.get(), i, 0)));
      SS_ASSIGN_OR_RETURN(o.customer_id, ParseInt(PQgetvalue(r.get(), i, 1)));
      if (!ParseOrderStatus(PQgetvalue(r.get(), i, 2), o.status)) continue;
      state.open_orders.push_back(o);
    }
  }
  {
    SS_ASSIGN_OR_RETURN(pg::PgResultPtr r,
                        conn.Exec("SELECT (SELECT coalesce(max(customer_id), 0) + 1 FROM customers), "
                                  "(SELECT coalesce(max(product_id), 0) + 1 FROM products), "
                                  "(SELECT coalesce(max(order_id), 0) + 1 FROM orders)"));
    SS_ASSIGN_OR_RETURN(state.next_customer_id, ParseInt(PQgetvalue(r.get(), 0, 0)));
    SS_ASSIGN_OR_RETURN(state.next_product_id, ParseInt(PQgetvalue(r.get(), 0, 1)));
    SS_ASSIGN_OR_RETURN(state.next_order_id, ParseInt(PQgetvalue(r.get(), 0, 2)));
  }
  SS_RETURN_IF_ERROR(conn.Exec("COMMIT").status());
  return state;
}

// Moves the identity sequences past the ids the generator assigned itself.
Status AlignSequences(pg::PgConnection& conn) {
  return conn
      .Exec(
          "SELECT setval(pg_get_serial_sequence('customers', 'customer_id'), "
          "(SELECT coalesce(max(customer_id), 0) + 1 FROM customers), false), "
          "setval(pg_get_serial_sequence('products', 'product_id'), "
          "(SELECT coalesce(max(product_id), 0) + 1 FROM products), false), "
          "setval(pg_get_serial_sequence('orders', 'order_id'), "
          "(SELECT coalesce(max(order_id), 0) + 1 FROM orders), false)")
      .status();
}

// Sleeps `d` in short slices, returning early once `stop` is set.
void SleepUnlessStopped(milliseconds d, const std::atomic<bool>& stop) {
  for (auto slept = milliseconds(0); slept < d && !stop; slept += milliseconds(50)) {
    std::this_thread::sleep_for(std::min(milliseconds(50), d - slept));
  }
}

class Runner {
 public:
  Runner(const GeneratorOptions& options, const std::atomic<bool>& stop)
      : opt_(options), stop_(stop), bucket_(options.rate, std::max(10.0, options.rate * 0.25), Clock::now()) {}

  Result<GeneratorSummary> Run();

 private:
  Status Connect();
  Status TryConnect();
  Status Execute(const Transaction& txn);
  void Account(const PgPipeline::Completions& done);
  void Progress(Clock::time_point now, bool final);

  const GeneratorOptions& opt_;
  const std::atomic<bool>& stop_;
  std::optional<Workload> workload_;
  std::optional<PgPipeline> pipe_;
  TokenBucket bucket_;
  Transaction txn_;

  uint64_t sent_ = 0;
  uint64_t committed_ = 0;
  uint64_t errors_ = 0;
  uint64_t consecutive_failures_ = 0;
  bool resync_ = false;  // a transaction failed: reload the mirror once the pipeline is empty
  Status last_failure_;

  Clock::time_point start_;
  Clock::time_point last_tick_;
  uint64_t committed_at_tick_ = 0;
  Clock::time_point last_log_;
  uint64_t committed_at_log_ = 0;
  Clock::time_point last_error_log_;
  uint64_t unlogged_errors_ = 0;
};

// Executes one transaction outside the paced loop (seeding) and waits for it.
Status Runner::Execute(const Transaction& txn) {
  SS_RETURN_IF_ERROR(pipe_->Send(txn));
  PgPipeline::Completions done;
  while (pipe_->in_flight() > 0) {
    if (stop_) return Status::Retryable("stopped while seeding");
    SS_RETURN_IF_ERROR(pipe_->Pump(milliseconds(100), done));
  }
  return done.failed ? done.first_error : Status::Ok();
}

Status Runner::TryConnect() {
  pipe_.reset();
  SS_ASSIGN_OR_RETURN(pg::PgConnection control, pg::PgConnection::Connect(opt_.pg_url));
  SS_RETURN_IF_ERROR(CheckSchema(control, opt_.outbox));
  SS_ASSIGN_OR_RETURN(WorkloadState state, LoadState(control));
  SS_ASSIGN_OR_RETURN(PgPipeline pipe, PgPipeline::Open(opt_.pg_url, opt_.synchronous_commit));
  pipe_.emplace(std::move(pipe));
  if (workload_) {
    workload_->Reset(std::move(state));
  } else {
    workload_.emplace(opt_.seed, std::move(state), WorkloadOptions{opt_.outbox, opt_.outbox_cleanup});
  }
  // Seeding draws nothing from the random stream: its values are functions of the seed and the ids.
  Transaction seed;
  if (workload_->state().products.empty() && opt_.seed_products > 0) {
    workload_->AddProducts(opt_.seed_products, seed);
    SS_RETURN_IF_ERROR(Execute(seed).WithContext("seeding products"));
    LogInfo("generate: seeded a catalogue of {} products", opt_.seed_products);
  }
  if (workload_->state().customers.empty() && opt_.seed_customers > 0) {
    workload_->AddCustomers(opt_.seed_customers, seed);
    SS_RETURN_IF_ERROR(Execute(seed).WithContext("seeding customers"));
    LogInfo("generate: seeded {} customers", opt_.seed_customers);
  }
  return AlignSequences(control);
}

Status Runner::Connect() {
  auto backoff = milliseconds(100);
  while (!stop_) {
    Status st = TryConnect();
    if (st.ok()) return st;
    pipe_.reset();
    if (st.fatal()) return st;
    LogWarn("generate: {} — retrying in {:.1f}s", st.message(), backoff.count() / 1000.0);
    SleepUnlessStopped(backoff, stop_);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  return Status::Ok();
}

void Runner::Account(const PgPipeline::Completions& done) {
  committed_ += done.committed;
  errors_ += done.failed;
  if (done.committed > 0) consecutive_failures_ = 0;
  consecutive_failures_ += done.failed;
  if (done.failed == 0) return;
  resync_ = true;
  last_failure_ = done.first_error;
  unlogged_errors_ += done.failed;
  const auto now = Clock::now();
  if (now - last_error_log_ >= std::chrono::seconds(1)) {
    LogWarn("generate: {} ({} failed transaction(s) since the last report)", done.first_error.message(),
            unlogged_errors_);
    unlogged_errors_ = 0;
    last_error_log_ = now;
  }
}

void Runner::Progress(Clock::time_point now, bool final) {
  if (opt_.progress == GeneratorOptions::Progress::kLine) {
    if (!final && now - last_tick_ < std::chrono::seconds(1)) return;
    // The last second's rate while running; the whole run's average on the final line.
    const auto since = final ? start_ : last_tick_;
    const uint64_t base = final ? 0 : committed_at_tick_;
    const double secs = std::chrono::duration<double>(now - since).count();
    fmt::print(stderr, "\r\33[Kgenerate | {:.0f} tx/s{} | {} committed | {} errors | {} in flight{}",
               secs > 0 ? (committed_ - base) / secs : 0.0, final ? " average" : "", committed_, errors_,
               pipe_ ? pipe_->in_flight() : 0, final ? "\n" : "");
    fflush(stderr);
    last_tick_ = now;
    committed_at_tick_ = committed_;
  } else if (opt_.progress == GeneratorOptions::Progress::kLog && !final) {
    if (now - last_log_ < std::chrono::seconds(5)) return;
    const double secs = std::chrono::duration<double>(now - last_log_).count();
    LogInfo("generate: {} transactions committed, {:.0f}/s over the last {:.0f} s, {} errors", committed_,
            (committed_ - committed_at_log_) / secs, secs, errors_);
    last_log_ = now;
    committed_at_log_ = committed_;
  }
}

Result<GeneratorSummary> Runner::Run() {
  SS_RETURN_IF_ERROR(Connect());
  start_ = last_tick_ = last_log_ = Clock::now();
  bucket_.Reset(start_);
  const auto deadline = start_ + opt_.duration;
  std::optional<Clock::time_point> drain_deadline;

  while (true) {
    auto now = Clock::now();
    const bool sending = !stop_ && (opt_.duration.count() == 0 || now < deadline) &&
                         (opt_.transactions == 0 || sent_ < opt_.transactions);
    if (!pipe_) {  // stopped while reconnecting
      if (sending) return Status::Fatal("generate: internal error: no connection");
      break;
    }
    if (!sending) {
      if (!drain_deadline) drain_deadline = now + kDrainTimeout;
      if (pipe_->in_flight() == 0) break;
      if (now >= *drain_deadline) {
        LogWarn("generate: {} transaction(s) still unanswered after {} s; not waiting any longer", pipe_->in_flight(),
                kDrainTimeout.count());
        errors_ += pipe_->in_flight();
        break;
      }
    }

    Status st;
    if (resync_ && pipe_->in_flight() == 0) {
      // The mirror may have drifted (the failed transaction's changes are assumed by it): reload it.
      st = TryConnect();
      if (st.ok()) resync_ = false;
    }
    milliseconds wait(50);
    if (st.ok() && sending && !resync_) {
      bucket_.Refill(now);
      while (pipe_->in_flight() < opt_.max_in_flight && (opt_.transactions == 0 || sent_ < opt_.transactions) &&
             bucket_.TryTake()) {
        workload_->Next(txn_);
        st = pipe_->Send(txn_);
        if (!st.ok()) break;
        ++sent_;
      }
      if (pipe_->in_flight() < opt_.max_in_flight) {
        const auto next = std::chrono::ceil<milliseconds>(bucket_.TimeToNext());
        wait = std::clamp(next, milliseconds(0), milliseconds(50));
        if (bucket_.unlimited()) wait = milliseconds(0);
      }
    }
    PgPipeline::Completions done;
    if (st.ok()) st = pipe_->Pump(wait, done);
    Account(done);

    if (!st.ok()) {
      if (st.fatal()) return st;
      const size_t lost = pipe_ ? pipe_->in_flight() : 0;
      errors_ += lost;
      LogWarn("generate: {}; {} transaction(s) in flight counted as errors; reconnecting", st.message(), lost);
      pipe_.reset();
      if (sending) {
        SS_RETURN_IF_ERROR(Connect());
        bucket_.Reset(Clock::now());  // the outage is not made up in a burst
        resync_ = false;
      } else {
        break;
      }
    } else if (consecutive_failures_ >= kMaxConsecutiveFailures) {
      return Status::Fatal(fmt::format("generate: {} transactions in a row failed, last: {}", consecutive_failures_,
                                       last_failure_.message()));
    }
    Progress(Clock::now(), false);
  }

  const auto end = Clock::now();
  Progress(end, true);
  if (auto control = pg::PgConnection::Connect(opt_.pg_url); control.ok()) {
    if (Status st = AlignSequences(*control); !st.ok()) LogWarn("generate: {}", st.message());
  }
  GeneratorSummary summary;
  summary.transactions = committed_;
  summary.errors = errors_;
  summary.seconds = std::chrono::duration<double>(end - start_).count();
  return summary;
}

}  // namespace

std::string GeneratorSummary::ToString() const {
  return fmt::format("generate: {} transactions in {:.1f} s ({:.1f}/s), {} errors", transactions, seconds, rate(),
                     errors);
}

Result<double> ParseRate(std::string_view text) {
  std::string_view s = text;
  if (s.ends_with("/s")) s.remove_suffix(2);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < 0) {
    return Status::Fatal(
        fmt::format("invalid rate '{}': expected transactions per second, e.g. 1000 or 1000/s "
                    "(0 = as fast as possible)",
                    text));
  }
  return v;
}

Result<milliseconds> ParseDuration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    int64_t ms;
  };
  // "ms" before "s": the first matching suffix wins.
  constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
  std::string_view s = text;
  int64_t scale = 1000;  // a bare number is seconds
  for (const Unit& u : kUnits) {
    if (s.ends_with(u.suffix)) {
      s.remove_suffix(u.suffix.size());
      scale = u.ms;
      break;
    }
  }
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0 || v > INT64_MAX / scale / 1000) {
    return Status::Fatal(
        fmt::format("invalid duration '{}': expected e.g. 30s, 2m, 1h, 500ms (0 = until stopped)", text));
  }
  return milliseconds(v * scale);
}

Result<GeneratorSummary> Generator::Run(const std::atomic<bool>& stop) {
  Runner runner(options_, stop);
  return runner.Run();
}

}  // namespace streamshop::workload
