#include "common/Url.h"

#include <algorithm>
#include <cctype>

namespace streamshop {

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    // Only the authority part can hold user:password@. libpq reads it up to the first '/' (a password may hold an
    // unencoded '?' or '#'), so everything before that '/' counts; at worst more than the password is hidden.
    const size_t authority_end = std::min(out.find('/', scheme + 3), out.size());
    const size_t at = out.rfind('@', authority_end);
    const size_t colon = out.find(':', scheme + 3);
    if (at != std::string::npos && at > scheme && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // libpq conninfo allows blanks around '=' and a value that is single-quoted or has backslash escapes
  // (password='a b', password=a\ b); the whole value is redacted, never just its first word.
  const auto blank = [&](size_t i) { return i < out.size() && std::isspace(static_cast<unsigned char>(out[i])); };
  for (size_t pos = out.find("password"); pos != std::string::npos; pos = out.find("password", pos + 1)) {
    size_t start = pos + 8;
    while (blank(start)) ++start;
    if (start >= out.size() || out[start] != '=') continue;
    ++start;
    while (blank(start)) ++start;
    size_t end = start;
    const bool quoted = end < out.size() && out[end] == '\'';
    if (quoted) ++end;
    while (end < out.size() && (quoted ? out[end] != '\'' : !blank(end) && out[end] != '&')) {
      if (out[end] == '\\' && end + 1 < out.size()) ++end;
      ++end;
    }
    if (quoted && end < out.size()) ++end;  // the closing quote
    out.replace(start, end - start, "***");
  }
  return out;
}

}  // namespace streamshop
