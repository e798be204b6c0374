#include "pipeline/Sink.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>

#include "clickhouse/ClickHouseTarget.h"
#include "common/Log.h"
#include "debezium/DebeziumParser.h"
#include "debezium/TopicNames.h"
#include "kafka/KafkaConsumer.h"
#include "kafka/KafkaProducer.h"
#include "pipeline/BatchPolicy.h"
#include "pipeline/DeadLetters.h"
#include "pipeline/LsnGuard.h"
#include "pipeline/SlotSource.h"

namespace streamshop::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view OpName(debezium::DebeziumOp op) {
  switch (op) {
    case debezium::DebeziumOp::kCreate:
      return "an insert (op c)";
    case debezium::DebeziumOp::kRead:
      return "a snapshot read (op r)";
    case debezium::DebeziumOp::kDelete:
      return "a delete (op d)";
    default:
      return "this op";
  }
}

// A table known to the sink: its handle in the target and the same columns as the parser's lookup wants them.
struct SinkTable {
  model::TargetTable* target = nullptr;
  debezium::DebeziumTable debezium;
};

// Whether the row's columns (names, order, types when the message declared them) are the table's.
bool SameShape(const model::TableSchema& table, const debezium::ParsedRow& row) {
  if (table.columns.size() != row.size()) return false;
  for (size_t i = 0; i < row.size(); ++i) {
    if (table.columns[i].name != row[i].name) return false;
    if (!row[i].type) continue;
    Result<model::Type> type = debezium::TypeForField(*row[i].type);
    if (!type.ok() || *type != table.columns[i].type) return false;
  }
  return true;
}

}  // namespace

struct Sink::Session {
  Session(const SinkOptions& o, const SinkSeams& c, const std::atomic<bool>& s, Metrics& m)
      : options(o),
        seams(c),
        stop(s),
        dead_letters(o.dead_letter_topic, m),
        parser({o.max_message_bytes, o.debezium_modes}),
        lsn_guard(o.max_lsn_jump),
        batch(BatchLimits::Of(o)),
        metrics(m) {}
  const SinkOptions& options;
  const SinkSeams& seams;
  const std::atomic<bool>& stop;
  std::unique_ptr<model::ChangeTarget> target;
  std::unique_ptr<kafka::Producer> dead_letter_producer;
  KafkaDeadLetters dead_letters;
  std::unique_ptr<kafka::Consumer> consumer;
  debezium::DebeziumParser parser;
  LsnGuard lsn_guard;
  BatchPolicy batch;
  std::map<std::pair<std::string, std::string>, SinkTable> tables;                       // by (schema, table)
  std::map<kafka::TopicPartition, int64_t> next_offsets;                                 // consumed, not yet committed
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> topic_tables;  // TopicIsTables
  size_t uncommitted = 0;  // records consumed since the last commit
  Status broken;           // set when a rebalance could not store what it held
  model::RowValues values;
  std::vector<bool> unchanged;

  Metrics& metrics;
  ProgressLine progress{options.progress, metrics};
  Clock::time_point lag_seen_at{};  // when the consumer's lag was last read into metrics (once a second)

  size_t PendingRows() const { return target->pending_rows(); }
  size_t PendingBytes() const { return target->pending_bytes(); }

  // What the batch holds for BatchPolicy: rows to insert, or records consumed and not committed (a dead-lettered
  // record or a tombstone adds no row, but its offset waits for a commit all the same).
  size_t PendingRecords() const { return std::max(PendingRows(), uncommitted); }

  Status Open();
  Status Consume();
  Status Handle(const kafka::ConsumedRecord& r);
  Result<SinkTable*> TableFor(const debezium::DebeziumEvent& ev, const debezium::ParsedRow& row,
                              const kafka::ConsumedRecord& r);
  Status DeadLetter(const kafka::ConsumedRecord& r, DeadLetterReason kind, const std::string& reason);
  // debezium::TopicMatchesTable, remembering the last table accepted on each topic (the check runs per record).
  bool TopicIsTables(std::string_view topic, const std::string& schema, const std::string& table) {
    auto it = topic_tables.find(topic);
    if (it != topic_tables.end() && it->second.first == schema && it->second.second == table) return true;
    if (!debezium::TopicMatchesTable(topic, schema, table)) return false;
    topic_tables[std::string(topic)] = {schema, table};
    return true;
  }

