// The mock cluster behind `cdn broker`.
#include "common/kafka/mock_cluster.hpp"

// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>
#include <strings.h>
#include <syslog.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::kafka {

namespace {

struct CommandDoc {
  std::string_view syntax;
  std::string_view does;
};
constexpr CommandDoc kCommands[] = {
    {"down ID|all", "take a broker down: connections closed, new ones refused"},
    {"up ID|all", "bring it back"},
    {"rtt ID|all MS", "delay every response of a broker by MS milliseconds"},
    {"error API ERROR [COUNT]", "fail the next COUNT (default 1) requests of API with ERROR"},
    {"clear API", "drop the errors still queued for API"},
    {"topic-error TOPIC ERROR", "answer metadata for TOPIC with ERROR; NO_ERROR ends it"},
    {"leader TOPIC PARTITION ID", "move a partition's leader to broker ID"},
    {"create NAME:PARTITIONS", "create a topic"},
    {"dropped", "count what the mock dropped: ok TOTAL [TOPIC/PARTITION=N ...]"},
    {"help", "list the commands on one line"},
};

std::string command_help() {
  std::string h;
  for (const auto& c : kCommands) {
    h += "  ";
    h += c.syntax;
    h.append(c.syntax.size() < 27 ? 27 - c.syntax.size() : 2, ' ');
    h += c.does;
    h += '\n';
  }
  h += "API is a name (Produce, Fetch, Metadata, OffsetCommit, ...) or a number; ERROR a Kafka\n"
       "error name (NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT, ...) or a number.\n";
  return h;
}

}  // namespace

const std::string& command_help_text() {
  static const std::string h = command_help();
  return h;
}

namespace {

// Kafka protocol API keys, by the names the protocol guide uses.
constexpr std::pair<std::string_view, int16_t> kApiKeys[] = {
    {"Produce", 0},
    {"Fetch", 1},
    {"ListOffsets", 2},
    {"Metadata", 3},
    {"LeaderAndIsr", 4},
    {"StopReplica", 5},
    {"UpdateMetadata", 6},
    {"ControlledShutdown", 7},
    {"OffsetCommit", 8},
    {"OffsetFetch", 9},
    {"FindCoordinator", 10},
    {"JoinGroup", 11},
    {"Heartbeat", 12},
    {"LeaveGroup", 13},
    {"SyncGroup", 14},
    {"DescribeGroups", 15},
    {"ListGroups", 16},
    {"SaslHandshake", 17},
    {"ApiVersions", 18},
    {"CreateTopics", 19},
    {"DeleteTopics", 20},
    {"DeleteRecords", 21},
    {"InitProducerId", 22},
    {"OffsetForLeaderEpoch", 23},
    {"AddPartitionsToTxn", 24},
    {"AddOffsetsToTxn", 25},
    {"EndTxn", 26},
    {"WriteTxnMarkers", 27},
    {"TxnOffsetCommit", 28},
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

template <typename T>
std::optional<T> parse_int(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

int16_t parse_api(std::string_view s) {
  if (auto n = parse_int<int16_t>(s); n && *n >= 0) return *n;
  for (const auto& [name, key] : kApiKeys) {
    if (iequals(name, s)) return key;
  }
  throw UsageError("unknown API " + diag::quoted(s) +
                   "; name one as the Kafka protocol does (Produce, Fetch, Metadata, ...) or "
                   "give its number");
}

rd_kafka_resp_err_t parse_error_code(std::string_view s) {
  if (auto n = parse_int<int>(s)) return static_cast<rd_kafka_resp_err_t>(*n);
  constexpr std::string_view prefix = "RD_KAFKA_RESP_ERR_";
  if (s.size() > prefix.size() && iequals(s.substr(0, prefix.size()), prefix)) {
    s.remove_prefix(prefix.size());
  }
  const rd_kafka_err_desc* descs = nullptr;
  size_t n = 0;
  rd_kafka_get_err_descs(&descs, &n);
  for (size_t i = 0; i < n; ++i) {
    if (descs[i].name != nullptr && iequals(descs[i].name, s)) return descs[i].code;
  }
  // Kafka's newer name for error 6, which librdkafka 2.0.2 still calls NOT_LEADER_FOR_PARTITION.
  if (iequals(s, "NOT_LEADER_OR_FOLLOWER")) return RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
  throw UsageError("unknown Kafka error " + diag::quoted(s) +
                   "; give a name such as NOT_LEADER_FOR_PARTITION or REQUEST_TIMED_OUT, or a "
                   "number");
}

// Legal Kafka topic names: 1..249 of [a-zA-Z0-9._-], not "." or "..".
bool legal_topic(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// librdkafka's own log lines, from its threads: warnings and worse as warnings, the rest
// at -vv.
extern "C" void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  std::string msg = std::string("librdkafka ") + fac + ": " + buf;
  if (level <= LOG_WARNING) {
    diag::warning(msg);
  } else {
    diag::debug(msg);
  }
}

}  // namespace

TopicSpec parse_topic_spec(std::string_view spec, std::string_view origin) {
  auto fail = [&](const std::string& why) {
    return UsageError("bad " + std::string(origin) + " " + diag::quoted(spec) + ": " + why +
                      "; write NAME:PARTITIONS, e.g. cdndata:8");
  };
  auto colon = spec.rfind(':');
  if (colon == std::string_view::npos) throw fail("no partition count");
  TopicSpec t;
  t.name = std::string(spec.substr(0, colon));
  if (!legal_topic(t.name)) {
    throw fail("a topic name is 1 to 249 of the characters a-z A-Z 0-9 . _ -");
  }
  auto n = parse_int<int>(spec.substr(colon + 1));
  if (!n || *n < 1 || *n > 10000) throw fail("the partition count must be 1 to 10000");
  t.partitions = *n;
  return t;
}

void MockCluster::ClusterDeleter::operator()(rd_kafka_mock_cluster_t* c) const {
  rd_kafka_mock_cluster_destroy(c);
}

MockCluster::MockCluster(int brokers) : brokers_(brokers) {
  if (brokers < 1) throw UsageError("a mock cluster needs at least one broker");
  Conf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), on_log);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (rk == nullptr) throw RuntimeError(std::string("cannot start librdkafka: ") + err);
  conf.release();  // rd_kafka_new took it
  handle_.reset(rk);
  cluster_.reset(rd_kafka_mock_cluster_new(rk, brokers));
  if (!cluster_) {
    throw RuntimeError("cannot start a mock cluster of " + std::to_string(brokers) +
                       " brokers; run with -vv for librdkafka's reasons, or ask for fewer");
  }
}

