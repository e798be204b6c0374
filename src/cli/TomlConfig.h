// The TOML config file of the command line (--config, STREAMSHOP_CONFIG): CLI11's reader with TOML strings done right.
//
// CLI11 2.1's reader cuts a value at the first '#' even inside quotes (pg = 'postgresql://u:a#b@h' became 'postgresql:
// //u:a) and keeps basic-string escapes as typed ("a\"b" gave a\"b): a password could change silently. This reader
// first takes every string out of each line ("…" basic strings with TOML escapes, '…' literal strings), and drops
// comments outside strings; CLI11's reader then parses the rest (tables, keys, arrays) with each string as a
// placeholder, and the placeholders get their exact values back. Unterminated strings, unknown escapes and
// multi-line strings are a CLI::ConfigError naming the line. Given the command line's App, every key must be an
// option of its section (the top level, or [<subcommand>]): an unknown, misspelled or misplaced key or section is a
// CLI::ConfigError naming it and the closest valid name (CLI11 would ignore it silently: a misspelled sink option
// once dead-lettered every record). A file holding a secret must be private to its owner (CheckSecretsPrivate).
// Header-only; used by main.cc and the tests.
#pragma once

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <istream>
#include <sstream>
#include <string>
#include <vector>

#include "common/Secrets.h"
#include "common/Url.h"

namespace streamshop::cli {

class TomlConfig : public CLI::ConfigTOML {
 public:
  TomlConfig() = default;
  explicit TomlConfig(const CLI::App* app) : app_(app) {}

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
    if (app_ != nullptr) CheckKeys(*app_, items);
    return items;
  }

  // Throws a CLI::ConfigError if the file at `path` holds a secret (common/Url.h: HoldsSecret) while its group or
  // others may read it: secrets belong in a file only its owner reads (or in the environment).
  static void CheckSecretsPrivate(const std::string& path) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
    std::ifstream input(path);
    for (const auto& item : TomlConfig().from_config(input)) {
      for (const auto& value : item.inputs) {
        if (!HoldsSecret(value)) continue;
        throw CLI::ConfigError("config file " +
                               RequirePrivate(path, "a secret (in key '" + item.name + "')").message());
      }
    }
  }

  // Throws a CLI::ConfigError for the first key or section that is not an option or subcommand of `app`.
  static void CheckKeys(const CLI::App& app, const std::vector<CLI::ConfigItem>& items) {
    for (const auto& item : items) {
      const CLI::App* section = &app;
      std::string where = "at the top level";
      for (const auto& parent : item.parents) {
        const CLI::App* sub = nullptr;
        for (const CLI::App* s : section->get_subcommands({})) {
          if (s->get_name() == parent) sub = s;
        }
        if (sub == nullptr) {
          std::vector<std::string> names;
          for (const CLI::App* s : section->get_subcommands({})) names.push_back(s->get_name());
          const std::string near = Closest(parent, names);
          throw CLI::ConfigError("config file: unknown section [" + parent + "]" +
                                 (near.empty() ? "" : " (did you mean [" + near + "]?)"));
        }
        section = sub;
        where = "in [" + parent + "]";
      }
      if (item.name == "++" || item.name == "--") continue;  // CLI11's marks for entering and leaving a section
      if (FindOption(*section, item.name) != nullptr) continue;
      // Candidates: the section's options; at the top level also every subcommand's, shown with their section.
      std::vector<std::string> names, shown;
      const auto add = [&](const CLI::App& a, const std::string& prefix) {
        for (const CLI::Option* o : a.get_options()) {
          for (const auto& n : o->get_lnames()) names.push_back(n), shown.push_back(prefix + n);
        }
      };
      add(*section, "");
      std::string owners;
      for (const CLI::App* s : item.parents.empty() ? app.get_subcommands({}) : std::vector<const CLI::App*>{}) {
        add(*s, "[" + s->get_name() + "] ");
        if (FindOption(*s, item.name) != nullptr) owners += (owners.empty() ? "" : ", ") + ("[" + s->get_name() + "]");
      }
      std::string hint;
      if (!owners.empty()) {
        hint = " (it is an option of " + owners + ": put it in that section)";
      } else if (const std::string near = Closest(item.name, names); !near.empty()) {
        const size_t at = std::find(names.begin(), names.end(), near) - names.begin();
        hint = " (did you mean " + shown[at] + "?)";
      }
      throw CLI::ConfigError("config file: unknown key '" + item.name + "' " + where + hint);
    }
  }

 private:
  const CLI::App* app_ = nullptr;

  static const CLI::Option* FindOption(const CLI::App& app, const std::string& name) {
    for (const CLI::Option* o : app.get_options()) {
      if (o->check_name("--" + name) || (name.size() == 1 && o->check_name("-" + name))) return o;
    }
    return nullptr;
  }

  // The candidate nearest to `name` in edit distance, if it is near enough; else empty.
  static std::string Closest(const std::string& name, const std::vector<std::string>& candidates) {
    size_t best = std::string::npos;
    std::string found;
    for (const auto& c : candidates) {
      std::vector<size_t> row(c.size() + 1);
      for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
      for (size_t i = 1; i <= name.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= c.size(); ++j) {
          const size_t above = row[j];
          row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (name[i - 1] == c[j - 1] ? 0 : 1)});
          diagonal = above;
        }
      }
      if (row[c.size()] < best) best = row[c.size()], found = c;
    }
    return best <= std::max<size_t>(2, name.size() / 3) ? found : "";
  }

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
