// The TOML config file of the command line (--config, STREAMSHOP_CONFIG): CLI11's reader with TOML strings done right.
//
// CLI11 2.1's reader cuts a value at the first '#' even inside quotes (pg = 'postgresql://u:a#b@h' became 'postgresql:
// //u:a) and keeps basic-string escapes as typed ("a\"b" gave a\"b): a password could change silently. This reader
// first takes every string out of each line ("…" basic strings with TOML escapes, '…' literal strings), and drops
// comments outside strings; CLI11's reader then parses the rest (tables, keys, arrays) with each string as a
// placeholder, and the placeholders get their exact values back. Unterminated strings, unknown escapes and
// multi-line strings are a CLI::ConfigError naming the line. Header-only; used by main.cc and the tests.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <istream>
#include <sstream>
#include <string>
#include <vector>

namespace streamshop::cli {

class TomlConfig : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<std::string> strings;
    std::string masked, line;
    for (int number = 1; std::getline(input, line); ++number) {
      masked += MaskLine(line, number, strings) + "\n";
    }
    std::istringstream rest(masked);
    std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(rest);
    for (auto& item : items) {
      for (auto& parent : item.parents) Unmask(parent, strings);
      Unmask(item.name, strings);
      for (auto& value : item.inputs) Unmask(value, strings);
    }
    return items;
  }

 private:
  static constexpr char kMark = '\x1e';  // placeholder: kMark <index> kMark (never in a valid TOML line)

  static CLI::ConfigError Error(int number, const std::string& what) {
    return CLI::ConfigError("config file line " + std::to_string(number) + ": " + what);
  }

  // Replaces each string of `line` by a placeholder (its value appended to `strings`) and drops a comment.
  static std::string MaskLine(const std::string& line, int number, std::vector<std::string>& strings) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == kMark) throw Error(number, "control character U+001E");
      if (c == '#') break;  // a comment, outside any string
      if (c != '"' && c != '\'') {
        out += c;
        continue;
      }
      if (line.compare(i, 3, std::string(3, c)) == 0) throw Error(number, "multi-line strings are not supported");
      std::string value;
      size_t j = i + 1;
      for (; j < line.size() && line[j] != c; ++j) {
        if (c == '\'' || line[j] != '\\') {
          value += line[j];
          continue;
        }
        if (++j == line.size()) break;
        switch (line[j]) {
          case 'b':
            value += '\b';
            break;
          case 't':
            value += '\t';
            break;
          case 'n':
            value += '\n';
            break;
          case 'f':
            value += '\f';
            break;
          case 'r':
            value += '\r';
            break;
          case '"':
            value += '"';
            break;
          case '\\':
            value += '\\';
            break;
          case 'u':
          case 'U': {
            const size_t digits = line[j] == 'u' ? 4 : 8;
            if (j + digits >= line.size()) throw Error(number, "short \\u escape");
            uint32_t cp = 0;
            for (size_t k = 1; k <= digits; ++k) {
              const char h = line[j + k];
              const int d = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
              if (d < 0) throw Error(number, "bad \\u escape");
              cp = cp * 16 + static_cast<uint32_t>(d);
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
              throw Error(number, "\\u escape is not a scalar value");
            AppendUtf8(value, cp);
            j += digits;
            break;
          }
          default:
            throw Error(number, std::string("unknown escape \\") + line[j]);
        }
      }
      if (j >= line.size()) throw Error(number, "unterminated string");
      out += kMark + std::to_string(strings.size()) + kMark;
      strings.push_back(std::move(value));
      i = j;
    }
    return out;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Puts the strings back in place of their placeholders.
  static void Unmask(std::string& s, const std::vector<std::string>& strings) {
    if (s.find(kMark) == std::string::npos) return;
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      const size_t end = s[i] == kMark ? s.find(kMark, i + 1) : std::string::npos;
      if (end == std::string::npos) {
        out += s[i];
        continue;
      }
      out += strings.at(std::stoul(s.substr(i + 1, end - i - 1)));
      i = end;
    }
    s = std::move(out);
  }
};

}  // namespace streamshop::cli
