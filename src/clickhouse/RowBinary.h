// RowBinary encoding of PostgreSQL text values, and the matching reader. Pure; thread-safe.
//
// The PostgreSQL side always speaks text (pgoutput text tuples, COPY text rows) with the session settings
// of PgConnection (DateStyle ISO, TimeZone UTC, bytea hex). AppendValue converts one such value into
// the RowBinary bytes of its ClickHouse column (docs/TYPE_MAPPING.md). A value that does not fit its
// column is a Fatal error naming the value; nothing is silently truncated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "clickhouse/TypeMapping.h"
#include "common/JsonString.h"
#include "common/Status.h"

namespace streamshop::clickhouse {

// Appends the encoding of `text` (std::nullopt = SQL NULL) for a column of `type`.
Status AppendValue(const ColumnType& type, std::optional<std::string_view> text, std::string& out);
// Appends the value ClickHouse gives a column that a row does not set: NULL if Nullable, else the type's default
// (0, empty string or array, 1970-01-01). For NOT NULL columns of rows that carry only their key (delete markers).
void AppendDefault(const ColumnType& type, std::string& out);

void AppendUInt8(std::string& out, uint8_t v);
void AppendUInt64(std::string& out, uint64_t v);
void AppendVarUInt(std::string& out, uint64_t v);
// Appends `s` as a JSON string literal the way PostgreSQL's to_json writes it (common/JsonString.h, kPostgres): the
// escaping of the JSON values ClickHouse stores (composites, _unfit).
inline void AppendJsonString(std::string_view s, std::string& out) {
  streamshop::AppendJsonString(out, s, JsonDialect::kPostgres);
}

// Size in bytes of the encoded value at the start of `data` (including a Nullable marker), or an error if
// `data` is truncated. Used to split RowBinary rows read back from ClickHouse.
Result<size_t> EncodedSize(const ColumnType& type, std::string_view data);

// Splits a RowBinary body made only of String columns (e.g. "SELECT name, type FROM system.columns FORMAT
// RowBinary") into its values, in order: every byte of a name comes back as stored, unlike TSV output. Fatal
// if the body is truncated.
Result<std::vector<std::string>> ReadStrings(std::string_view data);

// Human-readable rendering of one encoded value (as produced by AppendValue), for messages.
std::string RenderValue(const ColumnType& type, std::string_view encoded);

}  // namespace streamshop::clickhouse
