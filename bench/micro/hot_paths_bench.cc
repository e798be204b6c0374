// Micro-benchmarks of the per-event hot paths (Google Benchmark), one core each: pgoutput decode, PostgreSQL
// text → RowBinary encode (one value, one whole row), COPY text row parse, Debezium JSON encode and parse.
// items/s counts events (rows, messages or values); bytes/s counts the input bytes of the stage (the pgoutput
// frame, the PostgreSQL text of the row, the COPY line, the JSON record), except Debezium encode, which counts the
// JSON it produces. Fixtures are built here: a 6-column order row (sql/postgres/schema.sql's orders) and a
// 20-column row mixing integers, text, numerics, timestamps, date, bool, float, uuid, jsonb and a NULL.
// Run through bench/micro.sh; docs/BENCHMARKS.md has the results.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "clickhouse/RowBinary.h"
#include "clickhouse/TableWriter.h"
#include "clickhouse/TypeMapping.h"
#include "debezium/DebeziumEncoder.h"
#include "debezium/DebeziumParser.h"
#include "debezium/DebeziumTypes.h"
#include "pg/Catalog.h"
#include "pg/CopyTextParser.h"
#include "pg/PgoutputDecoder.h"
#include "pg/TypeOids.h"
#include "protocol_bytes.h"

namespace streamshop {
namespace {

namespace oid = pg::oid;

// The ClickHouse 18.16 of the development stack speaks the legacy dialect; it is what `replicate` encodes for here.
constexpr clickhouse::Dialect kDialect = clickhouse::Dialect::kLegacy;

int32_t NumericTypmod(int precision, int scale) { return ((precision << 16) | (scale & 0x7ff)) + 4; }

// A fixture failing to decode or encode is a bug in the fixture: stop before printing meaningless numbers.
[[noreturn]] void Die(std::string_view what, std::string_view why) {
  std::cerr << "micro_bench: " << what << ": " << why << "\n";
  std::abort();
}

// ---- fixtures ----------------------------------------------------------------------------------------------------
struct Column {
  const char* name;
  uint32_t type_oid;
  int32_t typmod;
  int key_position;
};

struct RowFixture {
  pg::TableInfo table;
  std::vector<std::optional<std::string>> values;  // PostgreSQL text; nullopt = NULL

