#include "debezium/DebeziumTypes.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "debezium/DebeziumValueCodec.h"
#include "debezium/JsonWriter.h"

namespace streamshop::debezium {
namespace {

// pgjdbc's TypeInfoCache precision of time types: the typmod, 6 when absent.
int TimePrecision(int precision) { return precision < 0 ? 6 : precision; }

bool IsFunctionCall(std::string_view v) {
  // Debezium's FUNCTION_DEFAULT_PATTERN: ^[(]?[A-Za-z0-9_.]+\((?:.+(?:, ?.+)*)?\)
  size_t i = 0;
  if (i < v.size() && v[i] == '(') ++i;
  const size_t start = i;
  while (i < v.size() && (std::isalnum(static_cast<unsigned char>(v[i])) || v[i] == '_' || v[i] == '.')) ++i;
  if (i == start || i >= v.size() || v[i] != '(') return false;
  for (size_t j = i + 1; j < v.size(); ++j) {
    if (v[j] == ')') return true;
    if (v[j] == '\n' || v[j] == '\r') return false;
  }
  return false;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= ' ') s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= ' ') s.remove_suffix(1);
  return s;
}

// Debezium's extractDefault(value, placeholder): the placeholder for generated values, else the raw value or the
// first single-quoted literal. nullopt = NULL or unparseable.
std::optional<std::string> ExtractDefault(std::string_view v, std::string_view placeholder) {
  static constexpr std::string_view kCurrentDateTimes[] = {"current_timestamp", "current_time", "current_date",
                                                           "localtime", "localtimestamp"};
  const std::string lower = Lower(v);
  if (IsFunctionCall(v)) return std::string(placeholder);
  for (std::string_view k : kCurrentDateTimes) {
    if (lower == k) return std::string(placeholder);
  }
  const size_t open = v.find('\'');
  if (open == std::string_view::npos) {
    if (v.substr(0, 6) == "NULL::") return std::nullopt;
    return std::string(v);
  }
  const size_t close = v.find('\'', open + 1);
  if (close == std::string_view::npos) return std::nullopt;
  return std::string(v.substr(open + 1, close - open - 1));
}

// Java Integer/Long/Short.parseX: optional sign, decimal digits, in range.
std::optional<int64_t> ParseJavaInt(std::string_view s, int64_t lo, int64_t hi) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty() || s[0] == '+') return std::nullopt;
  int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

// Java Double.parseDouble's decimal subset: trimmed, optional sign, NaN/Infinity, optional f/F/d/D suffix.
std::optional<double> ParseJavaDouble(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && (s.back() == 'f' || s.back() == 'F' || s.back() == 'd' || s.back() == 'D')) s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity") return negative ? -HUGE_VAL : HUGE_VAL;
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) return std::nullopt;
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return negative ? -v : v;
}

// Java BigDecimal(String) → plain decimal text ("-1.50", "1200"); nullopt if not a number.
std::optional<std::string> ParseJavaBigDecimal(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::string digits;
  int64_t scale = 0;
  size_t i = 0;
  bool any = false, dot = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
      any = true;
      if (dot) ++scale;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any) return std::nullopt;
  if (i < s.size()) {
    if (s[i] != 'e' && s[i] != 'E') return std::nullopt;
    std::string_view exp = s.substr(i + 1);
    if (!exp.empty() && exp[0] == '+') exp.remove_prefix(1);
    int64_t e = 0;
    const auto r = std::from_chars(exp.data(), exp.data() + exp.size(), e);
    if (exp.empty() || r.ec != std::errc() || r.ptr != exp.data() + exp.size() || e > 10000 || e < -10000) {
      return std::nullopt;
    }
    scale -= e;
  }
  std::string out = negative ? "-" : "";
  if (scale <= 0) {
    out += digits;
    out.append(static_cast<size_t>(-scale), '0');
  } else {
    const auto sc = static_cast<size_t>(scale);
    if (digits.size() <= sc) digits.insert(0, sc + 1 - digits.size(), '0');
    out.append(digits, 0, digits.size() - sc);
    out.push_back('.');
    out.append(digits, digits.size() - sc, sc);
  }
  return out;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// pgjdbc's TimestampUtils accepts a bare date or a time without seconds: complete them to PostgreSQL's output form.
