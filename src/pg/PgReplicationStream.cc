#include "pg/PgReplicationStream.h"

#include <fmt/format.h>
#include <poll.h>

namespace streamshop::pg {

Result<PgReplicationStream> PgReplicationStream::Connect(std::string_view url) {
  SS_ASSIGN_OR_RETURN(PgConnection conn, PgConnection::Connect(url, PgConnection::Mode::kReplication));
  return PgReplicationStream(std::move(conn));
}

Result<SystemIdentity> PgReplicationStream::IdentifySystem() {
  SS_ASSIGN_OR_RETURN(PgResultPtr res, conn_.Exec("IDENTIFY_SYSTEM"));
  if (PQntuples(res.get()) != 1 || PQnfields(res.get()) < 4) return Status::Fatal("unexpected IDENTIFY_SYSTEM reply");
  auto lsn = Lsn::Parse(PQgetvalue(res.get(), 0, 2));
  if (!lsn) return Status::Fatal("unexpected xlogpos in IDENTIFY_SYSTEM reply");
  return SystemIdentity{PQgetvalue(res.get(), 0, 0), *lsn, PQgetvalue(res.get(), 0, 3)};
}

Result<Lsn> PgReplicationStream::CreateSlot(std::string_view slot) {
  SS_ASSIGN_OR_RETURN(PgResultPtr res,
                      conn_.Exec(fmt::format("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput (SNAPSHOT 'nothing')",
                                             PgConnection::QuoteIdent(slot))));
  if (PQntuples(res.get()) != 1 || PQnfields(res.get()) < 3)
    return Status::Fatal("unexpected CREATE_REPLICATION_SLOT reply");
  auto lsn = Lsn::Parse(PQgetvalue(res.get(), 0, 1));
  if (!lsn) return Status::Fatal("unexpected consistent_point in CREATE_REPLICATION_SLOT reply");
  return *lsn;
}

Status PgReplicationStream::Start(std::string_view slot, std::string_view publication) {
  // Publication names are quoted identifiers inside a string literal.
  const std::string pubs = PgConnection::QuoteLiteral(PgConnection::QuoteIdent(publication));
  auto res = conn_.Exec(
      fmt::format("START_REPLICATION SLOT {} LOGICAL 0/0 (proto_version '1', publication_names {}, messages 'true')",
                  PgConnection::QuoteIdent(slot), pubs));
  if (!res.ok()) return res.status();
  if (PQresultStatus(res->get()) != PGRES_COPY_BOTH) return Status::Fatal("START_REPLICATION did not enter COPY mode");
  return Status::Ok();
}

Result<std::optional<std::string_view>> PgReplicationStream::Read(std::chrono::milliseconds timeout) {
  buffer_.reset();
  for (int attempt = 0; attempt < 2; ++attempt) {
    char* buf = nullptr;
    const int n = PQgetCopyData(conn_.raw(), &buf, /*async=*/1);
    if (n > 0) {
      buffer_.reset(buf);
      return std::optional<std::string_view>(std::string_view(buf, n));
    }
    if (n == -1) {
      PgResultPtr r(PQgetResult(conn_.raw()));
      return conn_.ErrorStatus(r.get(), "replication stream ended");
    }
    if (n == -2) return conn_.ErrorStatus(nullptr, "replication stream failed");
    if (attempt == 1) break;
    // Nothing buffered: wait for the socket, then let libpq read what arrived.
    pollfd pfd{PQsocket(conn_.raw()), POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR) return Status::Retryable("poll on the replication socket failed");
    if (ready <= 0) return std::optional<std::string_view>();
    if (!PQconsumeInput(conn_.raw())) return conn_.ErrorStatus(nullptr, "replication stream read failed");
  }
  return std::optional<std::string_view>();
}

Status PgReplicationStream::Send(std::string_view copy_data) {
  if (PQputCopyData(conn_.raw(), copy_data.data(), static_cast<int>(copy_data.size())) != 1 ||
      PQflush(conn_.raw()) != 0) {
    return conn_.ErrorStatus(nullptr, "sending a standby status update failed");
  }
  return Status::Ok();
}

}  // namespace streamshop::pg
