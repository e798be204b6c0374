#include "clickhouse/TableWriter.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <thread>

#include "clickhouse/RowBinary.h"
#include "common/Log.h"

namespace streamshop::clickhouse {

TableWriter::TableWriter(const model::TableSchema& table, Dialect dialect, const std::string& database)
    : schema_(table),
      dialect_(dialect),
      database_(database),
      table_name_(TargetName(table.schema, table.name)),
      target_(ClickHouseClient::QuoteIdent(database_) + "." + ClickHouseClient::QuoteIdent(table_name_)) {
  std::string names;
  for (const auto& c : table.columns) {
    columns_.push_back({c.name, MapColumn(c, dialect), c.key_position});
    names += ClickHouseClient::QuoteIdent(c.name) + ", ";
  }
  names += std::string(kUnfitColumn) + ", ";
  if (table.identity == model::RowIdentity::kFullRow) names += "_row_hash, ";
  // Modern servers collapse the versions of a key within one inserted block (optimize_on_insert, on by default):
  // the TOAST lookup needs the live version that a delete marker of the same batch follows (primary-key change).
  insert_sql_ = fmt::format("INSERT INTO {} ({}_version, _deleted) {}FORMAT RowBinary", target_, names,
                            dialect == Dialect::kModern ? "SETTINGS optimize_on_insert = 0 " : "");
}

ColumnType TableWriter::MapColumn(const model::Column& c, Dialect dialect) {
  // Legacy servers: every non-key column is Nullable (a delete carries only the key). Modern servers: only the
  // nullable ones; a row that carries only the key gives a NOT NULL column its type's default.
  const bool nullable = c.key_position == 0 && (dialect == Dialect::kLegacy || c.nullable);
  if (c.key_position > 0 && c.type.kind == model::TypeKind::kArray) return MapColumnType({}, nullable, dialect);
  return MapColumnType(c.type, nullable, dialect);
}

bool TableWriter::HoldsNotNull() const {
  return std::any_of(columns_.begin(), columns_.end(),
                     [](const TargetColumn& c) { return c.key_position == 0 && !c.type.nullable; });
}

namespace {

// Closes `unfit_json` (members, or empty) and appends it as the Nullable(String) `_unfit`.
void AppendUnfit(std::string& out, std::string& unfit_json) {
  if (unfit_json.empty()) {
    AppendUInt8(out, 1);
    return;
  }
  unfit_json.push_back('}');
  AppendUInt8(out, 0);
  AppendVarUInt(out, unfit_json.size());
  out.append(unfit_json);
}

}  // namespace

const ColumnType& TableWriter::UnfitType() {
  static const ColumnType type{ValueKind::kString, true, 0, 0, {}, "Nullable(String)", {}};
  return type;
}

namespace {

// Length of `s` as a file name on the ClickHouse server (its escapeForFileName).
size_t FileNameBytes(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ? 1 : 3;
  return n;
}

// One part of a target name. After "raw_", a public table's part never contains "__" and a schema's part
// neither contains "__" nor ends in '_', so the first "__" separates schema from table; '%' marks the escapes.
std::string TargetPart(std::string_view part, bool schema) {
  const bool escape = part.find("__") != std::string_view::npos || part.find('%') != std::string_view::npos ||
                      (schema && part.ends_with('_'));
  if (!escape) return std::string(part);
  std::string out;
  for (char c : part) {
    if (c == '_') {
      out += "%5F";
    } else if (c == '%') {
      out += "%25";
    } else {
      out += c;
    }
  }
  return out;
}

// Bytes of the unit at `s[i]` that a name is not cut inside: a %XX escape or one UTF-8 character.
size_t UnitLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t n = c == '%' ? 3 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return std::min(n, s.size() - i);
}

}  // namespace