  // Stores every table's pending rows (a Retryable error retries the whole batch; a Fatal one ends the sink),
  // counted in Metrics.
  Status FlushRows() {
    const auto started = Clock::now();
    const size_t rows = PendingRows(), bytes = PendingBytes();
    SS_RETURN_IF_ERROR(target->Flush());
    metrics.CountFlush(rows, bytes, Clock::now() - started);
    metrics.CountDeadLetters(DeadLetterReason::kValue, target->TakeStoredDeadLetters());
    return Status::Ok();
  }
  // Stores everything consumed so far, then commits the offsets after it.
  Status FlushAndCommit() {
    SS_RETURN_IF_ERROR(FlushRows());
    SS_RETURN_IF_ERROR(dead_letter_producer->Flush(std::chrono::seconds(60)));
    std::vector<kafka::PartitionOffset> offsets;
    for (const auto& [tp, next] : next_offsets) offsets.push_back({tp, next});
    Status st = consumer->Commit(offsets);
    // Rows are stored either way; offsets that did not commit only mean a harmless replay.
    if (!st.ok()) LogWarn("{} (the records will be read again)", st.message());
    next_offsets.clear();
    uncommitted = 0;
    batch.Flushed(Clock::now());
    return Status::Ok();
  }
  void OnRevoke() {
    if (!broken.ok()) return;
    Status st = FlushAndCommit();
    if (st.ok()) return;
    LogWarn("could not store rows before a rebalance: {}", st.message());
    broken = Status::Retryable(fmt::format("rebalance: {}", st.message()));
  }

  void MaybePrintProgress() {
    if (const auto now = Clock::now(); now - lag_seen_at >= std::chrono::seconds(1)) {
      lag_seen_at = now;
      // Unknown (-1) until the group assigned this sink its partitions (possibly none) for the first time.
      const bool assigned = metrics.kafka_rebalances.load(std::memory_order_relaxed) > 0;
      metrics.kafka_consumer_lag.store(assigned ? consumer->Lag().value_or(-1) : -1, std::memory_order_relaxed);
    }
    progress.MaybePrint(
        "sink", [&] { return fmt::format("{} tables | {} partitions", tables.size(), consumer->Assignment().size()); });
  }
};

Sink::Sink(SinkOptions options, SinkSeams seams) : options_(std::move(options)), seams_(std::move(seams)) {}
Sink::~Sink() = default;

Status Sink::Run(const std::atomic<bool>& stop) {
  return RunSessions(stop, metrics_, "offsets are committed only for rows ClickHouse stored",
                     [&](bool& streamed) -> Status {
                       Session s(options_, seams_, stop, metrics_);
                       SS_RETURN_IF_ERROR(s.Open());
                       streamed = true;
                       return s.Consume();
                     });
}

Status Sink::Session::Open() {
  SS_ASSIGN_OR_RETURN(target, clickhouse::ClickHouseTarget::Open(
                                  [this] { return seams.clickhouse(options.clickhouse); }, options.database));
  SS_ASSIGN_OR_RETURN(dead_letter_producer, seams.dead_letter_producer({options.brokers, options.kafka_props}));
  SS_RETURN_IF_ERROR(dead_letters.Ensure(*dead_letter_producer, 1));
  kafka::ConsumerOptions co{options.brokers,
                            options.group,
                            options.topics_regex,
                            options.kafka_props,
                            [this](const std::vector<kafka::TopicPartition>&) { OnRevoke(); },
                            [this](const std::vector<kafka::TopicPartition>&) { ++metrics.kafka_rebalances; }};
  SS_ASSIGN_OR_RETURN(consumer, seams.consumer(std::move(co)));
  LogInfo("consuming topics matching '{}' as group '{}' into ClickHouse database {}", options.topics_regex,
          options.group, options.database);
  return Status::Ok();
}