std::string CompleteDateTime(std::string value) {
  if (value.find(' ') == std::string::npos) value += " 00:00:00";
  const size_t space = value.find(' ');
  if (space != std::string::npos) {
    // "YYYY-MM-DD HH:MM" → add seconds.
    size_t t = space + 1;
    if (value.size() >= t + 5 && value[t + 2] == ':' && (value.size() == t + 5 || value[t + 5] != ':')) {
      value.insert(t + 5, ":00");
    }
  }
  return value;
}

std::string Json(const FieldType& type, std::string_view pg_text, bool* ok) {
  std::string out;
  *ok = AppendValueJson(type, pg_text, out).ok();
  return out;
}

}  // namespace

DebeziumTable DebeziumTableOf(const model::TableSchema& table) {
  DebeziumTable t{table.schema, table.name, {}};
  for (const model::Column& c : table.columns)
    t.columns.push_back(
        {c.name, c.type, c.key_position, !c.nullable || c.key_position > 0, std::nullopt, std::nullopt});
  return t;
}

Result<model::Type> TypeForField(const FieldType& type) {
  using model::TypeKind;
  switch (type.kind) {
    case FieldKind::kBoolean:
      return model::Type{TypeKind::kBool};
    case FieldKind::kInt16:
      return model::Type{TypeKind::kInt16};
    case FieldKind::kInt32:
      return model::Type{TypeKind::kInt32};
    case FieldKind::kInt64:
      return model::Type{TypeKind::kInt64};
    case FieldKind::kFloat32:
      return model::Type{TypeKind::kFloat32};
    case FieldKind::kFloat64:
      return model::Type{TypeKind::kFloat64};
    case FieldKind::kDecimal:
      // PostgreSQL's limits (numeric(1000, s) with -1000 <= s <= 1000); outside them: any precision.
      if (type.precision <= 0 || type.precision > 1000 || type.scale > type.precision || type.scale < -1000) {
        return model::Type{TypeKind::kDecimal};
      }
      return model::Type{TypeKind::kDecimal, type.precision, type.scale};
    case FieldKind::kVariableDecimal:
      return model::Type{TypeKind::kDecimal};
    case FieldKind::kString:
      return model::Type{TypeKind::kText};
    case FieldKind::kJson:
      return model::Type{TypeKind::kJson};
    case FieldKind::kUuid:
      return model::Type{TypeKind::kUuid};
    case FieldKind::kXml:
      return model::Type{TypeKind::kXml};
    case FieldKind::kBytes:
      return model::Type{TypeKind::kBytes};
    case FieldKind::kDate:
      return model::Type{TypeKind::kDate};
    case FieldKind::kTimeMillis:
      return model::Type{TypeKind::kTime, 3};
    case FieldKind::kTimeMicros:
    case FieldKind::kTimeNanos:
      return model::Type{TypeKind::kTime};
    case FieldKind::kTimestampMillis:
      return model::Type{TypeKind::kTimestamp, 3};
    case FieldKind::kTimestampMicros:
    case FieldKind::kTimestampNanos:
      return model::Type{TypeKind::kTimestamp};
    case FieldKind::kZonedTimestamp:
      return model::Type{TypeKind::kTimestampTz};
    case FieldKind::kZonedTime:
      return model::Type{TypeKind::kTimeTz};
    case FieldKind::kDecimalString:
      if (type.source_length > 0 && type.source_length <= 1000 && type.source_scale >= 0 &&
          type.source_scale <= type.source_length) {
        return model::Type{TypeKind::kDecimal, type.source_length, type.source_scale};
      }
      return model::Type{TypeKind::kDecimal};
    case FieldKind::kBytesBase64:
    case FieldKind::kBytesBase64Url:
    case FieldKind::kBytesHex:
      return model::Type{TypeKind::kBytes};
    case FieldKind::kIsoDate:
      return model::Type{TypeKind::kDate};
    case FieldKind::kIsoTime:
      return model::Type{TypeKind::kTime};
    case FieldKind::kIsoTimestamp:
      return model::Type{TypeKind::kTimestamp};
    case FieldKind::kInterval:
    case FieldKind::kHstore:
      return model::Type{TypeKind::kOther};
    case FieldKind::kDecimalDouble:
    case FieldKind::kUnsupported:
      break;
  }
  return Status::Fatal(fmt::format("Connect type {} has no column type equivalent{}{}", type.logical_name,
                                   type.reason.empty() ? "" : ": ", type.reason));
}