std::string TableWriter::TargetName(const std::string& schema, const std::string& table) {
  std::string name = schema == "public" ? "raw_" + TargetPart(table, false)
                                        : "raw_" + TargetPart(schema, true) + "__" + TargetPart(table, false);
  if (FileNameBytes(name) <= kMaxTargetFileNameBytes) return name;
  const std::string full = schema + '\0' + table;  // PostgreSQL names hold no NUL
  const std::string suffix = fmt::format("%h{:016x}", XXH64(full.data(), full.size(), 0));
  const size_t budget = kMaxTargetFileNameBytes - FileNameBytes(suffix);
  size_t cut = 0, used = 0;
  while (cut < name.size()) {
    const size_t n = UnitLength(name, cut);
    const size_t bytes = FileNameBytes(std::string_view(name).substr(cut, n));
    if (used + bytes > budget) break;
    used += bytes;
    cut += n;
  }
  return name.substr(0, cut) + suffix;
}

std::string TableWriter::SourceKey(const std::string& schema, const std::string& table) {
  if (schema.find('.') == std::string::npos) return schema + "." + table;
  return "." + model::QuoteSqlIdent(schema) + "." + model::QuoteSqlIdent(table);
}

std::string TableWriter::CreateTableSql() const { return CreateTableStatements(ClusterLayout())[0]; }

std::vector<std::string> TableWriter::CreateTableStatements(const ClusterLayout& layout) const {
  std::string cols;
  std::vector<const TargetColumn*> keys;
  for (const auto& c : columns_) {
    cols += fmt::format("{} {}, ", ClickHouseClient::QuoteIdent(c.name), c.type.clickhouse_type);
    if (c.key_position > 0) keys.push_back(&c);
  }
  std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return a->key_position < b->key_position; });
  std::string order_by;
  for (const auto* k : keys) order_by += (order_by.empty() ? "" : ", ") + ClickHouseClient::QuoteIdent(k->name);
  if (schema_.identity == model::RowIdentity::kFullRow) {
    cols += "_row_hash UInt64, ";  // no key: rows are identified by all their values (RowHash)
    order_by = "_row_hash";
  }
  return layout.CreateRawTable(
      dialect_, database_, table_name_,
      fmt::format("{}_version UInt64, _deleted UInt8, {} {}, _synced_at DateTime DEFAULT now()", cols, kUnfitColumn,
                  UnfitType().clickhouse_type),
      dialect_ == Dialect::kModern ? "_version, _deleted" : "_version", order_by, ShardingKey());
}

std::string TableWriter::ShardingKey() const {
  std::vector<const TargetColumn*> keys;
  for (const auto& c : columns_) {
    if (c.key_position > 0) keys.push_back(&c);
  }
  std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return a->key_position < b->key_position; });
  std::vector<std::string> names;
  for (const auto* k : keys) names.push_back(k->name);
  return ClusterLayout::ShardingKey(names, schema_.identity == model::RowIdentity::kFullRow);
}

std::string TableWriter::SelectLiveRowsSql() const {
  std::string names;
  for (const auto& c : columns_) names += (names.empty() ? "" : ", ") + ClickHouseClient::QuoteIdent(c.name);
  return fmt::format("SELECT {}, {} FROM {} FINAL WHERE _deleted = 0 FORMAT RowBinary", names, kUnfitColumn, target_);
}

std::string TableWriter::DescribeKey(const RowValues& values) const {
  // Values that could be read as separators or as NULL are quoted, so a reader can tell keys apart.
  const auto render = [](std::optional<std::string_view> v) -> std::string {
    if (!v) return "NULL";
    if (!v->empty() && v->find_first_of(",='\\") == std::string_view::npos && *v != "NULL") return std::string(*v);
    std::string quoted = "'";
    for (char c : *v) {
      if (c == '\'' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    return quoted + "'";
  };
  std::string out;
  for (size_t i = 0; i < columns_.size() && i < values.size(); ++i) {
    if (columns_[i].key_position == 0) continue;
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", columns_[i].name, render(values[i]));
  }
  return out;
}

bool TableWriter::SameKey(const RowValues& a, const RowValues& b) const {
  std::string encoded_a, encoded_b;
  bool encodable = true;
  const auto at = [](const RowValues& v, size_t i) { return i < v.size() ? v[i] : std::nullopt; };
  for (size_t i = 0; i < columns_.size() && encodable; ++i) {
    if (columns_[i].key_position == 0) continue;
    encodable = AppendValue(columns_[i].type, at(a, i), encoded_a).ok() &&
                AppendValue(columns_[i].type, at(b, i), encoded_b).ok();
  }
  if (encodable) return encoded_a == encoded_b;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].key_position > 0 && at(a, i) != at(b, i)) return false;
  }
  return true;
}