MockCluster::~MockCluster() = default;

std::string MockCluster::bootstraps() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_.get());
}

std::vector<int> MockCluster::ports() const {
  std::vector<int> out;
  std::string_view all = rd_kafka_mock_cluster_bootstraps(cluster_.get());
  while (!all.empty()) {
    size_t comma = all.find(',');
    std::string_view one = all.substr(0, comma);
    auto port = parse_int<int>(one.substr(one.rfind(':') + 1));
    if (!port) throw RuntimeError("cannot read the mock brokers' ports from " + diag::quoted(all));
    out.push_back(*port);
    all.remove_prefix(comma == std::string_view::npos ? all.size() : comma + 1);
  }
  return out;
}

void MockCluster::create_topic(const TopicSpec& topic) {
  check(rd_kafka_mock_topic_create(cluster_.get(), topic.name.c_str(), topic.partitions,
                                   std::min(brokers_, 3)),
        "cannot create topic " + diag::quoted(topic.name));
}

std::string MockCluster::execute(std::string_view line) {
  auto w = words(line);
  if (w.empty() || w[0][0] == '#') return "";
  auto argc = [&](size_t lo, size_t hi, const char* usage) {
    if (w.size() < lo + 1 || w.size() > hi + 1) {
      throw UsageError(std::string("usage: ") + usage);
    }
  };
  auto broker = [&](std::string_view s) -> int32_t {
    if (iequals(s, "all")) return -1;
    auto id = parse_int<int32_t>(s);
    if (!id || *id < 1 || *id > brokers_) {
      throw UsageError("no broker " + diag::quoted(s) + "; the ids are 1 to " +
                       std::to_string(brokers_) + ", or all");
    }
    return *id;
  };
  try {
    std::string_view cmd = w[0];
    rd_kafka_mock_cluster_t* mc = cluster_.get();
    if (cmd == "down" || cmd == "up") {
      argc(1, 1, cmd == "down" ? "down ID|all" : "up ID|all");
      int32_t id = broker(w[1]);
      check(cmd == "down" ? rd_kafka_mock_broker_set_down(mc, id)
                          : rd_kafka_mock_broker_set_up(mc, id),
            std::string(cmd));
    } else if (cmd == "rtt") {
      argc(2, 2, "rtt ID|all MS");
      int32_t id = broker(w[1]);
      auto ms = parse_int<int>(w[2]);
      if (!ms || *ms < 0) throw UsageError("bad delay " + diag::quoted(w[2]) + "; give MS >= 0");
      check(rd_kafka_mock_broker_set_rtt(mc, id, *ms), "rtt");
    } else if (cmd == "error") {
      argc(2, 3, "error API ERROR [COUNT]");
      int16_t api = parse_api(w[1]);
      rd_kafka_resp_err_t code = parse_error_code(w[2]);
      size_t count = 1;
      if (w.size() > 3) {
        auto c = parse_int<size_t>(w[3]);
        if (!c || *c < 1 || *c > 100000) {
          throw UsageError("bad count " + diag::quoted(w[3]) + "; give 1 to 100000");
        }
        count = *c;
      }
      std::vector<rd_kafka_resp_err_t> errors(count, code);
      rd_kafka_mock_push_request_errors_array(mc, api, count, errors.data());
    } else if (cmd == "clear") {
      argc(1, 1, "clear API");
      rd_kafka_mock_clear_request_errors(mc, parse_api(w[1]));
    } else if (cmd == "topic-error") {
      argc(2, 2, "topic-error TOPIC ERROR");
      rd_kafka_mock_topic_set_error(mc, std::string(w[1]).c_str(), parse_error_code(w[2]));
    } else if (cmd == "leader") {
      argc(3, 3, "leader TOPIC PARTITION ID");
      auto p = parse_int<int32_t>(w[2]);
      if (!p || *p < 0) throw UsageError("bad partition " + diag::quoted(w[2]));
      int32_t id = broker(w[3]);
      if (id < 0) throw UsageError("a leader is one broker, not all");
      check(rd_kafka_mock_partition_set_leader(mc, std::string(w[1]).c_str(), *p, id), "leader");
    } else if (cmd == "create") {
      argc(1, 1, "create NAME:PARTITIONS");
      create_topic(parse_topic_spec(w[1], "create"));
    } else if (cmd == "dropped") {
      argc(0, 0, "dropped");  // answered by the proxy in front, which sees the drops
    } else if (cmd == "help") {
      std::string one;
      for (const auto& c : kCommands) {
        if (!one.empty()) one += "; ";
        one += c.syntax;
      }
      return "ok: " + one;
    } else {
      throw UsageError("unknown command " + diag::quoted(cmd) + "; try help");
    }
  } catch (const UsageError& e) {
    return std::string("error: ") + e.what();
  } catch (const RuntimeError& e) {
    return std::string("error: ") + e.what();
  }
  return "ok";
}

}  // namespace cdn::kafka
