// The parser at real Debezium's non-default settings (DebeziumModes): decimal.handling.mode, time.precision.mode,
// binary.handling.mode, interval.handling.mode, hstore.handling.mode, column.propagate.source.type parameters, and
// records flattened by the ExtractNewRecordState (unwrap) SMT. Messages are shaped as Debezium 3.6 writes them.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

#include "debezium/DebeziumParser.h"
#include "debezium/DebeziumTypes.h"
#include "debezium/DebeziumValueCodec.h"

namespace streamshop::debezium {
namespace {

// A field schema: Connect type, optional logical name, optional source type/length/scale parameters.
std::string Field(std::string_view name, std::string_view type, std::string_view logical = "",
                  std::string_view source = "", int length = -1, int scale = -1) {
  std::string f = "{\"type\":\"" + std::string(type) + "\",\"optional\":true";
  if (!logical.empty()) f += ",\"name\":\"" + std::string(logical) + "\",\"version\":1";
  if (!source.empty()) {
    f += ",\"parameters\":{\"__debezium.source.column.type\":\"" + std::string(source) + "\"";
    if (length >= 0) f += ",\"__debezium.source.column.length\":\"" + std::to_string(length) + "\"";
    if (scale >= 0) f += ",\"__debezium.source.column.scale\":\"" + std::to_string(scale) + "\"";
    f += "}";
  }
  return f + ",\"field\":\"" + std::string(name) + "\"}";
}

// An envelope insert of one field `v` with that field's schema and JSON value.
std::string Insert(const std::string& field_schema, std::string_view json_value) {
  return R"({"schema":{"type":"struct","name":"p.public.t.Envelope","fields":[)"
         R"({"type":"struct","fields":[)" +
         field_schema +
         R"(],"optional":true,"field":"after"},{"type":"string","optional":false,"field":"op"}]},)"
         R"("payload":{"after":{"v":)" +
         std::string(json_value) + R"(},"op":"c","source":{"schema":"public","table":"t","lsn":100}}})";
}

Result<std::optional<std::string>> Value(const std::string& message, DebeziumModes modes = {}) {
  DebeziumParser parser({16u << 20, modes});
  Result<DebeziumEvent> ev = parser.ParseValue(message, "p.public.t");
  if (!ev.ok()) return ev.status();
  const ParsedColumn* c = FindColumn(*ev->after, "v");
  if (c == nullptr) return Status::Fatal("no column v");
  return c->text;
}

std::string TextOf(const std::string& message, DebeziumModes modes = {}) {
  Result<std::optional<std::string>> v = Value(message, modes);
  EXPECT_TRUE(v.ok()) << v.status().message();
  return v.ok() && *v ? **v : std::string("<null>");
}

std::string ErrorOf(const std::string& message, DebeziumModes modes = {}) {
  Result<std::optional<std::string>> v = Value(message, modes);
  EXPECT_FALSE(v.ok());
  return v.ok() ? std::string() : v.status().message();
}

model::Type TypeOf(const std::string& message, DebeziumModes modes = {}) {
  DebeziumParser parser({16u << 20, modes});
  Result<DebeziumEvent> ev = parser.ParseValue(message, "p.public.t");
  EXPECT_TRUE(ev.ok()) << ev.status().message();
  if (!ev.ok()) return {};
  Result<model::Type> t = TypeForField(*FindColumn(*ev->after, "v")->type);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return t.ok() ? *t : model::Type{};
}

TEST(DebeziumModesTest, ModeNamesAreTheConnectors) {
  EXPECT_EQ(*ParseDecimalHandlingMode("string"), DecimalHandlingMode::kString);
  EXPECT_EQ(*ParseTimePrecisionMode("adaptive_time_microseconds"), TimePrecisionMode::kAdaptiveTimeMicroseconds);
  EXPECT_EQ(*ParseTimePrecisionMode("isostring"), TimePrecisionMode::kIsoString);
  EXPECT_EQ(*ParseBinaryHandlingMode("base64-url-safe"), BinaryHandlingMode::kBase64UrlSafe);
  EXPECT_EQ(*ParseIntervalHandlingMode("string"), IntervalHandlingMode::kString);
  EXPECT_EQ(*ParseHstoreHandlingMode("map"), HstoreHandlingMode::kMap);
  Result<BinaryHandlingMode> bad = ParseBinaryHandlingMode("base32");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("binary.handling.mode 'base32'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("base64-url-safe"), std::string::npos);
}

TEST(DebeziumModesTest, DecimalString) {
  const std::string f = Field("v", "string", "", "NUMERIC", 12, 2);
  EXPECT_EQ(TextOf(Insert(f, R"("-12.50")")), "-12.50");
  EXPECT_EQ(TextOf(Insert(f, R"("NaN")")), "NaN");
  EXPECT_EQ(TextOf(Insert(f, R"("-0.00")")), "0.00");
  EXPECT_EQ(TypeOf(Insert(f, R"("1.00")")), (model::Type{model::TypeKind::kDecimal, 12, 2}));
  // An unconstrained numeric: any precision.
  EXPECT_EQ(TypeOf(Insert(Field("v", "string", "", "NUMERIC", 131089, 0), R"("1.5")")),
            (model::Type{model::TypeKind::kDecimal}));
  EXPECT_NE(ErrorOf(Insert(f, R"("1E+3")")).find("plain decimal"), std::string::npos);
  // Without the source type a plain string is ambiguous once the sink knows decimals are strings.
  DebeziumModes modes;
  modes.decimal = DecimalHandlingMode::kString;
  const std::string err = ErrorOf(Insert(Field("v", "string"), R"("12.50")"), modes);
  EXPECT_NE(err.find("field after.v"), std::string::npos) << err;
  EXPECT_NE(err.find("decimal.handling.mode=string"), std::string::npos) << err;
  EXPECT_NE(err.find("column.propagate.source.type"), std::string::npos) << err;
  // Text columns with their source type are text.
  EXPECT_EQ(TextOf(Insert(Field("v", "string", "", "VARCHAR", 16, 0), R"("12.50")"), modes), "12.50");
  // The default modes: a plain string is text, as before.
  EXPECT_EQ(TextOf(Insert(Field("v", "string"), R"("12.50")")), "12.50");
}

TEST(DebeziumModesTest, DecimalDoubleIsRefused) {
  const std::string err = ErrorOf(Insert(Field("v", "double", "", "NUMERIC", 12, 2), "12.5"));
  EXPECT_NE(err.find("decimal.handling.mode=double"), std::string::npos) << err;
  DebeziumModes modes;
  modes.decimal = DecimalHandlingMode::kDouble;
  EXPECT_NE(ErrorOf(Insert(Field("v", "double"), "12.5"), modes).find("ambiguous"), std::string::npos);
  // A double precision column is a double in every mode.
  EXPECT_EQ(TextOf(Insert(Field("v", "double", "", "FLOAT8", 17, 17), "12.5"), modes), "12.5");
  EXPECT_EQ(TextOf(Insert(Field("v", "double"), "12.5")), "12.5");
}

TEST(DebeziumModesTest, BinaryModes) {
  DebeziumModes modes;
  modes.binary = BinaryHandlingMode::kBase64;
  const std::string bytea = Field("v", "string", "", "BYTEA", 2147483647, 0);
  EXPECT_EQ(TextOf(Insert(bytea, R"("AP8+")"), modes), "\\x00ff3e");
  EXPECT_EQ(TypeOf(Insert(bytea, R"("AP8+")"), modes), (model::Type{model::TypeKind::kBytes}));
  modes.binary = BinaryHandlingMode::kBase64UrlSafe;
  EXPECT_EQ(TextOf(Insert(bytea, R"("AP8-")"), modes), "\\x00ff3e");
  EXPECT_EQ(TextOf(Insert(bytea, R"("AP8")"), modes), "\\x00ff");  // unpadded
  EXPECT_NE(ErrorOf(Insert(bytea, R"("AP8+")"), modes).find("URL-safe base64"), std::string::npos);
  modes.binary = BinaryHandlingMode::kHex;
  EXPECT_EQ(TextOf(Insert(bytea, R"("00FF3e")"), modes), "\\x00ff3e");
  EXPECT_NE(ErrorOf(Insert(bytea, R"("0g")"), modes).find("hex"), std::string::npos);
  EXPECT_NE(ErrorOf(Insert(Field("v", "string"), R"("00ff")"), modes).find("binary.handling.mode=hex"),
            std::string::npos);
  // A bytea sent as a string with no mode given: the sink cannot tell base64 from hex.
  EXPECT_NE(ErrorOf(Insert(bytea, R"("00ff")")).find("--debezium-binary-handling-mode"), std::string::npos);
  // binary.handling.mode=bytes is the default: Connect bytes.
  EXPECT_EQ(TextOf(Insert(Field("v", "bytes"), R"("AP8+")")), "\\x00ff3e");
}

TEST(DebeziumModesTest, TimePrecisionModes) {
  // connect: milliseconds, exact for columns of at most 3 fractional digits.
  EXPECT_EQ(TextOf(Insert(Field("v", "int64", "org.apache.kafka.connect.data.Timestamp", "TIMESTAMP", 26, 3),
                          "1700000000123")),
            "2023-11-14 22:13:20.123");
  EXPECT_EQ(TextOf(Insert(Field("v", "int32", "org.apache.kafka.connect.data.Time", "TIME", 12, 3), "3723004")),
            "01:02:03.004");
  EXPECT_EQ(TextOf(Insert(Field("v", "int32", "org.apache.kafka.connect.data.Date", "DATE"), "19675")), "2023-11-14");
  std::string err =
      ErrorOf(Insert(Field("v", "int64", "org.apache.kafka.connect.data.Timestamp", "TIMESTAMP", 29, 6), "1"));
  EXPECT_NE(err.find("time.precision.mode=connect"), std::string::npos) << err;
  err = ErrorOf(Insert(Field("v", "int64", "org.apache.kafka.connect.data.Timestamp"), "1"));
  EXPECT_NE(err.find("column.propagate.source.type"), std::string::npos) << err;
  // adaptive_time_microseconds / microseconds: MicroTime for every time column.
  EXPECT_EQ(TextOf(Insert(Field("v", "int64", "io.debezium.time.MicroTime"), "3723000004")), "01:02:03.000004");
  // nanoseconds.
  EXPECT_EQ(TextOf(Insert(Field("v", "int64", "io.debezium.time.NanoTimestamp"), "1700000000123456000")),
            "2023-11-14 22:13:20.123456");
  // isostring.
  EXPECT_EQ(TextOf(Insert(Field("v", "string", "io.debezium.time.IsoDate"), R"("2023-11-14Z")")), "2023-11-14");
  EXPECT_EQ(TextOf(Insert(Field("v", "string", "io.debezium.time.IsoTime"), R"("01:02:03.000004Z")")),
            "01:02:03.000004");
  EXPECT_EQ(TextOf(Insert(Field("v", "string", "io.debezium.time.IsoTimestamp"), R"("2023-11-14T22:13:20.5Z")")),
            "2023-11-14 22:13:20.5");
  EXPECT_EQ(TypeOf(Insert(Field("v", "string", "io.debezium.time.IsoTimestamp"), R"("2023-11-14T22:13:20Z")")),
            (model::Type{model::TypeKind::kTimestamp}));
}

TEST(DebeziumModesTest, IntervalModes) {
  const std::string f = Field("v", "string", "io.debezium.time.Interval");
  EXPECT_EQ(TextOf(Insert(f, R"("P1Y2M3DT4H5M6.78S")")), "1 year 2 mons 3 days 04:05:06.78");
  EXPECT_EQ(TextOf(Insert(f, R"("P0Y0M0DT0H0M0S")")), "00:00:00");
  EXPECT_EQ(TextOf(Insert(f, R"("P0Y0M-1DT2H0M0S")")), "-1 days +02:00:00");
  EXPECT_EQ(TextOf(Insert(f, R"("P0Y0M0DT-1H-2M-3.5S")")), "-01:02:03.5");
  EXPECT_EQ(TextOf(Insert(f, R"("P-1Y-1M0DT0H0M0S")")), "-1 years -1 mons");
  EXPECT_EQ(TextOf(Insert(f, R"("P0Y0M1DT0H0M0S")")), "1 day");
  EXPECT_NE(ErrorOf(Insert(f, R"("1 day")")).find("ISO-8601 interval"), std::string::npos);
  // numeric: io.debezium.time.MicroDuration approximates months.
  const std::string err = ErrorOf(Insert(Field("v", "int64", "io.debezium.time.MicroDuration"), "86400000000"));
  EXPECT_NE(err.find("interval.handling.mode=string"), std::string::npos) << err;
}

TEST(DebeziumModesTest, HstoreModes) {
  // json: an io.debezium.data.Json string; the source type says it is an hstore.
  const std::string json = Field("v", "string", "io.debezium.data.Json", "HSTORE");
  EXPECT_EQ(TextOf(Insert(json, R"("{\"bb\":\"2\",\"a\":\"q\\\"u\\\\\",\"c\":null}")")),
            R"("a"=>"q\"u\\", "c"=>NULL, "bb"=>"2")");
  // map: map<string, string>.
  const std::string map =
      R"({"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":true},)"
      R"("optional":true,"field":"v"})";
  EXPECT_EQ(TextOf(Insert(map, R"({"k":"v","a":null})")), R"("a"=>NULL, "k"=>"v")");
  EXPECT_EQ(TextOf(Insert(map, "{}")), "");
}

// A flattened record of table t (id int32 key, name string) with the given `__` fields.
std::string Flat(std::string_view meta_schema, std::string_view meta_values, std::string_view name = R"("x")") {
  return R"({"schema":{"type":"struct","name":"p.public.t.Value","optional":false,"fields":[)"
         R"({"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"})" +
         std::string(meta_schema) + R"(]},"payload":{"id":7,"name":)" + std::string(name) + std::string(meta_values) +
         "}}";
}
constexpr std::string_view kMetaSchema =
    R"(,{"type":"string","optional":true,"field":"__op"},{"type":"int64","optional":true,"field":"__lsn"},)"
    R"({"type":"string","optional":true,"field":"__source_snapshot"},{"type":"string","optional":true,"field":"__deleted"})";

TEST(DebeziumModesTest, UnwrapFlattenedRecords) {
  DebeziumParser parser;
  Result<DebeziumEvent> ev = parser.ParseValue(
      Flat(kMetaSchema, R"(,"__op":"u","__lsn":500,"__source_snapshot":"false","__deleted":"false")"), "p.public.t");
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_TRUE(ev->flattened);
  EXPECT_EQ(ev->op, DebeziumOp::kUpdate);
  EXPECT_EQ(ev->lsn, 500u);
  EXPECT_EQ(ev->schema, "public");
  EXPECT_EQ(ev->table, "t");
  ASSERT_TRUE(ev->after);
  EXPECT_FALSE(ev->before);
  ASSERT_EQ(ev->after->size(), 2u);  // the __ fields are not columns
  EXPECT_EQ(*FindColumn(*ev->after, "name")->text, "x");

  // delete rewrite: the old row, op d.
  ev = parser.ParseValue(Flat(kMetaSchema, R"(,"__op":"d","__lsn":600,"__source_snapshot":"false","__deleted":"true")"),
                         "p.public.t");
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_EQ(ev->op, DebeziumOp::kDelete);
  ASSERT_TRUE(ev->before);
  EXPECT_FALSE(ev->after);

  // Snapshot reads: by __op, or by __source_snapshot when __op is absent.
  ev = parser.ParseValue(Flat(kMetaSchema, R"(,"__op":"r","__lsn":1,"__source_snapshot":"true","__deleted":"false")"),
                         "p.public.t");
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_EQ(ev->op, DebeziumOp::kRead);
  ev = parser.ParseValue(Flat(kMetaSchema, R"(,"__source_snapshot":"last","__deleted":"false")"), "p.public.t");
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_EQ(ev->op, DebeziumOp::kRead);
  EXPECT_FALSE(ev->lsn);

  // Without schemas (schemas.enable=false) the record is the bare row; types come from the known table.
  DebeziumTable t{
      "public",
      "t",
      {{"id", {model::TypeKind::kInt32}, 1, true, {}, {}}, {"name", {model::TypeKind::kText}, 0, false, {}, {}}}};
  TableLookup lookup = [&](std::string_view, std::string_view) { return &t; };
  ev = parser.ParseValue(R"({"id":7,"name":null,"__deleted":"false","__lsn":9})", "p.public.t", lookup);
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_EQ(ev->op, DebeziumOp::kUpdate);
  EXPECT_FALSE(FindColumn(*ev->after, "name")->text);

  // Tombstones stay tombstones.
  ev = parser.ParseValue(std::nullopt, "p.public.t");
  ASSERT_TRUE(ev.ok());
  EXPECT_TRUE(ev->tombstone);
}

TEST(DebeziumModesTest, UnwrapWithoutDeleteRewriteIsRefused) {
  DebeziumParser parser;
  Result<DebeziumEvent> ev =
      parser.ParseValue(Flat(R"(,{"type":"string","optional":true,"field":"__op"})", R"(,"__op":"u")"), "p.public.t");
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("delete.tombstone.handling.mode=rewrite"), std::string::npos)
      << ev.status().message();
  // No metadata at all: a bare row is not an envelope either.
  ev = parser.ParseValue(Flat("", ""), "p.public.t");
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("delete.tombstone.handling.mode=rewrite"), std::string::npos)
      << ev.status().message();
  ev = parser.ParseValue(R"({"id":7})", "p.public.t");
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("missing payload"), std::string::npos) << ev.status().message();
  // Contradictions.
  ev = parser.ParseValue(Flat(kMetaSchema, R"(,"__op":"c","__deleted":"true")"), "p.public.t");
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("__deleted is true"), std::string::npos);
}

TEST(DebeziumModesTest, KeysAreReadAsText) {
  // Debezium puts no source-type parameters in key schemas: a text key under binary.handling.mode=base64.
  DebeziumModes modes;
  modes.binary = BinaryHandlingMode::kBase64;
  modes.decimal = DecimalHandlingMode::kString;
  DebeziumParser parser({16u << 20, modes});
  Result<ParsedRow> key =
      parser.ParseKey(R"({"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"tenant"}]},)"
                      R"("payload":{"tenant":"t1"}})",
                      "p.public.pairs");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*FindColumn(*key, "tenant")->text, "t1");
}