namespace {
template <typename Mode, size_t N>
Result<Mode> ParseMode(std::string_view text, std::string_view option,
                       const std::pair<std::string_view, Mode> (&values)[N]) {
  std::string accepted;
  for (const auto& [name, mode] : values) {
    if (name == text) return mode;
    accepted += accepted.empty() ? "" : ", ";
    accepted += name;
  }
  return Status::Fatal(
      fmt::format("{} '{}': not one of the connector's values ({})", option, text.substr(0, 64), accepted));
}
constexpr std::pair<std::string_view, DecimalHandlingMode> kDecimalModes[] = {
    {"precise", DecimalHandlingMode::kPrecise},
    {"double", DecimalHandlingMode::kDouble},
    {"string", DecimalHandlingMode::kString}};
constexpr std::pair<std::string_view, TimePrecisionMode> kTimeModes[] = {
    {"adaptive", TimePrecisionMode::kAdaptive},
    {"adaptive_time_microseconds", TimePrecisionMode::kAdaptiveTimeMicroseconds},
    {"connect", TimePrecisionMode::kConnect},
    {"isostring", TimePrecisionMode::kIsoString},
    {"microseconds", TimePrecisionMode::kMicroseconds},
    {"nanoseconds", TimePrecisionMode::kNanoseconds}};
constexpr std::pair<std::string_view, BinaryHandlingMode> kBinaryModes[] = {
    {"bytes", BinaryHandlingMode::kBytes},
    {"base64", BinaryHandlingMode::kBase64},
    {"base64-url-safe", BinaryHandlingMode::kBase64UrlSafe},
    {"hex", BinaryHandlingMode::kHex}};
constexpr std::pair<std::string_view, IntervalHandlingMode> kIntervalModes[] = {
    {"numeric", IntervalHandlingMode::kNumeric}, {"string", IntervalHandlingMode::kString}};
constexpr std::pair<std::string_view, HstoreHandlingMode> kHstoreModes[] = {{"json", HstoreHandlingMode::kJson},
                                                                            {"map", HstoreHandlingMode::kMap}};
template <typename Mode, size_t N>
std::string_view NameOf(Mode m, const std::pair<std::string_view, Mode> (&values)[N]) {
  for (const auto& [name, mode] : values) {
    if (mode == m) return name;
  }
  return "?";
}
}  // namespace

Result<DecimalHandlingMode> ParseDecimalHandlingMode(std::string_view text) {
  return ParseMode(text, "decimal.handling.mode", kDecimalModes);
}
Result<TimePrecisionMode> ParseTimePrecisionMode(std::string_view text) {
  return ParseMode(text, "time.precision.mode", kTimeModes);
}
Result<BinaryHandlingMode> ParseBinaryHandlingMode(std::string_view text) {
  return ParseMode(text, "binary.handling.mode", kBinaryModes);
}
Result<IntervalHandlingMode> ParseIntervalHandlingMode(std::string_view text) {
  return ParseMode(text, "interval.handling.mode", kIntervalModes);
}
Result<HstoreHandlingMode> ParseHstoreHandlingMode(std::string_view text) {
  return ParseMode(text, "hstore.handling.mode", kHstoreModes);
}
std::string_view ModeName(DecimalHandlingMode m) { return NameOf(m, kDecimalModes); }
std::string_view ModeName(BinaryHandlingMode m) { return NameOf(m, kBinaryModes); }
std::string_view ModeName(TimePrecisionMode m) { return NameOf(m, kTimeModes); }

