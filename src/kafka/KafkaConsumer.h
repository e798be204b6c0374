// Consuming records as a member of a consumer group, behind a narrow interface so pipelines can be tested with
// a double. Offsets are committed only when the caller says so (enable.auto.commit=false): the caller commits
// what it stored downstream. Before partitions are taken away in a rebalance, the `on_revoke` hook runs (on the
// polling thread) so the caller can store and commit what it holds; whatever it does not commit is read again by
// the next owner. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Status.h"
#include "kafka/KafkaConfig.h"

namespace streamshop::kafka {

// One consumed record; views are valid until the next Poll().
struct ConsumedRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string_view> key;    // nullopt = null key
  std::optional<std::string_view> value;  // nullopt = tombstone
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// The offset to commit is the next one to read (last stored + 1).
struct PartitionOffset {
  TopicPartition tp;
  int64_t next_offset = 0;
};

class Consumer {
 public:
  virtual ~Consumer() = default;
  // Next record within `timeout`, or nullopt. Retryable/Fatal for errors of the consumer itself.
  virtual Result<std::optional<ConsumedRecord>> Poll(std::chrono::milliseconds timeout) = 0;
  // Synchronous commit. Retryable on failure (e.g. the partitions moved to another member meanwhile).
  virtual Status Commit(const std::vector<PartitionOffset>& offsets) = 0;
  // Partitions currently assigned to this member.
  virtual std::vector<TopicPartition> Assignment() const = 0;
  // Records between this member's position and the end of its assigned partitions, from what the last fetches
  // said (no request); nullopt while a partition's position or end is not known yet.
  virtual std::optional<int64_t> Lag() const = 0;
  // Leaves the group (the revoke hook runs for what is assigned). The destructor leaves without the hook.
  virtual void Close() = 0;
};

struct ConsumerOptions {
  std::string brokers;
  std::string group;
  std::string topics_regex;  // subscription, e.g. ^streamshop\.[^.]+\.[^.]+$
  KafkaProps props;          // --kafka-prop, applied over our defaults
  // Called before partitions are revoked (with the ones being revoked).
  std::function<void(const std::vector<TopicPartition>&)> on_revoke;
  // Called when a rebalance assigned partitions (with the ones added).
  std::function<void(const std::vector<TopicPartition>&)> on_assign;
};

// Key and value of every committed record in partition 0 of `topic` (read_committed), oldest first (for small
// state topics; tombstones have an empty value). A topic that does not exist yet reads as empty. Retryable when the
// broker is unreachable.
Result<std::vector<std::pair<std::string, std::string>>> ReadWholeTopic(const std::string& brokers,
                                                                        const KafkaProps& props,
                                                                        const std::string& topic);

// The librdkafka consumer, subscribed. Fatal for a rejected property or an invalid regex.
Result<std::unique_ptr<Consumer>> MakeKafkaConsumer(ConsumerOptions options);

}  // namespace streamshop::kafka
