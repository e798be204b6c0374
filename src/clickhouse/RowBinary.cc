#include "clickhouse/RowBinary.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "common/Parse.h"
#include "pg/TextValue.h"

namespace streamshop::clickhouse {
namespace {

template <typename T>
void AppendLittleEndian(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // x86-64 and aarch64 are little-endian, as RowBinary is
  out.append(bytes, sizeof(T));
}

Status BadValue(const ColumnType& type, std::string_view text, std::string_view why) {
  return Status::Fatal(
      fmt::format("value '{}' does not fit ClickHouse type {}: {}", text.substr(0, 64), type.clickhouse_type, why));
}

// Exact decimal text ("-12.50") → its sign and unscaled digits at `scale` decimals, without leading zeros ("" for
// zero); false if it is not a finite number or has more than `precision` significant digits.
bool ParseDecimalDigits(std::string_view s, int precision, int scale, bool& negative, std::string& digits) {
  negative = false;
  digits.clear();
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  int frac_digits = 0;
  bool in_fraction = false, any_digit = false;
  for (char c : s) {
    if (c == '.' && !in_fraction) {
      in_fraction = true;
      continue;
    }
    if (c < '0' || c > '9') return false;
    any_digit = true;
    if (in_fraction && ++frac_digits > scale) {
      if (c != '0') return false;  // more decimals than the column's scale
      continue;
    }
    if (digits.empty() && c == '0') continue;
    digits.push_back(c);
  }
  if (!any_digit) return false;
  if (!digits.empty()) digits.append(scale - std::min(frac_digits, scale), '0');
  return static_cast<int>(digits.size()) <= precision;
}

// Appends `digits` (at most 76) as a little-endian two's complement integer of `width` bytes (4, 8, 16 or 32).
void AppendUnscaled(bool negative, const std::string& digits, int width, std::string& out) {
  uint64_t limbs[4] = {0, 0, 0, 0};  // little-endian 64-bit limbs of the magnitude
  for (char c : digits) {
    unsigned __int128 carry = static_cast<unsigned>(c - '0');
    for (uint64_t& limb : limbs) {
      const unsigned __int128 v = static_cast<unsigned __int128>(limb) * 10 + carry;
      limb = static_cast<uint64_t>(v);
      carry = v >> 64;
    }
  }
  if (negative) {  // two's complement: invert and add one
    bool carry = true;
    for (uint64_t& limb : limbs) {
      limb = ~limb + (carry ? 1 : 0);
      carry = carry && limb == 0;
    }
  }
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>(limbs[i / 8] >> (8 * (i % 8))));
}

Status AppendDate(const ColumnType& type, std::string_view text, std::string& out) {
  int64_t days = 0;
  int infinity = 0;
  if (!pg::ParseDate(text, days, infinity)) return BadValue(type, text, "not a PostgreSQL date");
  if (infinity != 0) days = infinity > 0 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int32_t>::min();
  if (days < std::numeric_limits<int32_t>::min() || days > std::numeric_limits<int32_t>::max()) {
    return BadValue(type, text, "out of range");
  }
  AppendLittleEndian(out, static_cast<int32_t>(days));
  return Status::Ok();
}

// timestamp and timestamptz alike: PostgreSQL writes an offset only for timestamptz, and it is applied.
Status AppendTimestamp(const ColumnType& type, std::string_view text, std::string& out) {
  int64_t micros = 0;
  int infinity = 0;
  if (!pg::ParseTimestamp(text, true, micros, infinity)) {
    return BadValue(type, text, "not a PostgreSQL timestamp in range of Int64 microseconds since 1970");
  }
  if (infinity != 0) micros = infinity > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  AppendLittleEndian(out, micros);
  return Status::Ok();
}

Status AppendUuid(const ColumnType& type, std::string_view text, std::string& out) {
  uint8_t bytes[16];
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    const int hi = HexDigit(text[i]);
    const int lo = i + 1 < text.size() ? HexDigit(text[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n == 16) return BadValue(type, text, "not a UUID");
    bytes[n++] = static_cast<uint8_t>(hi * 16 + lo);
    ++i;
  }
  if (n != 16) return BadValue(type, text, "not a UUID");
  // ClickHouse stores a UUID as two little-endian UInt64 halves, high half first.
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(bytes[i]));
  for (int i = 15; i >= 8; --i) out.push_back(static_cast<char>(bytes[i]));
  return Status::Ok();
}

