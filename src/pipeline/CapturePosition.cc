#include "pipeline/CapturePosition.h"

namespace streamshop::pipeline {
namespace {
constexpr std::string_view kLsnPrefix = "lsn=";
}  // namespace

std::string EncodeCapturePosition(Lsn position) { return std::string(kLsnPrefix) + position.ToString(); }

std::optional<Lsn> DecodeCapturePosition(std::string_view value) {
  if (value.substr(0, kLsnPrefix.size()) != kLsnPrefix) return std::nullopt;
  return Lsn::Parse(value.substr(kLsnPrefix.size()));
}

Lsn CommittedCapturePosition(const std::vector<std::pair<std::string, std::string>>& records, const std::string& key) {
  Lsn position;
  for (const auto& [k, v] : records) {
    if (k != key) continue;
    if (std::optional<Lsn> lsn = DecodeCapturePosition(v)) position = *lsn;
  }
  return position;
}

}  // namespace streamshop::pipeline
