#include "workload/PgPipeline.h"

#include <fmt/format.h>
#include <poll.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace streamshop::workload {

Result<PgPipeline> PgPipeline::Open(std::string_view url, bool synchronous_commit) {
  SS_ASSIGN_OR_RETURN(pg::PgConnection conn, pg::PgConnection::Connect(url));
  if (!synchronous_commit) SS_RETURN_IF_ERROR(conn.Exec("SET synchronous_commit = off").status());
  for (size_t i = 0; i < kStatementKindCount; ++i) {
    const StatementSql& s = SqlFor(static_cast<StatementKind>(i));
    pg::PgResultPtr res(PQprepare(conn.raw(), s.name, s.sql, s.param_count, nullptr));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return conn.ErrorStatus(res.get(), fmt::format("preparing {}", s.name));
    }
  }
  if (PQsetnonblocking(conn.raw(), 1) != 0 || PQenterPipelineMode(conn.raw()) != 1) {
    return conn.ErrorStatus(nullptr, "entering libpq pipeline mode");
  }
  return PgPipeline(std::move(conn));
}

Status PgPipeline::ConnectionLost(std::string_view what) const {
  Status st = conn_.ErrorStatus(nullptr, what);
  // Whatever libpq says, a pipeline that failed at the socket level cannot be resumed: retry on a new one.
  return st.retryable() ? st : Status::Retryable(st.message());
}

Status PgPipeline::Send(const Transaction& txn) {
  std::array<const char*, 5> values{};
  for (const Statement& s : txn.statements) {
    for (int i = 0; i < s.param_count; ++i) values[i] = s.params[i].c_str();
    if (PQsendQueryPrepared(conn_.raw(), SqlFor(s.kind).name, s.param_count, values.data(), nullptr, nullptr, 0) != 1) {
      return ConnectionLost("sending to PostgreSQL");
    }
  }
  if (PQpipelineSync(conn_.raw()) != 1) return ConnectionLost("sending to PostgreSQL");
  in_flight_.push_back(false);
  return Status::Ok();
}

Status PgPipeline::Pump(std::chrono::milliseconds timeout, Completions& done) {
  PGconn* c = conn_.raw();
  const int flush = PQflush(c);
  if (flush < 0) return ConnectionLost("sending to PostgreSQL");

  pollfd pfd{};
  pfd.fd = PQsocket(c);
  pfd.events = static_cast<short>(POLLIN | (flush == 1 ? POLLOUT : 0));
  if (pfd.fd < 0) return ConnectionLost("PostgreSQL connection");
  const int n = poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (n < 0 && errno != EINTR) return Status::Retryable(fmt::format("poll: {}", std::strerror(errno)));
  if (n <= 0) return Status::Ok();
  if ((pfd.revents & POLLOUT) && PQflush(c) < 0) return ConnectionLost("sending to PostgreSQL");
  if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR))) return Status::Ok();
  if (PQconsumeInput(c) != 1) return ConnectionLost("reading from PostgreSQL");

  // Each statement yields its result then a null; each transaction ends with a PGRES_PIPELINE_SYNC result.
  while (!in_flight_.empty() && !PQisBusy(c)) {
    if (PQstatus(c) != CONNECTION_OK) break;  // a dead connection is never busy: don't spin on its nulls
    pg::PgResultPtr res(PQgetResult(c));
    if (!res) continue;  // end of one statement's results
    switch (PQresultStatus(res.get())) {
      case PGRES_PIPELINE_SYNC:
        if (in_flight_.front()) {
          ++done.failed;
        } else {
          ++done.committed;
        }
        in_flight_.pop_front();
        break;
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
        break;
      case PGRES_PIPELINE_ABORTED:  // skipped after an earlier failure in the same transaction
        in_flight_.front() = true;
        break;
      default:
        if (!in_flight_.front() && done.first_error.ok()) {
          done.first_error = conn_.ErrorStatus(res.get(), "transaction failed");
        }
        in_flight_.front() = true;
        break;
    }
  }
  if (PQstatus(c) != CONNECTION_OK) return ConnectionLost("PostgreSQL connection");
  return Status::Ok();
}

}  // namespace streamshop::workload