Status AppendBytes(const ColumnType& type, std::string_view text, std::string& out) {
  std::string bytes;
  if (!pg::ParseByteaHex(text, bytes)) {
    return BadValue(type, text, "bytea is not in hex format (bytea_output must be 'hex')");
  }
  AppendVarUInt(out, bytes.size());
  out += bytes;
  return Status::Ok();
}

template <typename Int>
Status AppendInt(const ColumnType& type, std::string_view text, std::string& out) {
  Int v{};
  if (!ParseWhole(text, v)) return BadValue(type, text, "not an integer in range");
  AppendLittleEndian(out, v);
  return Status::Ok();
}

template <typename Float>
Status AppendFloat(const ColumnType& type, std::string_view text, std::string& out) {
  Float v{};
  if (!ParseWhole(text, v)) return BadValue(type, text, "not a number");
  AppendLittleEndian(out, v);
  return Status::Ok();
}

Status AppendDecimal(const ColumnType& type, std::string_view text, std::string& out) {
  bool negative = false;
  std::string digits;
  if (!ParseDecimalDigits(text, std::min(type.precision, 76), type.scale, negative, digits)) {
    return BadValue(type, text, "not a finite decimal of this precision");
  }
  AppendUnscaled(negative, digits, DecimalWidth(type.precision), out);
  return Status::Ok();
}

// A one-dimensional PostgreSQL array with lower bound 1, `{1,NULL,"a,\"b"}` → Array(Nullable(T)): elements are
// bare (NULL unquoted is SQL NULL) or double-quoted with backslash escapes; each is encoded as its element type.
// Multi-dimensional arrays and explicit bounds (`[0:1]={1,2}`) do not fit.
Status AppendArray(const ColumnType& type, std::string_view text, std::string& out) {
  if (text.empty() || text.front() != '{' || text.back() != '}') {
    return BadValue(type, text, "not a one-dimensional array with lower bound 1");
  }
  std::vector<std::optional<std::string>> elements;
  const size_t end = text.size() - 1;
  for (size_t i = 1; i < end;) {
    std::string value;
    bool quoted = false, was_quoted = false;
    for (; i < end && (quoted || text[i] != ','); ++i) {
      const char c = text[i];
      if (c == '\\' && i + 1 < end) {
        value.push_back(text[++i]);
      } else if (c == '"') {
        quoted = !quoted;
        was_quoted = true;
      } else if (!quoted && (c == '{' || c == '}')) {
        return BadValue(type, text, "a multi-dimensional array");
      } else {
        value.push_back(c);
      }
    }
    if (quoted) return BadValue(type, text, "unterminated quote in array");
    const bool null = !was_quoted && value.size() == 4 && (value[0] | 0x20) == 'n' && (value[1] | 0x20) == 'u' &&
                      (value[2] | 0x20) == 'l' && (value[3] | 0x20) == 'l';
    elements.push_back(null ? std::nullopt : std::optional<std::string>(std::move(value)));
    if (i < end) {
      ++i;  // the comma
      if (i == end) return BadValue(type, text, "array ends in a comma");
    }
  }
  AppendVarUInt(out, elements.size());
  for (const auto& e : elements) {
    Status st = AppendValue(type.element.front(), e ? std::optional<std::string_view>(*e) : std::nullopt, out);
    if (!st.ok()) return BadValue(type, text, st.message());
  }
  return Status::Ok();
}

