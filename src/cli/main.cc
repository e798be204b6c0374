// streamshop command line: parses options (flags, STREAMSHOP_* environment variables, a TOML config file),
// installs signal handlers and dispatches to the pipeline. Exceptions are for bugs and fatal setup errors
// and are caught here, once.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "cli/TomlConfig.h"
#include "common/Log.h"
#include "common/Secrets.h"
#include "kafka/KafkaConfig.h"
#include "ops/HttpServer.h"
#include "pipeline/BatchPolicy.h"
#include "pipeline/Capture.h"
#include "pipeline/Replicator.h"
#include "pipeline/Signal.h"
#include "pipeline/Sink.h"
#include "pipeline/Verifier.h"
#include "workload/Generator.h"

namespace {

using namespace streamshop;  // NOLINT

std::atomic<bool> g_stop{false};

void OnSignal(int) {
  if (g_stop.exchange(true)) _exit(130);  // a second Ctrl-C forces the exit
}

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// scripts/ next to the binary's source tree: <exe>/../scripts (build/streamshop) or the configured source dir.
std::filesystem::path ScriptPath(const std::string& name) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto candidate = exe.parent_path().parent_path() / "scripts" / name;
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return std::filesystem::path(STREAMSHOP_SOURCE_DIR) / "scripts" / name;
}

int ExecScript(const std::string& name, std::vector<std::string> args) {
  const std::string path = ScriptPath(name).string();
  std::vector<char*> argv{const_cast<char*>("bash"), const_cast<char*>(path.c_str())};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execvp("bash", argv.data());
  LogError("cannot run {}: {}", path, strerror(errno));
  return 1;
}

int Report(const Status& st) {
  if (st.ok()) return 0;
  LogError("{}", st.message());
  return st.retryable() ? 75 : 1;  // 75 = EX_TEMPFAIL
}

// Secrets are never options of their own (argv is visible to every local user in /proc/<pid>/cmdline): each comes
// from an environment variable or from a private file named by a …-file option (or its …_FILE variable).
struct SecretFiles {
  std::string pg_password, clickhouse_password, kafka_sasl_password, kafka_props;
};

void AddPgOption(CLI::App* cmd, std::string& url, SecretFiles& files) {
  cmd->add_option("--pg", url,
                  "PostgreSQL URL, e.g. postgresql://user@127.0.0.1:5432/db?sslmode=verify-full&sslrootcert=ca.pem "
                  "(libpq parameters and PG* variables apply)")
      ->envname("STREAMSHOP_PG_URL")
      ->required();
  cmd->add_option("--pg-password-file", files.pg_password,
                  "File (mode 600) holding the PostgreSQL password; or env STREAMSHOP_PG_PASSWORD (or PGPASSWORD)")
      ->envname("STREAMSHOP_PG_PASSWORD_FILE");
}

void AddClickHouseOption(CLI::App* cmd, clickhouse::Endpoint& endpoint, SecretFiles& files) {
  cmd->add_option("--clickhouse", endpoint.url,
                  "ClickHouse HTTP(S) URL, e.g. https://user@clickhouse.example:8443 (a password in it must be "
                  "percent-encoded; better: STREAMSHOP_CLICKHOUSE_PASSWORD)")
      ->envname("STREAMSHOP_CLICKHOUSE_URL")
      ->required();
  cmd->add_option("--clickhouse-user", endpoint.user, "ClickHouse user (default: the URL's, else ClickHouse's default)")
      ->envname("STREAMSHOP_CLICKHOUSE_USER");
  cmd->add_option("--clickhouse-password-file", files.clickhouse_password,
                  "File (mode 600) holding the ClickHouse password; or env STREAMSHOP_CLICKHOUSE_PASSWORD")
      ->envname("STREAMSHOP_CLICKHOUSE_PASSWORD_FILE");
  cmd->add_option("--clickhouse-ca-file", endpoint.ca_file, "PEM CA certificate(s) that sign the server's (https)")
      ->check(CLI::ExistingFile)
      ->envname("STREAMSHOP_CLICKHOUSE_CA_FILE");
  cmd->add_option("--clickhouse-cert-file", endpoint.cert_file, "PEM client certificate (https, mutual TLS)")
      ->check(CLI::ExistingFile)
      ->envname("STREAMSHOP_CLICKHOUSE_CERT_FILE");
  cmd->add_option("--clickhouse-key-file", endpoint.key_file, "PEM private key of the client certificate")
      ->check(CLI::ExistingFile)
      ->envname("STREAMSHOP_CLICKHOUSE_KEY_FILE");
  cmd->add_option("--clickhouse-cluster", endpoint.cluster,
                  "ClickHouse cluster (a name in the server's system.clusters): tables are created ON CLUSTER as "
                  "Replicated*MergeTree, behind a Distributed table when it has several shards (docs/CLUSTER.md)")
      ->envname("STREAMSHOP_CLICKHOUSE_CLUSTER");
  cmd->add_option("--clickhouse-replica-url", endpoint.replica_urls,
                  "Another server of the cluster (HTTP(S) URL, repeatable or comma-separated; the same user, password "
                  "and CA apply): a request that fails on one server is sent to the next; verify checks each")
      ->envname("STREAMSHOP_CLICKHOUSE_URL_2")
      ->delimiter(',');
}

