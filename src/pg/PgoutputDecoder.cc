#include "pg/PgoutputDecoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>
#include <utility>

namespace streamshop::pg {
namespace {

// Renders a protocol byte for error messages: 'I' (0x49) when printable, else 0x05.
std::string DescribeByte(uint8_t b) {
  if (b >= 0x20 && b < 0x7f) return fmt::format("'{}' (0x{:02x})", static_cast<char>(b), b);
  return fmt::format("0x{:02x}", b);
}

// Sequential big-endian reader over one message. Invariant: pos_ <= bytes_.size(). Every read checks the
// remaining length before touching a byte and, on failure, returns a Fatal Status naming the field and the
// byte offset (relative to the start of `bytes`) where the problem was found; pos_ is then unspecified.
class Reader {
 public:
  Reader(std::string_view bytes, std::string_view context) : bytes_(bytes), context_(context) {}

  // `context` names the message in error text, e.g. "pgoutput Begin message"; must outlive the reader.
  void set_context(std::string_view context) { context_ = context; }
  size_t offset() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  Status Fail(size_t at, std::string_view problem) const {
    return Status::Fatal(fmt::format("malformed {}: {} at byte offset {}", context_, problem, at));
  }

  // The next `n` bytes, as a view into the input.
  Status Raw(std::string_view what, size_t n, std::string_view* out) {
    if (n > remaining()) return Fail(pos_, fmt::format("truncated {} (need {} bytes, {} left)", what, n, remaining()));
    *out = bytes_.substr(pos_, n);
    pos_ += n;
    return Status::Ok();
  }

  // A big-endian integer of sizeof(T) bytes (Byte1/Int8 when T is one byte wide).
  template <typename T>
  Status Int(std::string_view what, T* out) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    using U = std::make_unsigned_t<T>;
    std::string_view raw;
    SS_RETURN_IF_ERROR(Raw(what, sizeof(T), &raw));
    U v = 0;
    for (char c : raw) v = static_cast<U>((v << 8) | static_cast<uint8_t>(c));
    *out = static_cast<T>(v);  // two's complement reinterpretation, well-defined since C++20
    return Status::Ok();
  }

  // A signed count field of type T; negative counts are malformed.
  template <typename T>
  Status Count(std::string_view what, size_t* out) {
    const size_t at = pos_;
    T n = 0;
    SS_RETURN_IF_ERROR(Int(what, &n));
    if (n < 0) return Fail(at, fmt::format("negative {} {}", what, n));
    *out = static_cast<size_t>(n);
    return Status::Ok();
  }

  // Int32 length (negative is malformed) followed by that many bytes.
  Status LengthPrefixed(std::string_view what, std::string_view* out) {
    const size_t at = pos_;
    int32_t len = 0;
    SS_RETURN_IF_ERROR(Int(what, &len));
    if (len < 0) return Fail(at, fmt::format("negative length {} of {}", len, what));
    return Raw(what, static_cast<size_t>(len), out);
  }

  // A NUL-terminated string (the terminator is consumed, not stored).
  Status String(std::string_view what, std::string* out) {
    const size_t nul = bytes_.find('\0', pos_);
    if (nul == std::string_view::npos) return Fail(pos_, fmt::format("unterminated {}", what));
    out->assign(bytes_.substr(pos_, nul - pos_));
    pos_ = nul + 1;
    return Status::Ok();
  }

  // A Byte1 that must be one of `allowed` (which holds no NUL).
  Status OneOf(std::string_view what, std::string_view allowed, char* out) {
    uint8_t b = 0;
    SS_RETURN_IF_ERROR(Int(what, &b));
    if (allowed.find(static_cast<char>(b)) == std::string_view::npos) {
      return Fail(pos_ - 1, fmt::format("{} is {}, expected one of \"{}\"", what, DescribeByte(b), allowed));
    }
    *out = static_cast<char>(b);
    return Status::Ok();
  }

  Status ExpectEnd() const {
    if (remaining() == 0) return Status::Ok();
    return Fail(pos_, fmt::format("{} trailing bytes after a complete message", remaining()));
  }

