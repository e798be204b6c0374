#include "debezium/DebeziumValueCodec.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "common/Parse.h"
#include "debezium/JsonWriter.h"
#include "pg/TextValue.h"

namespace streamshop::debezium {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;
Status Bad(std::string_view text, std::string_view what) {
  return Status::Fatal(fmt::format("'{}' is not {}", text.substr(0, 64), what));
}

using pg::CivilFromDays;
using pg::DaysFromCivil;
using pg::DaysInMonth;
using pg::FloorDiv;
using pg::FloorMod;
using pg::kMaxTextYear;
using pg::TextCursor;

void AppendPadded(std::string& out, int64_t v, int width) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  const auto n = static_cast<int>(r.ptr - buf);
  if (n < width) out.append(static_cast<size_t>(width - n), '0');
  out.append(buf, static_cast<size_t>(n));
}

// "HH:MM:SS" then the fraction of `sub` (in units of 10^-digits s): exactly `digits` digits when fixed, else as
// many as needed with trailing zeros dropped (nothing when zero).
void AppendClock(std::string& out, int64_t seconds_of_day, int64_t sub, int digits, bool fixed) {
  AppendPadded(out, seconds_of_day / 3600, 2);
  out.push_back(':');
  AppendPadded(out, seconds_of_day / 60 % 60, 2);
  out.push_back(':');
  AppendPadded(out, seconds_of_day % 60, 2);
  if (!fixed && sub == 0) return;
  std::string frac;
  AppendPadded(frac, sub, digits);
  if (!fixed) {
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
  }
  out.push_back('.');
  out += frac;
}

// Java's ISO_LOCAL_DATE year: at least 4 digits, '+' beyond 9999, '-' before year 0.
void AppendIsoDate(std::string& out, int64_t days) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  if (y > 9999) out.push_back('+');
  if (y < 0) out.push_back('-');
  AppendPadded(out, y < 0 ? -y : y, 4);
  out.push_back('-');
  AppendPadded(out, m, 2);
  out.push_back('-');
  AppendPadded(out, d, 2);
}

// ZonedTimestamp text of an instant (µs since epoch): yyyy-MM-ddTHH:mm:ss[.f]Z.
void AppendZonedTimestamp(std::string& out, int64_t micros, int fraction_digits) {
  const int64_t days = FloorDiv(micros, kMicrosPerDay);
  // In 128 bits: near INT64_MIN, days × µs/day is below the int64 range.
  const auto tod = static_cast<int64_t>(micros - static_cast<__int128>(days) * kMicrosPerDay);
  AppendIsoDate(out, days);
  out.push_back('T');
  const int64_t nanos = tod % kMicrosPerSecond * 1000;
  if (fraction_digits >= 1 && fraction_digits <= 9) {
    int64_t sub = nanos;
    for (int i = 9; i > fraction_digits; --i) sub /= 10;
    AppendClock(out, tod / kMicrosPerSecond, sub, fraction_digits, true);
  } else {
    AppendClock(out, tod / kMicrosPerSecond, nanos, 9, false);
  }
  out.push_back('Z');
}

// ---- arbitrary-precision unsigned integers: little-endian base-2^32 limbs ------------------------------------
using Limbs = std::vector<uint32_t>;

void MulAdd(Limbs& v, uint32_t mul, uint32_t add) {
  uint64_t carry = add;
  for (uint32_t& limb : v) {
    const uint64_t t = uint64_t{limb} * mul + carry;
    limb = static_cast<uint32_t>(t);
    carry = t >> 32;
  }
  if (carry != 0) v.push_back(static_cast<uint32_t>(carry));
}

uint32_t DivMod(Limbs& v, uint32_t div) {
  uint64_t rem = 0;
  for (size_t i = v.size(); i-- > 0;) {
    const uint64_t cur = (rem << 32) | v[i];
    v[i] = static_cast<uint32_t>(cur / div);
    rem = cur % div;
  }
  while (!v.empty() && v.back() == 0) v.pop_back();
  return static_cast<uint32_t>(rem);
}

