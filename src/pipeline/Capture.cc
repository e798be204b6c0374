#include "pipeline/Capture.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "common/Log.h"
#include "debezium/DebeziumEncoder.h"
#include "debezium/JsonWriter.h"
#include "debezium/TopicNames.h"
#include "kafka/KafkaConsumer.h"
#include "kafka/KafkaProducer.h"
#include "pipeline/CapturePosition.h"
#include "pipeline/ChangeSource.h"
#include "pipeline/DeadLetters.h"
#include "pipeline/KafkaSnapshotTarget.h"
#include "pipeline/Signal.h"
#include "pipeline/SlotSource.h"
#include "pipeline/Snapshotter.h"
#include "pipeline/SourceCatalog.h"

namespace streamshop::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kSnapshotReset = "reset";

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A pgoutput tuple as a Debezium row image (views into the tuple).
debezium::RowImage ImageOf(const pg::Tuple& tuple) {
  debezium::RowImage image;
  image.values.reserve(tuple.size());
  bool any_unchanged = false;
  for (const pg::TupleValue& v : tuple) {
    image.values.push_back(v.kind == pg::TupleValue::Kind::kText ? std::optional<std::string_view>(v.data)
                                                                 : std::nullopt);
    any_unchanged |= v.kind == pg::TupleValue::Kind::kUnchangedToast;
  }
  if (any_unchanged) {
    for (const pg::TupleValue& v : tuple)
      image.unchanged_toast.push_back(v.kind == pg::TupleValue::Kind::kUnchangedToast);
  }
  return image;
}

// A row image as a JSON object of column name → PostgreSQL text (null for NULL, {"unchanged_toast":true} for a
// value PostgreSQL did not send): what a dead letter carries when the change could not be encoded.
void AppendImageJson(std::string& out, const debezium::DebeziumTable& table,
                     const std::optional<debezium::RowImage>& image) {
  if (!image) {
    out += "null";
    return;
  }
  out += '{';
  for (size_t i = 0; i < image->values.size() && i < table.columns.size(); ++i) {
    if (i > 0) out += ',';
    debezium::AppendJsonString(out, table.columns[i].name);
    out += ':';
    if (!image->unchanged_toast.empty() && image->unchanged_toast[i]) {
      out += R"({"unchanged_toast":true})";
    } else if (image->values[i]) {
      debezium::AppendJsonString(out, *image->values[i]);
    } else {
      out += "null";
    }
  }
  out += '}';
}

}  // namespace

struct Capture::Session final : ChangeConsumer {
  Session(const CaptureOptions& o, const CaptureSeams& seams, const std::atomic<bool>& s, Metrics& m)
      : options(o),
        seams(seams),
        stop(s),
        encoder({o.topic_prefix, "", "streamshop", o.schemas, o.tombstones, std::nullopt}),
        state_topic(o.topic_prefix + "._streamshop_capture_state"),
        dead_letters(o.topic_prefix + ".dead_letter", m),
        metrics(m) {}
  const CaptureOptions& options;
  const CaptureSeams& seams;
  const std::atomic<bool>& stop;
  debezium::DebeziumEncoder encoder;
  std::string state_topic;
  KafkaDeadLetters dead_letters;
  std::unique_ptr<kafka::Producer> producer;
  kafka::KafkaProps producer_props;  // `producer`'s, for the snapshot's producers
  SlotSession source;
  std::map<uint32_t, pg::TableInfo> tables;                                     // by OID, as last announced
  std::map<uint32_t, std::shared_ptr<const debezium::PreparedTable>> prepared;  // by OID
  std::map<std::string, int64_t> max_bytes;  // per topic ensured to exist: its max.message.bytes (DescribeConfigs)
  std::set<uint32_t> skipped;                // tables whose rows cannot be identified (warned once; looked at again)
  pg::PgResultPtr unchanged_source;          // holds values ReadUnchangedValues put into a change
  std::vector<kafka::KafkaRecord> records;   // reused per change
  // --outbox-table: its name, its OID once prepared, and its router.
  std::optional<TableName> outbox_name;
  uint32_t outbox_oid = 0;
  std::optional<debezium::OutboxRouter> outbox;

  // Acknowledgement: transactions whose records end at producer sequence `end_seq`.
  struct PendingCommit {
    uint64_t end_seq;
    Lsn end_lsn;
  };
  std::deque<PendingCommit> commits;
  debezium::DebeziumSource tx_source;     // the current transaction's source block (lsn set per change)
  std::unique_ptr<ChangeSource> changes;  // set once streaming started: positions, status updates

