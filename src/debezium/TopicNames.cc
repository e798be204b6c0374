#include "debezium/TopicNames.h"

#include <fmt/format.h>
#include <xxhash.h>

namespace streamshop::debezium {
namespace {

constexpr std::string_view kHashMarker = "--";
constexpr size_t kHashHexDigits = 32;
constexpr size_t kMaxPrefixLength = 150;

bool Ordinary(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool LegalInTopic(unsigned char c) { return Ordinary(c) || c == '.' || c == '-'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The part before the last two dots, and the two parts after them (each non-empty).
bool SplitLastTwo(std::string_view topic, std::string_view& prefix, std::string_view& schema, std::string_view& table) {
  const size_t last = topic.rfind('.');
  if (last == std::string_view::npos || last == 0 || last + 1 == topic.size()) return false;
  const size_t mid = topic.rfind('.', last - 1);
  if (mid == std::string_view::npos || mid == 0 || mid + 1 == last) return false;
  prefix = topic.substr(0, mid);
  schema = topic.substr(mid + 1, last - mid - 1);
  table = topic.substr(last + 1);
  return true;
}

// Debezium's sanitizer works on Java chars: one '_' per UTF-16 unit outside [A-Za-z0-9._-].
std::string DebeziumPart(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      out.push_back(LegalInTopic(c) ? static_cast<char>(c) : '_');
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte; four bytes are a surrogate pair in Java.
    const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    out.append(len == 4 ? 2 : 1, '_');
    i += len;
  }
  return out;
}

}  // namespace

std::string EscapeNamePart(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (Ordinary(c)) {
      out.push_back(ch);
    } else {
      fmt::format_to(std::back_inserter(out), "-{:02x}", c);
    }
  }
  return out;
}

std::optional<std::string> UnescapeNamePart(std::string_view part) {
  std::string out;
  out.reserve(part.size());
  for (size_t i = 0; i < part.size(); ++i) {
    const auto c = static_cast<unsigned char>(part[i]);
    if (Ordinary(c)) {
      out.push_back(part[i]);
      continue;
    }
    if (c != '-' || i + 2 >= part.size()) return std::nullopt;
    const int hi = HexValue(part[i + 1]), lo = HexValue(part[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const auto byte = static_cast<unsigned char>(hi * 16 + lo);
    if (Ordinary(byte)) return std::nullopt;  // not how EscapeNamePart writes it: one name, one spelling
    out.push_back(static_cast<char>(byte));
    i += 2;
  }
  return out;
}

bool ValidTopicPrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > kMaxPrefixLength) return false;
  for (const char c : prefix) {
    if (!LegalInTopic(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string TopicForTable(std::string_view prefix, std::string_view schema, std::string_view table) {
  std::string s = EscapeNamePart(schema), t = EscapeNamePart(table);
  if (prefix.size() + 2 + s.size() + t.size() <= kMaxTopicLength) return fmt::format("{}.{}.{}", prefix, s, t);
  std::string both(schema);
  both += '\0';
  both += table;
  const XXH128_hash_t h = XXH3_128bits(both.data(), both.size());
  const std::string suffix = fmt::format("{}{:016x}{:016x}", kHashMarker, h.high64, h.low64);
  // Room for the parts: schema keeps up to a third of it, the table the rest (each at least one character).
  const size_t room = kMaxTopicLength - std::min(prefix.size(), kMaxTopicLength) - 2 - suffix.size();
  const size_t schema_room = std::max<size_t>(1, std::min(s.size(), room / 3));
  const size_t table_room = std::max<size_t>(1, room > schema_room ? room - schema_room : 1);
  // A cut must not leave a '-' that would join the marker into "---" or end an escape early: drop a partial escape.
  const auto cut = [](std::string& part, size_t n) {
    if (part.size() <= n) return;
    part.resize(n);
    const size_t dash = part.rfind('-');
    if (dash != std::string::npos && dash + 3 > part.size()) part.resize(dash);
    if (part.empty()) part.assign(1, '_');
  };
  cut(s, schema_room);
  cut(t, table_room);
  return fmt::format("{}.{}.{}{}", prefix, s, t, suffix);
}

std::string DebeziumTopicForTable(std::string_view prefix, std::string_view schema, std::string_view table) {
  return fmt::format("{}.{}.{}", prefix, DebeziumPart(schema), DebeziumPart(table));
}

bool TopicMatchesTable(std::string_view topic, std::string_view schema, std::string_view table) {
  std::string_view prefix, s, t;
  if (SplitLastTwo(topic, prefix, s, t) && TopicForTable(prefix, schema, table) == topic) return true;
  // Debezium's parts may contain dots, so compare the end of the topic and require a non-empty prefix before it.
  const std::string tail = fmt::format(".{}.{}", DebeziumPart(schema), DebeziumPart(table));
  return topic.size() > tail.size() && topic.ends_with(tail);
}

bool TableFromTopic(std::string_view topic, std::string& schema, std::string& table) {
  std::string_view prefix, s, t;
  if (!SplitLastTwo(topic, prefix, s, t)) return false;
  if (t.find(kHashMarker) != std::string_view::npos) return false;
  std::optional<std::string> us = UnescapeNamePart(s), ut = UnescapeNamePart(t);
  schema = us ? std::move(*us) : std::string(s);
  table = ut ? std::move(*ut) : std::string(t);
  return true;
}

std::string CaptureStateKey(std::string_view system_id, std::string_view database, std::string_view slot,
                            std::string_view schema, std::string_view table) {
  return fmt::format("{}/{}/{}/{}.{}", EscapeNamePart(system_id), EscapeNamePart(database), EscapeNamePart(slot),
                     EscapeNamePart(schema), EscapeNamePart(table));
}

std::string CapturePositionKey(std::string_view system_id, std::string_view database, std::string_view slot) {
  return fmt::format("{}/{}/{}/position", EscapeNamePart(system_id), EscapeNamePart(database), EscapeNamePart(slot));
}

}  // namespace streamshop::debezium
