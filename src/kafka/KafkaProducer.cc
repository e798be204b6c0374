#include "kafka/KafkaProducer.h"

#include <fmt/format.h>

#include <cstdlib>
#include <deque>
#include <functional>
#include <thread>

namespace streamshop::kafka {
namespace {

const KafkaProps kProducerDefaults = {
    {"enable.idempotence", "true"},  // implies acks=all and no reordering or duplicates on retries
    {"acks", "all"},
    {"compression.type", "lz4"},
    {"linger.ms", "5"},
    {"message.max.bytes", "16777216"},
    {"queue.buffering.max.kbytes", "16384"},  // bounds memory: Produce() waits when 16 MB are queued
    {"message.timeout.ms", "120000"},         // a record not stored within 2 min fails (the caller restarts)
};

bool FatalTopicError(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
      return true;
    default:
      return false;
  }
}

class RdKafkaProducer final : public Producer {
 public:
  Status Init(const ProducerOptions& options) {
    KafkaProps props = options.props;
    transactional_id_ = options.transactional_id;
    if (!transactional_id_.empty()) {
      props.emplace_back("transactional.id", transactional_id_);
      bool timeout_set = false;
      for (const auto& [k, v] : options.props) timeout_set |= k == "transaction.timeout.ms";
      if (!timeout_set) props.emplace_back("transaction.timeout.ms", std::to_string(kTransactionTimeoutMs));
    }
    SS_ASSIGN_OR_RETURN(RdKafkaConf conf, MakeRdKafkaConf(options.brokers, kProducerDefaults, props));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &RdKafkaProducer::OnDelivery);
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
    if (!rk) return Status::Fatal(fmt::format("cannot create the Kafka producer: {}", err));
    conf.release();  // owned by rk now
    rk_.reset(rk);
    return Status::Ok();
  }

  Status Produce(const KafkaRecord& r) override {
    rd_kafka_headers_t* headers = nullptr;
    if (!r.headers.empty()) {
      headers = rd_kafka_headers_new(r.headers.size());
      for (const auto& [name, value] : r.headers) {
        rd_kafka_header_add(headers, name.data(), name.size(), value.data(), value.size());
      }
    }
    const uint64_t seq = produced_;
    // (locals: the librdkafka macros cast their arguments without parentheses)
    const void* key = r.key ? r.key->data() : nullptr;
    const size_t key_size = r.key ? r.key->size() : 0;
    void* value = r.value ? const_cast<char*>(r.value->data()) : nullptr;
    const size_t value_size = r.value ? r.value->size() : 0;
    void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(seq));
    while (true) {
      const rd_kafka_resp_err_t err =
          rd_kafka_producev(rk_.get(), RD_KAFKA_V_TOPIC(r.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(key, key_size), RD_KAFKA_V_VALUE(value, value_size),
                            RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;  // the headers belong to the message now
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        if (headers) rd_kafka_headers_destroy(headers);
        const std::string what = fmt::format("cannot produce to {}: {}", r.topic, rd_kafka_err2str(err));
        return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC
                   ? Status::Fatal(what)
                   : Status::Retryable(what);
      }
      rd_kafka_poll(rk_.get(), 100);  // the queue is full: let deliveries drain it
      SS_RETURN_IF_ERROR(TakeError());
    }
    ++produced_;
    delivered_.push_back(false);
    return Status::Ok();
  }

  Status Poll() override {
    rd_kafka_poll(rk_.get(), 0);
    return TakeError();
  }