  Metrics& metrics;
  ProgressLine progress{options.progress, metrics};

  // Exactly once (options.exactly_once; see Capture.h and CapturePosition.h).
  std::string transactional_id;
  std::string position_key;
  Lsn committed_position;  // in Kafka: read at start, then after each commit
  bool txn_open = false;   // a Kafka transaction is open on `producer`
  Clock::time_point txn_started;
  uint64_t txn_first_seq = 0;
  Lsn txn_end;            // the position the open transaction commits
  bool skipping = false;  // the current PostgreSQL transaction is already in Kafka

  // A producer with `props` (transactional, its transactions initialized, when exactly once).
  Result<std::unique_ptr<kafka::Producer>> MakeProducer(const kafka::KafkaProps& props, const std::string& id) {
    SS_ASSIGN_OR_RETURN(std::unique_ptr<kafka::Producer> p, seams.producer({options.brokers, props, id}));
    if (!id.empty()) SS_RETURN_IF_ERROR(p->InitTransactions());
    return p;
  }
  Status EnsureTxn() {
    if (txn_open) return Status::Ok();
    SS_RETURN_IF_ERROR(producer->BeginTransaction());
    txn_open = true;
    txn_started = Clock::now();
    txn_first_seq = producer->produced();
    txn_end = committed_position;
    return Status::Ok();
  }
  bool TxnDue() const {
    return Clock::now() - txn_started >= options.transaction_interval ||
           static_cast<int64_t>(producer->produced() - txn_first_seq) >= options.transaction_max_records;
  }
  // Commits the open transaction with the position record, then confirms the position to the slot.
  Status CommitTxn() {
    if (!txn_open) return Status::Ok();
    if (txn_end > committed_position) {
      SS_RETURN_IF_ERROR(producer->Produce({state_topic, position_key, EncodeCapturePosition(txn_end), {}}));
    }
    SS_RETURN_IF_ERROR(producer->CommitTransaction());
    txn_open = false;
    committed_position = std::max(committed_position, txn_end);
    if (changes) changes->Confirm(committed_position);
    return Status::Ok();
  }

  // Snapshots (SnapshotTables): progress in the state topic; rows carry the position they were read at.
  std::unique_ptr<KafkaSnapshotTarget> snapshot_target;
  Lsn snapshot_position;
  int64_t snapshot_ts_us = 0;

  Status Open();
  Status Stream();
  // ChangeConsumer
  Status OnChange(const pg::PgoutputMessage& msg, Lsn lsn) override;
  bool Settled() const override {
    return commits.empty() && !txn_open && producer->DeliveredPrefix() == producer->produced();
  }
  Status OnPublicationCheck() override { return AdoptNewTables(); }
  Status Emit(uint32_t relid, const debezium::DebeziumChange& change) {
    return EmitTo(*producer, records, relid, change);
  }
  // Emit with another producer and scratch (snapshot workers; thread-safe while `prepared` does not change).
  Status EmitTo(kafka::Producer& to, std::vector<kafka::KafkaRecord>& out, uint32_t relid,
                const debezium::DebeziumChange& change);
  // Creates `topic` if capture has not yet, and learns its max.message.bytes.
  Result<int64_t> EnsureTopic(const std::string& topic, int partitions) {
    auto it = max_bytes.find(topic);
    if (it != max_bytes.end()) return it->second;
    SS_RETURN_IF_ERROR(producer->EnsureTopics({topic}, partitions, options.replication_factor));
    SS_ASSIGN_OR_RETURN(std::vector<int64_t> limit, producer->MaxMessageBytes({topic}));
    max_bytes[topic] = limit.at(0);
    return limit.at(0);
  }
  // Produces `r`, or — when its topic would refuse it as too large — a dead letter carrying it (see DeadLetter).
  Status Produce(const kafka::KafkaRecord& r, std::string_view table = {}, char op = 0, Lsn lsn = {}) {
    return ProduceTo(*producer, r, table, op, lsn);
  }
  Status ProduceTo(kafka::Producer& to, const kafka::KafkaRecord& r, std::string_view table, char op, Lsn lsn) {
    SS_ASSIGN_OR_RETURN(const int64_t limit, EnsureTopic(r.topic, options.partitions));
    const int64_t size = kafka::RecordSize(r);
    if (size <= limit) return to.Produce(r);
    return DeadLetter(to, DeadLetterReason::kTooLarge,
                      fmt::format("record of {} bytes exceeds max.message.bytes = {} of topic {} (raise it: see the "
                                  "log at start)",
                                  size, limit, r.topic),
                      table, op, lsn, r.topic, r.key, r.value);
  }
  Status EmitOutbox(kafka::Producer& to, const std::string& name, const debezium::DebeziumChange& change);
  Status DeadLetter(kafka::Producer& to, DeadLetterReason kind, const std::string& reason, std::string_view table,
                    char op, Lsn lsn, std::string_view topic, const std::optional<std::string>& key,
                    const std::optional<std::string>& value);
  Status LearnLimits();
  Status Prepare(const pg::TableInfo& table);
  // A table new to the stream: a fresh snapshot of it (whatever an earlier membership recorded).
  Status SnapshotTable(const pg::TableInfo& table, Lsn position);
  // Sends the rows of `tables` not yet acknowledged as op r read at `position` (while streaming, the stream gets
  // status updates meanwhile).
  Status SnapshotTables(const std::vector<pg::TableInfo>& tables, Lsn position);
  std::string StateKey(const pg::TableInfo& table) const {
    return debezium::CaptureStateKey(source.identity.system_id, source.identity.dbname, options.slot, table.schema,
                                     table.name);
  }
  Status WriteState(const pg::TableInfo& table, std::string_view value) {
    return Produce({state_topic, StateKey(table), std::string(value), {}});
  }
  Status AdoptNewTables();
  // The slot is lost: counted, and the error with the steps by hand (OnSlotLost).
  Status SlotLost(SlotLoss loss) {
    ++metrics.slot_lost;
    return SlotLostError(loss, {options.pg_url, options.publication, options.slot, options.tables},
                         source.identity.dbname, "capture", options.on_slot_lost,
                         fmt::format("Kafka (topic {})", state_topic));
  }

