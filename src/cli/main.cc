// streamshop command line: parses options (flags, STREAMSHOP_* environment variables, a TOML config file),
// installs signal handlers and dispatches to the pipeline. Exceptions are for bugs and fatal setup errors
// and are caught here, once.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <filesystem>
#include <thread>

#include "cli/TomlConfig.h"
#include "common/Log.h"
#include "common/Secrets.h"
#include "kafka/KafkaConfig.h"
#include "pipeline/Capture.h"
#include "pipeline/Replicator.h"
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
Status ResolveSecrets(const SecretFiles& files, std::initializer_list<clickhouse::Endpoint*> endpoints) {
  SS_ASSIGN_OR_RETURN(std::string pg_password, ResolveSecret("STREAMSHOP_PG_PASSWORD", files.pg_password));
  if (!pg_password.empty()) setenv("PGPASSWORD", pg_password.c_str(), 1);
  SS_ASSIGN_OR_RETURN(std::string ch_password,
                      ResolveSecret("STREAMSHOP_CLICKHOUSE_PASSWORD", files.clickhouse_password));
  for (auto* endpoint : endpoints) endpoint->password = ch_password;
  return Status::Ok();
}

// Numeric option ranges (CLI11 reads "-1" into an unsigned option as its largest value; these read the text).
const CLI::Validator kRows = CLI::Range(int64_t{1}, int64_t{1'000'000'000});
const CLI::Validator kBytes = CLI::Range(int64_t{1}, int64_t{1} << 40);
const CLI::Validator kMilliseconds = CLI::Range(1, 3'600'000);
const CLI::Validator kSecondsOrOff = CLI::Range(0, 86'400);
const CLI::Validator kWalBytesOrOff = CLI::Range(int64_t{0}, int64_t{1} << 62);

bool ProgressWanted(const std::string& progress) {
  return progress == "on" || (progress == "auto" && isatty(STDERR_FILENO));
}

CLI::Option* AddProgressOption(CLI::App* cmd, std::string& progress) {
  return cmd->add_option("--progress", progress, "Progress line on stderr: auto (on a terminal), on, off")
      ->envname("STREAMSHOP_PROGRESS")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->capture_default_str();
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

  // stack
  auto* stack = app.add_subcommand(
      "stack", "Private local PostgreSQL + ClickHouse (+ Kafka with --with-kafka) under ./.streamshop");
  std::string stack_action;
  stack->add_option("action", stack_action, "up, down, status, destroy, restart-postgres|clickhouse|kafka")
      ->required()
      ->check(CLI::IsMember(
          {"up", "down", "status", "destroy", "restart-postgres", "restart-clickhouse", "restart-kafka"}));
  bool with_kafka = false;
  stack->add_flag("--with-kafka", with_kafka, "Also run a single-node Apache Kafka broker (KRaft)")
      ->envname("STREAMSHOP_WITH_KAFKA");
  bool stack_tls = false;
  stack
      ->add_flag("--tls", stack_tls,
                 "TLS on every service: a private CA (.streamshop/tls/ca.pem), PostgreSQL ssl only, ClickHouse "
                 "HTTPS only, Kafka SASL_SSL; passwords are always on")
      ->envname("STREAMSHOP_STACK_TLS");
  std::string clickhouse_engine;
  stack
      ->add_option("--clickhouse-engine", clickhouse_engine,
                   "server (default): the real clickhouse-server; chdb: ClickHouse 26.x through the chdb test/dev "
                   "endpoint (tests/support/chdb_http.py)")
      ->check(CLI::IsMember({"server", "chdb"}))
      ->envname("STREAMSHOP_CLICKHOUSE_ENGINE");

  SecretFiles secret_files;  // shared: only one subcommand runs

  // replicate
  pipeline::ReplicatorOptions rep;
  auto* replicate = app.add_subcommand(
      "replicate", "Stream PostgreSQL changes straight into ClickHouse analytics.raw_* (initial snapshot, then live)");
  AddPgOption(replicate, rep.pg_url, secret_files);
  AddClickHouseOption(replicate, rep.clickhouse, secret_files);
  replicate->add_option("--publication", rep.publication, "Publication to replicate (created if missing)")
      ->envname("STREAMSHOP_PUBLICATION")
      ->capture_default_str();
  replicate->add_option("--slot", rep.slot, "Logical replication slot (created if missing)")
      ->envname("STREAMSHOP_SLOT")
      ->capture_default_str();
  replicate->add_option("--tables", rep.tables, "Tables for a new publication (default: all of schema public)")
      ->envname("STREAMSHOP_TABLES")
      ->delimiter(',');
  replicate->add_option("--database", rep.database, "ClickHouse database")
      ->envname("STREAMSHOP_CLICKHOUSE_DATABASE")
      ->capture_default_str();
  replicate->add_option("--batch-rows", rep.batch_rows, "Flush after this many rows")
      ->check(kRows)
      ->capture_default_str()
      ->envname("STREAMSHOP_BATCH_ROWS");
  replicate->add_option("--batch-bytes", rep.batch_bytes, "Flush after this many encoded bytes")
      ->check(kBytes)
      ->capture_default_str()
      ->envname("STREAMSHOP_BATCH_BYTES");
  int flush_ms = static_cast<int>(rep.flush_interval.count());
  replicate->add_option("--flush-ms", flush_ms, "Flush pending rows at least this often (ms)")
      ->check(kMilliseconds)
      ->capture_default_str()
      ->envname("STREAMSHOP_FLUSH_MS");
  std::string snapshot = "initial";
  replicate
      ->add_option("--snapshot", snapshot,
                   "initial: copy the existing rows of every table not copied yet (new slot, table new to the "
                   "publication or dropped in ClickHouse); never: only stream changes from the slot")
      ->envname("STREAMSHOP_SNAPSHOT")
      ->check(CLI::IsMember({"initial", "never"}))
      ->capture_default_str();
  replicate->add_option("--snapshot-workers", rep.snapshot_workers, "Parallel connections copying the snapshot")
      ->check(CLI::Range(1, 64))
      ->capture_default_str()
      ->envname("STREAMSHOP_SNAPSHOT_WORKERS");
  replicate
      ->add_option("--snapshot-chunk-pages", rep.snapshot_chunk_pages,
                   "Heap pages (8 kB) per snapshot chunk; completed chunks survive a restart")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str()
      ->envname("STREAMSHOP_SNAPSHOT_CHUNK_PAGES");
  int heartbeat_s = static_cast<int>(rep.heartbeat_interval.count());
  replicate
      ->add_option(
          "--heartbeat-interval", heartbeat_s,
          "Seconds between heartbeat messages (pg_logical_emit_message) that keep an idle slot advancing; 0 = off")
      ->check(kSecondsOrOff)
      ->capture_default_str()
      ->envname("STREAMSHOP_HEARTBEAT_INTERVAL");
  replicate
      ->add_option("--max-lag-bytes", rep.max_lag_bytes,
                   "Warn (LAG ALARM) when the slot is this many WAL bytes behind; 0 = off")
      ->check(kWalBytesOrOff)
      ->envname("STREAMSHOP_MAX_LAG_BYTES")
      ->capture_default_str();
  replicate
      ->add_option("--max-lag-seconds", rep.max_lag_seconds, "Warn (LAG ALARM) when this many seconds behind; 0 = off")
      ->check(CLI::Range(0.0, 86'400.0 * 365))
      ->envname("STREAMSHOP_MAX_LAG_SECONDS")
      ->capture_default_str();
  std::string progress = "auto";
  AddProgressOption(replicate, progress);

  // capture
  pipeline::CaptureOptions cap;
  std::vector<std::string> kafka_props;
  auto* capture = app.add_subcommand(
      "capture",
      "Stream PostgreSQL changes into Kafka topics <prefix>.<schema>.<table> as Debezium change events (initial "
      "snapshot as op r, then live); the slot advances only past what Kafka acknowledged. Name bytes outside "
      "[A-Za-z0-9_] are written -XX (hex); a record larger than its topic's max.message.bytes goes whole to "
      "<prefix>.dead_letter");
  AddPgOption(capture, cap.pg_url, secret_files);
  AddKafkaOptions(capture, cap.brokers, kafka_props, secret_files);
  capture->add_option("--topic-prefix", cap.topic_prefix, "Topic prefix (Debezium's topic.prefix)")
      ->envname("STREAMSHOP_TOPIC_PREFIX")
      ->capture_default_str();
  capture->add_option("--publication", cap.publication, "Publication to capture (created if missing)")
      ->envname("STREAMSHOP_PUBLICATION")
      ->capture_default_str();
  capture->add_option("--slot", cap.slot, "Logical replication slot (created if missing)")
      ->envname("STREAMSHOP_CAPTURE_SLOT")
      ->capture_default_str();
  capture->add_option("--tables", cap.tables, "Tables for a new publication (default: all of schema public)")
      ->envname("STREAMSHOP_TABLES")
      ->delimiter(',');
  capture->add_option("--partitions", cap.partitions, "Partitions of the topics capture creates")
      ->check(CLI::Range(1, 10000))
      ->envname("STREAMSHOP_TOPIC_PARTITIONS")
      ->capture_default_str();
  capture->add_option("--replication-factor", cap.replication_factor, "Replication factor of the topics it creates")
      ->check(CLI::Range(1, 100))
      ->envname("STREAMSHOP_TOPIC_REPLICATION_FACTOR")
      ->capture_default_str();
  std::string tombstones = "on", schemas = "on", cap_snapshot = "initial", cap_progress = "auto";
  capture->add_option("--tombstones", tombstones, "on: a tombstone (null value) follows each delete (log compaction)")
      ->check(CLI::IsMember({"on", "off"}))
      ->envname("STREAMSHOP_TOMBSTONES")
      ->capture_default_str();
  capture
      ->add_option("--schemas", schemas,
                   "on: {\"schema\":…,\"payload\":…} like JsonConverter schemas.enable=true; off: the payload alone")
      ->check(CLI::IsMember({"on", "off"}))
      ->envname("STREAMSHOP_SCHEMAS")
      ->capture_default_str();
  capture
      ->add_option("--snapshot", cap_snapshot,
                   "initial: send the existing rows of tables not snapshotted yet as op r; never: only changes")
      ->check(CLI::IsMember({"initial", "never"}))
      ->envname("STREAMSHOP_SNAPSHOT")
      ->capture_default_str();
  int cap_heartbeat_s = static_cast<int>(cap.heartbeat_interval.count());
  capture->add_option("--heartbeat-interval", cap_heartbeat_s, "Seconds between slot heartbeats; 0 = off")
      ->check(kSecondsOrOff)
      ->capture_default_str()
      ->envname("STREAMSHOP_HEARTBEAT_INTERVAL");
  AddProgressOption(capture, cap_progress);

  // sink
  pipeline::SinkOptions snk;
  std::vector<std::string> sink_kafka_props;
  auto* sink = app.add_subcommand(
      "sink",
      "Consume Debezium change events (from capture or real Debezium, with or without schemas) into ClickHouse "
      "analytics.raw_*; offsets are committed only after ClickHouse stored the rows");
  AddKafkaOptions(sink, snk.brokers, sink_kafka_props, secret_files);
  AddClickHouseOption(sink, snk.clickhouse, secret_files);
  sink->add_option("--topics", snk.topics_regex, "Topics to consume: a regular expression (librdkafka, ^-anchored)")
      ->envname("STREAMSHOP_SINK_TOPICS")
      ->capture_default_str();
  sink->add_option("--group", snk.group, "Consumer group: sinks with the same group split the partitions")
      ->envname("STREAMSHOP_SINK_GROUP")
      ->capture_default_str();
  sink->add_option("--dead-letter-topic", snk.dead_letter_topic,
                   "Where records that cannot be parsed or mapped go, with the reason in headers")
      ->envname("STREAMSHOP_DEAD_LETTER_TOPIC")
      ->capture_default_str();
  sink->add_option("--database", snk.database, "ClickHouse database")
      ->envname("STREAMSHOP_CLICKHOUSE_DATABASE")
      ->capture_default_str();
  sink->add_option("--batch-rows", snk.batch_rows, "Flush after this many rows")
      ->check(kRows)
      ->capture_default_str()
      ->envname("STREAMSHOP_BATCH_ROWS");
  sink->add_option("--batch-bytes", snk.batch_bytes, "Flush after this many encoded bytes")
      ->check(kBytes)
      ->capture_default_str()
      ->envname("STREAMSHOP_BATCH_BYTES");
  int sink_flush_ms = static_cast<int>(snk.flush_interval.count());
  sink->add_option("--flush-ms", sink_flush_ms, "Flush pending rows (and commit offsets) at least this often (ms)")
      ->check(kMilliseconds)
      ->capture_default_str()
      ->envname("STREAMSHOP_FLUSH_MS");
  sink->add_option("--max-message-bytes", snk.max_message_bytes, "Larger records go to the dead-letter topic")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 31))
      ->capture_default_str()
      ->envname("STREAMSHOP_MAX_MESSAGE_BYTES");
  sink->add_flag("--route-by-source", snk.route_by_source,
                 "Store each record in the table its source.schema/source.table names, whatever its topic (for "
                 "Debezium topic-routing SMTs); by default a record is accepted only on its table's own topic")
      ->envname("STREAMSHOP_SINK_ROUTE_BY_SOURCE");
  sink->add_option("--max-lsn-jump", snk.max_lsn_jump,
                   "Dead-letter a change whose source.lsn is more than this many bytes (plus 4 GiB per second of "
                   "source time) ahead of the highest LSN seen; 0 = off (sinks fed by several PostgreSQL clusters)")
      ->check(kWalBytesOrOff)
      ->capture_default_str()
      ->envname("STREAMSHOP_SINK_MAX_LSN_JUMP");
  std::string sink_progress = "auto";
  AddProgressOption(sink, sink_progress);

  // verify
  pipeline::VerifyOptions ver;
  auto* verify = app.add_subcommand(
      "verify", "Compare every replicated table in PostgreSQL and ClickHouse; exit 0 only if all match");
  AddPgOption(verify, ver.pg_url, secret_files);
  AddClickHouseOption(verify, ver.clickhouse, secret_files);
  verify->add_option("--publication", ver.publication, "Publication whose tables are compared")
      ->envname("STREAMSHOP_PUBLICATION")
      ->capture_default_str();
  verify->add_option("--database", ver.database, "ClickHouse database")
      ->envname("STREAMSHOP_CLICKHOUSE_DATABASE")
      ->capture_default_str();
  int wait_seconds = 0;
  verify->add_option("--wait", wait_seconds, "Retry for up to this many seconds while the pipeline catches up")
      ->check(kSecondsOrOff)
      ->capture_default_str()
      ->envname("STREAMSHOP_VERIFY_WAIT");

  // generate
  workload::GeneratorOptions gen;
  auto* generate = app.add_subcommand(
      "generate", "Run an e-commerce workload (tables of sql/postgres/schema.sql) against PostgreSQL at a target rate");
  AddPgOption(generate, gen.pg_url, secret_files);
  std::string gen_rate = "1000", gen_duration = "0", gen_progress = "auto";
  generate->add_option("--rate", gen_rate, "Transactions per second, e.g. 1000 or 1000/s (0 = as fast as possible)")
      ->envname("STREAMSHOP_GENERATE_RATE")
      ->capture_default_str();
  generate->add_option("--duration", gen_duration, "Run time, e.g. 30s, 2m, 1h (0 = until SIGINT/SIGTERM)")
      ->envname("STREAMSHOP_GENERATE_DURATION")
      ->capture_default_str();
  generate->add_option("--transactions", gen.transactions, "Stop after this many transactions (0 = no limit)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 53))
      ->envname("STREAMSHOP_GENERATE_TRANSACTIONS")
      ->capture_default_str();
  generate->add_option("--seed", gen.seed, "Random seed: same seed and same starting data, same transactions")
      ->check(CLI::NonNegativeNumber)
      ->envname("STREAMSHOP_GENERATE_SEED")
      ->capture_default_str();
  generate->add_option("--products", gen.seed_products, "Products seeded into an empty catalogue")
      ->check(CLI::Range(1, 10'000'000))
      ->envname("STREAMSHOP_GENERATE_PRODUCTS")
      ->capture_default_str();
  generate->add_option("--customers", gen.seed_customers, "Customers seeded into an empty customers table")
      ->check(CLI::Range(1, 100'000'000))
      ->envname("STREAMSHOP_GENERATE_CUSTOMERS")
      ->capture_default_str();
  generate->add_option("--max-in-flight", gen.max_in_flight, "Pipelined transactions awaiting PostgreSQL's answer")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  std::string gen_sync = "off";
  generate
      ->add_option("--synchronous-commit", gen_sync,
                   "on: each commit waits for its WAL flush (rate then bounded by disk flush latency); off: a "
                   "server crash may lose the last few acknowledged transactions")
      ->envname("STREAMSHOP_GENERATE_SYNCHRONOUS_COMMIT")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  generate
      ->add_option("--progress", gen_progress,
                   "auto (live line on a terminal, else a log line every 5 s), line, log, off")
      ->check(CLI::IsMember({"auto", "line", "log", "off"}))
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  try {
    cli::TomlConfig::CheckSecretsPrivate(app.get_config_ptr()->as<std::string>());
  } catch (const CLI::ConfigError& e) {
    return app.exit(e);
  }
  if (verbose) SetLogLevel(LogLevel::kDebug);

  if (stack->parsed()) {
    std::vector<std::string> args{stack_action};
    if (with_kafka) args.push_back("--with-kafka");
    if (stack_tls && stack_action == "up") args.push_back("--tls");
    if (stack_action == "up" && !clickhouse_engine.empty())
      args.insert(args.end(), {"--clickhouse-engine", clickhouse_engine});
    return ExecScript("stack.sh", args);
  }

  if (Status st = ResolveSecrets(secret_files, {&rep.clickhouse, &snk.clickhouse, &ver.clickhouse}); !st.ok()) {
    return Report(st);
  }
  InstallSignalHandlers();
  if (replicate->parsed()) {
    rep.flush_interval = std::chrono::milliseconds(flush_ms);
    rep.snapshot = snapshot == "initial";
    rep.heartbeat_interval = std::chrono::seconds(heartbeat_s);
    rep.progress = ProgressWanted(progress);
    pipeline::Replicator replicator(rep);
    return Report(replicator.Run(g_stop));
  }
  if (capture->parsed()) {
    auto props = KafkaPropsOf(kafka_props, secret_files);
    if (!props.ok()) return Report(props.status());
    cap.kafka_props = *props;
    cap.tombstones = tombstones == "on";
    cap.schemas = schemas == "on";
    cap.snapshot = cap_snapshot == "initial";
    cap.heartbeat_interval = std::chrono::seconds(cap_heartbeat_s);
    cap.progress = ProgressWanted(cap_progress);
    return Report(pipeline::Capture(cap).Run(g_stop));
  }
  if (sink->parsed()) {
    auto props = KafkaPropsOf(sink_kafka_props, secret_files);
    if (!props.ok()) return Report(props.status());
    snk.kafka_props = *props;
    snk.flush_interval = std::chrono::milliseconds(sink_flush_ms);
    snk.progress = ProgressWanted(sink_progress);
    return Report(pipeline::Sink(snk).Run(g_stop));
  }
  if (generate->parsed()) {
    using Progress = workload::GeneratorOptions::Progress;
    auto rate = workload::ParseRate(gen_rate);
    if (!rate.ok()) return Report(rate.status());
    auto duration = workload::ParseDuration(gen_duration);
    if (!duration.ok()) return Report(duration.status());
    gen.rate = *rate;
    gen.duration = *duration;
    gen.synchronous_commit = gen_sync == "on";
    gen.progress = gen_progress == "off"    ? Progress::kOff
                   : gen_progress == "line" ? Progress::kLine
                   : gen_progress == "log"  ? Progress::kLog
                                            : (isatty(STDERR_FILENO) ? Progress::kLine : Progress::kLog);
    auto summary = workload::Generator(gen).Run(g_stop);
    if (!summary.ok()) return Report(summary.status());
    fmt::print("{}\n", summary->ToString());
    return 0;
  }
  if (verify->parsed()) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    while (true) {
      auto verdicts = pipeline::VerifyTables(ver);
      // No table compared proves nothing: not a pass (the publication may not exist yet, so --wait retries).
      bool all_ok = verdicts.ok() && !verdicts->empty();
      if (verdicts.ok()) {
        for (const auto& v : *verdicts) all_ok &= v.ok();
      }
      if (all_ok || g_stop || std::chrono::steady_clock::now() >= deadline) {
        if (!verdicts.ok()) return Report(verdicts.status());
        if (verdicts->empty()) {
          LogError(
              "verify compared no tables: publication '{}' has none or does not exist in this database, so "
              "nothing was proven; check --publication and --pg",
              ver.publication);
          return 3;
        }
        fmt::print("{}", pipeline::FormatVerdicts(*verdicts));
        fmt::print("{}\n", all_ok ? "verify: all tables match" : "verify: DIFFERENCES FOUND");
        return all_ok ? 0 : 2;
      }
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  return 0;
} catch (const std::exception& e) {
  streamshop::LogError("fatal: {}", e.what());
  return 1;
}