// Decimal digits → magnitude, big-endian, no leading zero bytes (empty for zero).
std::string DigitsToMagnitude(std::string_view digits) {
  Limbs v;
  size_t i = 0;
  while (i < digits.size()) {
    const size_t n = std::min<size_t>(9, digits.size() - i);
    uint32_t chunk = 0, mul = 1;
    for (size_t k = 0; k < n; ++k) {
      chunk = chunk * 10 + static_cast<uint32_t>(digits[i + k] - '0');
      mul *= 10;
    }
    MulAdd(v, mul, chunk);
    i += n;
  }
  std::string out;
  for (size_t k = v.size(); k-- > 0;) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      const auto b = static_cast<char>((v[k] >> shift) & 0xFF);
      if (out.empty() && b == 0) continue;
      out.push_back(b);
    }
  }
  return out;
}

// Magnitude bytes (big-endian) → decimal digits ("0" for zero).
std::string MagnitudeToDigits(std::string_view bytes) {
  Limbs v((bytes.size() + 3) / 4, 0);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const size_t from_end = bytes.size() - 1 - i;
    v[from_end / 4] |= uint32_t{static_cast<unsigned char>(bytes[i])} << (8 * (from_end % 4));
  }
  while (!v.empty() && v.back() == 0) v.pop_back();
  if (v.empty()) return "0";
  std::vector<uint32_t> chunks;
  while (!v.empty()) chunks.push_back(DivMod(v, 1'000'000'000));
  std::string out = std::to_string(chunks.back());
  for (size_t k = chunks.size() - 1; k-- > 0;) AppendPadded(out, chunks[k], 9);
  return out;
}

// In-place two's-complement negation of a big-endian byte string.
void Negate(std::string& bytes) {
  bool carry = true;
  for (size_t i = bytes.size(); i-- > 0;) {
    unsigned v = static_cast<unsigned char>(~static_cast<unsigned char>(bytes[i]));
    if (carry) {
      ++v;
      carry = v > 0xFF;
    }
    bytes[i] = static_cast<char>(v & 0xFF);
  }
}

}  // namespace

int64_t DebeziumInfinityDateDays(bool positive) {
  // PostgresValueConverter.POSITIVE/NEGATIVE_INFINITY_LOCAL_DATE: -5877611-06-21 / -5877611-06-22.
  return DaysFromCivil(-5877611, 6, positive ? 21 : 22);
}

// ---- canonical PostgreSQL text ----------------------------------------------------------------------------------
namespace {
// "YYYY-MM-DD" of `days` (the year 1-based for BC); returns whether the date is BC (" BC" goes at the very end).
bool AppendPgDatePart(std::string& out, int64_t days) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  AppendPadded(out, y > 0 ? y : 1 - y, 4);
  out.push_back('-');
  AppendPadded(out, m, 2);
  out.push_back('-');
  AppendPadded(out, d, 2);
  return y <= 0;
}
}  // namespace

std::string PgDate(int64_t days) {
  std::string out;
  if (AppendPgDatePart(out, days)) out += " BC";
  return out;
}

std::string PgTimestamp(int64_t micros, bool with_zone) {
  const int64_t days = FloorDiv(micros, kMicrosPerDay);
  // In 128 bits: near INT64_MIN, days × µs/day is below the int64 range.
  const auto tod = static_cast<int64_t>(micros - static_cast<__int128>(days) * kMicrosPerDay);
  std::string out;
  const bool bc = AppendPgDatePart(out, days);
  out.push_back(' ');
  AppendClock(out, tod / kMicrosPerSecond, tod % kMicrosPerSecond, 6, false);
  if (with_zone) out += "+00";
  if (bc) out += " BC";
  return out;
}

std::string PgTime(int64_t micros, bool with_zone) {
  std::string out;
  AppendClock(out, micros / kMicrosPerSecond, micros % kMicrosPerSecond, 6, false);
  if (with_zone) out += "+00";
  return out;
}

