// The one dead-letter policy of the commands that write to Kafka (capture, sink): a record that cannot go where it
// was meant to is kept whole on the dead-letter topic with the reason, never dropped, and the command goes on. Each
// is logged as an ALARM (row values only at debug level) and counted (Metrics::CountDeadLetters). Headers: `reason`,
// then the caller's (where the record came from or was meant to go), then `value.bytes`. A value too large for the
// topic is split into chunk records with the same key and headers plus `chunk.index`/`chunk.count` (concatenate
// the values in index order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Status.h"
#include "kafka/KafkaProducer.h"
#include "pipeline/Progress.h"

namespace streamshop::pipeline {

class KafkaDeadLetters {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  KafkaDeadLetters(std::string topic, Metrics& metrics) : topic_(std::move(topic)), metrics_(metrics) {}

  // Creates the topic if missing (one partition) and learns its max.message.bytes, with `producer`.
  Status Ensure(kafka::Producer& producer, int replication_factor);
  // Produces the dead letter through `producer`; `what` names the record in the log line, `kind` is the reason's
  // metrics label.
  Status Send(kafka::Producer& producer, std::string_view what, DeadLetterReason kind, const std::string& reason,
              const std::optional<std::string>& key, const std::optional<std::string_view>& value, Headers headers);

  const std::string& topic() const { return topic_; }
  int64_t max_message_bytes() const { return max_bytes_; }

 private:
  std::string topic_;
  Metrics& metrics_;
  int64_t max_bytes_ = 1 << 20;
};

}  // namespace streamshop::pipeline