Status TableWriter::EncodeValue(size_t i, std::optional<std::string_view> value, std::string& out,
                                std::string& unfit_json, Unfit& unfit, const RowValues& row, bool key_only) const {
  const ColumnType& type = columns_[i].type;
  if (key_only && !value && !type.nullable && columns_[i].key_position == 0) {
    AppendDefault(type, out);  // a delete marker: its non-key values are never read
    return Status::Ok();
  }
  const size_t mark = out.size();
  Status st = AppendValue(type, value, out);
  if (st.ok()) return st;
  out.resize(mark);
  st = st.WithContext(
      fmt::format("table {} column {} (key {})", schema_.QualifiedName(), columns_[i].name, DescribeKey(row)));
  if (columns_[i].key_position > 0 || !value) {
    unfit.in_key = columns_[i].key_position > 0;
    return st;
  }
  AppendDefault(type, out);  // NULL, or a NOT NULL column's default; the text goes to _unfit
  unfit_json.push_back(unfit_json.empty() ? '{' : ',');
  AppendJsonString(columns_[i].name, unfit_json);
  unfit_json.push_back(':');
  AppendJsonString(*value, unfit_json);
  ++unfit.values;
  unfit.reason += (unfit.reason.empty() ? "" : "; ") + st.message();
  return Status::Ok();
}

Status TableWriter::EncodeColumns(const RowValues& values, std::string& out, Unfit* unfit, bool key_only) const {
  if (values.size() != columns_.size()) {
    return Status::Fatal(fmt::format("table {}: row has {} columns, expected {}", schema_.QualifiedName(),
                                     values.size(), columns_.size()));
  }
  Unfit local;
  Unfit& u = unfit ? *unfit : local;
  u = Unfit{};
  std::string unfit_json;
  for (size_t i = 0; i < columns_.size(); ++i)
    SS_RETURN_IF_ERROR(EncodeValue(i, values[i], out, unfit_json, u, values, key_only));
  AppendUnfit(out, unfit_json);
  return Status::Ok();
}

std::string TableWriter::CreateDeadLetterTableSql(const std::string& database, const ClusterLayout& layout) {
  return layout.CreateStateTable(Dialect::kLegacy, database, "_streamshop_dead_letters", kDeadLetterColumns,
                                 "MergeTree", "table, lsn");
}

Status TableWriter::UnfitRecord(const Unfit& unfit) const {
  return Status::Fatal(fmt::format("{}; stored in {} as NULL, the original text kept in its column {}", unfit.reason,
                                   target_, kUnfitColumn));
}

void TableWriter::AppendDeadLetter(const RowValues& values, uint64_t version, const Status& reason) {
  std::string row;
  for (size_t i = 0; i < columns_.size() && i < values.size(); ++i) {
    row += fmt::format("{}{}={}", i ? "\t" : "", columns_[i].name, values[i].value_or("NULL"));
  }
  const auto append_string = [this](std::string_view s) {
    AppendVarUInt(dead_letter_buffer_, s.size());
    dead_letter_buffer_.append(s);
  };
  append_string(SourceKey(schema_.schema, schema_.name));
  AppendUInt64(dead_letter_buffer_, version);
  append_string(DescribeKey(values));
  append_string(reason.message());
  append_string(row);
  ++dead_letter_rows_;
  ++dead_letters_total_;
  LogWarn("dead letter: {} (lsn {}): {}", schema_.QualifiedName(), version, ValuesAtDebug(reason.message()));
}