FieldType FieldTypeForColumnIn(const model::Type& type, const DebeziumModes& modes) {
  FieldType t = FieldTypeForColumn(type);
  switch (t.kind) {
    case FieldKind::kDecimal:
    case FieldKind::kVariableDecimal:
      if (modes.decimal == DecimalHandlingMode::kString) {
        t.kind = FieldKind::kDecimalString;
      } else if (modes.decimal == DecimalHandlingMode::kDouble) {
        t.kind = FieldKind::kDecimalDouble;
        t.reason = "decimal.handling.mode=double rounds numeric values to doubles";
      }
      break;
    case FieldKind::kBytes:
      if (modes.binary == BinaryHandlingMode::kBase64) t.kind = FieldKind::kBytesBase64;
      if (modes.binary == BinaryHandlingMode::kBase64UrlSafe) t.kind = FieldKind::kBytesBase64Url;
      if (modes.binary == BinaryHandlingMode::kHex) t.kind = FieldKind::kBytesHex;
      break;
    case FieldKind::kDate:
      if (modes.time == TimePrecisionMode::kIsoString) t.kind = FieldKind::kIsoDate;
      break;
    case FieldKind::kTimeMillis:
    case FieldKind::kTimeMicros: {
      const bool millis = TimePrecision(type.precision) <= 3;
      switch (modes.time) {
        case TimePrecisionMode::kAdaptive:
          break;
        case TimePrecisionMode::kAdaptiveTimeMicroseconds:
        case TimePrecisionMode::kMicroseconds:
          t.kind = FieldKind::kTimeMicros;
          break;
        case TimePrecisionMode::kConnect:
          t.kind = millis ? FieldKind::kTimeMillis : FieldKind::kUnsupported;
          break;
        case TimePrecisionMode::kIsoString:
          t.kind = FieldKind::kIsoTime;
          break;
        case TimePrecisionMode::kNanoseconds:
          t.kind = FieldKind::kTimeNanos;
          break;
      }
      break;
    }
    case FieldKind::kTimestampMillis:
    case FieldKind::kTimestampMicros: {
      const bool millis = TimePrecision(type.precision) <= 3;
      switch (modes.time) {
        case TimePrecisionMode::kAdaptive:
        case TimePrecisionMode::kAdaptiveTimeMicroseconds:
          break;
        case TimePrecisionMode::kMicroseconds:
          t.kind = FieldKind::kTimestampMicros;
          break;
        case TimePrecisionMode::kConnect:
          t.kind = millis ? FieldKind::kTimestampMillis : FieldKind::kUnsupported;
          break;
        case TimePrecisionMode::kIsoString:
          t.kind = FieldKind::kIsoTimestamp;
          break;
        case TimePrecisionMode::kNanoseconds:
          t.kind = FieldKind::kTimestampNanos;
          break;
      }
      break;
    }
    default:
      break;
  }
  if (t.kind == FieldKind::kUnsupported) {
    t.logical_name = "org.apache.kafka.connect.data.Time/Timestamp";
    t.reason = "time.precision.mode=connect keeps milliseconds only, and the column has microseconds";
  }
  return t;
}

