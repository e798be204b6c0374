// librdkafka configuration shared by the producer and the consumer: the bootstrap servers, our defaults for
// the role, then every user-supplied `--kafka-prop key=value` (which wins, so TLS/SASL and tuning need no
// code). Properties whose name contains "password", "secret" or "sasl.oauthbearer" are never logged.
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
