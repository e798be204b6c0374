// RAII libpq connection with Status-returning query helpers.
//
// Every connection pins the session settings the text value encoding relies on (DateStyle ISO, TimeZone
// UTC, bytea hex, shortest-exact floats), so pgoutput and COPY produce identical text for the same value.
// Errors are classified once here: connection loss, shutdown, and "object in use" are Retryable;
// everything else (syntax, privileges, missing objects) is Fatal. Not thread-safe: one thread per connection.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"

namespace streamshop::pg {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

class PgConnection {
 public:
  enum class Mode { kNormal, kReplication };

  // `url` is a libpq URL or conninfo string; the password is never logged.
  static Result<PgConnection> Connect(std::string_view url, Mode mode = Mode::kNormal);

  // Runs `sql` (one statement) and returns its result; `params` are bound as text ($1, $2, …).
  Result<PgResultPtr> Exec(std::string_view sql, const std::vector<std::string>& params = {});
  // Runs a statement that returns at most one row and one column; std::nullopt if no row or NULL.
  Result<std::optional<std::string>> QueryValue(std::string_view sql, const std::vector<std::string>& params = {});
  // Runs a COPY … TO STDOUT and calls `on_row` with each text-format row.
  Status CopyOut(std::string_view sql, const std::function<Status(std::string_view)>& on_row);

  PGconn* raw() const { return conn_.get(); }

  // Classifies the error of a failed result (or of the connection when `result` is null).
  Status ErrorStatus(const PGresult* result, std::string_view what) const;

  static std::string QuoteIdent(std::string_view ident);
  static std::string QuoteLiteral(std::string_view literal);

 private:
  struct ConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  std::unique_ptr<PGconn, ConnDeleter> conn_;
};

}  // namespace streamshop::pg