Status TableWriter::AppendRow(const RowValues& values, uint64_t version, bool deleted) {
  const size_t mark = buffer_.size();
  Unfit unfit;
  Status st = EncodeColumns(values, buffer_, &unfit, /*key_only=*/deleted);
  if (!st.ok()) {
    buffer_.resize(mark);
    if (st.retryable()) return st;
    AppendDeadLetter(values, version,
                     unfit.in_key ? st.WithContext(fmt::format("ClickHouse cannot hold this key value, the row is not "
                                                               "in {}: this dead letter is its only copy",
                                                               target_))
                                  : st);
    return Status::Ok();
  }
  if (schema_.identity == model::RowIdentity::kFullRow) AppendUInt64(buffer_, RowHash(values));
  AppendUInt64(buffer_, version);
  AppendUInt8(buffer_, deleted ? 1 : 0);
  ++pending_rows_;
  if (unfit.values > 0) AppendDeadLetter(values, version, UnfitRecord(unfit));
  return Status::Ok();
}

uint64_t TableWriter::RowHash(const RowValues& values) const {
  // Over (name, PostgreSQL text) of the non-NULL values: the same for a row read by COPY and sent by pgoutput,
  // unchanged when a column is widened in ClickHouse or a column is added (NULL in existing rows).
  std::string bytes;
  for (size_t i = 0; i < columns_.size() && i < values.size(); ++i) {
    if (!values[i]) continue;
    AppendVarUInt(bytes, columns_[i].name.size());
    bytes += columns_[i].name;
    AppendVarUInt(bytes, values[i]->size());
    bytes += *values[i];
  }
  return XXH3_64bits(bytes.data(), bytes.size());
}

Status TableWriter::AppendRowWithUnchanged(const RowValues& values, const std::vector<bool>& unchanged,
                                           const RowValues& lookup_key, uint64_t version) {
  const auto copy = [](const RowValues& v) {
    std::vector<std::optional<std::string>> out;
    for (const auto& x : v) out.push_back(x ? std::optional<std::string>(*x) : std::nullopt);
    return out;
  };
  // A key ClickHouse cannot hold has no stored version to look up: the row goes to the dead letters.
  std::string key;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].key_position == 0) continue;
    for (const RowValues* row : {&values, &lookup_key}) {
      Status st = AppendValue(columns_[i].type, i < row->size() ? (*row)[i] : std::nullopt, key);
      if (!st.ok()) {
        AppendDeadLetter(values, version,
                         st.WithContext(fmt::format("table {} key column {}: ClickHouse cannot hold this key value, "
                                                    "the row is not in {}: this dead letter is its only copy",
                                                    schema_.QualifiedName(), columns_[i].name, target_)));
        return Status::Ok();
      }
    }
  }
  ToastRow row{copy(values), unchanged, copy(lookup_key), version};
  for (const auto& v : row.values) toast_bytes_ += v ? v->size() : 0;
  toast_rows_.push_back(std::move(row));
  return Status::Ok();
}

Status TableWriter::InsertBuffer(ClickHouseClient& ch) {
  if (pending_rows_ == 0) return Status::Ok();
  SS_RETURN_IF_ERROR(ch.Insert(insert_sql_, buffer_));
  buffer_.clear();
  pending_rows_ = 0;
  return Status::Ok();
}

Status TableWriter::Flush(ClickHouseClient& ch) {
  SS_RETURN_IF_ERROR(InsertBuffer(ch));
  if (!toast_rows_.empty()) {
    SS_RETURN_IF_ERROR(ResolveToastRows(ch));
    SS_RETURN_IF_ERROR(InsertBuffer(ch));
    toast_rows_.clear();
    toast_bytes_ = 0;
  }
  // Last: resolving TOAST values may add dead letters too.
  if (dead_letter_rows_ > 0) {
    SS_RETURN_IF_ERROR(ch.Insert(fmt::format("INSERT INTO {}.`_streamshop_dead_letters` (table, lsn, key, reason, row) "
                                             "FORMAT RowBinary",
                                             ClickHouseClient::QuoteIdent(database_)),
                                 dead_letter_buffer_));
    dead_letter_buffer_.clear();
    stored_dead_letters_ += std::exchange(dead_letter_rows_, 0);
  }
  return Status::Ok();
}