namespace {
// PostgreSQL's float output (float8out/float4out with extra_float_digits > 0): shortest round-trip digits,
// fixed notation for decimal exponents in [-4, max_fixed_exp), else "d.ddde±XX".
template <typename Float>
std::string PgFloat(Float v, int max_fixed_exp) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  std::string digits;
  int exp10 = 0;
  ShortestDecimal(v, digits, exp10);
  std::string out = std::signbit(v) ? "-" : "";
  if (exp10 >= -4 && exp10 < max_fixed_exp) {
    if (exp10 >= 0) {
      const auto int_len = static_cast<size_t>(exp10) + 1;
      for (size_t i = 0; i < int_len; ++i) out.push_back(i < digits.size() ? digits[i] : '0');
      if (digits.size() > int_len) out += "." + digits.substr(int_len);
    } else {
      out += "0.";
      out.append(static_cast<size_t>(-exp10 - 1), '0');
      out += digits;
    }
    return out;
  }
  out.push_back(digits[0]);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out.push_back('e');
  out.push_back(exp10 < 0 ? '-' : '+');
  AppendPadded(out, exp10 < 0 ? -exp10 : exp10, 2);
  return out;
}
}  // namespace

std::string PgFloat8(double v) { return PgFloat(v, 15); }
std::string PgFloat4(float v) { return PgFloat(v, 6); }

std::string PgByteaHex(std::string_view bytes) {
  static constexpr char kHexLower[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kHexLower[b >> 4]);
    out.push_back(kHexLower[b & 0xF]);
  }
  return out;
}

namespace {
// ISO-8601 "HH:mm[:ss[.f{1,9}]]" then "Z" or "±HH:MM[:SS]" → µs of the day and offset seconds.
bool ParseIsoTime(TextCursor& c, int64_t& tod, int64_t& offset) {
  int64_t h = 0, m = 0, s = 0, nanos = 0;
  if (!c.Digits(2, 2, h) || !c.Consume(':') || !c.Digits(2, 2, m)) return false;
  if (c.Consume(':')) {
    if (!c.Digits(2, 2, s) || !c.Fraction(9, 9, nanos)) return false;
  }
  if (h > 23 || m > 59 || s > 59 || nanos % 1000 != 0) return false;  // PostgreSQL keeps microseconds
  tod = ((h * 60 + m) * 60 + s) * kMicrosPerSecond + nanos / 1000;
  if (c.Consume('Z')) return true;
  return pg::ParseUtcOffset(c, offset);
}
}  // namespace

namespace {
// ISO-8601 date-time with offset → µs since epoch (UTC).
Result<int64_t> MicrosFromIso(std::string_view iso) {
  TextCursor c(iso);
  const bool negative_year = c.Consume('-');
  if (!negative_year) c.Consume('+');
  int64_t y = 0, mo = 0, d = 0, tod = 0, offset = 0;
  if (!c.Digits(4, 10, y) || !c.Consume('-') || !c.Digits(2, 2, mo) || !c.Consume('-') || !c.Digits(2, 2, d) ||
      !c.Consume('T') || !ParseIsoTime(c, tod, offset) || !c.done()) {
    return Bad(iso, "an ISO-8601 timestamp with offset");
  }
  if (negative_year) y = -y;
  if (y > kMaxTextYear || y < -kMaxTextYear || mo < 1 || mo > 12 || d < 1 ||
      d > DaysInMonth(y, static_cast<unsigned>(mo))) {
    return Bad(iso, "an ISO-8601 timestamp with offset");
  }
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const __int128 micros = static_cast<__int128>(days) * kMicrosPerDay + tod - static_cast<__int128>(offset) * 1'000'000;
  if (micros < std::numeric_limits<int64_t>::min() || micros > std::numeric_limits<int64_t>::max()) {
    return Bad(iso, "a timestamp in range");
  }
  return static_cast<int64_t>(micros);
}
}  // namespace

