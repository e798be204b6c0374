// A tiny ClickHouse for unit tests of sessions (sink, replicate), behind the clickhouse::HttpTransport seam.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clickhouse/HttpTransport.h"
#include "clickhouse/RowBinary.h"
#include "common/Status.h"

namespace streamshop::testing_support {

using clickhouse::HttpResponse;

// ClickHouse 18.16 as a session sees it over HTTP: tables exist once created (system.columns answers with the
// columns of their CREATE TABLE, and whether one is _row_hash; MODIFY COLUMN changes their type), max(_version) reads
// as for an empty table, INSERT bodies are stored unless a failure is scripted for that insert (or for its table). Any
// other statement is for `answer` to answer, or fails the test. Thread-safe (a flush inserts its tables over several
// connections at once).
class FakeClickHouse {
 public:
  std::map<int, HttpResponse> fail_insert;                // 1-based insert number → the error answer it gets
  std::map<std::string, HttpResponse> fail_inserts_into;  // table name → the error every insert into it gets
  // Statements this fake does not know, answered by the test (nullopt: unknown here too).
  std::function<std::optional<HttpResponse>(const std::string& sql)> answer;
  std::vector<std::string> stored;  // bodies of acknowledged inserts
  int inserts = 0;

  // Whether an acknowledged insert holds these bytes (a row's id).
  bool Stored(std::string_view bytes) const {
    for (const std::string& body : stored) {
      if (body.find(bytes) != std::string::npos) return true;
    }
    return false;
  }

  Result<HttpResponse> Post(const std::string& url, std::string_view body) {
    std::lock_guard lock(mutex_);
    if (url.find("&query=INSERT") != std::string::npos) {
      ++inserts;
      if (auto f = fail_insert.find(inserts); f != fail_insert.end()) return f->second;
      for (const auto& [table, error] : fail_inserts_into) {
        if (url.find("%60" + table + "%60") != std::string::npos) return error;  // `table`, URL-encoded
      }
      stored.emplace_back(body);
      return Answer("");
    }
    const std::string sql(body);
    if (sql == "SELECT version()") return Answer("18.16.1\n");
    if (sql.starts_with("SELECT count() FROM system.databases")) return Answer("1\n");
    if (sql.starts_with("CREATE TABLE IF NOT EXISTS ")) return Create(sql);
    if (sql.starts_with("SELECT name, type FROM system.columns")) return Columns(sql);
    if (sql.starts_with("SELECT countIf(name = '_row_hash'), count() FROM system.columns")) return HasRowHash(sql);
    if (sql.starts_with("ALTER TABLE ") && sql.find(" MODIFY COLUMN `") != std::string::npos) return Modify(sql);
    if (sql.starts_with("SELECT max(_version)")) return Answer("0\t0\n");
    if (answer) {
      if (std::optional<HttpResponse> a = answer(sql)) return *a;
    }
    ADD_FAILURE() << "the fake ClickHouse does not know this statement: " << sql;
    return Error(500, 62, "Syntax error");
  }

  static HttpResponse Answer(std::string body) { return {200, std::move(body), {}, false}; }
  static HttpResponse Error(long status, int code, std::string_view text) {
    return {status,
            fmt::format("Code: {}, e.displayText() = DB::Exception: {}, e.what() = DB::Exception\n", code, text),
            {{"x-clickhouse-exception-code", std::to_string(code)}},
            false};
  }

 private:
  // "… `db`.`raw_x` (`a` String, b UInt64, c DateTime DEFAULT now()) ENGINE …": remembers raw_x's columns.
  Result<HttpResponse> Create(const std::string& sql) {
    const size_t open = sql.find(" (");
    const size_t close = sql.find(") ENGINE");
    const size_t dot = sql.rfind("`.`", open);
    if (open == std::string::npos || close == std::string::npos || dot == std::string::npos) {
      ADD_FAILURE() << "unexpected CREATE TABLE: " << sql;
      return Error(500, 62, "Syntax error");
    }
    const std::string table = sql.substr(dot + 3, open - dot - 4);
    std::vector<std::pair<std::string, std::string>> columns;
    const std::string list = sql.substr(open + 2, close - open - 2);
    int depth = 0;
    size_t start = 0;
    for (size_t i = 0; i <= list.size(); ++i) {
      if (i < list.size() && list[i] == '(') ++depth;
      if (i < list.size() && list[i] == ')') --depth;
      if (i < list.size() && !(depth == 0 && list.compare(i, 2, ", ") == 0)) continue;
      std::string item = list.substr(start, i - start);
      start = i + 2;
      std::string name;
      if (item.starts_with('`')) {
        name = item.substr(1, item.find('`', 1) - 1);
        item = item.substr(name.size() + 3);
      } else {
        name = item.substr(0, item.find(' '));
        item = item.substr(name.size() + 1);
      }
      columns.emplace_back(name, item.substr(0, item.find(" DEFAULT ")));
    }
    if (!tables_.count(table)) tables_[table] = std::move(columns);
    return Answer("");
  }

  // "… AND table = 'raw_x' FORMAT TSV": whether raw_x has a column _row_hash, and how many columns it has.
  Result<HttpResponse> HasRowHash(const std::string& sql) {
    const size_t at = sql.find("AND table = '") + 13;
    const std::string table = sql.substr(at, sql.find('\'', at) - at);
    auto it = tables_.find(table);
    if (it == tables_.end()) return Answer("0\t0\n");
    int hashed = 0;
    for (const auto& [name, type] : it->second) hashed += name == "_row_hash";
    return Answer(fmt::format("{}\t{}\n", hashed, it->second.size()));
  }

  // "ALTER TABLE `db`.`raw_x` MODIFY COLUMN `c` T": raw_x's column c has type T from now on.
  Result<HttpResponse> Modify(const std::string& sql) {
    const size_t dot = sql.find("`.`");
    const size_t end = sql.find('`', dot + 3);
    const size_t col = sql.find(" MODIFY COLUMN `") + 16;
    const size_t col_end = sql.find('`', col);
    const std::string table = sql.substr(dot + 3, end - dot - 3), column = sql.substr(col, col_end - col);
    for (auto& [name, type] : tables_[table]) {
      if (name == column) type = sql.substr(col_end + 2);
    }
    return Answer("");
  }

  // "… WHERE database = 'db' AND table = 'raw_x' FORMAT RowBinary": (name, type) pairs as RowBinary strings.
  Result<HttpResponse> Columns(const std::string& sql) {
    const size_t at = sql.find("AND table = '") + 13;
    const std::string table = sql.substr(at, sql.find('\'', at) - at);
    std::string out;
    for (const auto& [name, type] : tables_[table]) {
      for (const std::string& s : {name, type}) {
        clickhouse::AppendVarUInt(out, s.size());
        out += s;
      }
    }
    return Answer(out);
  }

  std::map<std::string, std::vector<std::pair<std::string, std::string>>> tables_;
  std::mutex mutex_;
};

class FakeTransport final : public clickhouse::HttpTransport {
 public:
  explicit FakeTransport(FakeClickHouse& ch) : ch_(ch) {}
  Result<HttpResponse> Post(const std::string& url, std::string_view body, size_t) override {
    return ch_.Post(url, body);
  }

 private:
  FakeClickHouse& ch_;
};

}  // namespace streamshop::testing_support