FieldType FieldTypeForColumn(const model::Type& type) {
  using model::TypeKind;
  FieldType t;
  switch (type.kind) {
    case TypeKind::kBool:
      t.kind = FieldKind::kBoolean;
      break;
    case TypeKind::kInt16:
      t.kind = FieldKind::kInt16;
      break;
    case TypeKind::kInt32:
      t.kind = FieldKind::kInt32;
      break;
    case TypeKind::kInt64:
    case TypeKind::kUInt32:
      t.kind = FieldKind::kInt64;
      break;
    case TypeKind::kFloat32:
      t.kind = FieldKind::kFloat32;
      break;
    case TypeKind::kFloat64:
      t.kind = FieldKind::kFloat64;
      break;
    case TypeKind::kDecimal:
      if (type.precision < 0) {
        t.kind = FieldKind::kVariableDecimal;
      } else {
        t.kind = FieldKind::kDecimal;
        t.precision = type.precision;
        t.scale = type.scale;
      }
      break;
    case TypeKind::kJson:
      t.kind = FieldKind::kJson;
      break;
    case TypeKind::kUuid:
      t.kind = FieldKind::kUuid;
      break;
    case TypeKind::kXml:
      t.kind = FieldKind::kXml;
      break;
    case TypeKind::kBytes:
      t.kind = FieldKind::kBytes;
      break;
    case TypeKind::kDate:
      t.kind = FieldKind::kDate;
      break;
    case TypeKind::kTime:
      t.kind = TimePrecision(type.precision) <= 3 ? FieldKind::kTimeMillis : FieldKind::kTimeMicros;
      break;
    case TypeKind::kTimestamp:
      t.kind = TimePrecision(type.precision) <= 3 ? FieldKind::kTimestampMillis : FieldKind::kTimestampMicros;
      break;
    case TypeKind::kTimestampTz:
      t.kind = FieldKind::kZonedTimestamp;
      t.fraction_digits = TimePrecision(type.precision);
      break;
    case TypeKind::kTimeTz:
      t.kind = FieldKind::kZonedTime;
      break;
    default:  // text, enums, arrays, composites, other types: their PostgreSQL text
      t.kind = FieldKind::kString;
      break;
  }
  return t;
}

void AppendFieldSchema(std::string& out, const FieldType& type, bool optional, const std::string* default_json,
                       std::string_view field_name, const std::string* doc) {
  std::string_view connect_type = "string", name;
  switch (type.kind) {
    case FieldKind::kBoolean:
      connect_type = "boolean";
      break;
    case FieldKind::kInt16:
      connect_type = "int16";
      break;
    case FieldKind::kInt32:
      connect_type = "int32";
      break;
    case FieldKind::kInt64:
      connect_type = "int64";
      break;
    case FieldKind::kFloat32:
      connect_type = "float";
      break;
    case FieldKind::kFloat64:
      connect_type = "double";
      break;
    case FieldKind::kDecimal:
      connect_type = "bytes";
      name = "org.apache.kafka.connect.data.Decimal";
      break;
    case FieldKind::kVariableDecimal:
      connect_type = "struct";
      name = "io.debezium.data.VariableScaleDecimal";
      break;
    case FieldKind::kString:
    case FieldKind::kUnsupported:
    case FieldKind::kDecimalString:
    case FieldKind::kBytesBase64:
    case FieldKind::kBytesBase64Url:
    case FieldKind::kBytesHex:
    case FieldKind::kHstore:
      break;
    case FieldKind::kDecimalDouble:
      connect_type = "double";
      break;
    case FieldKind::kIsoDate:
      name = "io.debezium.time.IsoDate";
      break;
    case FieldKind::kIsoTime:
      name = "io.debezium.time.IsoTime";
      break;
    case FieldKind::kIsoTimestamp:
      name = "io.debezium.time.IsoTimestamp";
      break;
    case FieldKind::kInterval:
      name = "io.debezium.time.Interval";
      break;
    case FieldKind::kJson:
      name = "io.debezium.data.Json";
      break;
    case FieldKind::kUuid:
      name = "io.debezium.data.Uuid";
      break;
    case FieldKind::kXml:
      name = "io.debezium.data.Xml";
      break;
    case FieldKind::kBytes:
      connect_type = "bytes";
      break;
    case FieldKind::kDate:
      connect_type = "int32";
      name = "io.debezium.time.Date";
      break;
    case FieldKind::kTimeMillis:
      connect_type = "int32";
      name = "io.debezium.time.Time";
      break;
    case FieldKind::kTimeMicros:
      connect_type = "int64";
      name = "io.debezium.time.MicroTime";
      break;
    case FieldKind::kTimeNanos:
      connect_type = "int64";
      name = "io.debezium.time.NanoTime";
      break;
    case FieldKind::kTimestampMillis:
      connect_type = "int64";
      name = "io.debezium.time.Timestamp";
      break;
    case FieldKind::kTimestampMicros:
      connect_type = "int64";
      name = "io.debezium.time.MicroTimestamp";
      break;
    case FieldKind::kTimestampNanos:
      connect_type = "int64";
      name = "io.debezium.time.NanoTimestamp";
      break;
    case FieldKind::kZonedTimestamp:
      name = "io.debezium.time.ZonedTimestamp";
      break;
    case FieldKind::kZonedTime:
      name = "io.debezium.time.ZonedTime";
      break;
  }
  out += "{\"type\":\"";
  out += connect_type;
  out += '"';
  if (type.kind == FieldKind::kVariableDecimal) {
    out +=
        ",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
        "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}]";
  }
  out += optional ? ",\"optional\":true" : ",\"optional\":false";
  if (!name.empty()) {
    out += ",\"name\":\"";
    out += name;
    out += "\",\"version\":1";
  }
  if (doc != nullptr) {
    out += ",\"doc\":";
    AppendJsonString(out, *doc);
  } else if (type.kind == FieldKind::kVariableDecimal) {
    out += ",\"doc\":\"Variable scaled decimal\"";
  }
  if (type.kind == FieldKind::kDecimal) {
    out += ",\"parameters\":{\"scale\":\"";
    AppendInt(out, type.scale);
    out += "\",\"connect.decimal.precision\":\"";
    AppendInt(out, type.precision);
    out += "\"}";
  }
  if (default_json != nullptr) {
    out += ",\"default\":";
    out += *default_json;
  }
  out += ",\"field\":";
  AppendJsonString(out, field_name);
  out += '}';
}