Result<std::string> PgTimestamptzFromIso(std::string_view iso) {
  if (iso == "infinity" || iso == "-infinity") return std::string(iso);
  SS_ASSIGN_OR_RETURN(int64_t micros, MicrosFromIso(iso));
  return PgTimestamp(micros, true);
}

Result<std::string> PgTimestampFromIso(std::string_view iso) {
  if (iso == "infinity" || iso == "-infinity") return std::string(iso);
  SS_ASSIGN_OR_RETURN(int64_t micros, MicrosFromIso(iso));
  return PgTimestamp(micros, false);
}

Result<std::string> PgDateFromIso(std::string_view iso) {
  if (iso == "infinity" || iso == "-infinity") return std::string(iso);
  // [±]YYYY…-MM-DD then the offset: the date ends 6 characters after the year's end.
  const size_t year_end = iso.find('-', iso.empty() ? 0 : 1);
  if (year_end == std::string_view::npos || iso.size() < year_end + 6) return Bad(iso, "an ISO-8601 date with offset");
  std::string full(iso.substr(0, year_end + 6));
  full += "T00:00:00";
  full += iso.substr(year_end + 6);
  SS_ASSIGN_OR_RETURN(int64_t micros, MicrosFromIso(full));
  if (FloorMod(micros, kMicrosPerDay) != 0) return Bad(iso, "a date at a whole-day offset");
  return PgDate(FloorDiv(micros, kMicrosPerDay));
}

Result<std::string> PgTimeFromIso(std::string_view iso) {
  TextCursor c(iso);
  int64_t tod = 0, offset = 0;
  if (!ParseIsoTime(c, tod, offset) || !c.done()) return Bad(iso, "an ISO-8601 time with offset");
  return PgTime(FloorMod(tod - offset * kMicrosPerSecond, kMicrosPerDay), false);
}

Result<std::string> PgByteaFromText(std::string_view text, BinaryHandlingMode mode) {
  std::string bytes;
  switch (mode) {
    case BinaryHandlingMode::kBytes:
      return Status::Fatal("binary.handling.mode=bytes has no text form");
    case BinaryHandlingMode::kBase64:
    case BinaryHandlingMode::kBase64UrlSafe: {
      std::string standard(text);
      if (mode == BinaryHandlingMode::kBase64UrlSafe) {
        for (char& ch : standard) {
          if (ch == '+' || ch == '/') return Bad(text, "URL-safe base64");
          ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
        }
      }
      while (standard.size() % 4 != 0) standard.push_back('=');
      if (!Base64Decode(standard, bytes)) {
        return Bad(text, mode == BinaryHandlingMode::kBase64 ? "base64" : "URL-safe base64");
      }
      break;
    }
    case BinaryHandlingMode::kHex: {
      if (text.size() % 2 != 0) return Bad(text, "hex bytes");
      auto nibble = [](char ch) -> int {
        if (ch >= '0' && ch <= '9') return ch - '0';
        if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
        return -1;
      };
      bytes.reserve(text.size() / 2);
      for (size_t i = 0; i < text.size(); i += 2) {
        const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
        if (hi < 0 || lo < 0) return Bad(text, "hex bytes");
        bytes.push_back(static_cast<char>(hi << 4 | lo));
      }
      break;
    }
  }
  return PgByteaHex(bytes);
}

Result<std::string> PgNumericFromPlainText(std::string_view text) {
  if (text == "NaN") return std::string(text);
  std::string_view digits = text;
  if (!digits.empty() && digits[0] == '-') digits.remove_prefix(1);
  const size_t dot = digits.find('.');
  const std::string_view int_part = digits.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : digits.substr(dot + 1);
  auto all_digits = [](std::string_view d) { return d.find_first_not_of("0123456789") == std::string_view::npos; };
  if (int_part.empty() || !all_digits(int_part) || !all_digits(frac) ||
      (dot != std::string_view::npos && frac.empty())) {
    return Bad(text, "a plain decimal (decimal.handling.mode=string)");
  }
  // PostgreSQL prints no "-0": a negative zero of any scale is 0.
  if (text[0] == '-' && int_part.find_first_not_of('0') == std::string_view::npos &&
      frac.find_first_not_of('0') == std::string_view::npos) {
    return std::string(text.substr(1));
  }
  return std::string(text);
}