  // Confirms every transaction whose records are all delivered.
  void AdvanceAck() {
    const uint64_t delivered = producer->DeliveredPrefix();
    while (!commits.empty() && commits.front().end_seq <= delivered) {
      changes->Confirm(commits.front().end_lsn);
      commits.pop_front();
    }
  }
  void MaybePrintProgress() {
    metrics.SetLag(changes->LagBytes(), changes->LagSeconds());
    const uint64_t in_flight = producer->produced() - producer->DeliveredPrefix();
    metrics.kafka_unacknowledged.store(static_cast<int64_t>(in_flight), std::memory_order_relaxed);
    progress.MaybePrint("capture", [&] { return fmt::format("{} records in flight", in_flight); });
  }
};

std::string CaptureTransactionalId(const CaptureOptions& options) {
  return options.transactional_id.empty() ? "streamshop-capture-" + options.slot : options.transactional_id;
}

Capture::Capture(CaptureOptions options, CaptureSeams seams) : options_(std::move(options)), seams_(std::move(seams)) {}
Capture::~Capture() = default;

Status Capture::Run(const std::atomic<bool>& stop) {
  if (!debezium::ValidTopicPrefix(options_.topic_prefix)) {
    return Status::Fatal(
        fmt::format("--topic-prefix '{}': use 1 to 150 characters of [A-Za-z0-9._-] (Kafka topic "
                    "names allow nothing else)",
                    options_.topic_prefix));
  }
  if (!options_.outbox_table.empty()) {
    if (Status st = ParseTableName(options_.outbox_table).status(); !st.ok()) {
      return Status::Fatal(fmt::format("--outbox-table '{}': {}", options_.outbox_table, st.message()));
    }
  }
  metrics_.reads_slot = true;
  return RunSessions(stop, metrics_, "nothing is acknowledged that Kafka has not stored",
                     [&](bool& streamed) -> Status {
                       Session s(options_, seams_, stop, metrics_);
                       SS_RETURN_IF_ERROR(s.Open());
                       if (stop) return Status::Ok();
                       if (Status st = s.source.stream->Start(options_.slot, options_.publication); !st.ok()) {
                         if (!IsSlotInvalidatedError(st)) return st;
                         return s.SlotLost(SlotLoss::kInvalidated);
                       }
                       streamed = true;
                       return s.Stream();
                     });
}

