#include "pg/TextValue.h"

#include <limits>

#include "common/Parse.h"

namespace streamshop::pg {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool TextCursor::Consume(char c) {
  if (peek() != c) return false;
  ++pos_;
  return true;
}

bool TextCursor::Digits(size_t min, size_t max, int64_t& v) {
  size_t n = 0;
  v = 0;
  while (!done() && n < max && s_[pos_] >= '0' && s_[pos_] <= '9') {
    v = v * 10 + (s_[pos_++] - '0');
    ++n;
  }
  return n >= min;
}

bool TextCursor::Fraction(int max_digits, int unit_digits, int64_t& v) {
  v = 0;
  if (!Consume('.')) return true;
  int n = 0;
  while (!done() && s_[pos_] >= '0' && s_[pos_] <= '9') {
    if (++n > max_digits) return false;
    v = v * 10 + (s_[pos_++] - '0');
  }
  if (n == 0) return false;
  for (; n < unit_digits; ++n) v *= 10;
  return true;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

namespace {

// Strips PostgreSQL's " BC" suffix.
bool StripBc(std::string_view& s) {
  if (s.size() > 3 && s.substr(s.size() - 3) == " BC") {
    s.remove_suffix(3);
    return true;
  }
  return false;
}

// "YYYY-MM-DD" → days since epoch; BC years are 1-based (1 BC = astronomical year 0).
bool ParseDatePart(TextCursor& c, bool bc, int64_t& days) {
  int64_t y = 0, m = 0, d = 0;
  if (!c.Digits(1, 9, y) || !c.Consume('-') || !c.Digits(2, 2, m) || !c.Consume('-') || !c.Digits(2, 2, d)) {
    return false;
  }
  if (bc) {
    if (y == 0) return false;
    y = 1 - y;
  }
  if (y > kMaxTextYear || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, static_cast<unsigned>(m))) return false;
  days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

// "HH:MM:SS[.ffffff]" → µs of the day (24:00:00 allowed, as PostgreSQL's time type allows it).
bool ParseTimePart(TextCursor& c, int64_t& micros) {
  int64_t h = 0, m = 0, s = 0, f = 0;
  if (!c.Digits(2, 2, h) || !c.Consume(':') || !c.Digits(2, 2, m) || !c.Consume(':') || !c.Digits(2, 2, s) ||
      !c.Fraction(6, 6, f)) {
    return false;
  }
  if (h > 24 || m > 59 || s > 59 || (h == 24 && (m != 0 || s != 0 || f != 0))) return false;
  micros = ((h * 60 + m) * 60 + s) * kMicrosPerSecond + f;
  return true;
}

}  // namespace

bool ParseUtcOffset(TextCursor& c, int64_t& seconds) {
  const int sign = c.peek() == '-' ? -1 : 1;
  if (!c.Consume('+') && !c.Consume('-')) return false;
  int64_t h = 0, m = 0, s = 0;
  if (!c.Digits(2, 2, h)) return false;
  if (c.Consume(':')) {
    if (!c.Digits(2, 2, m)) return false;
    if (c.Consume(':') && !c.Digits(2, 2, s)) return false;
  }
  if (h > 15 || m > 59 || s > 59) return false;
  seconds = sign * ((h * 60 + m) * 60 + s);
  return true;
}

bool ParseDate(std::string_view text, int64_t& days, int& infinity) {
  infinity = text == "infinity" ? 1 : text == "-infinity" ? -1 : 0;
  if (infinity != 0) return true;
  const bool bc = StripBc(text);
  TextCursor c(text);
  return ParseDatePart(c, bc, days) && c.done();
}

bool ParseTimestamp(std::string_view text, bool with_zone, int64_t& micros, int& infinity) {
  infinity = text == "infinity" ? 1 : text == "-infinity" ? -1 : 0;
  if (infinity != 0) return true;
  const bool bc = StripBc(text);
  TextCursor c(text);
  int64_t days = 0, tod = 0, offset = 0;
  if (!ParseDatePart(c, bc, days) || !c.Consume(' ') || !ParseTimePart(c, tod)) return false;
  if (with_zone && !c.done() && !ParseUtcOffset(c, offset)) return false;
  if (!c.done()) return false;
  const __int128 v = static_cast<__int128>(days) * kMicrosPerDay + tod - static_cast<__int128>(offset) * 1'000'000;
  if (v < std::numeric_limits<int64_t>::min() || v > std::numeric_limits<int64_t>::max()) return false;
  micros = static_cast<int64_t>(v);
  return true;
}

bool ParseTime(std::string_view text, bool with_zone, int64_t& micros) {
  TextCursor c(text);
  int64_t offset = 0;
  if (!ParseTimePart(c, micros)) return false;
  if (with_zone && !c.done() && !ParseUtcOffset(c, offset)) return false;
  if (!c.done()) return false;
  if (with_zone) micros = FloorMod(micros - offset * kMicrosPerSecond, kMicrosPerDay);
  return true;
}

bool ParseByteaHex(std::string_view text, std::string& bytes) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) return false;
  bytes.clear();
  bytes.reserve((text.size() - 2) / 2);
  for (size_t i = 2; i < text.size(); i += 2) {
    const int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

}  // namespace streamshop::pg
