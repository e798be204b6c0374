#include "common/JsonString.h"

namespace streamshop {
namespace {

void AppendUnicodeEscape(std::string& out, unsigned v, const char* hex) {
  out += "\\u";
  out.push_back(hex[(v >> 12) & 0xF]);
  out.push_back(hex[(v >> 8) & 0xF]);
  out.push_back(hex[(v >> 4) & 0xF]);
  out.push_back(hex[v & 0xF]);
}

}  // namespace

char32_t NextCodePoint(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int need = 0;
  char32_t cp = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Unicode Table 3-7)
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    ++i;
    return 0xFFFD;
  }
  size_t j = i + 1;
  for (int k = 0; k < need; ++k, ++j) {
    if (j >= s.size()) {
      i = j;
      return 0xFFFD;
    }
    const auto b = static_cast<unsigned char>(s[j]);
    const unsigned char min = k == 0 ? lo : 0x80, max = k == 0 ? hi : 0xBF;
    if (b < min || b > max) {
      i = j;  // the maximal ill-formed subsequence ends before this byte
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i = j;
  return cp;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void AppendJsonString(std::string& out, std::string_view s, JsonDialect dialect) {
  const char* hex = dialect == JsonDialect::kJackson ? "0123456789ABCDEF" : "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Fast path: a run of printable ASCII that needs no escaping.
    size_t run = i;
    while (run < s.size()) {
      const auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
      ++run;
    }
    out.append(s.data() + i, run - i);
    i = run;
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          AppendUnicodeEscape(out, c, hex);
      }
      continue;
    }
    const size_t start = i;
    const char32_t cp = NextCodePoint(s, i);
    if (cp >= 0x10000 && dialect == JsonDialect::kJackson) {
      const char32_t v = cp - 0x10000;
      AppendUnicodeEscape(out, 0xD800 + static_cast<unsigned>(v >> 10), hex);
      AppendUnicodeEscape(out, 0xDC00 + static_cast<unsigned>(v & 0x3FF), hex);
    } else if (cp == 0xFFFD && !(i - start == 3 && s.substr(start, 3) == "\xEF\xBF\xBD")) {
      AppendUtf8(out, 0xFFFD);
    } else {
      out.append(s.data() + start, i - start);  // a valid character: copied as is
    }
  }
  out.push_back('"');
}

}  // namespace streamshop
