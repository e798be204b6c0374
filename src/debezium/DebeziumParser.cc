#include "debezium/DebeziumParser.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "debezium/DebeziumValueCodec.h"
#include "debezium/JsonWriter.h"
#include "debezium/TopicNames.h"

namespace streamshop::debezium {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr int kMaxDecimalScale = 20000;         // PostgreSQL's dscale tops out at 16383
constexpr size_t kMaxDecimalBytes = 64u << 10;  // ~157k decimal digits, beyond PostgreSQL's numeric
constexpr int kMaxArrayDepth = 6;               // PostgreSQL arrays have at most 6 dimensions

Status Fail(std::string message) { return Status::Fatal(std::move(message)); }

const char* TypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
      return "an integer";
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

// ---- field types from Connect schemas -------------------------------------------------------------------------
struct FieldSpec {
  FieldType type;
  bool is_array = false;
  element items;                         // is_array: the element schema
  const DebeziumModes* modes = nullptr;  // is_array: for the element schema
};

std::optional<std::string_view> StringMember(object o, std::string_view key) {
  std::string_view v;
  if (o.at_key(key).get_string().get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A small non-negative integer parameter ("12"), or -1.
int IntParameter(object params, std::string_view key) {
  std::string_view text;
  int v = -1;
  if (params.at_key(key).get_string().get(text) != simdjson::SUCCESS) return -1;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v < 0) return -1;
  return v;
}

constexpr std::string_view kPropagateHint =
    "set column.propagate.source.type (or datatype.propagate.source.type) on the connector so that the schema names "
    "the column type";

// The connector's non-default modes: what a field of Connect type `type` with logical name `name` (empty: none)
// holds, given the source-type parameters already in `t` and the sink's `modes`. Refuses what is ambiguous.
Status ResolveModes(FieldType& t, std::string_view type, std::string_view name, const DebeziumModes& modes,
                    std::string_view path) {
  const std::string& source = t.source_type;
  const bool numeric = source == "NUMERIC" || source == "DECIMAL";
  if (name.empty() && type == "string") {
    if (numeric) {
      t.kind = FieldKind::kDecimalString;
    } else if (source == "BYTEA") {
      switch (modes.binary) {
        case BinaryHandlingMode::kBytes:
          return Fail(fmt::format(
              "field {}: a bytea column sent as a string, and the sink was not told how the connector encodes it: "
              "run the sink with --debezium-binary-handling-mode set as the connector's binary.handling.mode "
              "(base64, base64-url-safe or hex)",
              path));
        case BinaryHandlingMode::kBase64:
          t.kind = FieldKind::kBytesBase64;
          break;
        case BinaryHandlingMode::kBase64UrlSafe:
          t.kind = FieldKind::kBytesBase64Url;
          break;
        case BinaryHandlingMode::kHex:
          t.kind = FieldKind::kBytesHex;
          break;
      }
    } else if (source.empty() &&
               (modes.decimal == DecimalHandlingMode::kString || modes.binary != BinaryHandlingMode::kBytes)) {
      return Fail(fmt::format(
          "field {}: a plain string field is ambiguous under {}: it may be text{}{}; {}", path,
          modes.decimal == DecimalHandlingMode::kString && modes.binary != BinaryHandlingMode::kBytes
              ? fmt::format("decimal.handling.mode=string and binary.handling.mode={}", ModeName(modes.binary))
          : modes.decimal == DecimalHandlingMode::kString
              ? std::string("decimal.handling.mode=string")
              : fmt::format("binary.handling.mode={}", ModeName(modes.binary)),
          modes.decimal == DecimalHandlingMode::kString ? ", a numeric" : "",
          modes.binary != BinaryHandlingMode::kBytes ? " or encoded bytea" : "", kPropagateHint));
    }
  } else if (name.empty() && type == "double") {
    if (numeric) {
      t.kind = FieldKind::kDecimalDouble;
      t.logical_name = "double";
      t.reason =
          "the connector's decimal.handling.mode=double rounded a numeric column to a double; the exact value is "
          "lost (set decimal.handling.mode=precise or string)";
    } else if (source.empty() && modes.decimal == DecimalHandlingMode::kDouble) {
      return Fail(fmt::format(
          "field {}: a double field is ambiguous under decimal.handling.mode=double: it may be a double precision "
          "column or a rounded numeric; {}",
          path, kPropagateHint));
    }
  } else if (name == "io.debezium.data.Json" && source == "HSTORE") {
    t.kind = FieldKind::kHstore;
  } else if (name == "org.apache.kafka.connect.data.Time" || name == "org.apache.kafka.connect.data.Timestamp") {
    // time.precision.mode=connect: milliseconds, exact only for columns of at most 3 fractional digits.
    if (t.source_scale < 0) {
      return Fail(fmt::format(
          "field {}: {} (time.precision.mode=connect) keeps milliseconds only, and the schema does not say whether "
          "the column had more; {}",
          path, name, kPropagateHint));
    }
    if (t.source_scale > 3) {
      t.kind = FieldKind::kUnsupported;
      t.logical_name = std::string(name);
      t.reason = fmt::format(
          "time.precision.mode=connect cut a column of {} fractional digits to milliseconds (use adaptive, "
          "adaptive_time_microseconds or isostring)",
          t.source_scale);
    }
  }
  return Status::Ok();
}

Result<FieldSpec> SpecFromSchema(element schema, std::string_view path, const DebeziumModes& modes) {
  object o;
  if (schema.get_object().get(o) != simdjson::SUCCESS) return Fail(fmt::format("schema of {}: not an object", path));
  const std::optional<std::string_view> type = StringMember(o, "type");
  if (!type) return Fail(fmt::format("schema of {}: missing \"type\"", path));
  const std::string_view name = StringMember(o, "name").value_or("");
  FieldSpec spec;
  FieldType& t = spec.type;
  auto unsupported = [&]() {
    t.kind = FieldKind::kUnsupported;
    t.logical_name = name.empty() ? std::string(*type) : std::string(name);
  };
  if (*type == "boolean") {
    t.kind = FieldKind::kBoolean;
  } else if (*type == "int8" || *type == "int16") {
    t.kind = FieldKind::kInt16;
  } else if (*type == "int32") {
    if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date") {
      t.kind = FieldKind::kDate;
    } else if (name == "io.debezium.time.Time" || name == "org.apache.kafka.connect.data.Time") {
      t.kind = FieldKind::kTimeMillis;
    } else {
      t.kind = FieldKind::kInt32;
    }
  } else if (*type == "int64") {
    if (name == "io.debezium.time.MicroTime") {
      t.kind = FieldKind::kTimeMicros;
    } else if (name == "io.debezium.time.NanoTime") {
      t.kind = FieldKind::kTimeNanos;
    } else if (name == "io.debezium.time.Timestamp" || name == "org.apache.kafka.connect.data.Timestamp") {
      t.kind = FieldKind::kTimestampMillis;
    } else if (name == "io.debezium.time.MicroTimestamp") {
      t.kind = FieldKind::kTimestampMicros;
    } else if (name == "io.debezium.time.NanoTimestamp") {
      t.kind = FieldKind::kTimestampNanos;
    } else if (name == "io.debezium.time.MicroDuration") {
      unsupported();
      t.reason =
          "interval.handling.mode=numeric approximates months as 30.4375 days; set interval.handling.mode=string on "
          "the connector";
    } else {
      t.kind = FieldKind::kInt64;
    }
  } else if (*type == "float") {
    t.kind = FieldKind::kFloat32;
  } else if (*type == "double") {
    t.kind = FieldKind::kFloat64;
  } else if (*type == "string") {
    if (name == "io.debezium.time.ZonedTimestamp") {
      t.kind = FieldKind::kZonedTimestamp;
    } else if (name == "io.debezium.time.ZonedTime") {
      t.kind = FieldKind::kZonedTime;
    } else if (name == "io.debezium.data.Json") {
      t.kind = FieldKind::kJson;
    } else if (name == "io.debezium.data.Uuid") {
      t.kind = FieldKind::kUuid;
    } else if (name == "io.debezium.data.Xml") {
      t.kind = FieldKind::kXml;
    } else if (name == "io.debezium.time.IsoDate") {
      t.kind = FieldKind::kIsoDate;
    } else if (name == "io.debezium.time.IsoTime") {
      t.kind = FieldKind::kIsoTime;
    } else if (name == "io.debezium.time.IsoTimestamp") {
      t.kind = FieldKind::kIsoTimestamp;
    } else if (name == "io.debezium.time.Interval") {
      t.kind = FieldKind::kInterval;
    } else {
      t.kind = FieldKind::kString;  // text, Enum, Ltree, inet, ranges, …: the string is PostgreSQL's text
    }
  } else if (*type == "bytes") {
    if (name == "org.apache.kafka.connect.data.Decimal") {
      t.kind = FieldKind::kDecimal;
      object params;
      std::string_view scale_text;
      int scale = 0;
      if (o.at_key("parameters").get_object().get(params) != simdjson::SUCCESS ||
          params.at_key("scale").get_string().get(scale_text) != simdjson::SUCCESS) {
        return Fail(fmt::format("schema of {}: Decimal without parameters.scale", path));
      }
      const auto r = std::from_chars(scale_text.data(), scale_text.data() + scale_text.size(), scale);
      if (r.ec != std::errc() || r.ptr != scale_text.data() + scale_text.size() || scale > kMaxDecimalScale ||
          scale < -kMaxDecimalScale) {
        return Fail(fmt::format("schema of {}: invalid Decimal scale '{}'", path, scale_text.substr(0, 32)));
      }
      t.scale = scale;
      std::string_view precision_text;
      int precision = 0;
      if (params.at_key("connect.decimal.precision").get_string().get(precision_text) == simdjson::SUCCESS) {
        const auto p = std::from_chars(precision_text.data(), precision_text.data() + precision_text.size(), precision);
        if (p.ec == std::errc() && p.ptr == precision_text.data() + precision_text.size() && precision > 0 &&
            precision <= 1000) {
          t.precision = precision;
        }
      }
    } else if (name.empty()) {
      t.kind = FieldKind::kBytes;
    } else {
      unsupported();  // io.debezium.data.Bits, geometry WKB, …
    }
  } else if (*type == "struct") {
    if (name == "io.debezium.data.VariableScaleDecimal") {
      t.kind = FieldKind::kVariableDecimal;
    } else {
      unsupported();
    }
  } else if (*type == "array") {
    element items;
    if (o.at_key("items").get(items) != simdjson::SUCCESS) {
      return Fail(fmt::format("schema of {}: array without \"items\"", path));
    }
    spec.is_array = true;
    spec.items = items;
  } else if (*type == "map") {
    // hstore.handling.mode=map: map<string, optional string> is PostgreSQL's hstore.
    object keys, values;
    std::string_view key_type, value_type;
    if (o.at_key("keys").get_object().get(keys) == simdjson::SUCCESS &&
        o.at_key("values").get_object().get(values) == simdjson::SUCCESS &&
        keys.at_key("type").get_string().get(key_type) == simdjson::SUCCESS &&
        values.at_key("type").get_string().get(value_type) == simdjson::SUCCESS && key_type == "string" &&
        value_type == "string") {
      t.kind = FieldKind::kHstore;
    } else {
      unsupported();
    }
  } else {
    return Fail(fmt::format("schema of {}: unknown Connect type '{}'", path, type->substr(0, 32)));
  }
  object params;
  if (o.at_key("parameters").get_object().get(params) == simdjson::SUCCESS) {
    std::string_view source;
    if (params.at_key("__debezium.source.column.type").get_string().get(source) == simdjson::SUCCESS) {
      t.source_type = Upper(source.substr(0, 64));
      t.source_length = IntParameter(params, "__debezium.source.column.length");
      t.source_scale = IntParameter(params, "__debezium.source.column.scale");
    }
  }
  spec.modes = &modes;
  SS_RETURN_IF_ERROR(ResolveModes(t, *type, name, modes, path));
  return spec;
}

// ---- values ---------------------------------------------------------------------------------------------------
Result<int64_t> GetInt(element v, std::string_view path, std::string_view expected) {
  int64_t i = 0;
  if (v.type() == element_type::INT64 && v.get_int64().get(i) == simdjson::SUCCESS) return i;
  if (v.type() == element_type::UINT64) return Fail(fmt::format("field {}: integer out of range", path));
  return Fail(fmt::format("field {}: expected {}, got {}", path, expected, TypeName(v.type())));
}

Result<std::string_view> GetString(element v, std::string_view path, std::string_view expected) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) {
    return Fail(fmt::format("field {}: expected {}, got {}", path, expected, TypeName(v.type())));
  }
  return s;
}