 private:
  std::string_view bytes_;
  std::string_view context_;
  size_t pos_ = 0;
};

// TupleData: Int16 ncols, then per column 'n' | 'u' | 't' Int32 len + bytes | 'b' Int32 len + bytes.
Status ReadTuple(Reader& r, Tuple* tuple) {
  size_t ncols = 0;
  SS_RETURN_IF_ERROR(r.Count<int16_t>("tuple column count", &ncols));
  tuple->reserve(std::min(ncols, r.remaining()));  // each column takes at least one byte
  for (size_t i = 0; i < ncols; ++i) {
    uint8_t kind = 0;
    SS_RETURN_IF_ERROR(r.Int("tuple column kind", &kind));
    TupleValue& v = tuple->emplace_back();
    switch (kind) {
      case 'n':
        v.kind = TupleValue::Kind::kNull;
        break;
      case 'u':
        v.kind = TupleValue::Kind::kUnchangedToast;
        break;
      case 't':
        v.kind = TupleValue::Kind::kText;
        SS_RETURN_IF_ERROR(r.LengthPrefixed("text column value", &v.data));
        break;
      case 'b':
        v.kind = TupleValue::Kind::kBinary;
        SS_RETURN_IF_ERROR(r.LengthPrefixed("binary column value", &v.data));
        break;
      default:
        return r.Fail(r.offset() - 1, fmt::format("unknown kind {} of tuple column {}", DescribeByte(kind), i));
    }
  }
  return Status::Ok();
}

// ---- one Read overload per message body (the type byte is already consumed) ----

Status Read(Reader& r, XLogData* m) {
  SS_RETURN_IF_ERROR(r.Int("dataStart", &m->wal_start.value));
  SS_RETURN_IF_ERROR(r.Int("walEnd", &m->wal_end.value));
  SS_RETURN_IF_ERROR(r.Int("sendTime", &m->send_time));
  return r.Raw("payload", r.remaining(), &m->payload);
}

Status Read(Reader& r, Keepalive* m) {
  uint8_t reply = 0;
  SS_RETURN_IF_ERROR(r.Int("walEnd", &m->wal_end.value));
  SS_RETURN_IF_ERROR(r.Int("sendTime", &m->send_time));
  SS_RETURN_IF_ERROR(r.Int("replyRequested", &reply));
  m->reply_requested = reply != 0;
  return Status::Ok();
}

Status Read(Reader& r, BeginMessage* m) {
  SS_RETURN_IF_ERROR(r.Int("final LSN", &m->final_lsn.value));
  SS_RETURN_IF_ERROR(r.Int("commit timestamp", &m->commit_time));
  return r.Int("xid", &m->xid.value);
}

Status Read(Reader& r, CommitMessage* m) {
  SS_RETURN_IF_ERROR(r.Int("flags", &m->flags));
  SS_RETURN_IF_ERROR(r.Int("commit LSN", &m->commit_lsn.value));
  SS_RETURN_IF_ERROR(r.Int("end LSN", &m->end_lsn.value));
  return r.Int("commit timestamp", &m->commit_time);
}

Status Read(Reader& r, OriginMessage* m) {
  SS_RETURN_IF_ERROR(r.Int("origin LSN", &m->commit_lsn.value));
  return r.String("origin name", &m->name);
}

Status Read(Reader& r, RelationMessage* m) {
  size_t ncols = 0;
  SS_RETURN_IF_ERROR(r.Int("relid", &m->relid));
  SS_RETURN_IF_ERROR(r.String("namespace", &m->nspname));
  SS_RETURN_IF_ERROR(r.String("relation name", &m->relname));
  SS_RETURN_IF_ERROR(r.OneOf("replica identity", "dnfi", &m->replica_identity));
  SS_RETURN_IF_ERROR(r.Count<int16_t>("column count", &ncols));
  m->columns.reserve(std::min(ncols, r.remaining()));
  for (size_t i = 0; i < ncols; ++i) {
    RelationColumn& col = m->columns.emplace_back();
    uint8_t flags = 0;
    SS_RETURN_IF_ERROR(r.Int("column flags", &flags));
    col.is_key = (flags & 1) != 0;
    SS_RETURN_IF_ERROR(r.String("column name", &col.name));
    SS_RETURN_IF_ERROR(r.Int("column type OID", &col.type_oid));
    SS_RETURN_IF_ERROR(r.Int("column typmod", &col.typmod));
  }
  return Status::Ok();
}

Status Read(Reader& r, TypeMessage* m) {
  SS_RETURN_IF_ERROR(r.Int("type OID", &m->oid));
  SS_RETURN_IF_ERROR(r.String("type namespace", &m->nspname));
  return r.String("type name", &m->name);
}

Status Read(Reader& r, InsertMessage* m) {
  char marker = 0;
  SS_RETURN_IF_ERROR(r.Int("relid", &m->relid));
  SS_RETURN_IF_ERROR(r.OneOf("new tuple marker", "N", &marker));
  return ReadTuple(r, &m->new_tuple);
}

// Optional 'K' | 'O' old tuple, then 'N' new tuple.
Status Read(Reader& r, UpdateMessage* m) {
  char marker = 0;
  SS_RETURN_IF_ERROR(r.Int("relid", &m->relid));
  SS_RETURN_IF_ERROR(r.OneOf("tuple marker", "KON", &marker));
  if (marker != 'N') {
    m->old_kind = marker;
    SS_RETURN_IF_ERROR(ReadTuple(r, &m->old_tuple));
    SS_RETURN_IF_ERROR(r.OneOf("new tuple marker", "N", &marker));
  }
  return ReadTuple(r, &m->new_tuple);
}

Status Read(Reader& r, DeleteMessage* m) {
  SS_RETURN_IF_ERROR(r.Int("relid", &m->relid));
  SS_RETURN_IF_ERROR(r.OneOf("old tuple marker", "KO", &m->old_kind));
  return ReadTuple(r, &m->old_tuple);
}

Status Read(Reader& r, TruncateMessage* m) {
  size_t nrels = 0;
  SS_RETURN_IF_ERROR(r.Count<int32_t>("relation count", &nrels));
  SS_RETURN_IF_ERROR(r.Int("options", &m->options));
  m->relids.reserve(std::min(nrels, r.remaining() / sizeof(uint32_t)));
  for (size_t i = 0; i < nrels; ++i) SS_RETURN_IF_ERROR(r.Int("relid", &m->relids.emplace_back()));
  return Status::Ok();
}

Status Read(Reader& r, LogicalMessage* m) {
  uint8_t flags = 0;
  SS_RETURN_IF_ERROR(r.Int("flags", &flags));
  m->transactional = (flags & 1) != 0;
  SS_RETURN_IF_ERROR(r.Int("message LSN", &m->lsn.value));
  SS_RETURN_IF_ERROR(r.String("message prefix", &m->prefix));
  return r.LengthPrefixed("message content", &m->content);
}

// Decodes the body of an M (named `context` in errors) and requires that it ends the input.
template <typename Variant, typename M>
Result<Variant> DecodeBody(Reader& r, std::string_view context) {
  r.set_context(context);
  M m;
  SS_RETURN_IF_ERROR(Read(r, &m));
  SS_RETURN_IF_ERROR(r.ExpectEnd());
  return Variant(std::move(m));
}

void PutInt64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

}  // namespace