Status Capture::Session::Open() {
  producer_props = options.kafka_props;
  if (options.exactly_once) transactional_id = CaptureTransactionalId(options);
  SS_ASSIGN_OR_RETURN(producer, MakeProducer(producer_props, transactional_id));
  SS_ASSIGN_OR_RETURN(source, seams.open_source({options.pg_url, options.publication, options.slot, options.tables}));
  position_key = debezium::CapturePositionKey(source.identity.system_id, source.identity.dbname, options.slot);
  encoder = debezium::DebeziumEncoder(
      {options.topic_prefix, source.identity.dbname, "streamshop", options.schemas, options.tombstones, std::nullopt});
  SS_RETURN_IF_ERROR(EnsureTopic(state_topic, 1).status());
  SS_RETURN_IF_ERROR(EnsureTopic(dead_letters.topic(), 1).status());
  SS_RETURN_IF_ERROR(dead_letters.Ensure(*producer, options.replication_factor));
  if (!options.outbox_table.empty()) {
    SS_ASSIGN_OR_RETURN(outbox_name, ParseTableName(options.outbox_table));
    bool published = false;
    for (const auto& t : source.tables) published |= t.schema == outbox_name->schema && t.name == outbox_name->name;
    if (!published) {
      return Status::Fatal(fmt::format(
          "--outbox-table {}: the table is not in publication '{}' (ALTER PUBLICATION {} ADD TABLE {}), or does not "
          "exist",
          outbox_name->Qualified(), options.publication, options.publication, outbox_name->Qualified()));
    }
  }
  for (const auto& t : source.tables) SS_RETURN_IF_ERROR(Prepare(t));
  SS_RETURN_IF_ERROR(LearnLimits());

  if (options.exactly_once) {
    // Fence the snapshot producers of earlier runs: their open transactions are aborted, so the state topic (read
    // committed) is not held back by them and their records never appear.
    for (const std::string& id : SnapshotTransactionalIds(transactional_id, options.snapshot_workers)) {
      SS_RETURN_IF_ERROR(MakeProducer(producer_props, id).status());
    }
  }
  SS_ASSIGN_OR_RETURN(auto state_records, seams.read_topic(options.brokers, options.kafka_props, state_topic));
  if (options.exactly_once) {
    committed_position = CommittedCapturePosition(state_records, position_key);
    LogInfo("exactly once: Kafka transactions of transactional.id '{}'; Kafka holds slot '{}' up to {}",
            transactional_id, options.slot, committed_position.ToString());
  }

  if (source.slot) metrics.SetSlotHealth(source.slot->wal_status, source.slot->safe_wal_size);
  if (source.slot && source.slot->lost()) return SlotLost(SlotLoss::kInvalidated);
  if (!source.slot) {
    // A snapshot of this slot recorded (not just its reset) means a capture read it before.
    std::map<std::string, SnapshotTableState> states;
    for (const auto& [key, value] : state_records) ApplyCaptureStateRecord(states, key, value);
    for (const auto& t : source.tables) {
      auto state = states.find(StateKey(t));
      if (state != states.end() && (state->second.done || !state->second.chunks_done.empty())) {
        return SlotLost(SlotLoss::kMissing);
      }
    }
  }

  Lsn position;
  if (!source.slot) {
    // Forget snapshots made for an earlier slot of this name before the new slot exists: a crash in between then
    // still leads to a full snapshot.
    if (options.exactly_once) SS_RETURN_IF_ERROR(producer->BeginTransaction());
    for (const auto& t : source.tables) SS_RETURN_IF_ERROR(WriteState(t, kSnapshotReset));
    if (options.exactly_once) {
      // A position of an earlier slot of this name means nothing for the new one.
      SS_RETURN_IF_ERROR(producer->Produce({state_topic, position_key, EncodeCapturePosition(Lsn{}), {}}));
      SS_RETURN_IF_ERROR(producer->CommitTransaction());
      committed_position = Lsn{};
    }
    SS_RETURN_IF_ERROR(producer->Flush(std::chrono::seconds(60)));
    state_records.clear();
    SS_ASSIGN_OR_RETURN(position, source.stream->CreateSlot(options.slot));
    LogInfo("created slot '{}' at {}", options.slot, position.ToString());
  } else {
    position = source.slot->confirmed_flush.value_or(Lsn{});
    LogInfo("resuming slot '{}' from confirmed LSN {}", options.slot, position.ToString());
  }
  KafkaSnapshotOptions so{options.brokers,
                          producer_props,
                          state_topic,
                          [this](const pg::TableInfo& t) { return StateKey(t); },
                          [this](kafka::Producer& to, std::vector<kafka::KafkaRecord>& scratch, const pg::TableInfo& t,
                                 const SnapshotRow& row) -> Status {
                            debezium::DebeziumChange change;
                            change.op = debezium::DebeziumOp::kRead;
                            change.source.snapshot = "true";
                            change.source.lsn = snapshot_position.value;
                            change.source.ts_us = snapshot_ts_us;
                            change.after.emplace();
                            change.after->values.assign(row.begin(), row.end());
                            change.ts_ns = NowNanos();
                            return EmitTo(to, scratch, t.oid, change);
                          },
                          seams.producer,
                          transactional_id,
                          options.snapshot_workers};
  snapshot_target = std::make_unique<KafkaSnapshotTarget>(std::move(so), producer, state_records);
  if (!options.snapshot) return Status::Ok();
  std::vector<pg::TableInfo> snapshot;
  for (const auto& t : source.tables) {
    if (!t.skipped()) snapshot.push_back(t);
  }
  return SnapshotTables(snapshot, position);
}