  Status Flush(std::chrono::milliseconds timeout) override {
    const rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
    SS_RETURN_IF_ERROR(TakeError());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Retryable(fmt::format("Kafka: {} record(s) still undelivered after {} ms: {}",
                                           rd_kafka_outq_len(rk_.get()), timeout.count(), rd_kafka_err2str(err)));
    }
    return Status::Ok();
  }

  Status InitTransactions() override {
    if (transactional_id_.empty()) return Producer::InitTransactions();
    return TxnCall("initialize transactions", rd_kafka_init_transactions(rk_.get(), 60000));
  }
  Status BeginTransaction() override {
    if (transactional_id_.empty()) return Producer::BeginTransaction();
    return TxnCall("begin a transaction", rd_kafka_begin_transaction(rk_.get()));
  }
  Status CommitTransaction() override {
    if (transactional_id_.empty()) return Producer::CommitTransaction();
    Status st = TxnCall("commit a transaction", rd_kafka_commit_transaction(rk_.get(), 120000));
    SS_RETURN_IF_ERROR(TakeError());
    return st;
  }
  Status AbortTransaction() override {
    if (transactional_id_.empty()) return Producer::AbortTransaction();
    return TxnCall("abort a transaction", rd_kafka_abort_transaction(rk_.get(), 60000));
  }

  uint64_t produced() const override { return produced_; }
  uint64_t DeliveredPrefix() const override { return base_; }

  Status EnsureTopics(const std::vector<std::string>& topics, int partitions, int replication_factor) override {
    if (topics.empty()) return Status::Ok();
    char err[512];
    std::vector<rd_kafka_NewTopic_t*> new_topics;
    for (const auto& t : topics) {
      rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.c_str(), partitions, replication_factor, err, sizeof err);
      if (!nt) {
        rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
        return Status::Fatal(fmt::format("topic {}: {}", t, err));
      }
      new_topics.push_back(nt);
    }
    Status st = Admin(
        RD_KAFKA_ADMIN_OP_CREATETOPICS, "CreateTopics",
        [&](rd_kafka_AdminOptions_t* admin, rd_kafka_queue_t* queue) {
          rd_kafka_AdminOptions_set_operation_timeout(admin, 15000, err, sizeof err);
          rd_kafka_CreateTopics(rk_.get(), new_topics.data(), new_topics.size(), admin, queue);
        },
        [&](rd_kafka_event_t* ev) {
          size_t n = 0;
          const rd_kafka_topic_result_t** results =
              rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
          for (size_t i = 0; i < n; ++i) {
            const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
            const char* text = rd_kafka_topic_result_error_string(results[i]);
            const std::string what = fmt::format("cannot create topic {} ({} partitions, replication factor {}): {}",
                                                 rd_kafka_topic_result_name(results[i]), partitions, replication_factor,
                                                 text ? text : rd_kafka_err2str(e));
            return FatalTopicError(e) ? Status::Fatal(what + " (check --partitions/--replication-factor and ACLs)")
                                      : Status::Retryable(what);
          }
          return Status::Ok();
        });
    rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
    return st;
  }

  Result<std::vector<int64_t>> MaxMessageBytes(const std::vector<std::string>& topics) override {
    std::vector<int64_t> limits(topics.size(), -1);
    if (topics.empty()) return limits;
    std::vector<rd_kafka_ConfigResource_t*> resources;
    for (const auto& t : topics) {
      resources.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
    }
    Status st = Admin(
        RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, "DescribeConfigs",
        [&](rd_kafka_AdminOptions_t* admin, rd_kafka_queue_t* queue) {
          rd_kafka_DescribeConfigs(rk_.get(), resources.data(), resources.size(), admin, queue);
        },
        [&](rd_kafka_event_t* ev) {
          size_t n = 0;
          const rd_kafka_ConfigResource_t** results =
              rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
          for (size_t i = 0; i < n; ++i) {
            const std::string name = rd_kafka_ConfigResource_name(results[i]);
            const rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(results[i]);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
              const char* what = rd_kafka_ConfigResource_error_string(results[i]);
              const std::string text =
                  fmt::format("cannot read the configuration of topic {}: {}", name, what ? what : rd_kafka_err2str(e));
              return e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                             e == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED
                         ? Status::Fatal(text + " (grant DescribeConfigs on the topic)")
                         : Status::Retryable(text);
            }
            size_t nc = 0;
            const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(results[i], &nc);
            for (size_t c = 0; c < nc; ++c) {
              if (std::string_view(rd_kafka_ConfigEntry_name(entries[c])) != "max.message.bytes") continue;
              const char* value = rd_kafka_ConfigEntry_value(entries[c]);
              for (size_t k = 0; k < topics.size(); ++k) {
                if (topics[k] == name && value) limits[k] = std::strtoll(value, nullptr, 10);
              }
            }
          }
          return Status::Ok();
        });
    rd_kafka_ConfigResource_destroy_array(resources.data(), resources.size());
    SS_RETURN_IF_ERROR(st);
    for (size_t k = 0; k < topics.size(); ++k) {
      if (limits[k] <= 0)
        return Status::Retryable(fmt::format("Kafka did not report max.message.bytes of topic {}", topics[k]));
    }
    return limits;
  }

 private:
  // One admin request: `issue` sends it on the queue with the options (15 s request timeout); `read` interprets a
  // successful answer. No answer within 30 s, or a request-level error, is Retryable.
  Status Admin(rd_kafka_admin_op_t op, std::string_view what,
               const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& issue,
               const std::function<Status(rd_kafka_event_t*)>& read) {
    char err[512];
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_.get());
    rd_kafka_AdminOptions_t* admin = rd_kafka_AdminOptions_new(rk_.get(), op);
    rd_kafka_AdminOptions_set_request_timeout(admin, 15000, err, sizeof err);
    issue(admin, queue);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 30000);
    Status st = !ev ? Status::Retryable(fmt::format("Kafka did not answer {} within 30 s", what))
                : rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR
                    ? Status::Retryable(fmt::format("Kafka {}: {}", what, rd_kafka_event_error_string(ev)))
                    : read(ev);
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(admin);
    rd_kafka_queue_destroy(queue);
    return st;
  }

  static void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<RdKafkaProducer*>(opaque);
    const uint64_t seq = reinterpret_cast<uintptr_t>(m->_private);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (self->first_error_.empty()) {
        self->first_error_ = fmt::format("Kafka delivery to {} [{}] failed: {}", rd_kafka_topic_name(m->rkt),
                                         m->partition, rd_kafka_err2str(m->err));
      }
      return;  // the prefix stays below this record
    }
    if (seq < self->base_ || seq - self->base_ >= self->delivered_.size()) return;  // not ours (cannot happen)
    self->delivered_[seq - self->base_] = true;
    while (!self->delivered_.empty() && self->delivered_.front()) {
      self->delivered_.pop_front();
      ++self->base_;
    }
  }

  Status TakeError() {
    char reason[512];
    const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk_.get(), reason, sizeof reason);
    if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR && first_error_.empty()) {
      first_error_ = fmt::format("Kafka producer failed: {}", reason);
    }
    if (first_error_.empty()) return Status::Ok();
    return Status::Retryable(first_error_);
  }

  // The outcome of a transactional call (librdkafka owns `error`; destroyed here).
  Status TxnCall(std::string_view what, rd_kafka_error_t* error) {
    if (!error) return Status::Ok();
    const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    std::string text = fmt::format("Kafka producer (transactional.id {}) could not {}: {}", transactional_id_, what,
                                   rd_kafka_error_string(error));
    const bool fatal = rd_kafka_error_is_fatal(error);
    rd_kafka_error_destroy(error);
    if (code == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE || code == RD_KAFKA_RESP_ERR__TIMED_OUT ||
        code == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
        code == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION || code == RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT) {
      text +=
          ". Exactly-once needs a broker with transactions (Kafka >= 0.11, Redpanda with enable_transactions) whose "
          "transaction state log can be created: transaction.state.log.replication.factor and "
          "transaction.state.log.min.isr must not exceed the number of brokers (1 on a single-node broker), and "
          "the principal needs Write on the TransactionalId";
      // Coordinator unavailable / timeout also happen while a broker starts: retried; the rest are setup errors.
      if (code == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
          code == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION || code == RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT) {
        return Status::Fatal(text);
      }
    }
    if (fatal && code == RD_KAFKA_RESP_ERR__FENCED) {
      return Status::Retryable(text + " (fenced: a newer producer with this transactional.id started)");
    }
    return Status::Retryable(text);
  }

  RdKafkaHandle rk_;
  std::string transactional_id_;
  uint64_t produced_ = 0;
  uint64_t base_ = 0;           // sequence of delivered_.front()
  std::deque<bool> delivered_;  // reports received, for sequences base_, base_ + 1, …
  std::string first_error_;     // sticky: the records after a failed one are not known to be stored
};

}  // namespace

int64_t RecordSize(const KafkaRecord& r) {
  int64_t n = kRecordOverheadBytes;
  if (r.key) n += static_cast<int64_t>(r.key->size());
  if (r.value) n += static_cast<int64_t>(r.value->size());
  for (const auto& [name, value] : r.headers) n += static_cast<int64_t>(name.size() + value.size()) + 8;
  return n;
}

Result<std::unique_ptr<Producer>> MakeKafkaProducer(const ProducerOptions& options) {
  auto producer = std::make_unique<RdKafkaProducer>();
  SS_RETURN_IF_ERROR(producer->Init(options));
  return std::unique_ptr<Producer>(std::move(producer));
}

}  // namespace streamshop::kafka
