#include "kafka/KafkaConsumer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/Log.h"

namespace streamshop::kafka {
namespace {

const KafkaProps kConsumerDefaults = {
    {"enable.auto.commit", "false"},  // the sink commits what ClickHouse stored
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "earliest"},  // a new group reads topics from their beginning
    // Only records of committed transactions (capture --exactly-once writes in Kafka transactions; records of an
    // aborted one, e.g. a capture killed mid-transaction, are never seen). librdkafka's default too, set explicitly.
    {"isolation.level", "read_committed"},
    {"enable.partition.eof", "false"},
    {"topic.metadata.refresh.interval.ms", "5000"},  // topics created later match the subscription within 5 s
    // The prefetch, bounded (§4: a sink catching up ≤ 128 MB). The fetch sizes count bytes as the broker sends them,
    // compressed: capture's lz4 batches of Debezium JSON (schemas on, ~2 kB a record) inflate ~20-30× when
    // librdkafka decompresses a fetch, all of it at once and beyond the queue limits (checked only before a fetch).
    // Measured (bench/sink_memory.sh, 400k-event backlog): 16 MB fetches held ~0.5 GB (456-612 MB peak RSS);
    // these settings 92-94 MB at the same rate (docs/BENCHMARKS.md). The queue limits apply to the one consumer queue
    // of all assigned partitions (librdkafka 2.0.2 forwards every partition's queue to it): queued.min.messages
    // (librdkafka's own default: 100000) is the one meant to bind, ~20 MB of such records, with kbytes (uncompressed
    // values) as the cap for larger ones. Bounded prefetch costs throughput in 2.0.2 unless the fetcher is woken: see
    // NudgeFetcher.
    {"fetch.max.bytes", "2097152"},
    {"max.partition.fetch.bytes", "1048576"},
    {"queued.min.messages", "10000"},
    {"queued.max.messages.kbytes", "32768"},
};

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};

// How long the queue stays empty before the fetcher is suspected asleep, and how often it may be woken at most.
constexpr std::chrono::milliseconds kFetcherIdle{5};
constexpr std::chrono::milliseconds kWakeInterval{50};

std::vector<TopicPartition> ToVector(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  for (int i = 0; list && i < list->cnt; ++i) out.push_back({list->elems[i].topic, list->elems[i].partition});
  return out;
}

class RdKafkaConsumer final : public Consumer {
 public:
  explicit RdKafkaConsumer(ConsumerOptions options) : options_(std::move(options)) {}
  ~RdKafkaConsumer() override {
    options_.on_revoke = nullptr;
    options_.on_assign = nullptr;
    Close();
  }

