// Value conversions between PostgreSQL's text form (what pgoutput and COPY deliver under our pinned session
// settings: DateStyle ISO, TimeZone UTC, bytea_output hex, extra_float_digits 1) and Debezium's JSON encoding of the
// same value (docs/DEBEZIUM_COMPATIBILITY.md). Pure functions; thread-safe.
//
// Errors: a text that is not a valid value of its type, or a value Debezium cannot represent (numeric NaN/±Infinity
// in a Decimal field), is a Fatal Status with the reason; the caller adds table and column.
// In the other direction every function produces the canonical text PostgreSQL itself prints, so
// ToPgText(ToJson(x)) == x for values in canonical form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Status.h"
#include "debezium/DebeziumTypes.h"

namespace streamshop::debezium {

// The placeholder Debezium writes for a TOASTed value an UPDATE left unchanged (unavailable.value.placeholder).
inline constexpr std::string_view kUnavailableValuePlaceholder = "__debezium_unavailable_value";

// PostgreSQL text → Debezium JSON value (a complete JSON token: number, string, bool or object).
Status AppendValueJson(const FieldType& type, std::string_view pg_text, std::string& out);

// ---- building blocks, exposed for the parser and for tests ----------------------------------------------------
void AppendBase64(std::string& out, std::string_view bytes);
// Strict standard base64 (RFC 4648 alphabet, '=' padding, length a multiple of 4). False on anything else.
bool Base64Decode(std::string_view text, std::string& out);

// Exact decimal text ("-12.50", "0"; no exponent) → Java BigInteger.toByteArray() of the unscaled value at
// `scale` (fewer fraction digits are padded; more must be zeros; a negative scale drops integer zeros). Without a
// scale the text's own scale is used. The scale used is returned through `scale_out`.
Status DecimalTextToUnscaledBytes(std::string_view text, std::optional<int> scale, std::string& bytes, int& scale_out);
// Two's-complement big-endian unscaled bytes + scale → exact decimal text ("-5.00"). Empty bytes are an error.
Result<std::string> UnscaledBytesToDecimalText(std::string_view bytes, int scale);

// Canonical PostgreSQL output forms.
std::string PgDate(int64_t days_since_epoch);                         // "2024-01-02", "0044-03-15 BC"
std::string PgTimestamp(int64_t micros_since_epoch, bool with_zone);  // "2024-01-02 03:04:05.5[+00]"
std::string PgTime(int64_t micros_of_day, bool with_zone);            // "03:04:05.123[+00]"
std::string PgFloat8(double v);                                       // "1.5", "1e+20", "NaN", "-Infinity"
std::string PgFloat4(float v);
std::string PgByteaHex(std::string_view bytes);  // "\x0aff"

// ISO-8601 (as Debezium writes ZonedTimestamp / ZonedTime, any offset accepted) → canonical PostgreSQL text in UTC.
Result<std::string> PgTimestamptzFromIso(std::string_view iso);
Result<std::string> PgTimetzFromIso(std::string_view iso);

// ---- the connector's non-default modes (DebeziumModes) → canonical PostgreSQL text ------------------------------
// binary.handling.mode=base64 / base64-url-safe (java.util.Base64 with '=' padding; unpadded accepted) / hex (either
// case) → "\x…". Fatal on any other text.
Result<std::string> PgByteaFromText(std::string_view text, BinaryHandlingMode mode);
// decimal.handling.mode=string: BigDecimal.toPlainString() ("-12.50", "NaN") → numeric text. Fatal on an exponent
// or anything else that is not a plain decimal.
Result<std::string> PgNumericFromPlainText(std::string_view text);
// time.precision.mode=isostring: IsoDate "2024-01-02Z", IsoTime "03:04:05.5Z", IsoTimestamp "2024-01-02T03:04:05.5Z"
// (any offset accepted and applied) → date, time, timestamp text in UTC.
Result<std::string> PgDateFromIso(std::string_view iso);
Result<std::string> PgTimeFromIso(std::string_view iso);
Result<std::string> PgTimestampFromIso(std::string_view iso);
// interval.handling.mode=string: io.debezium.time.Interval "P<y>Y<m>M<d>DT<h>H<m>M<s>S" (each part signed, seconds
// with a fraction) → PostgreSQL's interval output (IntervalStyle postgres: "1 year 2 mons 3 days 04:05:06.78").
Result<std::string> PgIntervalFromIso(std::string_view iso);
// hstore pairs (nullopt value = NULL) → hstore_out's text: keys ordered by length then bytes, `"k"=>"v"` joined by
// ", " with '"' and '\' escaped; a repeated key keeps its first value.
std::string PgHstore(std::vector<std::pair<std::string, std::optional<std::string>>> pairs);

// The epoch values Debezium writes for PostgreSQL's infinite dates and timestamps (from PGStatement constants).
int64_t DebeziumInfinityDateDays(bool positive);
inline constexpr int64_t kDebeziumInfinityMicros = 9223372036825200000;
inline constexpr int64_t kDebeziumNegInfinityMicros = -9223372036832400000;

}  // namespace streamshop::debezium