Result<std::string> PgIntervalFromIso(std::string_view iso) {
  // P<int>Y<int>M<int>DT<int>H<int>M<decimal>S, every part present and signed on its own.
  TextCursor c(iso);
  int64_t parts[5] = {};
  const char units[5] = {'Y', 'M', 'D', 'H', 'M'};
  if (!c.Consume('P')) return Bad(iso, "an ISO-8601 interval (interval.handling.mode=string)");
  for (int i = 0; i < 5; ++i) {
    if (i == 3 && !c.Consume('T')) return Bad(iso, "an ISO-8601 interval (interval.handling.mode=string)");
    const bool negative = c.Consume('-');
    if (!c.Digits(1, 10, parts[i]) || !c.Consume(units[i])) {
      return Bad(iso, "an ISO-8601 interval (interval.handling.mode=string)");
    }
    if (negative) parts[i] = -parts[i];
  }
  const bool negative_seconds = c.Consume('-');
  int64_t whole = 0, micros = 0;
  if (!c.Digits(1, 12, whole)) return Bad(iso, "an ISO-8601 interval (interval.handling.mode=string)");
  int64_t nanos = 0;
  if (!c.Fraction(9, 9, nanos) || !c.Consume('S') || !c.done()) {
    return Bad(iso, "an ISO-8601 interval (interval.handling.mode=string)");
  }
  if (nanos % 1000 != 0) return Bad(iso, "an interval in whole microseconds");
  micros = whole * kMicrosPerSecond + nanos / 1000;
  if (negative_seconds) micros = -micros;
  const __int128 months = static_cast<__int128>(parts[0]) * 12 + parts[1];
  const __int128 time =
      (static_cast<__int128>(parts[3]) * 3600 + static_cast<__int128>(parts[4]) * 60) * kMicrosPerSecond + micros;
  if (months > INT32_MAX || months < INT32_MIN || parts[2] > INT32_MAX || parts[2] < INT32_MIN ||
      time > std::numeric_limits<int64_t>::max() || time < std::numeric_limits<int64_t>::min()) {
    return Bad(iso, "an interval in range");
  }
  // EncodeInterval, INTSTYLE_POSTGRES.
  const auto m = static_cast<int64_t>(months);
  const auto t = static_cast<int64_t>(time);
  std::string out;
  bool is_zero = true, is_before = false;
  auto add_part = [&](int64_t value, std::string_view unit) {
    if (value == 0) return;
    out += is_zero ? "" : " ";
    if (is_before && value > 0) out += "+";
    out += std::to_string(value);
    out += " ";
    out += unit;
    if (value != 1) out += "s";
    is_before = value < 0;
    is_zero = false;
  };
  add_part(m / 12, "year");
  add_part(m % 12, "mon");
  add_part(parts[2], "day");
  if (is_zero || t != 0) {
    const int64_t hour = t / (3600 * kMicrosPerSecond);
    const int64_t min = t / (60 * kMicrosPerSecond) % 60;
    const int64_t sec = t / kMicrosPerSecond % 60;
    const int64_t fsec = t % kMicrosPerSecond;
    const bool minus = t < 0;
    out += is_zero ? "" : " ";
    out += minus ? "-" : (is_before ? "+" : "");
    AppendPadded(out, hour < 0 ? -hour : hour, 2);
    out.push_back(':');
    AppendPadded(out, min < 0 ? -min : min, 2);
    out.push_back(':');
    AppendPadded(out, sec < 0 ? -sec : sec, 2);
    if (fsec != 0) {
      std::string frac;
      AppendPadded(frac, fsec < 0 ? -fsec : fsec, 6);
      while (frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
  }
  return out;
}

std::string PgHstore(std::vector<std::pair<std::string, std::optional<std::string>>> pairs) {
  std::stable_sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
    if (a.first.size() != b.first.size()) return a.first.size() < b.first.size();
    return a.first < b.first;
  });
  pairs.erase(std::unique(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
              pairs.end());
  auto quoted = [](std::string& out, std::string_view s) {
    out.push_back('"');
    for (char ch : s) {
      if (ch == '"' || ch == '\\') out.push_back('\\');
      out.push_back(ch);
    }
    out.push_back('"');
  };
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out += ", ";
    quoted(out, key);
    out += "=>";
    if (value) {
      quoted(out, *value);
    } else {
      out += "NULL";
    }
  }
  return out;
}