Result<std::string> TableWriter::KeyLiteral(const TargetColumn& column, std::string_view text) const {
  std::string encoded;
  SS_RETURN_IF_ERROR(AppendValue(column.type, text, encoded));
  const std::string number = RenderValue(column.type, encoded);
  switch (column.type.kind) {
    case ValueKind::kBool:
    case ValueKind::kInt16:
    case ValueKind::kInt32:
    case ValueKind::kInt64:
    case ValueKind::kFloat32:
    case ValueKind::kFloat64:
      return number;
    case ValueKind::kDate:
      return dialect_ == Dialect::kModern ? fmt::format("addDays(toDate32('1970-01-01'), {})", number) : number;
    case ValueKind::kTimestamp:
      return dialect_ == Dialect::kModern ? fmt::format("fromUnixTimestamp64Micro(toInt64({}))", number) : number;
    case ValueKind::kBytes: {
      std::string hex;
      for (char c : encoded.substr(encoded.size() - (text.size() - 2) / 2))
        hex += fmt::format("{:02X}", static_cast<uint8_t>(c));
      return fmt::format("unhex('{}')", hex);
    }
    case ValueKind::kDecimal:
    case ValueKind::kUuid:
    case ValueKind::kString:
      return ClickHouseClient::QuoteString(text);
    case ValueKind::kComposite:
      return ClickHouseClient::QuoteString(number);  // the JSON text
    case ValueKind::kArray:
      break;  // never a key (MapColumn)
  }
  return Status::Fatal("unknown value kind");
}