Result<double> GetFloating(element v, std::string_view path) {
  switch (v.type()) {
    case element_type::DOUBLE:
    case element_type::INT64:
    case element_type::UINT64: {
      double d = 0;
      if (v.get_double().get(d) != simdjson::SUCCESS) return Fail(fmt::format("field {}: bad number", path));
      return d;
    }
    case element_type::STRING: {
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS) return Fail(fmt::format("field {}: bad string", path));
      if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
      if (s == "Infinity") return HUGE_VAL;
      if (s == "-Infinity") return -HUGE_VAL;
      return Fail(fmt::format("field {}: expected a number or \"NaN\"/\"Infinity\"/\"-Infinity\"", path));
    }
    default:
      return Fail(fmt::format("field {}: expected a number, got {}", path, TypeName(v.type())));
  }
}

Result<std::string> DecodeBase64(element v, std::string_view path, std::string_view what, size_t max_bytes) {
  SS_ASSIGN_OR_RETURN(std::string_view s, GetString(v, path, what));
  if (s.size() / 4 * 3 > max_bytes) return Fail(fmt::format("field {}: {} too large", path, what));
  std::string bytes;
  if (!Base64Decode(s, bytes)) return Fail(fmt::format("field {}: expected {}, got invalid base64", path, what));
  return bytes;
}