void AddKafkaOptions(CLI::App* cmd, std::string& brokers, std::vector<std::string>& props, SecretFiles& files) {
  cmd->add_option("--kafka", brokers, "Kafka bootstrap servers, e.g. 127.0.0.1:9092 (any Kafka-API broker)")
      ->envname("STREAMSHOP_KAFKA_BROKERS")
      ->required();
  cmd->add_option("--kafka-prop-file", files.kafka_props,
                  "librdkafka properties file: key=value lines (e.g. security.protocol=SASL_SSL, "
                  "sasl.mechanisms=SCRAM-SHA-512, sasl.username, sasl.password, ssl.ca.location); mode 600 when it "
                  "holds a secret")
      ->check(CLI::ExistingFile)
      ->envname("STREAMSHOP_KAFKA_PROP_FILE");
  cmd->add_option("--kafka-prop", props,
                  "librdkafka property key=value, repeatable, applied over our defaults and the file (no secrets "
                  "here: others can read a command line)");
  cmd->add_option("--kafka-sasl-password-file", files.kafka_sasl_password,
                  "File (mode 600) holding sasl.password; or env STREAMSHOP_KAFKA_SASL_PASSWORD")
      ->envname("STREAMSHOP_KAFKA_SASL_PASSWORD_FILE");
}

// The file's properties, then --kafka-prop, then the SASL password from its variable or file.
Result<kafka::KafkaProps> KafkaPropsOf(const std::vector<std::string>& texts, const SecretFiles& files) {
  kafka::KafkaProps props;
  if (!files.kafka_props.empty()) {
    SS_ASSIGN_OR_RETURN(props, kafka::ReadKafkaPropFile(files.kafka_props));
  }
  for (const auto& t : texts) {
    SS_ASSIGN_OR_RETURN(auto kv, kafka::ParseKafkaProp(t));
    props.push_back(std::move(kv));
  }
  SS_ASSIGN_OR_RETURN(std::string sasl_password,
                      ResolveSecret("STREAMSHOP_KAFKA_SASL_PASSWORD", files.kafka_sasl_password));
  if (!sasl_password.empty()) props.emplace_back("sasl.password", std::move(sasl_password));
  return props;
}

// The PostgreSQL password reaches every libpq connection (replication, catalog, snapshot workers) as PGPASSWORD,
// which libpq reads after a password in the URL; the ClickHouse password goes into its endpoint.
Status ResolveSecrets(const SecretFiles& files, clickhouse::Endpoint* endpoint) {
  SS_ASSIGN_OR_RETURN(std::string pg_password, ResolveSecret("STREAMSHOP_PG_PASSWORD", files.pg_password));
  if (!pg_password.empty()) setenv("PGPASSWORD", pg_password.c_str(), 1);
  if (endpoint == nullptr) return Status::Ok();  // a command without ClickHouse
  SS_ASSIGN_OR_RETURN(endpoint->password, ResolveSecret("STREAMSHOP_CLICKHOUSE_PASSWORD", files.clickhouse_password));
  return Status::Ok();
}

