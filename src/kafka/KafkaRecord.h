// One Kafka record as streamshop produces it: the transport's unit (kafka/KafkaProducer.h), built by the Debezium
// format (debezium/DebeziumEncoder.h) and by the dead-letter paths.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace streamshop::kafka {

struct KafkaRecord {
  std::string topic;
  std::optional<std::string> key;  // nullopt = null key (truncate; table without primary key)
  // nullopt = tombstone. Produce both as Kafka NULLs, not empty byte strings.
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace streamshop::kafka