Result<CopyDataMessage> DecodeCopyData(std::string_view bytes) {
  Reader r(bytes, "CopyData message");
  uint8_t type = 0;
  SS_RETURN_IF_ERROR(r.Int("message type", &type));
  switch (type) {
    case 'w':
      return DecodeBody<CopyDataMessage, XLogData>(r, "CopyData XLogData ('w') message");
    case 'k':
      return DecodeBody<CopyDataMessage, Keepalive>(r, "CopyData keepalive ('k') message");
  }
  return r.Fail(0, fmt::format("unknown message type {}", DescribeByte(type)));
}

std::string EncodeStandbyStatus(Lsn written, Lsn flushed, Lsn applied, PgTimestamp now, bool reply_requested) {
  std::string out;
  out.reserve(1 + 4 * 8 + 1);
  out.push_back('r');
  PutInt64(&out, written.value);
  PutInt64(&out, flushed.value);
  PutInt64(&out, applied.value);
  PutInt64(&out, static_cast<uint64_t>(now));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

Result<PgoutputMessage> DecodePgoutput(std::string_view bytes) {
  using P = PgoutputMessage;
  Reader r(bytes, "pgoutput message");
  uint8_t type = 0;
  SS_RETURN_IF_ERROR(r.Int("message type", &type));
  switch (type) {
    case 'B':
      return DecodeBody<P, BeginMessage>(r, "pgoutput Begin ('B') message");
    case 'C':
      return DecodeBody<P, CommitMessage>(r, "pgoutput Commit ('C') message");
    case 'O':
      return DecodeBody<P, OriginMessage>(r, "pgoutput Origin ('O') message");
    case 'R':
      return DecodeBody<P, RelationMessage>(r, "pgoutput Relation ('R') message");
    case 'Y':
      return DecodeBody<P, TypeMessage>(r, "pgoutput Type ('Y') message");
    case 'I':
      return DecodeBody<P, InsertMessage>(r, "pgoutput Insert ('I') message");
    case 'U':
      return DecodeBody<P, UpdateMessage>(r, "pgoutput Update ('U') message");
    case 'D':
      return DecodeBody<P, DeleteMessage>(r, "pgoutput Delete ('D') message");
    case 'T':
      return DecodeBody<P, TruncateMessage>(r, "pgoutput Truncate ('T') message");
    case 'M':
      return DecodeBody<P, LogicalMessage>(r, "pgoutput logical decoding ('M') message");
  }
  return r.Fail(0, fmt::format("unknown message type {}", DescribeByte(type)));
}

}  // namespace streamshop::pg