// Numeric option ranges (CLI11 reads "-1" into an unsigned option as its largest value; these read the text).
const CLI::Validator kRows = CLI::Range(int64_t{1}, int64_t{1'000'000'000});
const CLI::Validator kBytes = CLI::Range(int64_t{1}, int64_t{1} << 40);
const CLI::Validator kMilliseconds = CLI::Range(1, 3'600'000);
const CLI::Validator kSecondsOrOff = CLI::Range(0, 86'400);
const CLI::Validator kWalBytesOrOff = CLI::Range(int64_t{0}, int64_t{1} << 62);

// Option groups that several subcommands share: one declaration each.

void AddPublicationOptions(CLI::App* cmd, std::string& publication, std::string& slot, const std::string& slot_env,
                           std::vector<std::string>& tables) {
  cmd->add_option("--publication", publication, "Publication to read (created if missing)")
      ->envname("STREAMSHOP_PUBLICATION")
      ->capture_default_str();
  cmd->add_option("--slot", slot, "Logical replication slot (created if missing)")
      ->envname(slot_env)
      ->capture_default_str();
  cmd->add_option("--tables", tables, "Tables for a new publication (default: all of schema public)")
      ->envname("STREAMSHOP_TABLES")
      ->delimiter(',');
}

void AddDatabaseOption(CLI::App* cmd, std::string& database) {
  cmd->add_option("--database", database, "ClickHouse database")
      ->envname("STREAMSHOP_CLICKHOUSE_DATABASE")
      ->capture_default_str();
}

// --batch-rows, --batch-bytes, --flush-ms; `flush` is what a flush also does.
void AddBatchOptions(CLI::App* cmd, size_t& rows, size_t& bytes, std::chrono::milliseconds& interval,
                     const std::string& flush) {
  cmd->add_option("--batch-rows", rows, "Flush after this many rows")
      ->check(kRows)
      ->capture_default_str()
      ->envname("STREAMSHOP_BATCH_ROWS");
  cmd->add_option("--batch-bytes", bytes, "Flush after this many encoded bytes")
      ->check(kBytes)
      ->capture_default_str()
      ->envname("STREAMSHOP_BATCH_BYTES");
  cmd->add_option_function<int>(
         "--flush-ms", [&interval](int ms) { interval = std::chrono::milliseconds(ms); },
         fmt::format("Flush pending rows {}at the latest this long after the first of them arrived (ms); sooner, "
                     "without waiting, once the source has nothing more ready (at most one such flush per {} ms)",
                     flush, pipeline::BatchLimits{}.idle_gap.count()))
      ->check(kMilliseconds)
      ->default_str(std::to_string(interval.count()))
      ->envname("STREAMSHOP_FLUSH_MS");
}

void AddHeartbeatOption(CLI::App* cmd, std::chrono::seconds& interval) {
  cmd->add_option_function<int>(
         "--heartbeat-interval", [&interval](int s) { interval = std::chrono::seconds(s); },
         "Seconds between heartbeat messages (pg_logical_emit_message) that keep an idle slot advancing; 0 = off")
      ->check(kSecondsOrOff)
      ->default_str(std::to_string(interval.count()))
      ->envname("STREAMSHOP_HEARTBEAT_INTERVAL");
}

// SCHEMA.TABLE or TABLE (pipeline::ParseTableName), e.g. --signal-table.
const CLI::Validator kTableName(
    [](std::string& v) {
      auto name = pipeline::ParseTableName(v);
      return name.ok() ? std::string() : name.status().message();
    },
    "SCHEMA.TABLE");

// --snapshot-workers and --snapshot-chunk-pages (the Snapshotter's, for replicate and capture).
void AddSnapshotTuningOptions(CLI::App* cmd, int& workers, int64_t& chunk_pages) {
  cmd->add_option("--snapshot-workers", workers, "Parallel connections copying the snapshot")
      ->check(CLI::Range(1, 64))
      ->capture_default_str()
      ->envname("STREAMSHOP_SNAPSHOT_WORKERS");
  cmd->add_option("--snapshot-chunk-pages", chunk_pages,
                  "Heap pages (8 kB) per snapshot chunk; completed chunks survive a restart")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str()
      ->envname("STREAMSHOP_SNAPSHOT_CHUNK_PAGES");
}

// --snapshot initial|never into `snapshot` (true = initial).
void AddSnapshotOption(CLI::App* cmd, bool& snapshot, const std::string& help) {
  cmd->add_option_function<std::string>(
         "--snapshot", [&snapshot](const std::string& v) { snapshot = v == "initial"; }, help)
      ->check(CLI::IsMember({"initial", "never"}))
      ->default_str(snapshot ? "initial" : "never")
      ->envname("STREAMSHOP_SNAPSHOT");
}

// --on-slot-lost fail|resnapshot: what replicate (and capture: it only fails) does when its slot is lost.
void AddOnSlotLostOption(CLI::App* cmd, pipeline::OnSlotLost& on_lost, const std::string& help) {
  cmd->add_option_function<std::string>(
         "--on-slot-lost",
         [&on_lost](const std::string& v) {
           on_lost = v == "resnapshot" ? pipeline::OnSlotLost::kResnapshot : pipeline::OnSlotLost::kFail;
         },
         help)
      ->check(CLI::IsMember({"fail", "resnapshot"}))
      ->default_str(on_lost == pipeline::OnSlotLost::kResnapshot ? "resnapshot" : "fail")
      ->envname("STREAMSHOP_ON_SLOT_LOST");
}

// --progress auto|on|off into `progress` (auto, the default: on a terminal).
void AddProgressOption(CLI::App* cmd, bool& progress) {
  progress = isatty(STDERR_FILENO);
  cmd->add_option_function<std::string>(
         "--progress",
         [&progress](const std::string& v) { progress = v == "on" || (v == "auto" && isatty(STDERR_FILENO)); },
         "Progress line on stderr: auto (on a terminal), on, off")
      ->envname("STREAMSHOP_PROGRESS")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->default_str("auto");
}

// --http-listen HOST:PORT: the operations endpoints of a long-running command (off when empty).
void AddHttpListenOption(CLI::App* cmd, std::string& listen) {
  cmd->add_option("--http-listen", listen,
                  "Serve a live status page (/, /status.json), /metrics (Prometheus), /healthz and /readyz on "
                  "HOST:PORT, e.g. 127.0.0.1:9187 (:PORT = loopback). No authentication: keep it on loopback unless "
                  "a proxy or private network fronts it")
      ->envname("STREAMSHOP_HTTP_LISTEN");
}

// Runs a long-running command (Replicator, Capture, Sink) while the --http-listen endpoints serve its metrics.
template <typename Pipeline>
int RunServed(Pipeline& pipeline, const std::string& listen, const std::string& name) {
  std::unique_ptr<ops::HttpServer> server;  // stopped before `pipeline` (and its metrics) goes
  if (!listen.empty()) {
    auto started = ops::HttpServer::Start(listen, pipeline.metrics(), name);
    if (!started.ok()) return Report(started.status());
    server = std::move(*started);
  }
  return Report(pipeline.Run(g_stop));
}

// A Kafka command's options and its --kafka-prop texts (parsed when it runs).
template <typename Options>
struct KafkaArgs {
  Options o;
  std::vector<std::string> kafka_props;
  std::string http_listen;  // --http-listen

  // The librdkafka properties (with the secrets they name), then the command's other secrets.
  Status Resolve(const SecretFiles& secrets, clickhouse::Endpoint* clickhouse) {
    SS_ASSIGN_OR_RETURN(o.kafka_props, KafkaPropsOf(kafka_props, secrets));
    return ResolveSecrets(secrets, clickhouse);
  }
};

// A subcommand: registered on the app with its options, run once parsed. Options live in the lambda's state.
using Runner = std::function<int()>;
struct Command {
  CLI::App* app;
  Runner run;
};

Command AddStack(CLI::App& app) {
  struct Args {
    std::string action, clickhouse_engine;
    bool with_kafka = false, tls = false, clickhouse_cluster = false;
    int clickhouse_shards = 0, server = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "stack", "Private local PostgreSQL + ClickHouse (+ Kafka with --with-kafka) under ./.streamshop");
  cmd->add_option("action", a->action,
                  "up, down, status, destroy, restart-postgres|clickhouse|kafka, "
                  "stop|start|kill-clickhouse-replica N")
      ->required()
      ->check(
          CLI::IsMember({"up", "down", "status", "destroy", "restart-postgres", "restart-clickhouse", "restart-kafka",
                         "stop-clickhouse-replica", "start-clickhouse-replica", "kill-clickhouse-replica"}));
  cmd->add_option("server", a->server,
                  "with stop|start|kill-clickhouse-replica: the cluster's server N (1..4, the N of "
                  "STREAMSHOP_CLICKHOUSE_URL_N)")
      ->check(CLI::Range(1, 4));
  cmd->add_flag("--with-kafka", a->with_kafka, "Also run a single-node Apache Kafka broker (KRaft)")
      ->envname("STREAMSHOP_WITH_KAFKA");
  cmd->add_flag("--tls", a->tls,
                "TLS on every service: a private CA (.streamshop/tls/ca.pem), PostgreSQL ssl only, ClickHouse "
                "HTTPS only, Kafka SASL_SSL; passwords are always on")
      ->envname("STREAMSHOP_STACK_TLS");
  cmd->add_option("--clickhouse-engine", a->clickhouse_engine,
                  "server (default): the real clickhouse-server; chdb: ClickHouse 26.x through the chdb test/dev "
                  "endpoint (tests/support/chdb_http.py)")
      ->check(CLI::IsMember({"server", "chdb"}))
      ->envname("STREAMSHOP_CLICKHOUSE_ENGINE");
  cmd->add_flag("--clickhouse-cluster", a->clickhouse_cluster,
                "A ClickHouse 18.16 cluster `streamshop`: ZooKeeper and 2 replicas of one shard (adds "
                "STREAMSHOP_CLICKHOUSE_CLUSTER and STREAMSHOP_CLICKHOUSE_URL_2 to .streamshop/env)")
      ->envname("STREAMSHOP_STACK_CLICKHOUSE_CLUSTER");
  cmd->add_option("--clickhouse-shards", a->clickhouse_shards,
                  "With the cluster: 1 (default) or 2 shards of 2 replicas (2 adds STREAMSHOP_CLICKHOUSE_URL_3, _4)")
      ->check(CLI::Range(1, 2))
      ->envname("STREAMSHOP_STACK_CLICKHOUSE_SHARDS");
  return {cmd, [a] {
            std::vector<std::string> args{a->action};
            if (a->with_kafka) args.push_back("--with-kafka");
            if (a->action == "up" && a->tls) args.push_back("--tls");
            if (a->action == "up" && !a->clickhouse_engine.empty()) {
              args.insert(args.end(), {"--clickhouse-engine", a->clickhouse_engine});
            }
            if (a->action == "up" && a->clickhouse_cluster) args.push_back("--clickhouse-cluster");
            if (a->action == "up" && a->clickhouse_shards != 0) {
              args.insert(args.end(), {"--clickhouse-shards", std::to_string(a->clickhouse_shards)});
            }
            // (Without N, stack.sh says which numbers there are.)
            if (a->action.ends_with("-clickhouse-replica") && a->server != 0) args.push_back(std::to_string(a->server));
            return ExecScript("stack.sh", args);
          }};
}

Command AddReplicate(CLI::App& app, SecretFiles& secrets) {
  auto o = std::make_shared<pipeline::ReplicatorOptions>();
  auto* cmd = app.add_subcommand(
      "replicate", "Stream PostgreSQL changes straight into ClickHouse analytics.raw_* (initial snapshot, then live)");
  AddPgOption(cmd, o->pg_url, secrets);
  AddClickHouseOption(cmd, o->clickhouse, secrets);
  AddPublicationOptions(cmd, o->publication, o->slot, "STREAMSHOP_SLOT", o->tables);
  AddDatabaseOption(cmd, o->database);
  AddBatchOptions(cmd, o->batch_rows, o->batch_bytes, o->flush_interval, "");
  AddSnapshotOption(cmd, o->snapshot,
                    "initial: copy the existing rows of every table not copied yet (new slot, table new to the "
                    "publication or dropped in ClickHouse); never: only stream changes from the slot");
  AddSnapshotTuningOptions(cmd, o->snapshot_workers, o->snapshot_chunk_pages);
  AddHeartbeatOption(cmd, o->heartbeat_interval);
  AddOnSlotLostOption(cmd, o->on_slot_lost,
                      "When PostgreSQL invalidated the slot (max_slot_wal_keep_size exceeded) or it is missing while "
                      "ClickHouse holds this pipeline's state (failover): fail, naming the recovery; resnapshot: drop "
                      "it, create it anew and copy every table again (each raw table truncated first)");
  cmd->add_option("--max-lag-bytes", o->max_lag_bytes,
                  "Warn (LAG ALARM) when the slot is this many WAL bytes behind; 0 = off")
      ->check(kWalBytesOrOff)
      ->envname("STREAMSHOP_MAX_LAG_BYTES")
      ->capture_default_str();
  cmd->add_option("--max-lag-seconds", o->max_lag_seconds, "Warn (LAG ALARM) when this many seconds behind; 0 = off")
      ->check(CLI::Range(0.0, 86'400.0 * 365))
      ->envname("STREAMSHOP_MAX_LAG_SECONDS")
      ->capture_default_str();
  cmd->add_option("--signal-table", o->signal_table,
                  "SCHEMA.TABLE whose inserted rows (columns id, type, data) are signals: execute-snapshot, "
                  "stop-replication, resume-replication, log (docs/OPERATIONS.md, Signals). It must be in the "
                  "publication; it is not replicated")
      ->check(kTableName)
      ->envname("STREAMSHOP_SIGNAL_TABLE");
  cmd->add_option("--outbox-table", o->outbox_table,
                  "SCHEMA.TABLE of a transactional outbox (columns id, aggregatetype, aggregateid, type, payload, …): "
                  "besides its raw mirror, every row inserted into it is appended once to <database>.outbox_events, "
                  "which its deletes never touch (docs/OPERATIONS.md, Outbox). It must be in the publication")
      ->check(kTableName)
      ->envname("STREAMSHOP_OUTBOX_TABLE");
  AddProgressOption(cmd, o->progress);
  auto listen = std::make_shared<std::string>();
  AddHttpListenOption(cmd, *listen);
  return {cmd, [o, listen, &secrets] {
            if (Status st = ResolveSecrets(secrets, &o->clickhouse); !st.ok()) return Report(st);
            pipeline::Replicator replicator(*o);
            return RunServed(replicator, *listen, "replicate");
          }};
}

Command AddCapture(CLI::App& app, SecretFiles& secrets) {
  auto a = std::make_shared<KafkaArgs<pipeline::CaptureOptions>>();
  pipeline::CaptureOptions& o = a->o;
  auto* cmd = app.add_subcommand(
      "capture",
      "Stream PostgreSQL changes into Kafka topics <prefix>.<schema>.<table> as Debezium change events (initial "
      "snapshot as op r, then live); the slot advances only past what Kafka acknowledged. Name bytes outside "
      "[A-Za-z0-9_] are written -XX (hex); a record larger than its topic's max.message.bytes goes whole to "
      "<prefix>.dead_letter");
  AddPgOption(cmd, o.pg_url, secrets);
  AddKafkaOptions(cmd, o.brokers, a->kafka_props, secrets);
  cmd->add_option("--topic-prefix", o.topic_prefix, "Topic prefix (Debezium's topic.prefix)")
      ->envname("STREAMSHOP_TOPIC_PREFIX")
      ->capture_default_str();
  AddPublicationOptions(cmd, o.publication, o.slot, "STREAMSHOP_CAPTURE_SLOT", o.tables);
  cmd->add_option("--partitions", o.partitions, "Partitions of the topics capture creates")
      ->check(CLI::Range(1, 10000))
      ->envname("STREAMSHOP_TOPIC_PARTITIONS")
      ->capture_default_str();
  cmd->add_option("--replication-factor", o.replication_factor, "Replication factor of the topics it creates")
      ->check(CLI::Range(1, 100))
      ->envname("STREAMSHOP_TOPIC_REPLICATION_FACTOR")
      ->capture_default_str();
  const auto on_off = [cmd](const std::string& name, bool& flag, const std::string& env, const std::string& help) {
    cmd->add_option_function<std::string>(
           name, [&flag](const std::string& v) { flag = v == "on"; }, help)
        ->check(CLI::IsMember({"on", "off"}))
        ->default_str(flag ? "on" : "off")
        ->envname(env);
  };
  on_off("--tombstones", o.tombstones, "STREAMSHOP_TOMBSTONES",
         "on: a tombstone (null value) follows each delete (log compaction)");
  on_off("--schemas", o.schemas, "STREAMSHOP_SCHEMAS",
         "on: {\"schema\":…,\"payload\":…} like JsonConverter schemas.enable=true; off: the payload alone");
  AddSnapshotOption(cmd, o.snapshot,
                    "initial: send the existing rows of tables not snapshotted yet as op r; never: only changes");
  // The outbox (Debezium EventRouter's options, named after them: docs/DEBEZIUM_COMPATIBILITY.md).
  auto placement = std::make_shared<std::string>();
  cmd->add_option("--outbox-table", o.outbox_table,
                  "Route this table's inserts like Debezium's outbox EventRouter (topic per route-by value, key, "
                  "payload, header id); its updates and deletes send nothing")
      ->check(kTableName)
      ->envname("STREAMSHOP_OUTBOX_TABLE");
  cmd->add_option("--outbox-route-topic-replacement", o.outbox.route_topic_replacement,
                  "Outbox topic; ${routedByValue} = the route-by column's value (route.topic.replacement)")
      ->envname("STREAMSHOP_OUTBOX_ROUTE_TOPIC_REPLACEMENT")
      ->capture_default_str();
  cmd->add_option("--outbox-route-by-field", o.outbox.route_by_field, "Outbox column naming the topic (route.by.field)")
      ->envname("STREAMSHOP_OUTBOX_ROUTE_BY_FIELD")
      ->capture_default_str();
  cmd->add_option("--outbox-id-column", o.outbox.field_event_id,
                  "Outbox event id column: header id (table.field.event.id)")
      ->envname("STREAMSHOP_OUTBOX_ID_COLUMN")
      ->capture_default_str();
  cmd->add_option("--outbox-key-column", o.outbox.field_event_key, "Outbox record key column (table.field.event.key)")
      ->envname("STREAMSHOP_OUTBOX_KEY_COLUMN")
      ->capture_default_str();
  cmd->add_option("--outbox-payload-column", o.outbox.field_event_payload,
                  "Outbox record value column (table.field.event.payload)")
      ->envname("STREAMSHOP_OUTBOX_PAYLOAD_COLUMN")
      ->capture_default_str();
  cmd->add_option("--outbox-additional-placement", *placement,
                  "Outbox columns sent as headers: COLUMN:header[:ALIAS],… e.g. type:header:eventType "
                  "(table.fields.additional.placement)")
      ->envname("STREAMSHOP_OUTBOX_ADDITIONAL_PLACEMENT");
  on_off("--outbox-expand-json-payload", o.outbox.expand_json_payload, "STREAMSHOP_OUTBOX_EXPAND_JSON_PAYLOAD",
         "on: a jsonb payload is the record value itself, not a JSON string (table.expand.json.payload; needs "
         "--schemas off)");
  AddSnapshotTuningOptions(cmd, o.snapshot_workers, o.snapshot_chunk_pages);
  cmd->add_flag("--exactly-once", o.exactly_once,
                "Kafka transactions: each PostgreSQL transaction's records and capture's position commit together, so "
                "read_committed consumers see every record once through crashes (docs/OPERATIONS.md)")
      ->envname("STREAMSHOP_EXACTLY_ONCE");
  cmd->add_option("--transactional-id", o.transactional_id,
                  "transactional.id of --exactly-once (default streamshop-capture-<slot>; snapshot workers add "
                  "-snapshot-<n>). One running capture per id: a newer one fences the older")
      ->envname("STREAMSHOP_TRANSACTIONAL_ID");
  cmd->add_option_function<int>(
         "--transaction-interval-ms", [&o](int ms) { o.transaction_interval = std::chrono::milliseconds(ms); },
         "--exactly-once: longest a Kafka transaction stays open before it commits (at a PostgreSQL commit)")
      ->check(CLI::Range(1, 30000))
      ->default_str(std::to_string(o.transaction_interval.count()))
      ->envname("STREAMSHOP_TRANSACTION_INTERVAL_MS");
  AddHeartbeatOption(cmd, o.heartbeat_interval);
  AddOnSlotLostOption(cmd, o.on_slot_lost,
                      "When PostgreSQL invalidated the slot or it is missing while the state topic holds its state: "
                      "capture stops with the recovery steps by hand (resnapshot is replicate's only)");
  AddProgressOption(cmd, o.progress);
  AddHttpListenOption(cmd, a->http_listen);
  return {cmd, [a, placement, &secrets] {
            if (Status st = a->Resolve(secrets, nullptr); !st.ok()) return Report(st);
            auto additional = debezium::ParseOutboxAdditionalPlacement(*placement);
            if (!additional.ok()) return Report(additional.status());
            a->o.outbox.additional = std::move(*additional);
            pipeline::Capture capture(a->o);
            return RunServed(capture, a->http_listen, "capture");
          }};
}

Command AddSink(CLI::App& app, SecretFiles& secrets) {
  auto a = std::make_shared<KafkaArgs<pipeline::SinkOptions>>();
  pipeline::SinkOptions& o = a->o;
  auto* cmd = app.add_subcommand(
      "sink",
      "Consume Debezium change events (from capture or real Debezium, with or without schemas) into ClickHouse "
      "analytics.raw_*; offsets are committed only after ClickHouse stored the rows");
  AddKafkaOptions(cmd, o.brokers, a->kafka_props, secrets);
  AddClickHouseOption(cmd, o.clickhouse, secrets);
  cmd->add_option("--topics", o.topics_regex, "Topics to consume: a regular expression (librdkafka, ^-anchored)")
      ->envname("STREAMSHOP_SINK_TOPICS")
      ->capture_default_str();
  cmd->add_option("--group", o.group, "Consumer group: sinks with the same group split the partitions")
      ->envname("STREAMSHOP_SINK_GROUP")
      ->capture_default_str();
  cmd->add_option("--dead-letter-topic", o.dead_letter_topic,
                  "Where records that cannot be parsed or mapped go, with the reason in headers")
      ->envname("STREAMSHOP_DEAD_LETTER_TOPIC")
      ->capture_default_str();
  AddDatabaseOption(cmd, o.database);
  AddBatchOptions(cmd, o.batch_rows, o.batch_bytes, o.flush_interval, "(and commit offsets) ");
  cmd->add_option("--max-message-bytes", o.max_message_bytes, "Larger records go to the dead-letter topic")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31))
      ->capture_default_str()
      ->envname("STREAMSHOP_MAX_MESSAGE_BYTES");
  cmd->add_flag("--route-by-source", o.route_by_source,
                "Store each record in the table its source.schema/source.table names, whatever its topic (for "
                "Debezium topic-routing SMTs); by default a record is accepted only on its table's own topic")
      ->envname("STREAMSHOP_SINK_ROUTE_BY_SOURCE");
  cmd->add_option("--max-lsn-jump", o.max_lsn_jump,
                  "Dead-letter a change whose source.lsn is more than this many bytes (plus 4 GiB per second of "
                  "source time) ahead of the highest LSN seen; 0 = off (sinks fed by several PostgreSQL clusters)")
      ->check(kWalBytesOrOff)
      ->capture_default_str()
      ->envname("STREAMSHOP_SINK_MAX_LSN_JUMP");
  AddProgressOption(cmd, o.progress);
  AddHttpListenOption(cmd, a->http_listen);
  // The connector's value settings, under its own names (docs/DEBEZIUM_COMPATIBILITY.md, "Connector modes").
  struct Modes {
    std::string decimal = "precise", time = "adaptive", binary = "bytes", interval = "numeric", hstore = "json";
  };
  auto m = std::make_shared<Modes>();
  const auto mode_option = [cmd](const char* name, std::string& value, const char* env, const char* help,
                                 std::vector<std::string> values) {
    cmd->add_option(name, value, help)->check(CLI::IsMember(std::move(values)))->envname(env)->capture_default_str();
  };
  mode_option("--debezium-decimal-handling-mode", m->decimal, "STREAMSHOP_SINK_DEBEZIUM_DECIMAL_HANDLING_MODE",
              "The connector's decimal.handling.mode (double is refused: it loses digits)",
              {"precise", "double", "string"});
  mode_option("--debezium-time-precision-mode", m->time, "STREAMSHOP_SINK_DEBEZIUM_TIME_PRECISION_MODE",
              "The connector's time.precision.mode",
              {"adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds"});
  mode_option("--debezium-binary-handling-mode", m->binary, "STREAMSHOP_SINK_DEBEZIUM_BINARY_HANDLING_MODE",
              "The connector's binary.handling.mode", {"bytes", "base64", "base64-url-safe", "hex"});
  mode_option("--debezium-interval-handling-mode", m->interval, "STREAMSHOP_SINK_DEBEZIUM_INTERVAL_HANDLING_MODE",
              "The connector's interval.handling.mode (numeric is refused: it approximates months)",
              {"numeric", "string"});
  mode_option("--debezium-hstore-handling-mode", m->hstore, "STREAMSHOP_SINK_DEBEZIUM_HSTORE_HANDLING_MODE",
              "The connector's hstore.handling.mode", {"json", "map"});
  return {cmd, [a, m, &secrets] {
            if (Status st = a->Resolve(secrets, &a->o.clickhouse); !st.ok()) return Report(st);
            debezium::DebeziumModes& modes = a->o.debezium_modes;
            modes.decimal = debezium::ParseDecimalHandlingMode(m->decimal).value();
            modes.time = debezium::ParseTimePrecisionMode(m->time).value();
            modes.binary = debezium::ParseBinaryHandlingMode(m->binary).value();
            modes.interval = debezium::ParseIntervalHandlingMode(m->interval).value();
            modes.hstore = debezium::ParseHstoreHandlingMode(m->hstore).value();
            pipeline::Sink sink(a->o);
            return RunServed(sink, a->http_listen, "sink");
          }};
}

Command AddVerify(CLI::App& app, SecretFiles& secrets) {
  struct Args {
    pipeline::VerifyOptions o;
    int wait_seconds = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "verify", "Compare every replicated table in PostgreSQL and ClickHouse; exit 0 only if all match");
  AddPgOption(cmd, a->o.pg_url, secrets);
  AddClickHouseOption(cmd, a->o.clickhouse, secrets);
  cmd->add_option("--publication", a->o.publication, "Publication whose tables are compared")
      ->envname("STREAMSHOP_PUBLICATION")
      ->capture_default_str();
  AddDatabaseOption(cmd, a->o.database);
  cmd->add_option("--signal-table", a->o.signal_table,
                  "replicate's signal table (SCHEMA.TABLE): in the publication but never replicated, so not compared")
      ->check(kTableName)
      ->envname("STREAMSHOP_SIGNAL_TABLE");
  cmd->add_option("--wait", a->wait_seconds, "Retry for up to this many seconds while the pipeline catches up")
      ->check(kSecondsOrOff)
      ->capture_default_str()
      ->envname("STREAMSHOP_VERIFY_WAIT");
  return {cmd, [a, &secrets] {
            if (Status st = ResolveSecrets(secrets, &a->o.clickhouse); !st.ok()) return Report(st);
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a->wait_seconds);
            // Each server on its own: the primary, then every --clickhouse-replica-url (docs/CLUSTER.md).
            const std::vector<clickhouse::Endpoint> servers = a->o.clickhouse.EachServer();
            while (true) {
              std::vector<Result<std::vector<pipeline::TableVerdict>>> results;
              bool all_ok = true;
              for (const auto& server : servers) {
                pipeline::VerifyOptions o = a->o;
                o.clickhouse = server;
                auto verdicts = pipeline::VerifyTables(o);
                // No table compared proves nothing: not a pass (the publication may not exist yet, so --wait
                // retries).
                all_ok &= verdicts.ok() && !verdicts->empty();
                if (verdicts.ok()) {
                  for (const auto& v : *verdicts) all_ok &= v.ok();
                }
                results.push_back(std::move(verdicts));
              }
              if (all_ok || g_stop || std::chrono::steady_clock::now() >= deadline) {
                for (size_t i = 0; i < results.size(); ++i) {
                  if (servers.size() > 1) fmt::print("ClickHouse server {}:\n", RedactUrl(servers[i].url));
                  if (!results[i].ok()) {
                    if (servers.size() > 1) fmt::print("    cannot compare: {}\n", results[i].status().message());
                    continue;
                  }
                  if (results[i]->empty()) {
                    LogError(
                        "verify compared no tables: publication '{}' has none or does not exist in this database, "
                        "so nothing was proven; check --publication and --pg",
                        a->o.publication);
                    return 3;
                  }
                  fmt::print("{}", pipeline::FormatVerdicts(*results[i]));
                }
                for (const auto& r : results) {
                  if (!r.ok()) return Report(r.status());  // not compared at all: an error, not a difference
                }
                fmt::print("{}\n", all_ok ? servers.size() > 1 ? "verify: all tables match on every server"
                                                               : "verify: all tables match"
                                          : "verify: DIFFERENCES FOUND");
                return all_ok ? 0 : 2;
              }
              std::this_thread::sleep_for(std::chrono::seconds(1));
            }
          }};
}

Command AddGenerate(CLI::App& app, SecretFiles& secrets) {
  struct Args {
    workload::GeneratorOptions o;
    std::string rate = "1000", duration = "0", progress = "auto", sync = "off", outbox = "on";
  };
  auto a = std::make_shared<Args>();
  workload::GeneratorOptions& o = a->o;
  auto* cmd = app.add_subcommand(
      "generate", "Run an e-commerce workload (tables of sql/postgres/schema.sql) against PostgreSQL at a target rate");
  AddPgOption(cmd, o.pg_url, secrets);
  cmd->add_option("--rate", a->rate, "Transactions per second, e.g. 1000 or 1000/s (0 = as fast as possible)")
      ->envname("STREAMSHOP_GENERATE_RATE")
      ->capture_default_str();
  cmd->add_option("--duration", a->duration, "Run time, e.g. 30s, 2m, 1h (0 = until SIGINT/SIGTERM)")
      ->envname("STREAMSHOP_GENERATE_DURATION")
      ->capture_default_str();
  cmd->add_option("--transactions", o.transactions, "Stop after this many transactions (0 = no limit)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 53))
      ->envname("STREAMSHOP_GENERATE_TRANSACTIONS")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed: same seed and same starting data, same transactions")
      ->check(CLI::NonNegativeNumber)
      ->envname("STREAMSHOP_GENERATE_SEED")
      ->capture_default_str();
  cmd->add_option("--products", o.seed_products, "Products seeded into an empty catalogue")
      ->check(CLI::Range(1, 10'000'000))
      ->envname("STREAMSHOP_GENERATE_PRODUCTS")
      ->capture_default_str();
  cmd->add_option("--customers", o.seed_customers, "Customers seeded into an empty customers table")
      ->check(CLI::Range(1, 100'000'000))
      ->envname("STREAMSHOP_GENERATE_CUSTOMERS")
      ->capture_default_str();
  cmd->add_option("--max-in-flight", o.max_in_flight, "Pipelined transactions awaiting PostgreSQL's answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--synchronous-commit", a->sync,
                  "on: each commit waits for its WAL flush (rate then bounded by disk flush latency); off: a "
                  "server crash may lose the last few acknowledged transactions")
      ->envname("STREAMSHOP_GENERATE_SYNCHRONOUS_COMMIT")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd->add_option("--progress", a->progress,
                  "auto (live line on a terminal, else a log line every 5 s), line, log, off")
      ->check(CLI::IsMember({"auto", "line", "log", "off"}))
      ->capture_default_str();
  cmd->add_option("--outbox", a->outbox,
                  "on: each transaction also inserts its domain event(s) into outbox_events (OrderPlaced, OrderPaid, "
                  "…); off: business tables only")
      ->envname("STREAMSHOP_GENERATE_OUTBOX")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd->add_flag("--outbox-cleanup", o.outbox_cleanup,
                "Delete each outbox row again right after inserting it, in the same transaction (the common "
                "clean-up pattern: only the WAL keeps the event)")
      ->envname("STREAMSHOP_GENERATE_OUTBOX_CLEANUP");
  return {cmd, [a, &secrets] {
            using Progress = workload::GeneratorOptions::Progress;
            a->o.outbox = a->outbox == "on";
            if (a->o.outbox_cleanup && !a->o.outbox) return Report(Status::Fatal("--outbox-cleanup needs --outbox on"));
            if (Status st = ResolveSecrets(secrets, nullptr); !st.ok()) return Report(st);
            auto rate = workload::ParseRate(a->rate);
            if (!rate.ok()) return Report(rate.status());
            auto duration = workload::ParseDuration(a->duration);
            if (!duration.ok()) return Report(duration.status());
            a->o.rate = *rate;
            a->o.duration = *duration;
            a->o.synchronous_commit = a->sync == "on";
            a->o.progress = a->progress == "off"    ? Progress::kOff
                            : a->progress == "line" ? Progress::kLine
                            : a->progress == "log"  ? Progress::kLog
                                                    : (isatty(STDERR_FILENO) ? Progress::kLine : Progress::kLog);
            auto summary = workload::Generator(a->o).Run(g_stop);
            if (!summary.ok()) return Report(summary.status());
            fmt::print("{}\n", summary->ToString());
            return 0;
          }};
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{
      "streamshop — change data capture from PostgreSQL (logical replication, pgoutput) into ClickHouse.\n"
      "Every option can also come from a STREAMSHOP_* environment variable or a TOML file given by --config."};
  // STREAMSHOP_CONFIG is the default file (CLI11 reads an option's environment variable only after the config files,
  // so an envname here would never load it); --config still wins, and a missing file is an error either way.
  const char* config_env = std::getenv("STREAMSHOP_CONFIG");
  const bool config_from_env = config_env != nullptr && *config_env != '\0';
  app.set_config("--config", config_from_env ? config_env : "",
                 "TOML config file: [replicate], [capture], [sink], [verify], [generate] sections whose keys are the "
                 "option names (env STREAMSHOP_CONFIG)",
                 config_from_env);
  app.config_formatter(std::make_shared<cli::TomlConfig>(&app));
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging");

  SecretFiles secrets;  // shared: only one subcommand runs
  const Command commands[] = {AddStack(app),         AddReplicate(app, secrets), AddCapture(app, secrets),
                              AddSink(app, secrets), AddVerify(app, secrets),    AddGenerate(app, secrets)};

  CLI11_PARSE(app, argc, argv);
  try {
    cli::TomlConfig::CheckSecretsPrivate(app.get_config_ptr()->as<std::string>());
  } catch (const CLI::ConfigError& e) {
    return app.exit(e);
  }
  if (verbose) SetLogLevel(LogLevel::kDebug);
  InstallSignalHandlers();
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 0;
} catch (const std::exception& e) {
  streamshop::LogError("fatal: {}", e.what());
  return 1;
}
