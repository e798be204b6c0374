// Parser for one row of PostgreSQL's COPY TO text format (tab-separated, \N for NULL, backslash escapes).
// Pure; thread-compatible (one parser per thread, reused across rows to avoid allocations).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"

namespace streamshop::pg {

class CopyTextParser {
 public:
  // Splits `line` (one CopyData row, trailing newline optional) into fields. The returned views point into
  // `line` or into the parser's scratch buffer; they stay valid until the next Parse call.
  Result<const std::vector<std::optional<std::string_view>>*> Parse(std::string_view line);

 private:
  std::vector<std::optional<std::string_view>> fields_;
  std::string scratch_;
};

}  // namespace streamshop::pg