Status Capture::Session::Prepare(const pg::TableInfo& table) {
  if (table.skipped()) {
    if (skipped.insert(table.oid).second) LogWarn("{}", table.skip_reason);
    return Status::Ok();
  }
  skipped.erase(table.oid);
  SS_ASSIGN_OR_RETURN(std::vector<pg::ColumnDetails> details, source.catalog->LoadColumnDetails(table.oid));
  // Debezium's schemas also carry the catalog's NOT NULL, defaults and comments, matched by column name.
  debezium::DebeziumTable described = debezium::DebeziumTableOf(pg::SchemaOf(table));
  for (debezium::DebeziumColumn& c : described.columns) {
    for (const pg::ColumnDetails& d : details) {
      if (d.name != c.name) continue;
      c.not_null |= d.not_null;
      c.default_expression = d.default_expression;
      c.comment = d.comment;
    }
  }
  SS_ASSIGN_OR_RETURN(std::shared_ptr<const debezium::PreparedTable> p, encoder.Prepare(described));
  if (outbox_name && table.schema == outbox_name->schema && table.name == outbox_name->name) {
    // The outbox: routed topics only (created as events reach them), never <prefix>.<schema>.<table>.
    debezium::OutboxRouterOptions o = options.outbox;
    o.schemas_enable = options.schemas;
    SS_ASSIGN_OR_RETURN(debezium::OutboxRouter router, debezium::OutboxRouter::Make(o, described));
    if (outbox_oid != table.oid) {
      LogInfo("outbox {}: inserts routed to {} (key {}, value {}, header id = {})", table.QualifiedName(),
              o.route_topic_replacement, o.field_event_key, o.field_event_payload, o.field_event_id);
    }
    outbox = std::move(router);
    outbox_oid = table.oid;
  } else {
    SS_RETURN_IF_ERROR(EnsureTopic(p->topic(), options.partitions).status());
  }
  tables[table.oid] = table;
  prepared[table.oid] = std::move(p);
  return Status::Ok();
}

Status Capture::Session::SnapshotTable(const pg::TableInfo& table, Lsn position) {
  // Between transactions, what is open commits first (the snapshot may outlast the transaction timeout).
  if (txn_open && changes && !changes->in_transaction()) SS_RETURN_IF_ERROR(CommitTxn());
  SS_RETURN_IF_ERROR(snapshot_target->RecordReset(table, options.snapshot_chunk_pages));
  return SnapshotTables({table}, position);
}

Status Capture::Session::SnapshotTables(const std::vector<pg::TableInfo>& tables, Lsn position) {
  if (tables.empty()) return Status::Ok();
  for (const auto& t : tables) {
    LogInfo("snapshot of {} to {}", t.QualifiedName(),
            t.oid == outbox_oid ? options.outbox.route_topic_replacement : prepared.at(t.oid)->topic());
  }
  const auto started = Clock::now();
  snapshot_position = position;
  snapshot_ts_us = NowNanos() / 1000;
  Snapshotter snapshotter({options.pg_url, options.snapshot_workers, options.snapshot_chunk_pages, &metrics},
                          *snapshot_target);
  SS_RETURN_IF_ERROR(snapshotter.Run(tables, stop, [&]() -> Status {
    progress.MaybePrintText("snapshot", [&] { return snapshotter.Describe(); });
    return changes ? changes->KeepAlive() : Status::Ok();
  }));
  progress.Finish();
  if (stop) return Status::Ok();  // unfinished: the next run sends the chunks not yet acknowledged
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  for (const auto& p : snapshotter.progress()) {
    LogInfo("snapshot of {}: {} rows in {:.1f}s{}", p->table, p->rows.load(), secs,
            p->chunks_skipped
                ? fmt::format(" ({} of {} chunks sent by an earlier run)", p->chunks_skipped, p->chunks_total)
                : "");
  }
  return Status::Ok();
}

