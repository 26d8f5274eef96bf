#include "common/kafka/client.hpp"

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::kafka {

Settings& settings() {
  static Settings s;
  return s;
}

void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
         const std::string& origin) {
  char err[512];
  rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err);
  if (r == RD_KAFKA_CONF_UNKNOWN) {
    throw UsageError("unknown Kafka property " + diag::quoted(key) + " (" + origin +
                     "); see librdkafka's CONFIGURATION.md for the names");
  }
  if (r != RD_KAFKA_CONF_OK) {
    throw UsageError("bad value " + diag::quoted(value) + " for Kafka property " +
                     diag::quoted(key) + " (" + origin + "): " + err);
  }
}

Conf make_conf(const std::vector<std::pair<std::string, std::string>>& defaults) {
  Conf conf(rd_kafka_conf_new());
  for (const auto& [k, v] : defaults) set(conf.get(), k, v, "default");
  set(conf.get(), "bootstrap.servers", settings().brokers, "-b/--brokers");
  for (const auto& p : settings().properties) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("bad -X " + diag::quoted(p) + "; write -X key=value");
    }
    set(conf.get(), p.substr(0, eq), p.substr(eq + 1), "-X");
  }
  return conf;
}

void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw RuntimeError(what + ": " + rd_kafka_err2str(err));
}

std::optional<std::string> topic_of(const std::string& spec) {
  if (spec.rfind("kafka:", 0) != 0) return std::nullopt;
  std::string topic = spec.substr(6);
  if (topic.empty()) {
    throw UsageError("no topic in " + diag::quoted(spec) + "; write kafka:TOPIC");
  }
  return topic;
}

}  // namespace cdn::kafka