std::string CheckedTimestamp(int64_t micros) {
  if (micros == kDebeziumInfinityMicros) return "infinity";
  if (micros == kDebeziumNegInfinityMicros) return "-infinity";
  return PgTimestamp(micros, false);
}

// PostgreSQL array literal element: quoted unless it is safe bare.
void AppendArrayElement(std::string& out, std::string_view text) {
  bool quote = text.empty();
  if (text.size() == 4) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    quote = lower == "null";
  }
  for (char c : text) {
    if (c == '{' || c == '}' || c == ',' || c == '"' || c == '\\' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
        c == '\v' || c == '\f') {
      quote = true;
    }
  }
  if (!quote) {
    out += text;
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

struct Decoded {
  std::optional<std::string> text;
  bool unchanged = false;
};

Result<Decoded> DecodeValue(const FieldSpec& spec, element v, const std::string& path, int depth);

Result<Decoded> DecodeArray(const FieldSpec& spec, element v, const std::string& path, int depth) {
  if (depth >= kMaxArrayDepth) return Fail(fmt::format("field {}: arrays nested too deeply", path));
  array a;
  if (v.get_array().get(a) != simdjson::SUCCESS) {
    return Fail(fmt::format("field {}: expected an array, got {}", path, TypeName(v.type())));
  }
  static const DebeziumModes kDefaults;
  SS_ASSIGN_OR_RETURN(FieldSpec item_spec,
                      SpecFromSchema(spec.items, path + "[]", spec.modes ? *spec.modes : kDefaults));
  std::string out = "{";
  size_t n = 0;
  for (element item : a) {
    if (n++ > 0) out.push_back(',');
    SS_ASSIGN_OR_RETURN(Decoded d, DecodeValue(item_spec, item, path + "[]", depth + 1));
    if (!d.text) {
      out += "NULL";
    } else if (item_spec.is_array) {
      out += *d.text;
    } else {
      AppendArrayElement(out, *d.text);
    }
  }
  out.push_back('}');
  return Decoded{std::move(out), false};
}

Result<Decoded> DecodeValue(const FieldSpec& spec, element v, const std::string& path, int depth) {
  if (v.is_null()) return Decoded{};
  if (spec.is_array) return DecodeArray(spec, v, path, depth);
  const FieldType& t = spec.type;
  switch (t.kind) {
    case FieldKind::kBoolean: {
      bool b = false;
      if (v.get_bool().get(b) != simdjson::SUCCESS) {
        return Fail(fmt::format("field {}: expected a boolean, got {}", path, TypeName(v.type())));
      }
      return Decoded{b ? "t" : "f", false};
    }
    case FieldKind::kInt16:
    case FieldKind::kInt32:
    case FieldKind::kInt64: {
      SS_ASSIGN_OR_RETURN(int64_t i, GetInt(v, path, "an integer"));
      if ((t.kind == FieldKind::kInt16 && (i < INT16_MIN || i > INT16_MAX)) ||
          (t.kind == FieldKind::kInt32 && (i < INT32_MIN || i > INT32_MAX))) {
        return Fail(fmt::format("field {}: integer {} out of range", path, i));
      }
      return Decoded{std::to_string(i), false};
    }
    case FieldKind::kFloat32: {
      SS_ASSIGN_OR_RETURN(double d, GetFloating(v, path));
      if (std::isnan(d) || std::isinf(d)) return Decoded{PgFloat4(static_cast<float>(d)), false};
      // Through the shortest decimal text, so that the float is the one the writer meant (no double rounding).
      char buf[64];
      const auto w = std::to_chars(buf, buf + sizeof(buf), d);
      float f = 0;
      const auto r = std::from_chars(buf, w.ptr, f);
      if (r.ec != std::errc()) return Fail(fmt::format("field {}: {} out of range for real", path, d));
      return Decoded{PgFloat4(f), false};
    }
    case FieldKind::kFloat64: {
      SS_ASSIGN_OR_RETURN(double d, GetFloating(v, path));
      return Decoded{PgFloat8(d), false};
    }
    case FieldKind::kDecimal: {
      SS_ASSIGN_OR_RETURN(std::string bytes, DecodeBase64(v, path, "a base64 Decimal string", kMaxDecimalBytes));
      Result<std::string> text = UnscaledBytesToDecimalText(bytes, t.scale);
      if (!text.ok()) return Fail(fmt::format("field {}: {}", path, text.status().message()));
      return Decoded{std::move(text).value(), false};
    }
    case FieldKind::kVariableDecimal: {
      object o;
      element scale_el, value_el;
      if (v.get_object().get(o) != simdjson::SUCCESS || o.at_key("scale").get(scale_el) != simdjson::SUCCESS ||
          o.at_key("value").get(value_el) != simdjson::SUCCESS) {
        return Fail(fmt::format("field {}: expected a VariableScaleDecimal {{scale, value}}", path));
      }
      SS_ASSIGN_OR_RETURN(int64_t scale, GetInt(scale_el, path + ".scale", "an integer scale"));
      if (scale > kMaxDecimalScale || scale < -kMaxDecimalScale) {
        return Fail(fmt::format("field {}: scale {} out of range", path, scale));
      }
      SS_ASSIGN_OR_RETURN(std::string bytes,
                          DecodeBase64(value_el, path + ".value", "a base64 unscaled value", kMaxDecimalBytes));
      Result<std::string> text = UnscaledBytesToDecimalText(bytes, static_cast<int>(scale));
      if (!text.ok()) return Fail(fmt::format("field {}: {}", path, text.status().message()));
      return Decoded{std::move(text).value(), false};
    }
    case FieldKind::kString:
    case FieldKind::kJson:
    case FieldKind::kUuid:
    case FieldKind::kXml: {
      SS_ASSIGN_OR_RETURN(std::string_view s, GetString(v, path, "a string"));
      if (s == kUnavailableValuePlaceholder) return Decoded{std::nullopt, true};
      return Decoded{std::string(s), false};
    }
    case FieldKind::kBytes: {
      SS_ASSIGN_OR_RETURN(std::string bytes,
                          DecodeBase64(v, path, "a base64 string", std::numeric_limits<size_t>::max()));
      if (bytes == kUnavailableValuePlaceholder) return Decoded{std::nullopt, true};
      return Decoded{PgByteaHex(bytes), false};
    }
    case FieldKind::kDate: {
      SS_ASSIGN_OR_RETURN(int64_t days, GetInt(v, path, "an integer (days since epoch)"));
      if (days < INT32_MIN || days > INT32_MAX) return Fail(fmt::format("field {}: date out of range", path));
      if (days == DebeziumInfinityDateDays(true)) return Decoded{"infinity", false};
      if (days == DebeziumInfinityDateDays(false)) return Decoded{"-infinity", false};
      return Decoded{PgDate(days), false};
    }
    case FieldKind::kTimeMillis:
    case FieldKind::kTimeMicros:
    case FieldKind::kTimeNanos: {
      SS_ASSIGN_OR_RETURN(int64_t n, GetInt(v, path, "an integer (time past midnight)"));
      const int64_t per_micro = t.kind == FieldKind::kTimeNanos ? 1000 : 1;
      const int64_t micro_mul = t.kind == FieldKind::kTimeMillis ? 1000 : 1;
      if (n < 0 || n / per_micro > 86'400'000'000 / micro_mul || n % per_micro != 0) {
        return Fail(fmt::format("field {}: time {} out of range", path, n));
      }
      return Decoded{PgTime(n / per_micro * micro_mul, false), false};
    }
    case FieldKind::kTimestampMillis: {
      SS_ASSIGN_OR_RETURN(int64_t ms, GetInt(v, path, "an integer (ms since epoch)"));
      if (ms == kDebeziumInfinityMicros / 1000) return Decoded{"infinity", false};
      if (ms == kDebeziumNegInfinityMicros / 1000) return Decoded{"-infinity", false};
      int64_t micros = 0;
      if (__builtin_mul_overflow(ms, int64_t{1000}, &micros)) {
        return Fail(fmt::format("field {}: timestamp out of range", path));
      }
      return Decoded{CheckedTimestamp(micros), false};
    }
    case FieldKind::kTimestampMicros: {
      SS_ASSIGN_OR_RETURN(int64_t micros, GetInt(v, path, "an integer (µs since epoch)"));
      return Decoded{CheckedTimestamp(micros), false};
    }
    case FieldKind::kTimestampNanos: {
      SS_ASSIGN_OR_RETURN(int64_t nanos, GetInt(v, path, "an integer (ns since epoch)"));
      if (nanos == std::numeric_limits<int64_t>::max()) return Decoded{"infinity", false};
      if (nanos == std::numeric_limits<int64_t>::min()) return Decoded{"-infinity", false};
      if (nanos % 1000 != 0) return Fail(fmt::format("field {}: sub-microsecond timestamp", path));
      return Decoded{PgTimestamp(nanos / 1000, false), false};
    }
    case FieldKind::kZonedTimestamp: {
      SS_ASSIGN_OR_RETURN(std::string_view s, GetString(v, path, "an ISO-8601 timestamp string"));
      Result<std::string> text = PgTimestamptzFromIso(s);
      if (!text.ok()) return Fail(fmt::format("field {}: {}", path, text.status().message()));
      return Decoded{std::move(text).value(), false};
    }
    case FieldKind::kZonedTime: {
      SS_ASSIGN_OR_RETURN(std::string_view s, GetString(v, path, "an ISO-8601 time string"));
      Result<std::string> text = PgTimetzFromIso(s);
      if (!text.ok()) return Fail(fmt::format("field {}: {}", path, text.status().message()));
      return Decoded{std::move(text).value(), false};
    }
    case FieldKind::kUnsupported:
    case FieldKind::kDecimalDouble:
      if (!t.reason.empty()) {
        return Fail(fmt::format("field {}: Connect type {}: {}", path, t.logical_name.substr(0, 80), t.reason));
      }
      return Fail(fmt::format("field {}: Connect type {} has no PostgreSQL text form we support", path,
                              t.logical_name.substr(0, 80)));
    case FieldKind::kDecimalString:
    case FieldKind::kBytesBase64:
    case FieldKind::kBytesBase64Url:
    case FieldKind::kBytesHex:
    case FieldKind::kIsoDate:
    case FieldKind::kIsoTime:
    case FieldKind::kIsoTimestamp:
    case FieldKind::kInterval: {
      SS_ASSIGN_OR_RETURN(std::string_view s, GetString(v, path, "a string"));
      if (s == kUnavailableValuePlaceholder) return Decoded{std::nullopt, true};
      Result<std::string> text = Status::Ok();
      switch (t.kind) {
        case FieldKind::kDecimalString:
          text = PgNumericFromPlainText(s);
          break;
        case FieldKind::kBytesBase64:
          text = PgByteaFromText(s, BinaryHandlingMode::kBase64);
          break;
        case FieldKind::kBytesBase64Url:
          text = PgByteaFromText(s, BinaryHandlingMode::kBase64UrlSafe);
          break;
        case FieldKind::kBytesHex:
          text = PgByteaFromText(s, BinaryHandlingMode::kHex);
          break;
        case FieldKind::kIsoDate:
          text = PgDateFromIso(s);
          break;
        case FieldKind::kIsoTime:
          text = PgTimeFromIso(s);
          break;
        case FieldKind::kIsoTimestamp:
          text = PgTimestampFromIso(s);
          break;
        default:
          text = PgIntervalFromIso(s);
          break;
      }
      if (!text.ok()) return Fail(fmt::format("field {}: {}", path, text.status().message()));
      return Decoded{std::move(text).value(), false};
    }
    case FieldKind::kHstore: {
      // map: a JSON object; json: a string holding one. Values are strings or null.
      static thread_local simdjson::dom::parser hstore_parser;
      object o;
      if (v.type() == element_type::STRING) {
        SS_ASSIGN_OR_RETURN(std::string_view s, GetString(v, path, "a JSON string"));
        if (s == kUnavailableValuePlaceholder) return Decoded{std::nullopt, true};
        if (hstore_parser.parse(s.data(), s.size(), true).get_object().get(o) != simdjson::SUCCESS) {
          return Fail(fmt::format("field {}: expected an hstore as a JSON object", path));
        }
      } else if (v.get_object().get(o) != simdjson::SUCCESS) {
        return Fail(fmt::format("field {}: expected an hstore map, got {}", path, TypeName(v.type())));
      }
      std::vector<std::pair<std::string, std::optional<std::string>>> pairs;
      for (simdjson::dom::key_value_pair kv : o) {
        std::optional<std::string> value;
        if (!kv.value.is_null()) {
          SS_ASSIGN_OR_RETURN(std::string_view s, GetString(kv.value, path, "string hstore values"));
          value = std::string(s);
        }
        pairs.emplace_back(std::string(kv.key), std::move(value));
      }
      return Decoded{PgHstore(std::move(pairs)), false};
    }
  }
  return Fail(fmt::format("field {}: unknown field kind", path));
}

// Where a row's field types come from: the message's struct schema, or the caller's table.
struct RowSchema {
  bool from_message = false;  // schema_fields holds the message's field schemas
  array schema_fields;
  const DebeziumTable* table = nullptr;  // else: the caller's column types, if known
  const DebeziumModes* modes = nullptr;
  bool skip_metadata = false;  // an unwrap SMT's flattened row: leave out its added `__` fields
};

// The fields ExtractNewRecordState adds to a flattened row (add.fields with the default prefix `__`, and the
// `__deleted` marker of delete rewrite), by name without the prefix.
bool IsUnwrapMetadata(std::string_view key) {
  if (!key.starts_with("__")) return false;
  key.remove_prefix(2);
  if (key.starts_with("source_")) return true;
  static constexpr std::string_view kFields[] = {"op",        "deleted",  "lsn",   "table",  "schema",   "db",
                                                 "txId",      "ts_ms",    "ts_us", "ts_ns",  "snapshot", "name",
                                                 "connector", "sequence", "xmin",  "version"};
  return std::find(std::begin(kFields), std::end(kFields), key) != std::end(kFields);
}

Result<FieldSpec> SpecFor(const RowSchema& rs, std::string_view column, const std::string& path) {
  if (rs.from_message) {
    for (element f : rs.schema_fields) {
      object fo;
      std::string_view name;
      if (f.get_object().get(fo) == simdjson::SUCCESS &&
          fo.at_key("field").get_string().get(name) == simdjson::SUCCESS && name == column) {
        return SpecFromSchema(f, path, *rs.modes);
      }
    }
    return Fail(fmt::format("field {}: not declared in the message schema", path));
  }
  if (rs.table != nullptr) {
    for (const DebeziumColumn& c : rs.table->columns) {
      if (c.name == column) return FieldSpec{FieldTypeForColumnIn(c.type, *rs.modes), false, {}, rs.modes};
    }
    return Fail(fmt::format("field {}: table {}.{} has no such column", path, rs.table->schema, rs.table->name));
  }
  return Fail(fmt::format("field {}: the message has no schema and the column's type is unknown", path));
}

Result<ParsedRow> DecodeRow(object o, const RowSchema& rs, std::string_view which) {
  ParsedRow row;
  std::string path;  // "<which>.<field>", for messages; one buffer for all fields
  for (simdjson::dom::key_value_pair kv : o) {
    if (rs.skip_metadata && IsUnwrapMetadata(kv.key)) continue;
    path.assign(which).append(".").append(kv.key);
    SS_ASSIGN_OR_RETURN(FieldSpec spec, SpecFor(rs, kv.key, path));
    SS_ASSIGN_OR_RETURN(Decoded d, DecodeValue(spec, kv.value, path, 0));
    row.push_back(ParsedColumn{std::string(kv.key), std::move(d.text), d.unchanged,
                               rs.from_message ? std::optional<FieldType>(spec.type) : std::nullopt});
  }
  std::vector<std::string_view> names(row.size());
  std::transform(row.begin(), row.end(), names.begin(), [](const ParsedColumn& c) { return std::string_view(c.name); });
  std::sort(names.begin(), names.end());
  if (auto twice = std::adjacent_find(names.begin(), names.end()); twice != names.end()) {
    return Fail(fmt::format("field {}.{}: appears twice", which, *twice));
  }
  return row;
}

Result<ParsedRow> DecodeRow(element v, const RowSchema& rs, std::string_view which) {
  object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) {
    return Fail(fmt::format("field {}: expected an object, got {}", which, TypeName(v.type())));
  }
  return DecodeRow(o, rs, which);
}