std::string FallbackValueJson(const FieldType& type) {
  switch (type.kind) {
    case FieldKind::kBoolean:
      return "false";
    case FieldKind::kInt16:
    case FieldKind::kInt32:
    case FieldKind::kInt64:
    case FieldKind::kDate:
    case FieldKind::kTimeMillis:
    case FieldKind::kTimeMicros:
    case FieldKind::kTimeNanos:
    case FieldKind::kTimestampMillis:
    case FieldKind::kTimestampMicros:
    case FieldKind::kTimestampNanos:
      return "0";
    case FieldKind::kFloat32:
    case FieldKind::kFloat64:
    case FieldKind::kDecimalDouble:
      return "0.0";
    case FieldKind::kDecimalString:
      return "\"0\"";
    case FieldKind::kBytesBase64:
    case FieldKind::kBytesBase64Url:
    case FieldKind::kBytesHex:
    case FieldKind::kHstore:
      return "\"\"";
    case FieldKind::kIsoDate:
      return "\"1970-01-01Z\"";
    case FieldKind::kIsoTime:
      return "\"00:00:00Z\"";
    case FieldKind::kIsoTimestamp:
      return "\"1970-01-01T00:00:00Z\"";
    case FieldKind::kInterval:
      return "\"P0Y0M0DT0H0M0S\"";
    case FieldKind::kDecimal:
      return "\"AA==\"";  // BigDecimal.ZERO at the column's scale: unscaled 0 = one 0x00 byte
    case FieldKind::kVariableDecimal:
      return "{\"scale\":0,\"value\":\"AA==\"}";
    case FieldKind::kString:
    case FieldKind::kJson:
    case FieldKind::kUuid:
    case FieldKind::kXml:
    case FieldKind::kBytes:
    case FieldKind::kUnsupported:
      return "\"\"";
    case FieldKind::kZonedTimestamp:
      return "\"1970-01-01T00:00:00Z\"";  // formatted without a fixed fraction width (JdbcValueConverters)
    case FieldKind::kZonedTime:
      return "\"00:00:00Z\"";
  }
  return "null";
}