// Encodes a change of table `relid` and produces its records. A change the encoder rejects (a value Debezium's
// format cannot carry) goes to the dead-letter topic with the reason and its rows as PostgreSQL text, and capture
// goes on; so does a record larger than its topic accepts (Produce).
Status Capture::Session::EmitTo(kafka::Producer& to, std::vector<kafka::KafkaRecord>& out, uint32_t relid,
                                const debezium::DebeziumChange& change) {
  const debezium::PreparedTable& table = *prepared.at(relid);
  const std::string name = table.table().schema + "." + table.table().name;
  const char op = static_cast<char>(change.op);
  const Lsn lsn{change.source.lsn.value_or(0)};
  out.clear();
  if (relid == outbox_oid && outbox) return EmitOutbox(to, name, change);
  Status st = encoder.Encode(table, change, out);
  if (!st.ok()) {
    std::string value = R"({"before":)";
    AppendImageJson(value, table.table(), change.before);
    value += R"(,"after":)";
    AppendImageJson(value, table.table(), change.after);
    value += '}';
    return DeadLetter(to, DeadLetterReason::kValue, st.message(), name, op, lsn, table.topic(), std::nullopt, value);
  }
  metrics.CountEvent(table.table().schema, table.table().name, OpOf(op));
  for (const auto& r : out) SS_RETURN_IF_ERROR(ProduceTo(to, r, name, op, lsn));
  return Status::Ok();
}

// The outbox table: an insert or snapshot row is one routed event (OutboxRouter); updates, deletes and truncates
// are not events (EventRouter drops them), so they send nothing. A row that cannot be routed is dead-lettered.
Status Capture::Session::EmitOutbox(kafka::Producer& to, const std::string& name,
                                    const debezium::DebeziumChange& change) {
  if (change.op != debezium::DebeziumOp::kCreate && change.op != debezium::DebeziumOp::kRead) return Status::Ok();
  const char op = static_cast<char>(change.op);
  const Lsn lsn{change.source.lsn.value_or(0)};
  Result<kafka::KafkaRecord> r = outbox->Route(*change.after);
  if (!r.ok()) {
    std::string value = R"({"after":)";
    AppendImageJson(value, prepared.at(outbox_oid)->table(), change.after);
    value += '}';
    return DeadLetter(to, DeadLetterReason::kValue, r.status().message(), name, op, lsn,
                      options.outbox.route_topic_replacement, std::nullopt, value);
  }
  metrics.CountEvent(outbox_name->schema, outbox_name->name, OpOf(op));
  return ProduceTo(to, *r, name, op, lsn);
}

// A record capture could not deliver goes to the dead-letter topic (KafkaDeadLetters), with where it was meant to go.
Status Capture::Session::DeadLetter(kafka::Producer& to, DeadLetterReason kind, const std::string& reason,
                                    std::string_view table, char op, Lsn lsn, std::string_view topic,
                                    const std::optional<std::string>& key, const std::optional<std::string>& value) {
  const std::string op_text = op ? std::string(1, op) : std::string();
  return dead_letters.Send(
      to, fmt::format("{} (op {}, lsn {})", table, op ? op_text : "-", lsn.ToString()), kind, reason, key,
      value ? std::optional<std::string_view>(*value) : std::nullopt,
      {{"table", std::string(table)}, {"op", op_text}, {"lsn", lsn.ToString()}, {"topic", std::string(topic)}});
}