Result<std::string> PgTimetzFromIso(std::string_view iso) {
  TextCursor c(iso);
  int64_t tod = 0, offset = 0;
  if (!ParseIsoTime(c, tod, offset) || !c.done()) return Bad(iso, "an ISO-8601 time with offset");
  return PgTime(FloorMod(tod - offset * kMicrosPerSecond, kMicrosPerDay), true);
}

// ---- base64 -----------------------------------------------------------------------------------------------------
void AppendBase64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16 |
                       uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return;
  uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
  if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
  out.push_back(kAlphabet[v >> 18]);
  out.push_back(kAlphabet[(v >> 12) & 63]);
  out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
  out.push_back('=');
}

bool Base64Decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<size_t>(k)];
      int d = 0;
      if (k >= 4 - pad) {
        if (c != '=') return false;
      } else {
        d = value(c);
        if (d < 0) return false;
      }
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<char>(v >> 16));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xFF));
  }
  return true;
}

// ---- decimals ---------------------------------------------------------------------------------------------------
Status DecimalTextToUnscaledBytes(std::string_view text, std::optional<int> scale, std::string& bytes, int& scale_out) {
  if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
    return Status::Fatal(fmt::format(
        "numeric {} cannot be represented as a Kafka Connect Decimal (Debezium's precise mode fails on it too)", text));
  }
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  std::string_view int_part = s.substr(0, dot);
  std::string_view frac_part = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  auto all_digits = [](std::string_view d) {
    for (char c : d) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if ((int_part.empty() && frac_part.empty()) || !all_digits(int_part) || !all_digits(frac_part) ||
      (dot != std::string_view::npos && frac_part.empty() && int_part.empty())) {
    return Bad(text, "a decimal number");
  }
  const int target = scale.value_or(static_cast<int>(frac_part.size()));
  std::string digits(int_part);
  if (target >= 0) {
    const auto want = static_cast<size_t>(target);
    if (frac_part.size() > want) {
      if (!all_digits(frac_part.substr(want)) || frac_part.substr(want).find_first_not_of('0') != std::string::npos) {
        return Bad(text, fmt::format("a decimal with at most {} fraction digits", target));
      }
      frac_part = frac_part.substr(0, want);
    }
    digits += frac_part;
    digits.append(want - frac_part.size(), '0');
  } else {
    const auto drop = static_cast<size_t>(-target);
    if (frac_part.find_first_not_of('0') != std::string::npos) {
      return Bad(text, fmt::format("a multiple of 1e{}", -target));
    }
    const size_t keep = digits.size() > drop ? digits.size() - drop : 0;
    if (digits.substr(keep).find_first_not_of('0') != std::string::npos) {
      return Bad(text, fmt::format("a multiple of 1e{}", -target));
    }
    digits.resize(keep);
  }
  scale_out = target;
  std::string magnitude = DigitsToMagnitude(digits);
  if (magnitude.empty()) {
    bytes.assign(1, '\0');
    return Status::Ok();
  }
  if (!negative) {
    if (static_cast<unsigned char>(magnitude[0]) & 0x80) magnitude.insert(magnitude.begin(), '\0');
    bytes = std::move(magnitude);
    return Status::Ok();
  }
  Negate(magnitude);
  if (!(static_cast<unsigned char>(magnitude[0]) & 0x80)) magnitude.insert(magnitude.begin(), '\xFF');
  // Minimal form: drop a leading 0xFF the next byte's sign bit already implies.
  while (magnitude.size() > 1 && static_cast<unsigned char>(magnitude[0]) == 0xFF &&
         (static_cast<unsigned char>(magnitude[1]) & 0x80)) {
    magnitude.erase(magnitude.begin());
  }
  bytes = std::move(magnitude);
  return Status::Ok();
}

