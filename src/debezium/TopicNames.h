// The one mapping from PostgreSQL objects to Kafka names, used by `capture` (to name topics and state keys) and by
// `sink` (to check that a record's table is the one its topic stands for). Pure functions; thread-safe.
//
// Rule (docs/DEBEZIUM_COMPATIBILITY.md, "Topic names"):
//   - A name part is the identifier's bytes with every byte outside [A-Za-z0-9_] written as '-' plus two lowercase
//     hex digits ("my table" → "my-20table", "a.b" → "a-2eb", "é" → "-c3-a9"). Ordinary names — letters, digits,
//     underscores — are unchanged, so their topics are exactly Debezium's. '-' only ever starts an escape, so the
//     escape is injective and decodable, and a part never contains '.'.
//   - Topic = <prefix>.<part(schema)>.<part(table)>. When that exceeds Kafka's 249 characters, the parts are cut
//     and "--" plus 32 hex digits of a 128-bit hash (XXH3) of schema and table is appended: "--" never occurs in an
//     escaped part, so a shortened topic never equals an unshortened one (distinct shortened names share a topic
//     only if their 128-bit hashes collide).
//   - Capture's state key = <system id>/<part(database)>/<part(slot)>/<part(schema)>.<part(table)> (no length cut).
//
// The sink also accepts real Debezium's name for a table — its sanitizer turns each character outside
// [A-Za-z0-9._-] into '_' — so topics written by Debezium keep working; that name is not injective ("a b" and "a_b"
// share it), which is why capture does not use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace streamshop::debezium {

inline constexpr size_t kMaxTopicLength = 249;

// One identifier as a name part (see the rule above).
std::string EscapeNamePart(std::string_view name);
// The identifier a part stands for; nullopt if `part` is not an escaped name (e.g. a Debezium name with '-').
std::optional<std::string> UnescapeNamePart(std::string_view part);

// Whether `prefix` is usable: non-empty, only [A-Za-z0-9._-], at most 150 characters (room for the table parts).
bool ValidTopicPrefix(std::string_view prefix);

// Capture's topic for a table: "<prefix>.<schema part>.<table part>", at most 249 characters.
std::string TopicForTable(std::string_view prefix, std::string_view schema, std::string_view table);

// Real Debezium's topic for a table (characters outside [A-Za-z0-9._-] become '_').
std::string DebeziumTopicForTable(std::string_view prefix, std::string_view schema, std::string_view table);

// Whether `topic` is the topic of schema.table under either naming above, for some non-empty prefix.
bool TopicMatchesTable(std::string_view topic, std::string_view schema, std::string_view table);

// The table a topic stands for, decoded from its last two parts ("<prefix>.<schema>.<table>"); parts that are not
// escaped names (real Debezium's) are taken as they are. False if the topic has fewer than three parts or its
// name was shortened with a hash (the record must then say its table in source.schema/source.table).
bool TableFromTopic(std::string_view topic, std::string& schema, std::string& table);

// Capture's snapshot-state key of a table.
std::string CaptureStateKey(std::string_view system_id, std::string_view database, std::string_view slot,
                            std::string_view schema, std::string_view table);
// Capture's source-position key of a slot (capture --exactly-once; never equal to a table's key: no '.' in its
// last part).
std::string CapturePositionKey(std::string_view system_id, std::string_view database, std::string_view slot);

}  // namespace streamshop::debezium
