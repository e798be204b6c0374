#include "pg/PgConnection.h"

#include <fmt/format.h>

#include "common/Url.h"
#include "model/TableSchema.h"

namespace streamshop::pg {
namespace {

constexpr const char* kSessionOptions =
    "-c datestyle=ISO,YMD -c timezone=UTC -c intervalstyle=postgres -c bytea_output=hex -c extra_float_digits=1 "
    "-c application_name=streamshop";

bool IsRetryableSqlState(std::string_view state) {
  // 08 connection exception, 57P0x shutdown / cannot connect now, 53 insufficient resources,
  // 40001/40P01 serialization failure / deadlock, 55006 object in use (replication slot active).
  return state.starts_with("08") || state.starts_with("57P") || state.starts_with("53") || state == "40001" ||
         state == "40P01" || state == "55006";
}

std::string TrimMessage(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<PgConnection> PgConnection::Connect(std::string_view url, Mode mode) {
  const std::string dbname(url);
  std::vector<const char*> keys = {"dbname", "options", "connect_timeout"};
  std::vector<const char*> values = {dbname.c_str(), kSessionOptions, "10"};
  if (mode == Mode::kReplication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  // A URL libpq cannot parse is a setup error, not an outage: say so once (its message may quote the password).
  char* parse_error = nullptr;
  if (PQconninfoOption* parsed = PQconninfoParse(dbname.c_str(), &parse_error)) {
    PQconninfoFree(parsed);
  } else {
    const std::string msg = parse_error ? TrimMessage(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return Status::Fatal(
        fmt::format("invalid PostgreSQL URL {}: {} (percent-encode the reserved characters of a "
                    "user or password, e.g. / as %2F, ? as %3F, # as %23, @ as %40)",
                    RedactUrl(url), RedactSecretsOf(url, msg)));
  }
  PgConnection conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
  if (!conn.raw()) return Status::Fatal("out of memory creating a PostgreSQL connection");
  if (PQstatus(conn.raw()) != CONNECTION_OK) {
    const std::string msg = RedactSecretsOf(url, TrimMessage(PQerrorMessage(conn.raw())));
    const bool auth = msg.find("authentication") != std::string::npos ||
                      msg.find("does not exist") != std::string::npos ||
                      msg.find("no pg_hba.conf entry") != std::string::npos ||
                      msg.find("replication role") != std::string::npos ||  // walsender refused (PostgreSQL ≤ 15)
                      msg.find("permission denied") != std::string::npos;
    const std::string text = fmt::format("cannot connect to PostgreSQL at {}: {}", RedactUrl(url), msg);
    return auth ? Status::Fatal(text) : Status::Retryable(text);
  }
  return conn;
}

Status PgConnection::ErrorStatus(const PGresult* result, std::string_view what) const {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string msg = TrimMessage(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get()));
  const std::string text = fmt::format("{}: {}", what, msg.empty() ? TrimMessage(PQerrorMessage(conn_.get())) : msg);
  if (PQstatus(conn_.get()) != CONNECTION_OK || !state || IsRetryableSqlState(state)) return Status::Retryable(text);
  return Status::Fatal(text);
}

Result<PgResultPtr> PgConnection::Exec(std::string_view sql, const std::vector<std::string>& params) {
  const std::string query(sql);
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  PgResultPtr res(params.empty() ? PQexec(conn_.get(), query.c_str())
                                 : PQexecParams(conn_.get(), query.c_str(), static_cast<int>(values.size()), nullptr,
                                                values.data(), nullptr, nullptr, 0));
  const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_BOTH) {
    return ErrorStatus(res.get(), fmt::format("PostgreSQL query failed ({})", query.substr(0, 80)));
  }
  return res;
}

Result<std::optional<std::string>> PgConnection::QueryValue(std::string_view sql,
                                                            const std::vector<std::string>& params) {
  SS_ASSIGN_OR_RETURN(PgResultPtr res, Exec(sql, params));
  if (PQntuples(res.get()) == 0 || PQnfields(res.get()) == 0 || PQgetisnull(res.get(), 0, 0)) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(PQgetvalue(res.get(), 0, 0));
}

Status PgConnection::CopyOut(std::string_view sql, const std::function<Status(std::string_view)>& on_row) {
  const std::string query(sql);
  PgResultPtr res(PQexec(conn_.get(), query.c_str()));
  if (!res || PQresultStatus(res.get()) != PGRES_COPY_OUT) {
    return ErrorStatus(res.get(), fmt::format("COPY failed ({})", query.substr(0, 80)));
  }
  Status row_status;
  while (true) {
    char* buf = nullptr;
    const int n = PQgetCopyData(conn_.get(), &buf, /*async=*/0);
    if (n == -1) break;  // COPY done
    if (n == -2) return ErrorStatus(nullptr, "COPY stream failed");
    if (row_status.ok()) row_status = on_row(std::string_view(buf, n));
    PQfreemem(buf);
  }
  // Drain the final result of the COPY command.
  for (PgResultPtr r(PQgetResult(conn_.get())); r; r.reset(PQgetResult(conn_.get()))) {
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return ErrorStatus(r.get(), "COPY failed");
  }
  return row_status;
}

std::string PgConnection::QuoteIdent(std::string_view ident) { return model::QuoteSqlIdent(ident); }

std::string PgConnection::QuoteLiteral(std::string_view literal) {
  std::string out = "'";
  for (char c : literal) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + '\'';
}

}  // namespace streamshop::pg
