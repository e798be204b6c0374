#include "debezium/JsonWriter.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

namespace streamshop::debezium {
namespace {

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
