#include "model/TableSchema.h"

namespace streamshop::model {

std::string QuoteSqlIdent(std::string_view ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

}  // namespace streamshop::model
