#include "kafka/KafkaConfig.h"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <string_view>

#include "common/Log.h"
#include "common/Secrets.h"
#include "common/Url.h"

namespace streamshop::kafka {
namespace {

void LogFromRdKafka(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* message) {
  // syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug. A broker connection that drops or is not up
  // yet is retried by librdkafka itself, so it is a warning (a fresh broker closes connections during start-up,
  // even halfway through authenticating); refused credentials or certificates stay errors.
  const std::string_view text(message);
  const bool retried =
      std::string_view(facility) == "FAIL" && (text.find("Broker transport failure") != std::string_view::npos ||
                                               text.find("Connection refused") != std::string_view::npos ||
                                               text.find("Disconnected") != std::string_view::npos);
  const LogLevel ours = level <= 3 && !retried ? LogLevel::kError : level <= 4 ? LogLevel::kWarn : LogLevel::kDebug;
  LogLine(ours, fmt::format("kafka {}: {}", facility, message));
}

Status Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    return Status::Fatal(fmt::format("Kafka property '{}': {}", key, err));
  }
  return Status::Ok();
}

}  // namespace

Result<std::pair<std::string, std::string>> ParseKafkaProp(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    // Only the part before any '=' is shown: the value may be a secret.
    return Status::Fatal(fmt::format("--kafka-prop '{}': expected key=value (e.g. security.protocol=SASL_SSL)",
                                     text.substr(0, std::min<size_t>(eq, 60))));
  }
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

Result<KafkaProps> ReadKafkaPropFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Fatal(fmt::format("cannot read the Kafka properties file {}", path));
  const auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
  };
  KafkaProps props;
  bool secret = false;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const size_t eq = text.find('=');
    if (eq == std::string::npos || trim(text.substr(0, eq)).empty()) {
      return Status::Fatal(fmt::format("{}:{}: expected key=value (e.g. security.protocol=SASL_SSL)", path, number));
    }
    props.emplace_back(trim(text.substr(0, eq)), trim(text.substr(eq + 1)));
    secret |= HoldsSecret(text);
  }
  if (secret) SS_RETURN_IF_ERROR(RequirePrivate(path, "a secret"));
  return props;
}

Result<RdKafkaConf> MakeRdKafkaConf(const std::string& brokers, const KafkaProps& defaults, const KafkaProps& user) {
  RdKafkaConf conf(rd_kafka_conf_new());
  SS_RETURN_IF_ERROR(Set(conf.get(), "bootstrap.servers", brokers));
  for (const auto& [k, v] : defaults) SS_RETURN_IF_ERROR(Set(conf.get(), k, v));
  for (const auto& [k, v] : user) SS_RETURN_IF_ERROR(Set(conf.get(), k, v));
  rd_kafka_conf_set_log_cb(conf.get(), LogFromRdKafka);
  return conf;
}

}  // namespace streamshop::kafka
