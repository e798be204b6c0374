// PostgreSQL's text output of dates, times, timestamps and bytea (DateStyle ISO, bytea_output hex), read exactly,
// once for every target (ClickHouse RowBinary, Debezium JSON). Pure functions; false means "not PostgreSQL's text of
// that type" and the caller names the value and type in its error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace streamshop::pg {

// Proleptic Gregorian calendar, astronomical years (1 BC = year 0) ↔ days since 1970-01-01.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day);

// "2024-01-02", "0044-03-15 BC" → days since epoch; "infinity"/"-infinity" set `infinity` to +1/-1 (else 0).
bool ParseDate(std::string_view text, int64_t& days, int& infinity);
// "2024-01-02 03:04:05.123456[+02[:30[:15]]][ BC]" → µs since epoch (UTC when an offset is given; an offset is
// accepted only `with_zone`); infinities as for dates. False when the instant does not fit in int64 µs.
bool ParseTimestamp(std::string_view text, bool with_zone, int64_t& micros, int& infinity);
// "03:04:05[.ffffff][+HH[:MM[:SS]]]" → µs of the day (24:00:00 allowed), normalised to UTC for `with_zone`.
bool ParseTime(std::string_view text, bool with_zone, int64_t& micros);
// "\x0aff" → the bytes.
bool ParseByteaHex(std::string_view text, std::string& bytes);

// The pieces the parsers above are made of, for neighbouring formats (ISO-8601 in Debezium's JSON).
inline constexpr int64_t kMaxTextYear = 100'000'000;  // beyond PostgreSQL's 5874897 AD; keeps the arithmetic exact
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }
unsigned DaysInMonth(int64_t year, unsigned month);

// A forward-only reader over date/time text.
class TextCursor {
 public:
  explicit TextCursor(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  bool Consume(char c);
  // Between min and max decimal digits.
  bool Digits(size_t min, size_t max, int64_t& v);
  // ".ffffff" (1 to max_digits digits), scaled to `unit_digits` digits; absent = 0.
  bool Fraction(int max_digits, int unit_digits, int64_t& v);

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// "+HH[:MM[:SS]]" or "-HH…" → seconds east of UTC.
bool ParseUtcOffset(TextCursor& c, int64_t& seconds);

}  // namespace streamshop::pg