  clickhouse::RowValues Views() const {
    clickhouse::RowValues v;
    for (const auto& t : values) v.push_back(t ? std::optional<std::string_view>(*t) : std::nullopt);
    return v;
  }
  size_t TextBytes() const {
    size_t n = 0;
    for (const auto& t : values) n += t ? t->size() : 0;
    return n;
  }
};

RowFixture MakeFixture(const char* name, uint32_t relid, const std::vector<Column>& columns,
                       std::vector<std::optional<std::string>> values) {
  if (columns.size() != values.size()) Die(name, "column and value counts differ");
  RowFixture f;
  f.table.oid = relid;
  f.table.schema = "public";
  f.table.name = name;
  for (const Column& c : columns) f.table.columns.push_back({c.name, c.type_oid, c.typmod, c.key_position});
  f.values = std::move(values);
  return f;
}

const RowFixture& OrderRow() {
  static const RowFixture f = MakeFixture(
      "orders", 16400,
      {{"order_id", oid::kInt8, -1, 1},
       {"customer_id", oid::kInt8, -1, 0},
       {"status", oid::kText, -1, 0},
       {"total", oid::kNumeric, NumericTypmod(12, 2), 0},
       {"created_at", oid::kTimestamptz, -1, 0},
       {"updated_at", oid::kTimestamptz, -1, 0}},
      {"1000042", "73311", "shipped", "1234.56", "2024-05-01 12:34:56.789012+00", "2024-05-02 08:00:01.5+00"});
  return f;
}

const RowFixture& WideRow() {
  static const RowFixture f = MakeFixture(
      "catalog_items", 16500,
      {{"item_id", oid::kInt8, -1, 1},
       {"account_id", oid::kInt4, -1, 0},
       {"region_code", oid::kInt2, -1, 0},
       {"sku", oid::kVarchar, 64 + 4, 0},
       {"title", oid::kText, -1, 0},
       {"description", oid::kText, -1, 0},
       {"status", oid::kText, -1, 0},
       {"price", oid::kNumeric, NumericTypmod(12, 2), 0},
       {"cost", oid::kNumeric, NumericTypmod(20, 6), 0},
       {"tax_rate", oid::kNumeric, NumericTypmod(5, 4), 0},
       {"weight_kg", oid::kFloat8, -1, 0},
       {"in_stock", oid::kBool, -1, 0},
       {"created_at", oid::kTimestamptz, -1, 0},
       {"updated_at", oid::kTimestamptz, -1, 0},
       {"shipped_at", oid::kTimestamp, -1, 0},
       {"release_date", oid::kDate, -1, 0},
       {"external_id", oid::kUuid, -1, 0},
       {"attributes", oid::kJsonb, -1, 0},
       {"quantity", oid::kInt4, -1, 0},
       {"notes", oid::kText, -1, 0}},
      {"9000000001",
       "123456",
       "42",
       "SKU-000123-XL",
       "Ergonomic stainless steel water bottle, 750 ml",
       "Double-walled, vacuum insulated; keeps drinks cold for 24 hours and hot for 12. Dishwasher safe lid.",
       "active",
       "1299.99",
       "873.125400",
       "0.1900",
       "1.2345678901234567",
       "t",
       "2024-05-01 12:34:56.789012+00",
       "2024-05-02 08:00:01.5+00",
       "2024-05-03 09:15:00",
       "2024-04-30",
       "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
       R"({"size": "XL", "color": "blue", "tags": ["outdoor", "kitchen"]})",
       "17",
       std::nullopt});
  return f;
}

using testing_support::Bytes;

// pgoutput TupleData: column count, then 'n' (NULL) or 't' + length + text per column.
std::string Tuple(Bytes prefix, const RowFixture& row) {
  prefix.I16(static_cast<int16_t>(row.values.size()));
  for (const auto& v : row.values) {
    if (v) {
      prefix.Text(*v);
    } else {
      prefix.U8('n');
    }
  }
  return prefix;
}

// A CopyData 'w' frame (wal_start, wal_end, send_time) around one pgoutput message, as the walsender sends it.
std::string XLogFrame(const std::string& payload) {
  return Bytes().U8('w').I64(0x16B3748).I64(0x16B3778).I64(761234567890123).Raw(payload);
}

std::string InsertFrame(const RowFixture& row) {
  return XLogFrame(Tuple(Bytes().U8('I').I32(static_cast<int32_t>(row.table.oid)).U8('N'), row));
}

// An UPDATE under REPLICA IDENTITY DEFAULT whose key did not change: no old tuple, the new row.
std::string UpdateFrame(const RowFixture& row) {
  return XLogFrame(Tuple(Bytes().U8('U').I32(static_cast<int32_t>(row.table.oid)).U8('N'), row));
}

// One COPY TO text row: tab-separated, \N for NULL, backslash escapes, newline-terminated.
std::string CopyLine(const RowFixture& row) {
  std::string line;
  for (size_t i = 0; i < row.values.size(); ++i) {
    if (i > 0) line += '\t';
    if (!row.values[i]) {
      line += "\\N";
      continue;
    }
    for (char c : *row.values[i]) {
      switch (c) {
        case '\\':
          line += "\\\\";
          break;
        case '\t':
          line += "\\t";
          break;
        case '\n':
          line += "\\n";
          break;
        default:
          line += c;
      }
    }
  }
  line += '\n';
  return line;
}

debezium::DebeziumChange ChangeOf(const RowFixture& row, debezium::DebeziumOp op) {
  debezium::DebeziumChange change;
  change.op = op;
  debezium::RowImage image;
  image.values = row.Views();
  change.after = std::move(image);
  change.source.ts_us = 1714566896789012;
  change.source.tx_id = 742;
  change.source.lsn = 0x16B3748;
  change.source.last_commit_lsn = 0x16B3700;
  change.ts_ns = 1714566896800000000;
  return change;
}

debezium::DebeziumEncoderOptions EncoderOptions(bool schemas) {
  debezium::DebeziumEncoderOptions o;
  o.topic_prefix = "streamshop";
  o.database = "shop";
  o.schemas_enable = schemas;
  return o;
}

// ---- pgoutput decode -----------------------------------------------------------------------------------------------
void DecodeFrame(benchmark::State& state, const std::string& frame) {
  for (auto _ : state) {
    Result<pg::CopyDataMessage> copy = pg::DecodeCopyData(frame);
    if (!copy.ok()) Die("DecodeCopyData", copy.status().message());
    const auto* xlog = std::get_if<pg::XLogData>(&*copy);
    if (xlog == nullptr) Die("DecodeCopyData", "not XLogData");
    Result<pg::PgoutputMessage> msg = pg::DecodePgoutput(xlog->payload);
    if (!msg.ok()) Die("DecodePgoutput", msg.status().message());
    benchmark::DoNotOptimize(msg);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(frame.size()));
}

void BM_PgoutputDecodeInsert(benchmark::State& state, const RowFixture& (*row)()) {
  DecodeFrame(state, InsertFrame(row()));
}
void BM_PgoutputDecodeUpdate(benchmark::State& state, const RowFixture& (*row)()) {
  DecodeFrame(state, UpdateFrame(row()));
}
BENCHMARK_CAPTURE(BM_PgoutputDecodeInsert, order6, &OrderRow);
BENCHMARK_CAPTURE(BM_PgoutputDecodeInsert, wide20, &WideRow);
BENCHMARK_CAPTURE(BM_PgoutputDecodeUpdate, order6, &OrderRow);
BENCHMARK_CAPTURE(BM_PgoutputDecodeUpdate, wide20, &WideRow);

// ---- PostgreSQL text → RowBinary -----------------------------------------------------------------------------------
void BM_RowBinaryAppendValue(benchmark::State& state, uint32_t type_oid, int32_t typmod, std::string text) {
  const clickhouse::ColumnType type = clickhouse::MapColumnType(pg::TypeOf(type_oid, typmod), true, kDialect);
  std::string out;
  for (auto _ : state) {
    out.clear();
    Status st = clickhouse::AppendValue(type, std::string_view(text), out);
    if (!st.ok()) Die("AppendValue", st.message());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK_CAPTURE(BM_RowBinaryAppendValue, int8, oid::kInt8, -1, "9000000001");
BENCHMARK_CAPTURE(BM_RowBinaryAppendValue, numeric_12_2, oid::kNumeric, NumericTypmod(12, 2), "1299.99");
BENCHMARK_CAPTURE(BM_RowBinaryAppendValue, numeric_20_6, oid::kNumeric, NumericTypmod(20, 6), "873.125400");
BENCHMARK_CAPTURE(BM_RowBinaryAppendValue, timestamptz, oid::kTimestamptz, -1, "2024-05-01 12:34:56.789012+00");
BENCHMARK_CAPTURE(BM_RowBinaryAppendValue, date, oid::kDate, -1, "2024-04-30");
BENCHMARK_CAPTURE(BM_RowBinaryAppendValue, text, oid::kText, -1, "Ergonomic stainless steel water bottle, 750 ml");
BENCHMARK_CAPTURE(BM_RowBinaryAppendValue, uuid, oid::kUuid, -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
BENCHMARK_CAPTURE(BM_RowBinaryAppendValue, float8, oid::kFloat8, -1, "1.2345678901234567");

// A whole row with _version and _deleted, as Replicator does per change; the buffer is dropped every ~1 MB so that
// it stays warm and bounded, like a batch flushed to ClickHouse.
void BM_TableWriterAppendRow(benchmark::State& state, const RowFixture& (*fixture)()) {
  const RowFixture& row = fixture();
  clickhouse::TableWriter writer(pg::SchemaOf(row.table), kDialect, "analytics");
  const clickhouse::RowValues values = row.Views();
  uint64_t version = 0x16B3748;
  for (auto _ : state) {
    Status st = writer.AppendRow(values, ++version, false);
    if (!st.ok()) Die("AppendRow", st.message());
    if (writer.pending_bytes() >= (1u << 20)) writer.DiscardPending();
  }
  if (writer.dead_letters() != 0) Die("AppendRow", "the fixture row went to the dead letters");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(row.TextBytes()));
}
BENCHMARK_CAPTURE(BM_TableWriterAppendRow, order6, &OrderRow);
BENCHMARK_CAPTURE(BM_TableWriterAppendRow, wide20, &WideRow);

// ---- COPY text row parse -------------------------------------------------------------------------------------------
void BM_CopyTextParse(benchmark::State& state, const RowFixture& (*row)()) {
  const std::string line = CopyLine(row());
  pg::CopyTextParser parser;
  for (auto _ : state) {
    auto fields = parser.Parse(line);
    if (!fields.ok()) Die("CopyTextParser", fields.status().message());
    benchmark::DoNotOptimize(*fields);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(line.size()));
}
BENCHMARK_CAPTURE(BM_CopyTextParse, order6, &OrderRow);
BENCHMARK_CAPTURE(BM_CopyTextParse, wide20, &WideRow);

// ---- Debezium JSON -------------------------------------------------------------------------------------------------
// One change → its Kafka record(s); bytes/s counts the key + value JSON produced.
void BM_DebeziumEncode(benchmark::State& state, const RowFixture& (*fixture)(), debezium::DebeziumOp op, bool schemas) {
  const RowFixture& row = fixture();
  const debezium::DebeziumEncoder encoder(EncoderOptions(schemas));
  auto table = encoder.Prepare(debezium::DebeziumTableOf(pg::SchemaOf(row.table)));
  if (!table.ok()) Die("Prepare", table.status().message());
  const debezium::DebeziumChange change = ChangeOf(row, op);
  std::vector<kafka::KafkaRecord> records;
  int64_t bytes = 0;
  for (auto _ : state) {
    records.clear();
    Status st = encoder.Encode(**table, change, records);
    if (!st.ok()) Die("Encode", st.message());
    for (const auto& r : records) bytes += static_cast<int64_t>(r.key.value_or("").size() + r.value->size());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}
BENCHMARK_CAPTURE(BM_DebeziumEncode, order6_create_schema, &OrderRow, debezium::DebeziumOp::kCreate, true);
BENCHMARK_CAPTURE(BM_DebeziumEncode, order6_create_noschema, &OrderRow, debezium::DebeziumOp::kCreate, false);
BENCHMARK_CAPTURE(BM_DebeziumEncode, order6_update_noschema, &OrderRow, debezium::DebeziumOp::kUpdate, false);
BENCHMARK_CAPTURE(BM_DebeziumEncode, wide20_create_schema, &WideRow, debezium::DebeziumOp::kCreate, true);
BENCHMARK_CAPTURE(BM_DebeziumEncode, wide20_create_noschema, &WideRow, debezium::DebeziumOp::kCreate, false);

// The value record our encoder produces, parsed back as the sink does (with schemas: decoded by the Connect schema;
// without: by the column types the lookup supplies).
void BM_DebeziumParse(benchmark::State& state, const RowFixture& (*fixture)(), bool schemas) {
  const RowFixture& row = fixture();
  const debezium::DebeziumEncoder encoder(EncoderOptions(schemas));
  const debezium::DebeziumTable dbz_table = debezium::DebeziumTableOf(pg::SchemaOf(row.table));
  auto table = encoder.Prepare(dbz_table);
  if (!table.ok()) Die("Prepare", table.status().message());
  std::vector<kafka::KafkaRecord> records;
  Status st = encoder.Encode(**table, ChangeOf(row, debezium::DebeziumOp::kCreate), records);
  if (!st.ok()) Die("Encode", st.message());
  const std::string value = *records.at(0).value;
  const std::string topic = records.at(0).topic;
  const debezium::TableLookup lookup = [&dbz_table](std::string_view, std::string_view) { return &dbz_table; };
  debezium::DebeziumParser parser;
  for (auto _ : state) {
    Result<debezium::DebeziumEvent> ev = parser.ParseValue(std::string_view(value), topic, lookup);
    if (!ev.ok()) Die("ParseValue", ev.status().message());
    benchmark::DoNotOptimize(ev);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(value.size()));
}
BENCHMARK_CAPTURE(BM_DebeziumParse, order6_schema, &OrderRow, true);
BENCHMARK_CAPTURE(BM_DebeziumParse, order6_noschema, &OrderRow, false);
BENCHMARK_CAPTURE(BM_DebeziumParse, wide20_schema, &WideRow, true);
BENCHMARK_CAPTURE(BM_DebeziumParse, wide20_noschema, &WideRow, false);

}  // namespace
}  // namespace streamshop

BENCHMARK_MAIN();