// Logs what the topics accept and what to change, and sizes the producer's batches to the smallest limit (a
// batch larger than a topic's max.message.bytes is refused whole).
Status Capture::Session::LearnLimits() {
  int64_t smallest = INT64_MAX, largest = 0;
  std::string smallest_topic;
  for (const auto& [topic, limit] : max_bytes) {
    largest = std::max(largest, limit);
    if (limit < smallest) smallest = limit, smallest_topic = topic;
  }
  if (smallest == INT64_MAX) return Status::Ok();
  LogInfo(
      "Kafka accepts records up to {} bytes on {} (max.message.bytes; {} topics, largest limit {}); a larger "
      "change goes whole to {} with an alarm. To carry larger rows: kafka-configs.sh --alter --entity-type "
      "topics --entity-name <topic> --add-config max.message.bytes=<bytes> (and the broker's "
      "message.max.bytes/replica.fetch.max.bytes, consumers' fetch.max.bytes)",
      smallest, smallest_topic, max_bytes.size(), largest, dead_letters.topic());
  bool user_sized = false;
  for (const auto& [k, v] : options.kafka_props) user_sized |= k == "batch.size" || k == "message.max.bytes";
  constexpr int64_t kDefaultBatchBytes = 1'000'000, kDefaultMessageMaxBytes = 16 << 20;
  if (user_sized || (smallest >= kDefaultBatchBytes && largest <= kDefaultMessageMaxBytes)) return Status::Ok();
  // Nothing was produced yet: a producer sized to the topics replaces the first one.
  kafka::KafkaProps props = {
      {"batch.size", std::to_string(std::clamp<int64_t>(smallest - 1024, 1024, kDefaultBatchBytes))},
      {"message.max.bytes", std::to_string(std::max(largest, kDefaultMessageMaxBytes) + kafka::kRecordOverheadBytes)}};
  props.insert(props.end(), options.kafka_props.begin(), options.kafka_props.end());
  SS_RETURN_IF_ERROR(producer->Flush(std::chrono::seconds(30)));
  producer_props = props;
  SS_ASSIGN_OR_RETURN(producer, MakeProducer(producer_props, transactional_id));
  return Status::Ok();
}

Status Capture::Session::AdoptNewTables() {
  SS_ASSIGN_OR_RETURN(std::vector<uint32_t> oids, source.catalog->PublishedTableOids(options.publication));
  for (uint32_t oid : oids) {
    if (prepared.count(oid)) continue;
    SS_ASSIGN_OR_RETURN(pg::TableInfo table, source.catalog->LoadTable(options.publication, oid));
    if (table.skipped() && skipped.count(oid)) continue;
    SS_RETURN_IF_ERROR(Prepare(table));
    if (table.skipped()) continue;
    LogInfo("{} joined the publication", table.QualifiedName());
    if (options.snapshot) SS_RETURN_IF_ERROR(SnapshotTable(table, changes->confirmed()));
  }
  return Status::Ok();
}

Status Capture::Session::Stream() {
  LogInfo("streaming changes of publication '{}' from slot '{}' to Kafka topics {}.<schema>.<table>",
          options.publication, options.slot, options.topic_prefix);
  changes = std::make_unique<ChangeSource>(
      *source.stream, source.catalog->heartbeat_connection(),
      ChangeSourceOptions{options.ack_interval, options.status_interval, options.heartbeat_interval,
                          std::chrono::seconds(10), options.slot, &metrics});
  size_t since_poll = 0;
  while (true) {
    if (stop) {
      if (txn_open && changes->in_transaction()) {
        // A PostgreSQL transaction half sent: none of the open Kafka transaction counts (the slot replays it).
        SS_RETURN_IF_ERROR(producer->AbortTransaction());
        txn_open = false;
      }
      SS_RETURN_IF_ERROR(CommitTxn());
      SS_RETURN_IF_ERROR(producer->Flush(std::chrono::seconds(30)));
      AdvanceAck();
      SS_RETURN_IF_ERROR(changes->SendStatus());
      progress.Finish();
      LogInfo("stopped cleanly; slot '{}' confirmed up to {}", options.slot, changes->confirmed().ToString());
      return Status::Ok();
    }
    SS_ASSIGN_OR_RETURN(bool ready, changes->Next(*this, std::chrono::milliseconds(100)));
    if (txn_open && !changes->in_transaction() && (!ready || TxnDue())) SS_RETURN_IF_ERROR(CommitTxn());
    if (!ready || ++since_poll >= 256) {
      since_poll = 0;
      SS_RETURN_IF_ERROR(producer->Poll());
      AdvanceAck();
      SS_RETURN_IF_ERROR(changes->Tick(*this));
      MaybePrintProgress();
    }
  }
}

