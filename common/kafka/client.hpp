// librdkafka under RAII owners, with every return code checked in one place, and the
// settings every command shares: -b/--brokers (env CDN_BROKERS), -X key=value (any
// librdkafka property, as kcat does), and the consumer's -G/--group, --offset, -e.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cdn::io {
class Sink;
}  // namespace cdn::io
namespace cdn::record {
class Source;
struct Counts;
class Rejects;
}  // namespace cdn::record

namespace cdn::kafka {

// Process-wide, filled from the command line (common/cli/options.cpp) before a command runs.
struct Settings {
  std::string brokers = "localhost:9092";
  std::vector<std::string> properties;  // "key=value", in command-line order
  std::string group;                    // empty: no consumer group, all partitions assigned
  std::string offset = "beginning";     // beginning | end | stored | N | s@EPOCH_MS
  bool exit_at_end = false;             // stop once every partition is read to its end
  int timeout_ms = 10000;               // --timeout: how long brokers may stay unreachable
  int stats_interval_ms = 0;            // --stats-interval: librdkafka statistics, 0 = off
  std::string stats_file = "-";         // --stats-file: where they go, one JSON a line
};
Settings& settings();
// The version of the librdkafka in use, "2.0.2".
std::string library_version();

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using Conf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using Headers = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;
using Message = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// A configuration: what every client of cdn sets, then `defaults`, then bootstrap.servers
// from settings().brokers, then every -X property (so the user has the last word). An
// unknown property or a bad value is a cdn::UsageError naming it.
//
// Every client tries a lost broker again at most a second (plus librdkafka's jitter) after
// its last attempt: librdkafka's own limit, 10 s, is the default --timeout, so a broker back
// after a short outage could be found only once the command had given up on it.
Conf make_conf(const std::vector<std::pair<std::string, std::string>>& defaults = {});

// Sets one property; throws cdn::UsageError naming `origin` (e.g. "-X") on failure.
void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
         const std::string& origin);

// Throws cdn::RuntimeError "WHAT: <librdkafka's text>" unless err is RD_KAFKA_RESP_ERR_NO_ERROR.
void check(rd_kafka_resp_err_t err, const std::string& what);

// A topic as a sink and as a source: what endpoint/ opens for kafka:TOPIC (implemented in
// producer.cpp and consumer.cpp). Each message of the source is one record; one without a
// payload (a tombstone) goes to `rejects`, with its key.
std::unique_ptr<io::Sink> open_topic_sink(const std::string& topic);
std::unique_ptr<record::Source> open_topic_source(const std::string& topic,
                                                  record::Rejects& rejects, record::Counts& counts);

}  // namespace cdn::kafka