// PostgreSQL's composite text form `(1,"a,b",)` → {"f1":"1","f2":"a,b","f3":null}: a field is empty (NULL), bare,
// or double-quoted (with "" and backslash escapes); each value stays its exact PostgreSQL text.
Status AppendComposite(const ColumnType& type, std::string_view text, std::string& out) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    return BadValue(type, text, "not a composite value");
  std::string json = "{";
  size_t field = 0, i = 1;
  const size_t end = text.size() - 1;
  while (true) {
    std::optional<std::string> value;
    if (i < end && text[i] != ',') {
      value.emplace();
      bool quoted = false;
      for (; i < end && (quoted || text[i] != ','); ++i) {
        const char c = text[i];
        if (c == '"' && quoted && i + 1 < end && text[i + 1] == '"') {
          value->push_back('"');
          ++i;
        } else if (c == '"') {
          quoted = !quoted;
        } else if (c == '\\' && i + 1 < end) {
          value->push_back(text[++i]);
        } else {
          value->push_back(c);
        }
      }
      if (quoted) return BadValue(type, text, "unterminated quote in composite value");
    }
    if (field >= type.fields.size()) return BadValue(type, text, "more fields than the composite type has");
    if (field > 0) json.push_back(',');
    AppendJsonString(type.fields[field++], json);
    json.push_back(':');
    if (value) {
      AppendJsonString(*value, json);
    } else {
      json += "null";
    }
    if (i >= end) break;
    ++i;  // the comma
  }
  if (field != type.fields.size()) return BadValue(type, text, "fewer fields than the composite type has");
  json.push_back('}');
  AppendVarUInt(out, json.size());
  out.append(json);
  return Status::Ok();
}

// Fixed byte width of a kind, or 0 for length-prefixed kinds.
size_t FixedWidth(const ColumnType& type) {
  switch (type.kind) {
    case ValueKind::kBool:
      return 1;
    case ValueKind::kInt16:
      return 2;
    case ValueKind::kInt32:
    case ValueKind::kFloat32:
    case ValueKind::kDate:
      return 4;
    case ValueKind::kInt64:
    case ValueKind::kFloat64:
    case ValueKind::kTimestamp:
      return 8;
    case ValueKind::kDecimal:
      return DecimalWidth(type.precision);
    case ValueKind::kUuid:
      return 16;
    case ValueKind::kString:
    case ValueKind::kBytes:
    case ValueKind::kComposite:
    case ValueKind::kArray:
      return 0;
  }
  return 0;
}

// Reads a LEB128 varint; returns bytes consumed or 0 if truncated.
size_t ReadVarUInt(std::string_view data, uint64_t& v) {
  v = 0;
  for (size_t i = 0; i < data.size() && i < 10; ++i) {
    v |= uint64_t(static_cast<uint8_t>(data[i]) & 0x7f) << (7 * i);
    if (!(static_cast<uint8_t>(data[i]) & 0x80)) return i + 1;
  }
  return 0;
}

template <typename T>
T LoadLittleEndian(std::string_view b) {
  T v{};
  std::memcpy(&v, b.data(), sizeof(T));
  return v;
}

}  // namespace

void AppendUInt8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
void AppendUInt64(std::string& out, uint64_t v) { AppendLittleEndian(out, v); }