Status Sink::Session::Consume() {
  while (true) {
    if (stop) {
      SS_RETURN_IF_ERROR(FlushAndCommit());
      consumer->Close();
      progress.Finish();
      LogInfo("stopped cleanly after {} events ({} dead-lettered; {})", metrics.events.load(),
              metrics.dead_letters.load(), metrics.FlushSummary());
      return Status::Ok();
    }
    // Every point between two records is a boundary (no transactions here): the batch is due as soon as the
    // consumer has nothing more ready (pipeline/BatchPolicy.h).
    SS_ASSIGN_OR_RETURN(std::optional<kafka::ConsumedRecord> r,
                        consumer->Poll(batch.Wait(PendingRecords(), /*between_transactions=*/true,
                                                  std::chrono::milliseconds(100), Clock::now())));
    SS_RETURN_IF_ERROR(broken);
    if (r) {
      SS_RETURN_IF_ERROR(Handle(*r));
      next_offsets[{std::string(r->topic), r->partition}] = r->offset + 1;
      ++uncommitted;
    }
    if (batch.Due(PendingRecords(), PendingBytes(), /*idle=*/!r, Clock::now())) SS_RETURN_IF_ERROR(FlushAndCommit());
    SS_RETURN_IF_ERROR(dead_letter_producer->Poll());
    MaybePrintProgress();
  }
}

Status Sink::Session::DeadLetter(const kafka::ConsumedRecord& r, DeadLetterReason kind, const std::string& reason) {
  return dead_letters.Send(*dead_letter_producer, fmt::format("{} [{}] offset {}", r.topic, r.partition, r.offset),
                           kind, reason, r.key ? std::optional<std::string>(*r.key) : std::nullopt, r.value,
                           {{"source.topic", std::string(r.topic)},
                            {"source.partition", std::to_string(r.partition)},
                            {"source.offset", std::to_string(r.offset)}});
}