Result<std::string> UnscaledBytesToDecimalText(std::string_view bytes, int scale) {
  if (bytes.empty()) return Status::Fatal("empty unscaled decimal value");
  const bool negative = static_cast<unsigned char>(bytes[0]) & 0x80;
  std::string magnitude(bytes);
  if (negative) Negate(magnitude);
  std::string digits = MagnitudeToDigits(magnitude);
  const bool zero = digits == "0";
  std::string out = negative && !zero ? "-" : "";
  if (scale > 0) {
    const auto s = static_cast<size_t>(scale);
    if (digits.size() <= s) digits.insert(0, s + 1 - digits.size(), '0');
    out.append(digits, 0, digits.size() - s);
    out.push_back('.');
    out.append(digits, digits.size() - s, s);
  } else {
    out += digits;
    if (scale < 0 && !zero) out.append(static_cast<size_t>(-scale), '0');
  }
  return out;
}

// ---- PostgreSQL text → Debezium JSON --------------------------------------------------------------------------
Status AppendValueJson(const FieldType& type, std::string_view text, std::string& out) {
  switch (type.kind) {
    case FieldKind::kBoolean:
      if (text == "t" || text == "true") {
        out += "true";
      } else if (text == "f" || text == "false") {
        out += "false";
      } else {
        return Bad(text, "a boolean");
      }
      return Status::Ok();
    case FieldKind::kInt16:
    case FieldKind::kInt32:
    case FieldKind::kInt64: {
      int64_t v = 0;
      const bool parsed = ParseWhole(text, v);
      const int64_t lo = type.kind == FieldKind::kInt16   ? std::numeric_limits<int16_t>::min()
                         : type.kind == FieldKind::kInt32 ? std::numeric_limits<int32_t>::min()
                                                          : std::numeric_limits<int64_t>::min();
      const int64_t hi = type.kind == FieldKind::kInt16   ? std::numeric_limits<int16_t>::max()
                         : type.kind == FieldKind::kInt32 ? std::numeric_limits<int32_t>::max()
                                                          : std::numeric_limits<int64_t>::max();
      if (!parsed || v < lo || v > hi) {
        return Bad(text, "an integer in range");
      }
      AppendInt(out, v);
      return Status::Ok();
    }
    case FieldKind::kFloat32: {
      float v = 0;
      if (!ParseWhole(text, v)) return Bad(text, "a real");
      AppendJavaFloat(out, v);
      return Status::Ok();
    }
    case FieldKind::kFloat64: {
      double v = 0;
      if (!ParseWhole(text, v)) return Bad(text, "a double precision");
      AppendJavaDouble(out, v);
      return Status::Ok();
    }
    case FieldKind::kDecimal: {
      std::string bytes;
      int scale = 0;
      SS_RETURN_IF_ERROR(DecimalTextToUnscaledBytes(text, type.scale, bytes, scale));
      out.push_back('"');
      AppendBase64(out, bytes);
      out.push_back('"');
      return Status::Ok();
    }
    case FieldKind::kVariableDecimal: {
      // The text's own scale: lossless (Debezium strips trailing zeros; see docs/DEBEZIUM_COMPATIBILITY.md).
      std::string bytes;
      int scale = 0;
      SS_RETURN_IF_ERROR(DecimalTextToUnscaledBytes(text, std::nullopt, bytes, scale));
      out += "{\"scale\":";
      AppendInt(out, scale);
      out += ",\"value\":\"";
      AppendBase64(out, bytes);
      out += "\"}";
      return Status::Ok();
    }
    case FieldKind::kString:
    case FieldKind::kJson:
    case FieldKind::kUuid:
    case FieldKind::kXml:
    case FieldKind::kUnsupported:
      AppendJsonString(out, text);
      return Status::Ok();
    case FieldKind::kBytes: {
      std::string bytes;
      if (!pg::ParseByteaHex(text, bytes)) return Bad(text, "bytea in hex format (bytea_output must be 'hex')");
      out.push_back('"');
      AppendBase64(out, bytes);
      out.push_back('"');
      return Status::Ok();
    }
    case FieldKind::kDate: {
      int64_t days = 0;
      int inf = 0;
      if (!pg::ParseDate(text, days, inf)) return Bad(text, "a date");
      if (inf != 0) days = DebeziumInfinityDateDays(inf > 0);
      if (days < std::numeric_limits<int32_t>::min() || days > std::numeric_limits<int32_t>::max()) {
        return Bad(text, "a date in int32 range");
      }
      AppendInt(out, days);
      return Status::Ok();
    }
    case FieldKind::kTimeMillis:
    case FieldKind::kTimeMicros:
    case FieldKind::kTimeNanos: {
      int64_t micros = 0;
      if (!pg::ParseTime(text, false, micros)) return Bad(text, "a time");
      AppendInt(out, type.kind == FieldKind::kTimeMillis  ? micros / 1000
                     : type.kind == FieldKind::kTimeNanos ? micros * 1000
                                                          : micros);
      return Status::Ok();
    }
    case FieldKind::kTimestampMillis:
    case FieldKind::kTimestampMicros:
    case FieldKind::kTimestampNanos: {
      int64_t micros = 0;
      int inf = 0;
      if (!pg::ParseTimestamp(text, false, micros, inf)) return Bad(text, "a timestamp");
      if (inf != 0) micros = inf > 0 ? kDebeziumInfinityMicros : kDebeziumNegInfinityMicros;
      if (type.kind == FieldKind::kTimestampMillis) {
        AppendInt(out, FloorDiv(micros, 1000));
      } else if (type.kind == FieldKind::kTimestampNanos) {
        int64_t nanos = 0;
        if (__builtin_mul_overflow(micros, int64_t{1000}, &nanos)) return Bad(text, "a timestamp in range");
        AppendInt(out, nanos);
      } else {
        AppendInt(out, micros);
      }
      return Status::Ok();
    }
    case FieldKind::kZonedTimestamp: {
      int64_t micros = 0;
      int inf = 0;
      if (!pg::ParseTimestamp(text, true, micros, inf)) return Bad(text, "a timestamp with time zone");
      if (inf != 0) {
        out += inf > 0 ? "\"infinity\"" : "\"-infinity\"";
        return Status::Ok();
      }
      out.push_back('"');
      AppendZonedTimestamp(out, micros, type.fraction_digits);
      out.push_back('"');
      return Status::Ok();
    }
    case FieldKind::kDecimalString:
    case FieldKind::kDecimalDouble:
    case FieldKind::kBytesBase64:
    case FieldKind::kBytesBase64Url:
    case FieldKind::kBytesHex:
    case FieldKind::kIsoDate:
    case FieldKind::kIsoTime:
    case FieldKind::kIsoTimestamp:
    case FieldKind::kInterval:
    case FieldKind::kHstore:
      return Status::Fatal("the encoder writes the connector's default modes only");
    case FieldKind::kZonedTime: {
      int64_t micros = 0;
      if (!pg::ParseTime(text, true, micros)) return Bad(text, "a time with time zone");
      out.push_back('"');
      AppendClock(out, micros / kMicrosPerSecond, micros % kMicrosPerSecond * 1000, 9, false);
      out += "Z\"";
      return Status::Ok();
    }
  }
  return Status::Fatal("unknown field kind");
}

}  // namespace streamshop::debezium
