#include "pipeline/DeadLetters.h"

#include <fmt/format.h>

#include "common/Log.h"

namespace streamshop::pipeline {

Status KafkaDeadLetters::Ensure(kafka::Producer& producer, int replication_factor) {
  SS_RETURN_IF_ERROR(producer.EnsureTopics({topic_}, 1, replication_factor));
  SS_ASSIGN_OR_RETURN(std::vector<int64_t> limit, producer.MaxMessageBytes({topic_}));
  max_bytes_ = limit.at(0);
  return Status::Ok();
}

Status KafkaDeadLetters::Send(kafka::Producer& producer, std::string_view what, DeadLetterReason kind,
                              const std::string& reason, const std::optional<std::string>& key,
                              const std::optional<std::string_view>& value, Headers headers) {
  metrics_.CountDeadLetters(kind);
  const uint64_t n = metrics_.dead_letters.load();
  LogError("ALARM: dead letter #{}: {}: {} — kept whole on {}", n, what, ValuesAtDebug(reason), topic_);
  kafka::KafkaRecord out{topic_, key, std::nullopt, {{"reason", reason}}};
  out.headers.insert(out.headers.end(), std::make_move_iterator(headers.begin()),
                     std::make_move_iterator(headers.end()));
  out.headers.emplace_back("value.bytes", std::to_string(value ? value->size() : 0));
  const int64_t room = max_bytes_ - kafka::RecordSize(out) - 64;  // 64: the chunk headers
  if (!value || static_cast<int64_t>(value->size()) <= room + 64) {
    if (value) out.value = std::string(*value);
    return producer.Produce(out);
  }
  if (room < 1024) {
    return Status::Fatal(
        fmt::format("topic {}: max.message.bytes = {} leaves no room for a dead letter's chunks; "
                    "raise it",
                    topic_, max_bytes_));
  }
  const size_t chunk = static_cast<size_t>(room);
  const size_t count = (value->size() + chunk - 1) / chunk;
  out.headers.emplace_back("chunk.index", "");
  out.headers.emplace_back("chunk.count", std::to_string(count));
  for (size_t i = 0; i < count; ++i) {
    out.headers[out.headers.size() - 2].second = std::to_string(i);
    out.value = std::string(value->substr(i * chunk, chunk));
    SS_RETURN_IF_ERROR(producer.Produce(out));
  }
  return Status::Ok();
}

}  // namespace streamshop::pipeline