// The "fields" array of the struct schema declared for envelope field `name` ("before"/"after"), if any.
bool StructFields(object envelope_schema, std::string_view name, array& fields) {
  array top;
  if (envelope_schema.at_key("fields").get_array().get(top) != simdjson::SUCCESS) return false;
  for (element f : top) {
    object fo;
    std::string_view field;
    if (f.get_object().get(fo) == simdjson::SUCCESS &&
        fo.at_key("field").get_string().get(field) == simdjson::SUCCESS && field == name) {
      return fo.at_key("fields").get_array().get(fields) == simdjson::SUCCESS;
    }
  }
  return false;
}

}  // namespace

const ParsedColumn* FindColumn(const ParsedRow& row, std::string_view name) {
  for (const ParsedColumn& c : row) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// std::hash of strings, transparent: a std::string_view finds a std::string key without a copy.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

struct DebeziumParser::Impl {
  DebeziumParserOptions options;
  // Key schemas carry no propagated source types (Debezium adds them to the value schema only): a key's plain
  // strings are read as text rather than refused as ambiguous.
  DebeziumModes key_modes;
  simdjson::dom::parser parser;

  // The last Connect schema seen on each topic as its exact JSON text, parsed into its own DOM. Every event of a
  // table carries the same schema, most of the event's bytes; a value that is {"schema":<that text>,"payload":…}
  // has only its payload parsed. A schema text is a complete JSON object, so a value that starts with it has
  // exactly that schema; the payload is parsed in full, so nothing invalid gets through.
  struct KnownSchema {
    std::string text;
    simdjson::dom::parser dom;
  };
  std::unordered_map<std::string, std::unique_ptr<KnownSchema>, TextHash, std::equal_to<>> schemas;  // by topic
  static constexpr std::string_view kSchemaHead = R"({"schema":)";
  static constexpr std::string_view kPayloadHead = R"(,"payload":)";

  // Whether `value` begins {"schema":<schema_text>,"payload":
  static bool StartsWithSchema(std::string_view value, std::string_view schema_text) {
    if (!value.starts_with(kSchemaHead)) return false;
    value.remove_prefix(kSchemaHead.size());
    return value.starts_with(schema_text) && value.substr(schema_text.size()).starts_with(kPayloadHead);
  }

  // Parses `text` into a document root, or a Fatal with simdjson's description of the syntax error.
  Result<element> Parse(std::string_view text, std::string_view what) {
    if (text.size() > options.max_message_bytes) {
      return Fail(
          fmt::format("{} of {} bytes exceeds the limit of {} bytes", what, text.size(), options.max_message_bytes));
    }
    element root;
    const simdjson::error_code err = parser.parse(text.data(), text.size(), true).get(root);
    if (err == simdjson::SUCCESS) return root;
    return Fail(fmt::format("invalid JSON in {}: {}", what, simdjson::error_message(err)));
  }

  // The text between a known schema of `topic` and the closing brace, if `value` starts with that schema.
  std::optional<std::string_view> PayloadAfterKnownSchema(std::string_view value, std::string_view topic,
                                                          object& schema) {
    if (!value.ends_with('}')) return std::nullopt;
    auto it = schemas.find(topic);
    if (it == schemas.end() || !StartsWithSchema(value, it->second->text)) return std::nullopt;
    schema = it->second->dom.doc.root().get_object().value_unsafe();
    value.remove_prefix(kSchemaHead.size() + it->second->text.size() + kPayloadHead.size());
    value.remove_suffix(1);
    return value;
  }

  // Keeps `schema` (the "schema" member of `value`) as the known schema of `topic` if `value` spells it compactly,
  // the way Kafka Connect's JsonConverter and our encoder write it.
  void RememberSchema(std::string_view value, std::string_view topic, element schema) {
    if (!value.starts_with(kSchemaHead)) return;
    auto known = std::make_unique<KnownSchema>();
    known->text = simdjson::minify(schema);
    if (!StartsWithSchema(value, known->text)) return;
    object check;
    if (known->dom.parse(known->text).get_object().get(check) != simdjson::SUCCESS) return;
    schemas[std::string(topic)] = std::move(known);
  }

  Result<DebeziumEvent> ParseEnvelope(object payload, std::optional<object> envelope_schema, std::string_view topic,
                                      const TableLookup& lookup);
  Result<DebeziumEvent> ParseFlattened(object payload, std::optional<object> row_schema, std::string_view topic,
                                       const TableLookup& lookup);
  // A Debezium envelope, or (if not) a row flattened by the ExtractNewRecordState SMT.
  Result<DebeziumEvent> ParseRecord(object payload, std::optional<object> schema, std::string_view topic,
                                    const TableLookup& lookup) {
    if (IsEnvelope(payload)) return ParseEnvelope(payload, schema, topic, lookup);
    return ParseFlattened(payload, schema, topic, lookup);
  }
  // A flattened record has no `op` but the SMT's `__` fields; anything else is read (and judged) as an envelope.
  static bool IsEnvelope(object payload) {
    if (payload.at_key("op").error() == simdjson::SUCCESS) return true;
    for (simdjson::dom::key_value_pair kv : payload) {
      if (IsUnwrapMetadata(kv.key)) return false;
    }
    return true;
  }
};

DebeziumParser::DebeziumParser(DebeziumParserOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->key_modes = options.modes;
  impl_->key_modes.decimal = DecimalHandlingMode::kPrecise;
  impl_->key_modes.binary = BinaryHandlingMode::kBytes;
}
DebeziumParser::~DebeziumParser() = default;

Result<DebeziumEvent> DebeziumParser::ParseValue(std::optional<std::string_view> value, std::string_view topic,
                                                 const TableLookup& lookup) {
  auto tombstone = [topic] {
    DebeziumEvent ev;
    ev.tombstone = true;
    TableFromTopic(topic, ev.schema, ev.table);
    return ev;
  };
  if (!value || value->empty()) return tombstone();
  object known_schema, payload;
  if (value->size() <= impl_->options.max_message_bytes) {
    if (auto text = impl_->PayloadAfterKnownSchema(*value, topic, known_schema)) {
      if (impl_->parser.parse(text->data(), text->size(), true).get_object().get(payload) == simdjson::SUCCESS) {
        return impl_->ParseRecord(payload, known_schema, topic, lookup);
      }
    }
  }

  SS_ASSIGN_OR_RETURN(element root, impl_->Parse(*value, "value"));
  object root_obj;
  if (root.is_null()) return tombstone();
  if (root.get_object().get(root_obj) != simdjson::SUCCESS) {
    return Fail(fmt::format("value is {}, not an object", TypeName(root.type())));
  }
  // {"schema": …, "payload": …} or the bare payload.
  element payload_el = root, schema_el;
  const bool has_payload = root_obj.at_key("payload").get(payload_el) == simdjson::SUCCESS;
  const bool has_schema = root_obj.at_key("schema").get(schema_el) == simdjson::SUCCESS;
  if (!has_payload) {
    payload_el = root;
    bool unwrapped = false;
    for (simdjson::dom::key_value_pair kv : root_obj) unwrapped |= IsUnwrapMetadata(kv.key);
    if (has_schema || (root_obj.at_key("op").error() != simdjson::SUCCESS && !unwrapped)) {
      return Fail(
          "missing payload: the value has neither \"payload\" nor \"op\" (nor the __ fields of a flattened "
          "ExtractNewRecordState record)");
    }
  }
  if (payload_el.is_null()) return tombstone();
  object envelope_schema;
  if (payload_el.get_object().get(payload) != simdjson::SUCCESS) {
    return Fail(fmt::format("field payload: expected an object, got {}", TypeName(payload_el.type())));
  }
  const bool had_schema = has_payload && has_schema && schema_el.get_object().get(envelope_schema) == simdjson::SUCCESS;
  if (has_payload && has_schema && !had_schema && !schema_el.is_null()) {
    return Fail(fmt::format("field schema: expected an object, got {}", TypeName(schema_el.type())));
  }
  if (!had_schema) return impl_->ParseRecord(payload, std::nullopt, topic, lookup);
  impl_->RememberSchema(*value, topic, schema_el);
  return impl_->ParseRecord(payload, envelope_schema, topic, lookup);
}

// The envelope's payload, with the Connect schema of the whole value if it had one.
Result<DebeziumEvent> DebeziumParser::Impl::ParseEnvelope(object payload, std::optional<object> envelope_schema,
                                                          std::string_view topic, const TableLookup& lookup) {
  DebeziumEvent ev;
  ev.had_schema = envelope_schema.has_value();

  // op
  element op_el;
  if (payload.at_key("op").get(op_el) != simdjson::SUCCESS) {
    return Fail(
        "missing field op (if the record was flattened by ExtractNewRecordState, configure that SMT with "
        "delete.tombstone.handling.mode=rewrite and add.fields=op,lsn)");
  }
  std::string_view op;
  if (op_el.get_string().get(op) != simdjson::SUCCESS) {
    return Fail(fmt::format("field op: expected a string, got {}", TypeName(op_el.type())));
  }
  if (op.size() != 1 || std::string_view("cudrtm").find(op[0]) == std::string_view::npos) {
    std::string shown;
    AppendJsonString(shown, op.substr(0, 16));
    return Fail(fmt::format("unknown op {}", shown));
  }
  ev.op = static_cast<DebeziumOp>(op[0]);

  // source
  element source_el;
  object source;
  const bool has_source = payload.at_key("source").get(source_el) == simdjson::SUCCESS && !source_el.is_null();
  if (has_source) {
    if (source_el.get_object().get(source) != simdjson::SUCCESS) {
      return Fail(fmt::format("field source: expected an object, got {}", TypeName(source_el.type())));
    }
    std::string path;
    for (simdjson::dom::key_value_pair kv : source) {
      if (kv.value.is_null()) continue;
      path.assign("source.").append(kv.key);
      if (kv.key == "schema" || kv.key == "table") {
        SS_ASSIGN_OR_RETURN(std::string_view s, GetString(kv.value, path, "a string"));
        (kv.key == "schema" ? ev.schema : ev.table) = std::string(s);
      } else if (kv.key == "lsn") {
        uint64_t lsn = 0;
        if (kv.value.get_uint64().get(lsn) != simdjson::SUCCESS) {
          return Fail(
              fmt::format("field {}: expected a non-negative integer, got {}", path, TypeName(kv.value.type())));
        }
        ev.lsn = lsn;
      } else if (kv.key == "txId") {
        SS_ASSIGN_OR_RETURN(int64_t v, GetInt(kv.value, path, "an integer"));
        ev.tx_id = v;
      } else if (kv.key == "ts_ms") {
        SS_ASSIGN_OR_RETURN(int64_t v, GetInt(kv.value, path, "an integer"));
        ev.source_ts_ms = v;
      } else if (kv.key == "snapshot") {
        bool b = false;
        std::string_view s;
        if (kv.value.get_string().get(s) == simdjson::SUCCESS) {
          ev.snapshot = std::string(s);
        } else if (kv.value.get_bool().get(b) == simdjson::SUCCESS) {  // Debezium 1.x wrote a boolean
          ev.snapshot = b ? "true" : "false";
        } else {
          return Fail(fmt::format("field {}: expected a string, got {}", path, TypeName(kv.value.type())));
        }
      }
    }
  }
  element ts_el;
  if (payload.at_key("ts_ms").get(ts_el) == simdjson::SUCCESS && !ts_el.is_null()) {
    SS_ASSIGN_OR_RETURN(int64_t v, GetInt(ts_el, "ts_ms", "an integer"));
    ev.ts_ms = v;
  }

  if (ev.op == DebeziumOp::kMessage) {
    element msg_el, prefix_el, content_el;
    object msg;
    if (payload.at_key("message").get(msg_el) != simdjson::SUCCESS ||
        msg_el.get_object().get(msg) != simdjson::SUCCESS) {
      return Fail("op 'm' without a message object");
    }
    if (msg.at_key("prefix").get(prefix_el) == simdjson::SUCCESS && !prefix_el.is_null()) {
      SS_ASSIGN_OR_RETURN(std::string_view p, GetString(prefix_el, "message.prefix", "a string"));
      ev.message_prefix = std::string(p);
    }
    if (msg.at_key("content").get(content_el) == simdjson::SUCCESS && !content_el.is_null()) {
      SS_ASSIGN_OR_RETURN(ev.message_content, DecodeBase64(content_el, "message.content", "a base64 string",
                                                           std::numeric_limits<size_t>::max()));
    }
    return ev;
  }

  if (ev.schema.empty() || ev.table.empty()) {
    std::string topic_schema, topic_table;
    if (!TableFromTopic(topic, topic_schema, topic_table)) {
      return Fail(
          fmt::format("cannot tell the table: no source.schema/source.table and topic '{}' is not "
                      "<prefix>.<schema>.<table> (or names its table by a hash)",
                      topic.substr(0, 200)));
    }
    ev.schema = std::move(topic_schema);
    ev.table = std::move(topic_table);
  }

  // before / after
  const DebeziumTable* known = lookup ? lookup(ev.schema, ev.table) : nullptr;
  for (std::string_view which : {"before", "after"}) {
    element row_el;
    if (payload.at_key(which).get(row_el) != simdjson::SUCCESS || row_el.is_null()) continue;
    RowSchema rs;
    rs.modes = &options.modes;
    if (ev.had_schema) {
      if (!StructFields(*envelope_schema, which, rs.schema_fields)) {
        return Fail(fmt::format("schema: no struct schema for field {}", which));
      }
      rs.from_message = true;
    } else {
      rs.table = known;
    }
    SS_ASSIGN_OR_RETURN(ParsedRow row, DecodeRow(row_el, rs, which));
    (which == "before" ? ev.before : ev.after) = std::move(row);
  }
  switch (ev.op) {
    case DebeziumOp::kCreate:
    case DebeziumOp::kRead:
    case DebeziumOp::kUpdate:
      if (!ev.after) return Fail(fmt::format("op '{}' without an after row", op));
      break;
    case DebeziumOp::kDelete:
      if (!ev.before) return Fail("op 'd' without a before row");
      if (ev.after) return Fail("op 'd' with an after row");
      break;
    case DebeziumOp::kTruncate:
      if (ev.before || ev.after) return Fail("op 't' with a row");
      break;
    case DebeziumOp::kMessage:
      break;
  }
  return ev;
}

// A row flattened by ExtractNewRecordState: its `__` metadata, then the row. Only delete rewrite (`__deleted`)
// keeps deletes as records; without it a delete is dropped or left as a bare tombstone, and the table would keep
// the deleted row, so such records are refused.
Result<DebeziumEvent> DebeziumParser::Impl::ParseFlattened(object payload, std::optional<object> row_schema,
                                                           std::string_view topic, const TableLookup& lookup) {
  DebeziumEvent ev;
  ev.flattened = true;
  ev.had_schema = row_schema.has_value();
  std::optional<std::string_view> op;
  std::optional<bool> deleted;
  std::string path;
  for (simdjson::dom::key_value_pair kv : payload) {
    if (!IsUnwrapMetadata(kv.key) || kv.value.is_null()) continue;
    std::string_view key = kv.key.substr(2);
    const bool from_source = key.starts_with("source_");
    if (from_source) key.remove_prefix(7);
    path.assign(kv.key);
    if (key == "op" && !from_source) {
      SS_ASSIGN_OR_RETURN(op, GetString(kv.value, path, "a string"));
    } else if (key == "deleted" && !from_source) {
      bool b = false;
      std::string_view s;
      if (kv.value.get_bool().get(b) == simdjson::SUCCESS) {
        deleted = b;
      } else if (kv.value.get_string().get(s) == simdjson::SUCCESS && (s == "true" || s == "false")) {
        deleted = s == "true";
      } else {
        return Fail(fmt::format("field {}: expected \"true\" or \"false\"", path));
      }
    } else if (key == "lsn") {
      uint64_t lsn = 0;
      if (kv.value.get_uint64().get(lsn) != simdjson::SUCCESS) {
        return Fail(fmt::format("field {}: expected a non-negative integer, got {}", path, TypeName(kv.value.type())));
      }
      ev.lsn = lsn;
    } else if (key == "schema" || key == "table") {
      SS_ASSIGN_OR_RETURN(std::string_view s, GetString(kv.value, path, "a string"));
      (key == "schema" ? ev.schema : ev.table) = std::string(s);
    } else if (key == "txId") {
      SS_ASSIGN_OR_RETURN(ev.tx_id, GetInt(kv.value, path, "an integer"));
    } else if (key == "ts_ms") {
      SS_ASSIGN_OR_RETURN(int64_t v, GetInt(kv.value, path, "an integer"));
      (from_source ? ev.source_ts_ms : ev.ts_ms) = v;
    } else if (key == "snapshot") {
      std::string_view s;
      bool b = false;
      if (kv.value.get_string().get(s) == simdjson::SUCCESS) {
        ev.snapshot = std::string(s);
      } else if (kv.value.get_bool().get(b) == simdjson::SUCCESS) {
        ev.snapshot = b ? "true" : "false";
      }
    }
  }
  if (!deleted) {
    return Fail(
        "a record flattened by ExtractNewRecordState without __deleted: that SMT setting drops deletes or leaves "
        "them as bare tombstones, so deleted rows would stay in ClickHouse; configure the SMT with "
        "delete.tombstone.handling.mode=rewrite (delete.handling.mode=rewrite before Debezium 2.5), and add.fields=lsn "
        "to order the changes");
  }
  if (op && (op->size() != 1 || std::string_view("cudr").find((*op)[0]) == std::string_view::npos)) {
    std::string shown;
    AppendJsonString(shown, op->substr(0, 16));
    return Fail(fmt::format("field __op: unknown op {}", shown));
  }
  const bool snapshot =
      (op && *op == "r") || (!op && ev.snapshot != "false" && ev.snapshot != "incremental" && !ev.snapshot.empty());
  ev.op = *deleted ? DebeziumOp::kDelete : snapshot ? DebeziumOp::kRead : DebeziumOp::kUpdate;
  if (op && *op == "d" && !*deleted) return Fail("field __op is 'd' but __deleted is false");
  if (op && *op != "d" && *deleted) return Fail(fmt::format("field __deleted is true but __op is '{}'", *op));
  if (ev.schema.empty() || ev.table.empty()) {
    std::string topic_schema, topic_table;
    if (!TableFromTopic(topic, topic_schema, topic_table)) {
      return Fail(
          fmt::format("cannot tell the table: no __source_schema/__source_table (add.fields=schema,table) and topic "
                      "'{}' is not <prefix>.<schema>.<table>",
                      topic.substr(0, 200)));
    }
    if (ev.schema.empty()) ev.schema = std::move(topic_schema);
    if (ev.table.empty()) ev.table = std::move(topic_table);
  }
  RowSchema rs;
  rs.modes = &options.modes;
  rs.skip_metadata = true;
  if (row_schema) {
    if (row_schema->at_key("fields").get_array().get(rs.schema_fields) != simdjson::SUCCESS) {
      return Fail("schema: a flattened record's schema is a struct without fields");
    }
    rs.from_message = true;
  } else {
    rs.table = lookup ? lookup(ev.schema, ev.table) : nullptr;
  }
  SS_ASSIGN_OR_RETURN(ParsedRow row, DecodeRow(payload, rs, *deleted ? "before" : "after"));
  (*deleted ? ev.before : ev.after) = std::move(row);
  return ev;
}

Result<ParsedRow> DebeziumParser::ParseKey(std::string_view key, std::string_view topic, const TableLookup& lookup) {
  SS_ASSIGN_OR_RETURN(element root, impl_->Parse(key, "key"));
  object root_obj, key_schema;
  if (root.get_object().get(root_obj) != simdjson::SUCCESS) {
    return Fail(fmt::format("key is {}, not an object", TypeName(root.type())));
  }
  element payload_el = root, schema_el;
  RowSchema rs;
  rs.modes = &impl_->key_modes;
  if (root_obj.at_key("payload").get(payload_el) == simdjson::SUCCESS) {
    if (root_obj.at_key("schema").get(schema_el) == simdjson::SUCCESS &&
        schema_el.get_object().get(key_schema) == simdjson::SUCCESS) {
      if (key_schema.at_key("fields").get_array().get(rs.schema_fields) != simdjson::SUCCESS) {
        return Fail("key schema: struct without fields");
      }
      rs.from_message = true;
    }
  } else {
    payload_el = root;
  }
  if (!rs.from_message) {
    std::string schema, table;
    if (lookup && TableFromTopic(topic, schema, table)) rs.table = lookup(schema, table);
  }
  return DecodeRow(payload_el, rs, "key");
}

}  // namespace streamshop::debezium