Status Capture::Session::OnChange(const pg::PgoutputMessage& msg, Lsn lsn) {
  return std::visit(
      [&](const auto& m) -> Status {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, pg::BeginMessage>) {
          tx_source = {};
          tx_source.ts_us = UnixMicrosFromPg(m.commit_time);
          tx_source.tx_id = static_cast<int64_t>(m.xid.value);
          // The previous transaction's end: source.sequence's first element.
          if (changes->last_commit_end().value) tx_source.last_commit_lsn = changes->last_commit_end().value;
          if (options.exactly_once) {
            skipping = AlreadyInKafka(m.final_lsn, committed_position);
            if (!skipping) return EnsureTxn();
          }
        } else if constexpr (std::is_same_v<T, pg::CommitMessage>) {
          if (options.exactly_once) {
            if (skipping) {
              skipping = false;
              return Status::Ok();
            }
            txn_end = std::max(txn_end, m.end_lsn);
            return TxnDue() ? CommitTxn() : Status::Ok();
          }
          commits.push_back({producer->produced(), m.end_lsn});
        } else if constexpr (std::is_same_v<T, pg::RelationMessage>) {
          auto it = tables.find(m.relid);
          if (it != tables.end() && SameColumns(it->second, m)) return Status::Ok();
          SS_ASSIGN_OR_RETURN(auto announced, TableFromRelation(*source.catalog, options.publication, m));
          if (!announced) return Status::Ok();  // a partition whose changes come as its root's
          const bool known = it != tables.end();
          SS_RETURN_IF_ERROR(Prepare(*announced));
          // (A transaction Kafka already holds was sent after the table's snapshot completed.)
          if (!known && options.snapshot && !announced->skipped() && !skipping) return SnapshotTable(*announced, lsn);
        } else if constexpr (std::is_same_v<T, pg::InsertMessage> || std::is_same_v<T, pg::UpdateMessage> ||
                             std::is_same_v<T, pg::DeleteMessage>) {
          if (skipping || (!prepared.count(m.relid) && skipped.count(m.relid))) return Status::Ok();
          if (!prepared.count(m.relid))
            return Status::Fatal(fmt::format("change for unknown relation OID {}", m.relid));
          debezium::DebeziumChange change;
          change.source = tx_source;
          change.source.lsn = lsn.value;
          change.ts_ns = NowNanos();
          if constexpr (std::is_same_v<T, pg::InsertMessage>) {
            change.op = debezium::DebeziumOp::kCreate;
            change.after = ImageOf(m.new_tuple);
            if (!change.after->unchanged_toast.empty()) {
              // A row entering a row filter: PostgreSQL left out its unchanged TOASTed values.
              SS_RETURN_IF_ERROR(source.catalog->ReadUnchangedValues(tables.at(m.relid), change.after->values,
                                                                     change.after->unchanged_toast, unchanged_source));
              change.after->unchanged_toast.clear();
            }
          } else if constexpr (std::is_same_v<T, pg::UpdateMessage>) {
            change.op = debezium::DebeziumOp::kUpdate;
            change.after = ImageOf(m.new_tuple);
            if (m.old_kind != 0) change.before = ImageOf(m.old_tuple);
          } else {
            change.op = debezium::DebeziumOp::kDelete;
            change.before = ImageOf(m.old_tuple);
          }
          return Emit(m.relid, change);
        } else if constexpr (std::is_same_v<T, pg::TruncateMessage>) {
          if (skipping) return Status::Ok();
          for (uint32_t relid : m.relids) {
            if (!prepared.count(relid)) continue;
            debezium::DebeziumChange change;
            change.op = debezium::DebeziumOp::kTruncate;
            change.source = tx_source;
            change.source.lsn = lsn.value;
            change.ts_ns = NowNanos();
            SS_RETURN_IF_ERROR(Emit(relid, change));
          }
        } else if constexpr (std::is_same_v<T, pg::LogicalMessage>) {
          if (m.prefix == kHeartbeatPrefix) return Status::Ok();
          if (options.exactly_once) {
            if (m.transactional ? skipping : AlreadyInKafka(m.lsn, committed_position)) return Status::Ok();
            SS_RETURN_IF_ERROR(EnsureTxn());
            if (!m.transactional) txn_end = std::max(txn_end, Lsn{m.lsn.value + 1});
          }
          debezium::DebeziumSource s = m.transactional ? tx_source : debezium::DebeziumSource{};
          s.lsn = m.lsn.value;
          if (!m.transactional) s.ts_us = NowNanos() / 1000;
          return Produce(encoder.EncodeLogicalMessage(m.prefix, m.content, s, NowNanos()), "(logical message)", 'm',
                         m.lsn);
        }
        return Status::Ok();  // Origin and Type: nothing to send
      },
      msg);
}

}  // namespace streamshop::pipeline