  Status Init() {
    KafkaProps defaults = kConsumerDefaults;
    defaults.emplace_back("group.id", options_.group);
    SS_ASSIGN_OR_RETURN(RdKafkaConf conf, MakeRdKafkaConf(options_.brokers, defaults, options_.props));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &RdKafkaConsumer::OnRebalance);
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
    if (!rk) return Status::Fatal(fmt::format("cannot create the Kafka consumer: {}", err));
    conf.release();
    rk_.reset(rk);
    rd_kafka_poll_set_consumer(rk);
    queue_.reset(rd_kafka_queue_get_consumer(rk));
    char value[64];
    size_t size = sizeof value;
    if (rd_kafka_conf_get(rd_kafka_conf(rk), "queued.min.messages", value, &size) == RD_KAFKA_CONF_OK) {
      queued_min_ = std::max<size_t>(2, std::strtoull(value, nullptr, 10));
    }
    RdKafkaPartitions topics(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(topics.get(), options_.topics_regex.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics.get());
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Fatal(fmt::format("cannot subscribe to '{}': {}", options_.topics_regex, rd_kafka_err2str(e)));
    }
    return Status::Ok();
  }

  Result<std::optional<ConsumedRecord>> Poll(std::chrono::milliseconds timeout) override {
    current_.reset();
    char reason[512];
    if (rd_kafka_fatal_error(rk_.get(), reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Retryable(fmt::format("Kafka consumer failed: {}", reason));
    }
    const size_t queued = queue_ ? rd_kafka_queue_length(queue_.get()) : 1;
    if (queued >= queued_min_) {
      refill_armed_ = true;  // the fetcher has stopped: it wakes by itself only a second later
    } else if (refill_armed_ && queued < queued_min_ / 2) {
      refill_armed_ = false;
      NudgeFetcher();
    }
    if (queued == 0 && timeout > std::chrono::milliseconds(0)) {
      // Nothing queued: wait a little, then wake the fetcher if it sleeps on a backlog (WakeFetcher).
      const auto first = std::min(timeout, kFetcherIdle);
      current_.reset(rd_kafka_consumer_poll(rk_.get(), static_cast<int>(first.count())));
      if (!current_) {
        WakeFetcher();
        current_.reset(rd_kafka_consumer_poll(rk_.get(), static_cast<int>((timeout - first).count())));
      }
    } else {
      current_.reset(rd_kafka_consumer_poll(rk_.get(), static_cast<int>(timeout.count())));
    }
    if (!current_) return std::optional<ConsumedRecord>();
    const rd_kafka_message_t* m = current_.get();
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Broker outages and missing topics are retried by librdkafka itself; report and go on.
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) LogWarn("Kafka consumer: {}", rd_kafka_message_errstr(m));
      return std::optional<ConsumedRecord>();
    }
    ConsumedRecord r;
    r.topic = rd_kafka_topic_name(m->rkt);
    r.partition = m->partition;
    r.offset = m->offset;
    if (m->key) r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
    return std::optional<ConsumedRecord>(r);
  }

  Status Commit(const std::vector<PartitionOffset>& offsets) override {
    if (offsets.empty()) return Status::Ok();
    RdKafkaPartitions list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
    for (const auto& o : offsets) {
      rd_kafka_topic_partition_list_add(list.get(), o.tp.topic.c_str(), o.tp.partition)->offset = o.next_offset;
    }
    rd_kafka_resp_err_t e = rd_kafka_commit(rk_.get(), list.get(), /*async=*/0);
    for (int i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; ++i) e = list->elems[i].err;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Retryable(fmt::format("Kafka offset commit failed: {}", rd_kafka_err2str(e)));
    }
    return Status::Ok();
  }

  std::vector<TopicPartition> Assignment() const override { return assignment_; }

  std::optional<int64_t> Lag() const override {
    if (assignment_.empty()) return 0;
    RdKafkaPartitions list(rd_kafka_topic_partition_list_new(static_cast<int>(assignment_.size())));
    for (const TopicPartition& tp : assignment_)
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
    if (rd_kafka_position(rk_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
    int64_t lag = 0;
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = list->elems[i];
      int64_t low = 0, high = 0;
      if (p.offset < 0 ||
          rd_kafka_get_watermark_offsets(rk_.get(), p.topic, p.partition, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0) {
        return std::nullopt;
      }
      lag += std::max<int64_t>(0, high - p.offset);
    }
    return lag;
  }

  void Close() override {
    if (!rk_ || closed_) return;
    closed_ = true;
    current_.reset();
    if (wakes_ + nudges_ > 0) LogInfo("Kafka consumer: woke the fetcher {} + {} time(s)", nudges_, wakes_);
    rd_kafka_consumer_close(rk_.get());
  }

 private:
  // librdkafka 2.0.2 stops fetching while the consumer queue holds queued.min.messages or queued.max.messages.kbytes,
  // and re-checks only when its broker thread wakes: up to a second later (rd_kafka_max_block_ms; 2.2 added
  // fetch.queue.backoff.ms). A consumer that drains the queue faster than that waits, so bounded prefetch cost
  // ~4× the throughput (bench/sink_memory.sh: 13k instead of 47k events/s). A seek wakes the broker thread: so when
  // the queue has stayed empty for kFetcherIdle while a partition is behind its high watermark (as last fetched),
  // that partition is sought to its own position — nothing queued is lost (the queue is empty) and nothing
  // consumed is fetched again; an in-flight fetch of it may be dropped and refetched, at most once per kWakeInterval.
  // The main wake-up: half-way down from queued.min.messages, before the queue runs dry, a request to the leaders of
  // the assigned partitions (their latest offsets: one ListOffsets per broker, answered in about a millisecond
  // here, at most 1 s when a broker is down) wakes those broker threads, which then fetch again: the next fetch
  // overlaps with consuming the rest of the queue, and nothing is dropped. Measured (bench/sink_memory.sh, 400k
  // events): 82k events/s at 92 MB, as fast as the 16 MB fetches at 0.5 GB; without it, 41-51k.
  void NudgeFetcher() {
    if (assignment_.empty()) return;
    RdKafkaPartitions list(rd_kafka_topic_partition_list_new(static_cast<int>(assignment_.size())));
    for (const TopicPartition& tp : assignment_) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = RD_KAFKA_OFFSET_END;
    }
    ++nudges_;
    (void)rd_kafka_offsets_for_times(rk_.get(), list.get(), /*timeout_ms=*/1000);  // only the wake-up matters
  }

  void WakeFetcher() {
    const auto now = std::chrono::steady_clock::now();
    if (assignment_.empty() || now - last_wake_ < kWakeInterval) return;
    RdKafkaPartitions list(rd_kafka_topic_partition_list_new(static_cast<int>(assignment_.size())));
    for (const TopicPartition& tp : assignment_)
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
    if (rd_kafka_position(rk_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    RdKafkaPartitions behind(rd_kafka_topic_partition_list_new(list->cnt));
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = list->elems[i];
      int64_t low = 0, high = 0;
      if (p.offset >= 0 &&
          rd_kafka_get_watermark_offsets(rk_.get(), p.topic, p.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          high > p.offset) {
        rd_kafka_topic_partition_list_add(behind.get(), p.topic, p.partition)->offset = p.offset;
      }
    }
    if (behind->cnt == 0) return;
    last_wake_ = now;
    ++wakes_;
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_.get(), behind.get(), /*timeout_ms=*/0)) {
      rd_kafka_error_destroy(e);
    }
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                          void* opaque) {
    auto* self = static_cast<RdKafkaConsumer*>(opaque);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (const auto& tp : ToVector(parts)) self->assignment_.push_back(tp);
      LogInfo("Kafka: assigned {} partition(s), {} in all", parts->cnt, self->assignment_.size());
      if (self->options_.on_assign) self->options_.on_assign(ToVector(parts));
      if (cooperative) {
        rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts);
        if (e) rd_kafka_error_destroy(e);
      } else {
        rd_kafka_assign(rk, parts);
      }
      return;
    }
    const std::vector<TopicPartition> revoked = ToVector(parts);
    if (self->options_.on_revoke) self->options_.on_revoke(revoked);
    std::erase_if(self->assignment_, [&](const TopicPartition& tp) {
      return std::find(revoked.begin(), revoked.end(), tp) != revoked.end();
    });
    LogInfo("Kafka: {} partition(s) revoked, {} left", revoked.size(), self->assignment_.size());
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts);
      if (e) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  ConsumerOptions options_;
  RdKafkaHandle rk_;
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue_;  // the consumer queue (rd_kafka_poll_set_consumer)
  std::unique_ptr<rd_kafka_message_t, MessageDeleter> current_;
  std::chrono::steady_clock::time_point last_wake_{};
  uint64_t wakes_ = 0, nudges_ = 0;
  size_t queued_min_ = 100000;  // queued.min.messages in effect
  bool refill_armed_ = false;
  std::vector<TopicPartition> assignment_;
  bool closed_ = false;
};

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> ReadWholeTopic(const std::string& brokers,
                                                                        const KafkaProps& props,
                                                                        const std::string& topic) {
  KafkaProps defaults = kConsumerDefaults;
  defaults.emplace_back("group.id", "streamshop-state-reader");  // required by librdkafka; nothing is committed
  // The end is where the partition's end is reported (read_committed: the last stable offset), not the high
  // watermark: transaction markers take offsets no record is returned for.
  defaults.emplace_back("enable.partition.eof", "true");
  SS_ASSIGN_OR_RETURN(RdKafkaConf conf, MakeRdKafkaConf(brokers, defaults, props));
  char err[512];
  RdKafkaHandle rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
  if (!rk) return Status::Fatal(fmt::format("cannot create a Kafka consumer: {}", err));
  conf.release();
  std::vector<std::pair<std::string, std::string>> records;
  int64_t low = 0, high = 0;
  const rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), 0, &low, &high, 15000);
  if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) return records;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Retryable(fmt::format("cannot read topic {}: {}", topic, rd_kafka_err2str(e)));
  }
  if (high <= low) return records;
  RdKafkaPartitions list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), 0)->offset = low;
  rd_kafka_assign(rk.get(), list.get());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int64_t next = low;
  while (next < high) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Retryable(fmt::format("reading topic {} took over 30 s (at offset {} of {})", topic, next, high));
    }
    std::unique_ptr<rd_kafka_message_t, MessageDeleter> m(rd_kafka_consumer_poll(rk.get(), 500));
    if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
    if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    records.emplace_back(std::string(static_cast<const char*>(m->key), m->key_len),
                         std::string(static_cast<const char*>(m->payload), m->len));
    next = m->offset + 1;
  }
  rd_kafka_consumer_close(rk.get());
  return records;
}

Result<std::unique_ptr<Consumer>> MakeKafkaConsumer(ConsumerOptions options) {
  auto consumer = std::make_unique<RdKafkaConsumer>(std::move(options));
  SS_RETURN_IF_ERROR(consumer->Init());
  return std::unique_ptr<Consumer>(std::move(consumer));
}

}  // namespace streamshop::kafka
