#include "debezium/JsonWriter.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

namespace streamshop::debezium {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void AppendUnicodeEscape(std::string& out, unsigned v) {
  out += "\\u";
  out.push_back(kHex[(v >> 12) & 0xF]);
  out.push_back(kHex[(v >> 8) & 0xF]);
  out.push_back(kHex[(v >> 4) & 0xF]);
  out.push_back(kHex[v & 0xF]);
}

// Java's layout of a floating-point number given its shortest decimal digits and exponent (value =
// 0.d1d2…dn × 10^(exp10 + 1), i.e. d1.d2… × 10^exp10).
void AppendJavaLayout(std::string& out, bool negative, std::string_view digits, int exp10) {
  if (negative) out.push_back('-');
  if (exp10 >= -3 && exp10 < 7) {
    if (exp10 >= 0) {
      // Integer part: the first exp10+1 digits (zero-padded), then at least one fraction digit.
      const size_t int_len = static_cast<size_t>(exp10) + 1;
      for (size_t i = 0; i < int_len; ++i) out.push_back(i < digits.size() ? digits[i] : '0');
      out.push_back('.');
      if (digits.size() > int_len) {
        out.append(digits.substr(int_len));
      } else {
        out.push_back('0');
      }
    } else {
      out += "0.";
      out.append(static_cast<size_t>(-exp10 - 1), '0');
      out.append(digits);
    }
    return;
  }
  out.push_back(digits[0]);
  out.push_back('.');
  if (digits.size() > 1) {
    out.append(digits.substr(1));
  } else {
    out.push_back('0');
  }
  out.push_back('E');
  AppendInt(out, exp10);
}

template <typename Float>
void ShortestDecimalImpl(Float v, std::string& digits, int& exp10) {
  // std::to_chars without a precision gives the shortest round-trip digits; scientific form: "-d.ddde±XX".
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  const size_t e = s.find('e');
  digits.clear();
  for (char c : s.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  exp10 = 0;
  if (e != std::string_view::npos) {
    std::string_view exp_text = s.substr(e + 1);
    if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
}

template <typename Float>
void AppendJavaFloating(std::string& out, Float v) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    return;
  }
  if (v == 0) {
    out += std::signbit(v) ? "-0.0" : "0.0";
    return;
  }
  std::string digits;
  int exp10 = 0;
  ShortestDecimal(v, digits, exp10);
  AppendJavaLayout(out, std::signbit(v), digits, exp10);
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

void AppendJsonString(std::string& out, std::string_view s) {
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
          AppendUnicodeEscape(out, c);
      }
      continue;
    }
    const size_t start = i;
    const char32_t cp = NextCodePoint(s, i);
    if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      AppendUnicodeEscape(out, 0xD800 + static_cast<unsigned>(v >> 10));
      AppendUnicodeEscape(out, 0xDC00 + static_cast<unsigned>(v & 0x3FF));
    } else if (cp == 0xFFFD && !(i - start == 3 && s.substr(start, 3) == "\xEF\xBF\xBD")) {
      AppendUtf8(out, 0xFFFD);
    } else {
      out.append(s.data() + start, i - start);  // valid BMP character: copied as is
    }
  }
  out.push_back('"');
}

void ShortestDecimal(double v, std::string& digits, int& exp10) { ShortestDecimalImpl(v, digits, exp10); }
void ShortestDecimal(float v, std::string& digits, int& exp10) { ShortestDecimalImpl(v, digits, exp10); }

void AppendJavaDouble(std::string& out, double v) { AppendJavaFloating(out, v); }
void AppendJavaFloat(std::string& out, float v) { AppendJavaFloating(out, v); }

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendUInt(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace streamshop::debezium
