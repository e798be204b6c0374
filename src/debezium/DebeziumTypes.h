// How Debezium's PostgreSQL connector (3.6, defaults: decimal.handling.mode=precise, time.precision.mode=adaptive,
// binary.handling.mode=bytes) represents each PostgreSQL column in Kafka Connect terms, and the table model our
// Debezium codec works on. Pure; thread-safe.
//
// A FieldType is the Connect schema of one field (type + logical name + parameters). The encoder derives it from a
// column's neutral type (FieldTypeForColumn); the parser derives it from a message's Connect schema
// (FieldTypeForConnectSchema) or, for messages without schemas, from the column type the caller knows. Both then
// use the value conversions of DebeziumValueCodec.h. A sink knows a table only from its events: TypeForField gives
// the neutral type of a field.
//
// Types Debezium maps to something we do not reproduce (interval, money, arrays, bit strings, geometric types,
// enums, …) travel as their PostgreSQL text in a plain "string" field: see docs/DEBEZIUM_COMPATIBILITY.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"
#include "model/TableSchema.h"

namespace streamshop::debezium {

// One column as Debezium sees it. Nullability and the default expression come from the catalog
// (pg_attribute.attnotnull, pg_get_expr(adbin, adrelid)): Debezium reads them there too, and they decide the
// schema's `optional` and `default` and the values a key-only old row gets.
struct DebeziumColumn {
  std::string name;
  model::Type type;
  int key_position = 0;  // 1-based position in the primary key (the Kafka key), 0 if not a key column
  bool not_null = false;
  std::optional<std::string> default_expression;
  std::optional<std::string> comment;  // col_description(): Debezium puts it in the field schema's "doc"
};

struct DebeziumTable {
  std::string schema;
  std::string name;
  std::vector<DebeziumColumn> columns;  // pgoutput (attnum) order
};

// The table as Debezium describes it: columns, key and nullability of `table` (a key column is always NOT NULL);
// no defaults or comments (the caller adds what its catalog knows).
DebeziumTable DebeziumTableOf(const model::TableSchema& table);

enum class FieldKind : uint8_t {
  kBoolean,          // boolean
  kInt16,            // int16
  kInt32,            // int32
  kInt64,            // int64
  kFloat32,          // float
  kFloat64,          // double
  kDecimal,          // bytes org.apache.kafka.connect.data.Decimal: big-endian two's-complement unscaled, `scale`
  kVariableDecimal,  // struct io.debezium.data.VariableScaleDecimal {scale int32, value bytes}
  kString,           // string (text, varchar, char, and every type without a dedicated mapping)
  kJson,             // string io.debezium.data.Json
  kUuid,             // string io.debezium.data.Uuid
  kXml,              // string io.debezium.data.Xml
  kBytes,            // bytes (base64 in JSON)
  kDate,             // int32 io.debezium.time.Date: days since 1970-01-01
  kTimeMillis,       // int32 io.debezium.time.Time: ms past midnight (time(0..3))
  kTimeMicros,       // int64 io.debezium.time.MicroTime: µs past midnight
  kTimeNanos,        // int64 io.debezium.time.NanoTime (parser only)
  kTimestampMillis,  // int64 io.debezium.time.Timestamp: ms since epoch (timestamp(0..3))
  kTimestampMicros,  // int64 io.debezium.time.MicroTimestamp: µs since epoch
  kTimestampNanos,   // int64 io.debezium.time.NanoTimestamp (parser only)
  kZonedTimestamp,   // string io.debezium.time.ZonedTimestamp: ISO-8601 in UTC
  kZonedTime,        // string io.debezium.time.ZonedTime: ISO-8601 time in UTC
  kUnsupported,      // parser only: a Connect type we cannot turn into PostgreSQL text (name in `logical_name`)
  // Parser only: the connector's non-default modes (DebeziumModes; docs/DEBEZIUM_COMPATIBILITY.md "Connector modes").
  kDecimalString,   // string: decimal.handling.mode=string, BigDecimal.toPlainString() or "NaN"
  kDecimalDouble,   // double: decimal.handling.mode=double, a numeric rounded to a double (refused: lossy)
  kBytesBase64,     // string: binary.handling.mode=base64
  kBytesBase64Url,  // string: binary.handling.mode=base64-url-safe
  kBytesHex,        // string: binary.handling.mode=hex
  kIsoDate,         // string io.debezium.time.IsoDate (time.precision.mode=isostring): "2024-01-02Z"
  kIsoTime,         // string io.debezium.time.IsoTime: "03:04:05.123456Z"
  kIsoTimestamp,    // string io.debezium.time.IsoTimestamp: "2024-01-02T03:04:05.123456Z"
  kInterval,        // string io.debezium.time.Interval (interval.handling.mode=string): "P1Y2M3DT4H5M6.78S"
  kHstore,          // hstore as io.debezium.data.Json (hstore.handling.mode=json) or map<string,string> (map)
};

// The value-representation settings of Debezium's PostgreSQL connector, under the connector's own names. A record's
// Connect schema says most of them (logical names, `__debezium.source.column.type` parameters when the connector
// has column.propagate.source.type / datatype.propagate.source.type); the sink's --debezium-* options say the rest,
// which matters where a schema is ambiguous (a plain string field may be text, a decimal or base64 bytes) and for
// messages without schemas. Defaults are the connector's.
enum class DecimalHandlingMode : uint8_t { kPrecise, kDouble, kString };
enum class TimePrecisionMode : uint8_t {
  kAdaptive,
  kAdaptiveTimeMicroseconds,
  kConnect,
  kIsoString,
  kMicroseconds,
  kNanoseconds
};
enum class BinaryHandlingMode : uint8_t { kBytes, kBase64, kBase64UrlSafe, kHex };
enum class IntervalHandlingMode : uint8_t { kNumeric, kString };
enum class HstoreHandlingMode : uint8_t { kJson, kMap };

struct DebeziumModes {
  DecimalHandlingMode decimal = DecimalHandlingMode::kPrecise;
  TimePrecisionMode time = TimePrecisionMode::kAdaptive;
  BinaryHandlingMode binary = BinaryHandlingMode::kBytes;
  IntervalHandlingMode interval = IntervalHandlingMode::kNumeric;
  HstoreHandlingMode hstore = HstoreHandlingMode::kJson;
};

// The connector's value names ("precise", "adaptive_time_microseconds", "base64-url-safe", …) ↔ the enums.
// Parse* is Fatal for any other text, listing the accepted values.
Result<DecimalHandlingMode> ParseDecimalHandlingMode(std::string_view text);
Result<TimePrecisionMode> ParseTimePrecisionMode(std::string_view text);
Result<BinaryHandlingMode> ParseBinaryHandlingMode(std::string_view text);
Result<IntervalHandlingMode> ParseIntervalHandlingMode(std::string_view text);
Result<HstoreHandlingMode> ParseHstoreHandlingMode(std::string_view text);
std::string_view ModeName(DecimalHandlingMode m);
std::string_view ModeName(BinaryHandlingMode m);
std::string_view ModeName(TimePrecisionMode m);

struct FieldType {
  FieldKind kind = FieldKind::kString;
  int precision = 0;         // kDecimal: connect.decimal.precision
  int scale = 0;             // kDecimal: the fixed scale
  int fraction_digits = 6;   // kZonedTimestamp: digits after the second (0 = as many as needed)
  std::string logical_name;  // kUnsupported: what the schema said
  std::string reason;        // kUnsupported, kDecimalDouble: why the value is refused (empty: no PostgreSQL text form)
  // column.propagate.source.type parameters (__debezium.source.column.type/length/scale); -1 = not given.
  std::string source_type;  // upper case, e.g. "NUMERIC", "BYTEA", "TIMESTAMP"
  int source_length = -1;
  int source_scale = -1;
};

FieldType FieldTypeForColumn(const model::Type& type);

// The field type a message without schemas has for a column of `type` under `modes` (FieldTypeForColumn is the
// default modes' answer).
FieldType FieldTypeForColumnIn(const model::Type& type, const DebeziumModes& modes);

// The neutral type whose Debezium field type is `type`, for a sink that knows a table only from its events:
// FieldTypeForColumn of the result gives `type` back. Types Debezium sends as plain strings come back as text.
// Fatal for kUnsupported.
Result<model::Type> TypeForField(const FieldType& type);

// Appends the Connect schema JSON of a field: {"type":…,"optional":…[,"name":…,"version":1][,"doc":…]
// [,"parameters":{…}][,"default":<default_json>],"field":"<name>"}, member order as JsonConverter writes it.
// `doc` (a column comment) replaces the type's own doc, as Debezium's SchemaBuilder.doc does.
void AppendFieldSchema(std::string& out, const FieldType& type, bool optional, const std::string* default_json,
                       std::string_view field_name, const std::string* doc = nullptr);

// The value Debezium writes for a NOT NULL column that has no value in the row (a key-only old row of a DELETE):
// the schema default if there is one, otherwise this type's "zero" (0, "", false, epoch, …). JSON text.
std::string FallbackValueJson(const FieldType& type);

// Debezium's schema `default` for a column's default expression (PostgresDefaultValueConverter): literals are
// converted, function calls and CURRENT_TIMESTAMP-like keywords become a placeholder (epoch, 0, "", {}), anything
// it cannot parse gets no default. JSON text, or nullopt for "no default".
std::optional<std::string> DefaultValueJson(const DebeziumColumn& column, const FieldType& type);

}  // namespace streamshop::debezium