Status TableWriter::ResolveToastRows(ClickHouseClient& ch) {
  // Which columns to fetch, and the keys to fetch them for.
  std::vector<size_t> key_cols, fetch_cols;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].key_position > 0) key_cols.push_back(i);
    bool needed = false;
    for (const auto& r : toast_rows_) needed |= r.unchanged[i];
    if (needed) fetch_cols.push_back(i);
  }
  std::string keys, fetched, keys_in;
  for (size_t i : key_cols) keys += (keys.empty() ? "" : ", ") + ClickHouseClient::QuoteIdent(columns_[i].name);
  for (size_t i : fetch_cols) fetched += (fetched.empty() ? "" : ", ") + ClickHouseClient::QuoteIdent(columns_[i].name);
  const std::string key_tuple = key_cols.size() == 1 ? keys : "(" + keys + ")";
  for (const auto& r : toast_rows_) {
    std::string literal;
    for (size_t i : key_cols) {
      if (!r.lookup_key[i]) {
        return Status::Fatal(fmt::format("table {}: NULL in key column {}", schema_.QualifiedName(), columns_[i].name));
      }
      SS_ASSIGN_OR_RETURN(std::string l, KeyLiteral(columns_[i], *r.lookup_key[i]));
      literal += (literal.empty() ? "" : ", ") + l;
    }
    keys_in += (keys_in.empty() ? "" : ", ") + (key_cols.size() == 1 ? literal : "(" + literal + ")");
  }
  // Every live version per key (a delete marker written by this batch, e.g. for the old key of a primary-key
  // update, must not hide the values). Each row takes the newest version older than itself: on a replay,
  // ClickHouse may already hold later versions of the looked-up key, and after a primary-key change a later
  // version of the old key is another row's value.
  SS_ASSIGN_OR_RETURN(std::string data,
                      ch.Query(fmt::format("SELECT {}, _version, {} FROM {} WHERE {} IN ({}) AND _deleted = 0 "
                                           "FORMAT RowBinary",
                                           keys, fetched, target_, key_tuple, keys_in)));
  // Stored values of the fetched columns (encoded, indexed like columns_, only fetch_cols set), by encoded key
  // and version.
  std::map<std::string, std::map<uint64_t, std::vector<std::string>>> stored;
  for (std::string_view rest = data; !rest.empty();) {
    std::string key;
    for (size_t i : key_cols) {
      SS_ASSIGN_OR_RETURN(size_t n, EncodedSize(columns_[i].type, rest));
      key.append(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    if (rest.size() < sizeof(uint64_t)) return Status::Fatal("truncated RowBinary: missing _version");
    uint64_t version = 0;
    std::memcpy(&version, rest.data(), sizeof(uint64_t));
    rest.remove_prefix(sizeof(uint64_t));
    std::vector<std::string> values(columns_.size());
    for (size_t i : fetch_cols) {
      SS_ASSIGN_OR_RETURN(size_t n, EncodedSize(columns_[i].type, rest));
      values[i] = std::string(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    stored[key][version] = std::move(values);
  }
  // In stream order; a row resolved here is also an earlier version for a later row of its key (e.g. an update
  // right after a primary-key update).
  for (const auto& r : toast_rows_) {
    std::string lookup, key;
    for (size_t i : key_cols) SS_RETURN_IF_ERROR(AppendValue(columns_[i].type, r.lookup_key[i], lookup));
    RowValues values;
    for (const auto& v : r.values) values.push_back(v ? std::optional<std::string_view>(*v) : std::nullopt);
    for (size_t i : key_cols) SS_RETURN_IF_ERROR(AppendValue(columns_[i].type, values[i], key));
    const std::vector<std::string>* earlier = nullptr;
    bool superseded = false;  // ClickHouse holds a later version of this very key (a replay): nothing to write
    if (auto versions = stored.find(lookup); versions != stored.end()) {
      auto newer = versions->second.lower_bound(r.version);
      if (newer != versions->second.begin()) earlier = &std::prev(newer)->second;
      superseded = lookup == key && versions->second.upper_bound(r.version) != versions->second.end();
    }
    if (!earlier && (superseded || r.version < copied_at_)) continue;  // see the header
    if (!earlier) {  // dead-lettered (failing would fail again on every restart)
      AppendDeadLetter(
          values, r.version,
          Status::Fatal(fmt::format(
              "table {} key {}: an UPDATE left TOASTed columns unchanged, and ClickHouse holds no earlier version of "
              "the row to take them from (was the table replicated with --snapshot never?); set ALTER TABLE {} "
              "REPLICA IDENTITY FULL, or copy the table again by dropping {}",
              schema_.QualifiedName(), DescribeKey(values), schema_.QuotedName(), target_)));
      continue;
    }
    // Unchanged values are TOASTed ones (long text, bytea, json, long numeric as String): they always fit, so
    // the stored row's _unfit has nothing for them.
    std::vector<std::string> resolved(columns_.size());
    std::string unfit_json;
    Unfit unfit;
    for (size_t i = 0; i < columns_.size(); ++i) {
      std::string& out = resolved[i];
      if (r.unchanged[i]) {
        out = (*earlier)[i];
      } else {
        SS_RETURN_IF_ERROR(EncodeValue(i, values[i], out, unfit_json, unfit, values, false));  // keys were checked
      }
      buffer_.append(out);
    }
    AppendUnfit(buffer_, unfit_json);
    if (unfit.values > 0) AppendDeadLetter(values, r.version, UnfitRecord(unfit));
    AppendUInt64(buffer_, r.version);
    AppendUInt8(buffer_, 0);
    ++pending_rows_;
    stored[key][r.version] = std::move(resolved);
  }
  return Status::Ok();
}

void TableWriter::DiscardPending() {
  buffer_.clear();
  dead_letter_buffer_.clear();
  dead_letter_rows_ = 0;
  pending_rows_ = 0;
  toast_rows_.clear();
  toast_bytes_ = 0;
}

std::vector<Status> FlushConcurrently(const std::vector<TableWriter*>& writers,
                                      const std::vector<std::unique_ptr<ClickHouseClient>>& clients) {
  std::vector<Status> results(writers.size(), Status::Ok());
  std::vector<size_t> pending;
  for (size_t i = 0; i < writers.size(); ++i) {
    if (writers[i]->pending_rows() > 0) pending.push_back(i);
  }
  std::atomic<size_t> next{0};
  auto work = [&](ClickHouseClient& ch) {
    for (size_t n = next++; n < pending.size(); n = next++) results[pending[n]] = writers[pending[n]]->Flush(ch);
  };
  const size_t threads = std::min(clients.size(), pending.size());
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work, std::ref(*clients[t]));
  if (threads > 0) work(*clients[0]);
  for (auto& h : helpers) h.join();
  return results;
}

}  // namespace streamshop::clickhouse