void AppendVarUInt(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

Result<std::vector<std::string>> ReadStrings(std::string_view data) {
  std::vector<std::string> out;
  while (!data.empty()) {
    uint64_t len = 0;
    const size_t n = ReadVarUInt(data, len);
    if (n == 0 || len > data.size() - n) return Status::Fatal("truncated RowBinary String from ClickHouse");
    out.emplace_back(data.substr(n, len));
    data.remove_prefix(n + len);
  }
  return out;
}

Status AppendValue(const ColumnType& type, std::optional<std::string_view> text, std::string& out) {
  if (type.nullable) AppendUInt8(out, text ? 0 : 1);
  if (!text) {
    if (!type.nullable)
      return Status::Fatal(fmt::format("NULL in non-nullable ClickHouse column {}", type.clickhouse_type));
    return Status::Ok();
  }
  const std::string_view s = *text;
  switch (type.kind) {
    case ValueKind::kBool:
      if (s != "t" && s != "f") return BadValue(type, s, "not a boolean");
      AppendUInt8(out, s == "t");
      return Status::Ok();
    case ValueKind::kInt16:
      return AppendInt<int16_t>(type, s, out);
    case ValueKind::kInt32:
      return AppendInt<int32_t>(type, s, out);
    case ValueKind::kInt64:
      return AppendInt<int64_t>(type, s, out);
    case ValueKind::kFloat32:
      return AppendFloat<float>(type, s, out);
    case ValueKind::kFloat64:
      return AppendFloat<double>(type, s, out);
    case ValueKind::kDecimal:
      return AppendDecimal(type, s, out);
    case ValueKind::kString:
      AppendVarUInt(out, s.size());
      out.append(s);
      return Status::Ok();
    case ValueKind::kBytes:
      return AppendBytes(type, s, out);
    case ValueKind::kDate:
      return AppendDate(type, s, out);
    case ValueKind::kTimestamp:
      return AppendTimestamp(type, s, out);
    case ValueKind::kUuid:
      return AppendUuid(type, s, out);
    case ValueKind::kComposite:
      return AppendComposite(type, s, out);
    case ValueKind::kArray:
      return AppendArray(type, s, out);
  }
  return Status::Fatal("unknown value kind");
}

void AppendDefault(const ColumnType& type, std::string& out) {
  if (type.nullable) {
    AppendUInt8(out, 1);
    return;
  }
  const size_t width = FixedWidth(type);
  if (width == 0) {
    AppendVarUInt(out, 0);  // empty String, empty Array
  } else {
    out.append(width, '\0');
  }
}

Result<size_t> EncodedSize(const ColumnType& type, std::string_view data) {
  size_t prefix = 0;
  if (type.nullable) {
    if (data.empty()) return Status::Fatal("truncated RowBinary: missing Nullable marker");
    if (data[0] != 0) return size_t{1};
    prefix = 1;
  }
  if (type.kind == ValueKind::kArray) {
    uint64_t count = 0;
    const size_t n = ReadVarUInt(data.substr(prefix), count);
    if (n == 0) return Status::Fatal("truncated RowBinary: bad array length");
    size_t at = prefix + n;
    for (uint64_t e = 0; e < count; ++e) {
      SS_ASSIGN_OR_RETURN(size_t size, EncodedSize(type.element.front(), data.substr(at)));
      at += size;
    }
    return at;
  }
  size_t width = FixedWidth(type);
  if (width == 0) {
    uint64_t len = 0;
    const size_t n = ReadVarUInt(data.substr(prefix), len);
    if (n == 0) return Status::Fatal("truncated RowBinary: bad string length");
    if (len > data.size()) return Status::Fatal("truncated RowBinary: string longer than the data");
    width = n + len;
  }
  if (prefix + width > data.size()) return Status::Fatal("truncated RowBinary value");
  return prefix + width;
}

std::string RenderValue(const ColumnType& type, std::string_view b) {
  if (type.nullable) {
    if (b.empty() || b[0] != 0) return "NULL";
    b.remove_prefix(1);
  }
  if (b.size() < FixedWidth(type)) return "<truncated>";
  switch (type.kind) {
    case ValueKind::kBool:
      return b[0] ? "true" : "false";
    case ValueKind::kInt16:
      return std::to_string(LoadLittleEndian<int16_t>(b));
    case ValueKind::kInt32:
    case ValueKind::kDate:
      return std::to_string(LoadLittleEndian<int32_t>(b));
    case ValueKind::kInt64:
    case ValueKind::kTimestamp:
      return std::to_string(LoadLittleEndian<int64_t>(b));
    case ValueKind::kFloat32:
      return fmt::format("{}", LoadLittleEndian<float>(b));
    case ValueKind::kFloat64:
      return fmt::format("{}", LoadLittleEndian<double>(b));
    case ValueKind::kString:
    case ValueKind::kComposite: {
      uint64_t len = 0;
      const size_t n = ReadVarUInt(b, len);
      return std::string(b.substr(n, len));
    }
    case ValueKind::kArray: {
      uint64_t count = 0;
      size_t at = ReadVarUInt(b, count);
      std::string text = "[";
      for (uint64_t e = 0; e < count && at > 0 && at <= b.size(); ++e) {
        Result<size_t> size = EncodedSize(type.element.front(), b.substr(at));
        if (!size.ok()) return text + "<truncated>";
        text += (e ? "," : "") + RenderValue(type.element.front(), b.substr(at, *size));
        at += *size;
      }
      return text + "]";
    }
    case ValueKind::kUuid: {  // two little-endian UInt64 halves, high half first (AppendUuid)
      std::string hex;
      for (int i : {7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8}) {
        hex += fmt::format("{:02x}", static_cast<uint8_t>(b[i]));
        if (hex.size() == 8 || hex.size() == 13 || hex.size() == 18 || hex.size() == 23) hex += '-';
      }
      return hex;
    }
    default: {
      std::string hex;
      for (char c : b.substr(0, FixedWidth(type) ? FixedWidth(type) : b.size())) {
        hex += fmt::format("{:02x}", static_cast<uint8_t>(c));
      }
      return hex;
    }
  }
}

}  // namespace streamshop::clickhouse
