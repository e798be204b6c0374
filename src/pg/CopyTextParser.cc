#include "pg/CopyTextParser.h"

#include "common/Parse.h"

namespace streamshop::pg {
namespace {

int OctalDigit(char c) { return c >= '0' && c <= '7' ? c - '0' : -1; }

}  // namespace

Result<const std::vector<std::optional<std::string_view>>*> CopyTextParser::Parse(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  fields_.clear();
  scratch_.clear();
  scratch_.reserve(line.size());  // unescaped text is never longer: views into scratch_ stay valid
  size_t start = 0;
  while (true) {
    size_t end = line.find('\t', start);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view raw = line.substr(start, end - start);
    if (raw == "\\N") {
      fields_.emplace_back(std::nullopt);
    } else if (raw.find('\\') == std::string_view::npos) {
      fields_.emplace_back(raw);
    } else {
      const size_t begin = scratch_.size();
      for (size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\\') {
          scratch_.push_back(raw[i]);
          continue;
        }
        if (++i == raw.size()) return Status::Fatal("COPY row ends with a lone backslash");
        const char c = raw[i];
        switch (c) {
          case 'b':
            scratch_.push_back('\b');
            break;
          case 'f':
            scratch_.push_back('\f');
            break;
          case 'n':
            scratch_.push_back('\n');
            break;
          case 'r':
            scratch_.push_back('\r');
            break;
          case 't':
            scratch_.push_back('\t');
            break;
          case 'v':
            scratch_.push_back('\v');
            break;
          case 'x': {
            int v = 0, n = 0;
            for (; n < 2 && i + 1 < raw.size() && HexDigit(raw[i + 1]) >= 0; ++n) v = v * 16 + HexDigit(raw[++i]);
            if (n == 0) return Status::Fatal("COPY row has \\x without hex digits");
            scratch_.push_back(static_cast<char>(v));
            break;
          }
          default:
            if (OctalDigit(c) >= 0) {
              int v = OctalDigit(c);
              for (int n = 1; n < 3 && i + 1 < raw.size() && OctalDigit(raw[i + 1]) >= 0; ++n) {
                v = v * 8 + OctalDigit(raw[++i]);
              }
              scratch_.push_back(static_cast<char>(v));
            } else {
              scratch_.push_back(c);  // "\\" and any other escaped character stand for themselves
            }
        }
      }
      fields_.emplace_back(std::string_view(scratch_).substr(begin));
    }
    if (end == line.size()) break;
    start = end + 1;
  }
  return &fields_;
}

}  // namespace streamshop::pg
