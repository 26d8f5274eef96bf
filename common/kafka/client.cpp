#include "common/kafka/client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "common/base/fd.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/sink.hpp"
#include "common/io/temp_file.hpp"

namespace cdn::kafka {

std::string library_version() {
  return rd_kafka_version_str();
}

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

namespace {

// --stats-file: every client of the process writes its statistics JSON there, a line each.
struct StatsFile {
  std::mutex mu;
  int fd = -1;
};
StatsFile& stats_file() {
  static StatsFile f;
  return f;
}

int on_stats(rd_kafka_t*, char* json, size_t len, void*) {
  StatsFile& f = stats_file();
  std::lock_guard<std::mutex> lock(f.mu);
  if (f.fd < 0) return 0;
  std::string line(json, len);
  line += '\n';
  // Statistics are best effort; the data path reports its own errors.
  base::try_write_all(f.fd, line.data(), line.size());
  return 0;  // librdkafka frees json
}

void open_stats_file() {
  StatsFile& f = stats_file();
  std::lock_guard<std::mutex> lock(f.mu);
  if (f.fd >= 0) return;
  const std::string& path = settings().stats_file;
  if (path.empty() || path == "-") {
    f.fd = STDERR_FILENO;
    return;
  }
  io::check_output_path(path, "--stats-file ", "name a file in an existing directory");
  f.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f.fd < 0) {
    throw UsageError("cannot open --stats-file " + diag::quoted(path) + ": " + errno_text(errno) +
                     "; name a writable file");
  }
}

}  // namespace

Conf make_conf(const std::vector<std::pair<std::string, std::string>>& defaults) {
  Conf conf(rd_kafka_conf_new());
  set(conf.get(), "reconnect.backoff.ms", "100", "default");
  set(conf.get(), "reconnect.backoff.max.ms", "1000", "default");
  for (const auto& [k, v] : defaults) set(conf.get(), k, v, "default");
  set(conf.get(), "bootstrap.servers", settings().brokers, "-b/--brokers");
  for (const auto& p : settings().properties) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("bad -X " + diag::quoted(p) + "; write -X key=value");
    }
    set(conf.get(), p.substr(0, eq), p.substr(eq + 1), "-X");
  }
  if (settings().stats_interval_ms > 0) {
    open_stats_file();
    set(conf.get(), "statistics.interval.ms", std::to_string(settings().stats_interval_ms),
        "--stats-interval");
    rd_kafka_conf_set_stats_cb(conf.get(), &on_stats);
  }
  return conf;
}

void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw RuntimeError(what + ": " + rd_kafka_err2str(err));
}

}  // namespace cdn::kafka