TEST(DebeziumModesTest, SchemalessMessagesFollowTheSinkModes) {
  DebeziumTable t{"public",
                  "t",
                  {{"id", {model::TypeKind::kInt32}, 1, true, {}, {}},
                   {"v", {model::TypeKind::kDecimal, 12, 2}, 0, false, {}, {}},
                   {"b", {model::TypeKind::kBytes}, 0, false, {}, {}},
                   {"ts", {model::TypeKind::kTimestamp, 6}, 0, false, {}, {}}}};
  TableLookup lookup = [&](std::string_view, std::string_view) { return &t; };
  DebeziumModes modes;
  modes.decimal = DecimalHandlingMode::kString;
  modes.binary = BinaryHandlingMode::kHex;
  modes.time = TimePrecisionMode::kIsoString;
  DebeziumParser parser({16u << 20, modes});
  Result<DebeziumEvent> ev = parser.ParseValue(
      R"({"op":"c","after":{"id":1,"v":"12.50","b":"0aFF","ts":"2023-11-14T22:13:20.000001Z"},"source":{"lsn":5}})",
      "p.public.t", lookup);
  ASSERT_TRUE(ev.ok()) << ev.status().message();
  EXPECT_EQ(*FindColumn(*ev->after, "v")->text, "12.50");
  EXPECT_EQ(*FindColumn(*ev->after, "b")->text, "\\x0aff");
  EXPECT_EQ(*FindColumn(*ev->after, "ts")->text, "2023-11-14 22:13:20.000001");
  // connect mode cannot carry the microseconds of a timestamp(6) column.
  modes = {};
  modes.time = TimePrecisionMode::kConnect;
  DebeziumParser connect({16u << 20, modes});
  ev = connect.ParseValue(R"({"op":"c","after":{"id":1,"ts":1700000000123},"source":{"lsn":5}})", "p.public.t", lookup);
  ASSERT_FALSE(ev.ok());
  EXPECT_NE(ev.status().message().find("time.precision.mode=connect"), std::string::npos) << ev.status().message();
}

}  // namespace
}  // namespace streamshop::debezium