std::optional<std::string> DefaultValueJson(const DebeziumColumn& column, const FieldType& type) {
  if (!column.default_expression) return std::nullopt;
  std::string_view expr = *column.default_expression;
  std::string_view placeholder;
  bool trim = true, null_prefix = true;
  switch (column.type.kind) {
    case model::TypeKind::kBool:
      placeholder = "false";
      break;
    case model::TypeKind::kInt16:
    case model::TypeKind::kInt32:
    case model::TypeKind::kInt64:
      placeholder = "0";
      break;
    case model::TypeKind::kFloat32:
    case model::TypeKind::kFloat64:
    case model::TypeKind::kDecimal:
      placeholder = "0.0";
      break;
    case model::TypeKind::kText:
    case model::TypeKind::kXml:
      trim = null_prefix = false;
      break;
    case model::TypeKind::kJson:
      placeholder = "{}";
      trim = null_prefix = false;
      break;
    case model::TypeKind::kUuid:
      placeholder = "00000000-0000-0000-0000-000000000000";
      null_prefix = false;
      break;
    case model::TypeKind::kDate:
    case model::TypeKind::kTimestamp:
    case model::TypeKind::kTimestampTz:
      placeholder = "1970-01-01";
      null_prefix = false;
      break;
    case model::TypeKind::kTime:
      placeholder = "00:00";
      null_prefix = false;
      break;
    default:
      return std::nullopt;  // Debezium has no default-value mapper for this type
  }
  if (trim) expr = Trim(expr);
  if (null_prefix && expr.substr(0, 6) == "NULL::") return std::nullopt;
  const std::optional<std::string> raw = ExtractDefault(expr, placeholder);
  if (!raw) return std::nullopt;
  bool ok = false;
  std::string json;
  switch (column.type.kind) {
    case model::TypeKind::kBool:
      return Lower(*raw) == "true" ? "true" : "false";
    case model::TypeKind::kInt16:
    case model::TypeKind::kInt32:
    case model::TypeKind::kInt64: {
      const int64_t lo = column.type.kind == model::TypeKind::kInt16   ? std::numeric_limits<int16_t>::min()
                         : column.type.kind == model::TypeKind::kInt32 ? std::numeric_limits<int32_t>::min()
                                                                       : std::numeric_limits<int64_t>::min();
      const int64_t hi = column.type.kind == model::TypeKind::kInt16   ? std::numeric_limits<int16_t>::max()
                         : column.type.kind == model::TypeKind::kInt32 ? std::numeric_limits<int32_t>::max()
                                                                       : std::numeric_limits<int64_t>::max();
      const std::optional<int64_t> v = ParseJavaInt(*raw, lo, hi);
      if (!v) return std::nullopt;
      AppendInt(json, *v);
      return json;
    }
    case model::TypeKind::kFloat32:
    case model::TypeKind::kFloat64: {
      const std::optional<double> v = ParseJavaDouble(*raw);
      if (!v) return std::nullopt;
      if (column.type.kind == model::TypeKind::kFloat32) {
        AppendJavaFloat(json, static_cast<float>(*v));
      } else {
        AppendJavaDouble(json, *v);
      }
      return json;
    }
    case model::TypeKind::kDecimal: {
      if (type.kind != FieldKind::kDecimal) return std::nullopt;  // a Struct cannot be a Connect default
      const std::optional<std::string> plain = ParseJavaBigDecimal(*raw);
      if (!plain) return std::nullopt;
      json = Json(type, *plain, &ok);
      break;
    }
    case model::TypeKind::kUuid: {
      const std::string& u = *raw;
      if (u.size() != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' ||
          !IsHex(std::string_view(u).substr(0, 8)) || !IsHex(std::string_view(u).substr(9, 4)) ||
          !IsHex(std::string_view(u).substr(14, 4)) || !IsHex(std::string_view(u).substr(19, 4)) ||
          !IsHex(std::string_view(u).substr(24, 12))) {
        return std::nullopt;
      }
      return Json(type, Lower(u), &ok);
    }
    case model::TypeKind::kDate: {
      std::string v = *raw;
      const size_t space = v.find(' ');
      if (space != std::string::npos) v.resize(space);  // a timestamp literal: its date
      json = Json(type, v, &ok);
      break;
    }
    case model::TypeKind::kTime: {
      std::string v = *raw;
      if (v.size() == 5) v += ":00";
      json = Json(type, v, &ok);
      break;
    }
    case model::TypeKind::kTimestamp:
    case model::TypeKind::kTimestampTz:
      json = Json(type, CompleteDateTime(*raw), &ok);
      break;
    default:  // text, varchar, bpchar, xml, json, jsonb
      json = Json(type, *raw, &ok);
      break;
  }
  if (!ok) return std::nullopt;
  return json;
}

}  // namespace streamshop::debezium
