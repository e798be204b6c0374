// librdkafka configuration shared by the producer and the consumer: the bootstrap servers, our defaults for
// the role, then the user's properties (--kafka-prop-file lines, then --kafka-prop key=value; they win, so TLS/SASL
// and tuning need no code). The value of a property that names a password, secret or key is never shown.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/Status.h"

namespace streamshop::kafka {

using KafkaProps = std::vector<std::pair<std::string, std::string>>;

// "key=value" (the value may contain '='). Fatal with the offending text otherwise.
Result<std::pair<std::string, std::string>> ParseKafkaProp(std::string_view text);

// The "key=value" lines of a librdkafka properties file (blank lines and lines starting with '#' skipped; blanks
// around key and value trimmed). Fatal naming the file and line for a malformed line, and when the file holds a
// secret but its group or others have any permission on it.
Result<KafkaProps> ReadKafkaPropFile(const std::string& path);

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using RdKafkaHandle = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
struct RdKafkaConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using RdKafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaConfDeleter>;
struct RdKafkaPartitionsDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using RdKafkaPartitions = std::unique_ptr<rd_kafka_topic_partition_list_t, RdKafkaPartitionsDeleter>;

// A configuration with `defaults` then `user` applied over bootstrap.servers = `brokers`, and librdkafka's log
// lines routed to ours. Fatal naming the property librdkafka rejected.
Result<RdKafkaConf> MakeRdKafkaConf(const std::string& brokers, const KafkaProps& defaults, const KafkaProps& user);

}  // namespace streamshop::kafka
