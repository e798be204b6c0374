// Builds PostgreSQL protocol byte strings for unit tests (pgoutput messages, CopyData frames).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace streamshop::testing_support {

// Builds protocol byte strings: big-endian integers, NUL-terminated strings, raw bytes.
class Bytes {
 public:
  Bytes& U8(uint8_t v) { return Be(v, 1); }
  Bytes& I16(int16_t v) { return Be(static_cast<uint16_t>(v), 2); }
  Bytes& I32(int32_t v) { return Be(static_cast<uint32_t>(v), 4); }
  Bytes& I64(int64_t v) { return Be(static_cast<uint64_t>(v), 8); }
  Bytes& Str(std::string_view v) { return Raw(v).U8(0); }
  Bytes& Raw(std::string_view v) {
    s_.append(v);
    return *this;
  }
  Bytes& Text(std::string_view v) { return U8('t').I32(static_cast<int32_t>(v.size())).Raw(v); }
  Bytes& Binary(std::string_view v) { return U8('b').I32(static_cast<int32_t>(v.size())).Raw(v); }
  // Implicit for brevity in fixtures; the string_view form is for error tests that never use decoded views.
  operator std::string() const { return s_; }       // NOLINT
  operator std::string_view() const { return s_; }  // NOLINT

 private:
  Bytes& Be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  std::string s_;
};

// CopyData frames of a replication stream: XLogData carrying a pgoutput message, and a primary keepalive.
inline std::string XLog(uint64_t start, const std::string& payload) {
  return Bytes().U8('w').I64(static_cast<int64_t>(start)).I64(static_cast<int64_t>(start)).I64(0).Raw(payload);
}
inline std::string Keepalive(uint64_t wal_end, bool reply) {
  return Bytes().U8('k').I64(static_cast<int64_t>(wal_end)).I64(0).U8(reply ? 1 : 0);
}

// The flushed position of a standby status update ('r', written, flushed, applied, time, reply flag).
inline uint64_t StatusFlushedLsn(std::string_view status) {
  uint64_t v = 0;
  for (size_t i = 9; i < 17 && i < status.size(); ++i) v = (v << 8) | static_cast<uint8_t>(status[i]);
  return v;
}

}  // namespace streamshop::testing_support