Status Sink::Session::Handle(const kafka::ConsumedRecord& r) {
  const debezium::TableLookup lookup = [this](std::string_view schema, std::string_view table) {
    auto it = tables.find({std::string(schema), std::string(table)});
    return it == tables.end() ? nullptr : &it->second.debezium;
  };
  Result<debezium::DebeziumEvent> parsed = parser.ParseValue(r.value, r.topic, lookup);
  if (!parsed.ok()) return DeadLetter(r, DeadLetterReason::kUnparsable, parsed.status().message());
  const debezium::DebeziumEvent& ev = *parsed;
  if (ev.tombstone) return Status::Ok();                             // the delete before it carried the change
  if (ev.op == debezium::DebeziumOp::kMessage) return Status::Ok();  // logical messages have no table
  if (!options.route_by_source && !TopicIsTables(r.topic, ev.schema, ev.table)) {
    std::string topic_schema, topic_table;
    return DeadLetter(
        r, DeadLetterReason::kMisrouted,
        fmt::format("record for table {}.{} on topic {}{}: refused (a table's changes come only on its own topic; "
                    "if topics are routed, e.g. by a Debezium topic-routing SMT, run the sink with "
                    "--route-by-source)",
                    ev.schema, ev.table, r.topic,
                    debezium::TableFromTopic(r.topic, topic_schema, topic_table)
                        ? fmt::format(" (the topic of {}.{})", topic_schema, topic_table)
                        : std::string()));
  }
  metrics.CountEvent(ev.schema, ev.table, OpOf(static_cast<char>(ev.op)));
  if (ev.op == debezium::DebeziumOp::kTruncate) {
    // The table may hold rows from an earlier session even if this one has not seen it yet.
    SS_RETURN_IF_ERROR(FlushRows());
    Status done = target->Truncate(ev.schema, ev.table);
    if (done.ok() || done.retryable()) return done;
    return DeadLetter(r, DeadLetterReason::kTarget, done.message());
  }
  const bool deleted = ev.op == debezium::DebeziumOp::kDelete;
  const debezium::ParsedRow& row = deleted ? *ev.before : *ev.after;
  if (ev.op != debezium::DebeziumOp::kRead && !ev.lsn) {
    return DeadLetter(r, DeadLetterReason::kNoPosition,
                      ev.flattened ? "no __lsn: cannot order the change (configure the ExtractNewRecordState SMT with "
                                     "add.fields=lsn)"
                                   : "no source.lsn: cannot order the change");
  }
  const uint64_t version = ev.op == debezium::DebeziumOp::kRead ? 0 : *ev.lsn;

  Result<SinkTable*> table = TableFor(ev, row, r);
  if (!table.ok()) {
    if (table.status().retryable()) return table.status();
    return DeadLetter(r, DeadLetterReason::kSchema, table.status().message());
  }
  // A snapshot read is stored with version 0, so its LSN (the snapshot's position) cannot freeze a key: it is
  // never refused, only not taken as a baseline when impossible.
  const std::optional<int64_t> ts_ms = ev.source_ts_ms ? ev.source_ts_ms : ev.ts_ms;
  const bool possible_lsn = ev.lsn && lsn_guard.Check(*ev.lsn, ts_ms, NowMs()).ok();
  if (ev.op != debezium::DebeziumOp::kRead && !possible_lsn) {
    return DeadLetter(r, DeadLetterReason::kNoPosition, lsn_guard.Check(*ev.lsn, ts_ms, NowMs()).message());
  }
  model::TargetTable& w = *(*table)->target;
  const std::vector<model::Column>& cols = w.schema().columns;
  bool any_unchanged = false;
  const auto fill = [&](const debezium::ParsedRow& from) {
    values.assign(cols.size(), std::nullopt);
    unchanged.assign(cols.size(), false);
    any_unchanged = false;
    for (size_t i = 0; i < cols.size(); ++i) {
      const debezium::ParsedColumn* c = debezium::FindColumn(from, cols[i].name);
      if (!c) continue;
      if (c->text) values[i] = *c->text;
      unchanged[i] = c->unchanged_toast;
      any_unchanged |= c->unchanged_toast;
    }
  };
  // A row identified by all its values: an update first deletes the old row (its `before`, complete under
  // REPLICA IDENTITY FULL). A flattened record has no `before`: the old row could not be removed.
  if (ev.flattened && w.schema().identity == model::RowIdentity::kFullRow && ev.op == debezium::DebeziumOp::kUpdate) {
    return DeadLetter(r, DeadLetterReason::kValue,
                      fmt::format("{}: an update of a table without a primary key needs the old row, which the "
                                  "ExtractNewRecordState SMT drops; consume the unflattened envelope for this table",
                                  w.schema().QualifiedName()));
  }
  if (w.schema().identity == model::RowIdentity::kFullRow && ev.op == debezium::DebeziumOp::kUpdate && ev.before) {
    fill(*ev.before);
    Status st = any_unchanged ? Status::Ok() : w.AppendRow(values, version, /*deleted=*/true);
    if (!st.ok())
      return DeadLetter(r, DeadLetterReason::kValue, fmt::format("{}: {}", w.schema().QualifiedName(), st.message()));
  }
  fill(row);
  if (w.schema().identity == model::RowIdentity::kFullRow && any_unchanged && ev.before) {
    // Unchanged TOASTed values of a keyless table are in its complete `before`.
    any_unchanged = false;
    for (size_t i = 0; i < cols.size(); ++i) {
      const debezium::ParsedColumn* old = unchanged[i] ? debezium::FindColumn(*ev.before, cols[i].name) : nullptr;
      if (old && !old->unchanged_toast) {
        values[i] = old->text ? std::optional<std::string_view>(*old->text) : std::nullopt;
        unchanged[i] = false;
      }
      any_unchanged |= unchanged[i];
    }
  }
  // Debezium sends the placeholder only for a TOASTed value an UPDATE left unchanged; elsewhere it is data the
  // sink cannot tell from the real value, and there is no earlier version to take the value from.
  if (any_unchanged && ev.op != debezium::DebeziumOp::kUpdate) {
    const size_t i = std::find(unchanged.begin(), unchanged.end(), true) - unchanged.begin();
    return DeadLetter(r, DeadLetterReason::kValue,
                      fmt::format("{}: column {} holds Debezium's unavailable-value placeholder in {}; only an "
                                  "update's after image can carry it",
                                  w.schema().QualifiedName(), cols[i].name, OpName(ev.op)));
  }
  Status st = any_unchanged ? w.AppendRowWithUnchanged(values, unchanged, values, version)
                            : w.AppendRow(values, version, deleted);
  if (!st.ok())
    return DeadLetter(r, DeadLetterReason::kValue, fmt::format("{}: {}", w.schema().QualifiedName(), st.message()));
  if (possible_lsn) lsn_guard.Observe(*ev.lsn, ts_ms.value_or(NowMs()));
  return Status::Ok();
}

