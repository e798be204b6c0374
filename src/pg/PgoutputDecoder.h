// Pure decoder for the PostgreSQL logical replication stream: the CopyBoth framing ('w' XLogData,
// 'k' keepalive, our 'r' standby status update) and pgoutput protocol-version-1 messages.
//
// Contract: no I/O, no global state; thread-safe. Every read is bounds-checked in all build modes:
// truncated or garbage input yields a Fatal Status naming what was malformed and at which offset, never
// a crash or an out-of-bounds read. Decoded messages hold string_views into the input buffer for tuple
// values and logical-message content; the caller keeps that buffer alive while it uses them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/Lsn.h"
#include "common/Status.h"

namespace streamshop::pg {

// Microseconds since 2000-01-01 00:00:00 UTC (the protocol's epoch).
using PgTimestamp = int64_t;

// ---- CopyData framing -------------------------------------------------------------------------
struct XLogData {
  Lsn wal_start;  // LSN of the change carried in `payload` (its own LSN for row changes)
  Lsn wal_end;
  PgTimestamp send_time = 0;
  std::string_view payload;  // one pgoutput message
};

struct Keepalive {
  Lsn wal_end;
  PgTimestamp send_time = 0;
  bool reply_requested = false;
};

using CopyDataMessage = std::variant<XLogData, Keepalive>;

Result<CopyDataMessage> DecodeCopyData(std::string_view bytes);

// 'r' standby status update: written, flushed, applied, client time, reply-requested flag.
std::string EncodeStandbyStatus(Lsn written, Lsn flushed, Lsn applied, PgTimestamp now, bool reply_requested);

// ---- pgoutput messages ----------------------------------------------------------------------------
struct TupleValue {
  enum class Kind : uint8_t { kNull, kUnchangedToast, kText, kBinary };
  Kind kind = Kind::kNull;
  std::string_view data;  // empty unless kText / kBinary
};
using Tuple = std::vector<TupleValue>;

struct RelationColumn {
  bool is_key = false;  // flag bit 1: part of the replica identity
  std::string name;
  uint32_t type_oid = 0;
  int32_t typmod = -1;
};

struct RelationMessage {
  uint32_t relid = 0;
  std::string nspname;
  std::string relname;
  char replica_identity = 'd';  // 'd' default, 'n' nothing, 'f' full, 'i' index
  std::vector<RelationColumn> columns;
};

struct BeginMessage {
  Lsn final_lsn;
  PgTimestamp commit_time = 0;
  Xid xid;
};

struct CommitMessage {
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  PgTimestamp commit_time = 0;
};

struct OriginMessage {
  Lsn commit_lsn;
  std::string name;
};

struct TypeMessage {
  uint32_t oid = 0;
  std::string nspname;
  std::string name;
};

struct InsertMessage {
  uint32_t relid = 0;
  Tuple new_tuple;
};

struct UpdateMessage {
  uint32_t relid = 0;
  char old_kind = 0;  // 0 (no old tuple), 'K' (old key) or 'O' (old full row)
  Tuple old_tuple;    // empty when old_kind == 0
  Tuple new_tuple;
};

struct DeleteMessage {
  uint32_t relid = 0;
  char old_kind = 'K';  // 'K' or 'O'
  Tuple old_tuple;
};

struct TruncateMessage {
  static constexpr uint8_t kCascade = 1;
  static constexpr uint8_t kRestartIdentity = 2;
  uint8_t options = 0;
  std::vector<uint32_t> relids;
};

struct LogicalMessage {
  bool transactional = false;
  Lsn lsn;
  std::string prefix;
  std::string_view content;
};

using PgoutputMessage = std::variant<BeginMessage, CommitMessage, OriginMessage, RelationMessage, TypeMessage,
                                     InsertMessage, UpdateMessage, DeleteMessage, TruncateMessage, LogicalMessage>;

// Decodes one pgoutput message (proto_version 1, with messages 'true'). Unknown message types, trailing
// bytes and any truncation are Fatal errors.
Result<PgoutputMessage> DecodePgoutput(std::string_view bytes);

}  // namespace streamshop::pg
