#include "common/Url.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace streamshop {

namespace {

// Where the secrets of `url` are: [begin, end) ranges of the password in "scheme://user:password@host…" and of every
// "password=…" value (libpq conninfo, URL query parameters), in order, not overlapping.
std::vector<std::pair<size_t, size_t>> SecretRanges(std::string_view out) {
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t scanned = 0;
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    // Only the authority part can hold user:password@. libpq reads it up to the first '/' (a password may hold an
    // unencoded '?' or '#'), so everything before that '/' counts; at worst more than the password is hidden.
    const size_t authority_end = std::min(out.find('/', scheme + 3), out.size());
    size_t at = out.rfind('@', authority_end);
    const size_t colon = out.find(':', scheme + 3);
    // A password with an unencoded '/' (libpq refuses the URL, and quotes part of it in its error): a ':' before the
    // first '/' that is not followed by a port starts a password, which ends at the next '@'.
    if ((at == std::string_view::npos || at < colon) && colon < authority_end) {
      const size_t port_end = std::min(out.find_first_of("/?#", colon), out.size());
      const bool port = port_end > colon + 1 && std::all_of(out.begin() + colon + 1, out.begin() + port_end,
                                                            [](char c) { return c >= '0' && c <= '9'; });
      if (!port) at = out.find('@', colon);
    }
    if (at != std::string_view::npos && at > scheme && colon < at) {
      ranges.emplace_back(colon + 1, at);
      scanned = at;
    }
  }
  // libpq conninfo allows blanks around '=' and a value that is single-quoted or has backslash escapes
  // (password='a b', password=a\ b); the whole value is redacted, never just its first word.
  const auto blank = [&](size_t i) { return i < out.size() && std::isspace(static_cast<unsigned char>(out[i])); };
  for (size_t pos = out.find("password", scanned); pos != std::string_view::npos; pos = out.find("password", pos + 1)) {
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
    ranges.emplace_back(start, end);
    pos = end;
  }
  return ranges;
}

}  // namespace

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX sequences decoded; a '%' not followed by two hex digits stays as it is.
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

UserInfoSplit SplitUserInfo(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {std::string(url), "", ""};
  const size_t authority_end = std::min(url.find_first_of("/?#", scheme + 3), url.size());
  const size_t at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < scheme + 3) return {std::string(url), "", ""};
  const std::string_view userinfo = url.substr(scheme + 3, at - scheme - 3);
  const size_t colon = userinfo.find(':');
  UserInfoSplit split;
  split.url = std::string(url.substr(0, scheme + 3)).append(url.substr(at + 1));
  split.user = PercentDecode(userinfo.substr(0, colon));
  if (colon != std::string_view::npos) split.password = PercentDecode(userinfo.substr(colon + 1));
  return split;
}

std::string RedactUrl(std::string_view url) {
  std::string out;
  size_t from = 0;
  for (const auto& [begin, end] : SecretRanges(url)) {
    out.append(url.substr(from, begin - from)).append("***");
    from = end;
  }
  return out.append(url.substr(from));
}

std::string RedactSecretsOf(std::string_view url, std::string_view text) {
  std::string out(text);
  for (const auto& [begin, end] : SecretRanges(url)) {
    const std::string_view secret = url.substr(begin, end - begin);
    // Every run of the text that is a piece of the secret, at least 4 bytes long (or the whole secret).
    for (size_t i = 0; i < out.size(); ++i) {
      size_t longest = 0;
      for (size_t j = 0; j < secret.size(); ++j) {
        size_t n = 0;
        while (i + n < out.size() && j + n < secret.size() && out[i + n] == secret[j + n]) ++n;
        longest = std::max(longest, n);
      }
      if (longest >= std::min<size_t>(4, secret.size()) && longest > 0) out.replace(i, longest, "***");
    }
  }
  return out;
}

bool HoldsSecret(std::string_view value) {
  if (!SecretRanges(value).empty()) return true;
  std::string key(value.substr(0, value.find('=')));
  if (key.size() == value.size()) return false;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  return key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
         key.find("key") != std::string::npos;
}

}  // namespace streamshop