Result<SinkTable*> Sink::Session::TableFor(const debezium::DebeziumEvent& ev, const debezium::ParsedRow& row,
                                           const kafka::ConsumedRecord& r) {
  auto it = tables.find({ev.schema, ev.table});
  if (it != tables.end() && SameShape(it->second.target->schema(), row)) return &it->second;

  // A new table, or its columns changed: build it from the event (types from its schema, else as known).
  const std::string name = ev.schema + "." + ev.table;
  if (!ev.had_schema && it == tables.end()) {
    return Status::Fatal(
        fmt::format("table {}: the event has no schema and the table is unknown to this sink (enable schemas in the "
                    "producer, e.g. value.converter.schemas.enable=true)",
                    name));
  }
  // Columns stay Nullable: the sink does not read NOT NULL from Connect's `optional`.
  model::TableSchema table{ev.schema, ev.table, {}};
  for (const debezium::ParsedColumn& c : row) {
    model::Column column{c.name, {}};
    if (c.type) {
      SS_ASSIGN_OR_RETURN(column.type, debezium::TypeForField(*c.type));
    } else {
      const model::Column* known = nullptr;
      for (const auto& k : it->second.target->schema().columns) known = k.name == c.name ? &k : known;
      if (!known)
        return Status::Fatal(fmt::format("table {}: column {} is new and the event has no schema", name, c.name));
      column.type = known->type;
    }
    table.columns.push_back(std::move(column));
  }
  // Key columns (primary-key order) from the record key. A table without a key (Debezium sends a null key) has
  // its rows identified by all their values, as `replicate` does for REPLICA IDENTITY FULL.
  if (!r.key) table.identity = model::RowIdentity::kFullRow;
  SS_ASSIGN_OR_RETURN(debezium::ParsedRow key,
                      r.key ? parser.ParseKey(*r.key, r.topic) : Result<debezium::ParsedRow>(debezium::ParsedRow{}));
  int position = 0;
  for (const debezium::ParsedColumn& k : key) {
    auto col =
        std::find_if(table.columns.begin(), table.columns.end(), [&](const auto& c) { return c.name == k.name; });
    if (col == table.columns.end()) {
      return Status::Fatal(fmt::format("table {}: key column {} is not in the row", name, k.name));
    }
    col->key_position = ++position;
    col->nullable = false;
  }
  if (position == 0 && r.key) return Status::Fatal(fmt::format("table {}: empty record key", name));

  LogInfo("table {}: {} columns; ensuring its ClickHouse table in {}", name, table.columns.size(), options.database);
  SS_ASSIGN_OR_RETURN(model::ChangeTarget::Ensured ensured,
                      target->EnsureTable(table, it != tables.end() ? it->second.target : nullptr));
  // The newest version the target holds is a real LSN (it passed this guard when stored): LsnGuard's baseline.
  Result<std::optional<model::ChangeTarget::Stored>> newest = target->NewestStored(table);
  if (!newest.ok() && newest.status().retryable()) return newest.status();
  if (!newest.ok()) LogWarn("table {}: no LSN baseline from the target: {}", name, newest.status().message());
  if (newest.ok() && *newest) lsn_guard.Observe((*newest)->version, (*newest)->at_ms);
  SinkTable& slot = tables[{ev.schema, ev.table}];
  slot.target = ensured.table;
  slot.debezium = debezium::DebeziumTableOf(table);
  return &slot;
}

}  // namespace streamshop::pipeline
