// librdkafka's mock cluster under an RAII owner, and the fault-injection commands `cdn broker`
// reads on stdin. The mock listens on 127.0.0.1 only, on ephemeral ports: librdkafka 2.0.2
// offers no way to choose the address or the port.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/kafka/client.hpp"

typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace cdn::kafka {

// "NAME:PARTITIONS", e.g. "cdndata:8". Throws cdn::UsageError naming `origin` on a bad spec.
struct TopicSpec {
  std::string name;
  int partitions = 1;
};
TopicSpec parse_topic_spec(std::string_view spec, std::string_view origin);

// The partition count the mock gives a topic a client creates by asking for it.
inline constexpr int kMockAutoCreatePartitions = 4;

class MockCluster {
 public:
  // Starts `brokers` mock brokers (ids 1..brokers). Throws cdn::RuntimeError on failure.
  explicit MockCluster(int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:PORT,127.0.0.1:PORT,...": what clients use as bootstrap.servers.
  std::string bootstraps() const;
  // The brokers' ports on 127.0.0.1, broker 1 first.
  std::vector<int> ports() const;
  int broker_count() const { return brokers_; }

  // Creates a topic with `partitions` partitions, replicated on up to 3 brokers.
  // Throws cdn::RuntimeError (e.g. when it exists).
  void create_topic(const TopicSpec& topic);

  // Runs one fault-injection command line (see command_help_text) and returns the answer line:
  // "ok" or "error: WHY". Blank lines and lines starting with '#' answer "" (nothing).
  std::string execute(std::string_view line);

 private:
  struct ClusterDeleter {
    void operator()(rd_kafka_mock_cluster_t* c) const;
  };
  int brokers_;
  Handle handle_;  // librdkafka's book-keeping instance; destroyed after the cluster
  std::unique_ptr<rd_kafka_mock_cluster_t, ClusterDeleter> cluster_;
};

// The commands `execute` understands, one per line with what each does, for --help and man.
const std::string& command_help_text();

}  // namespace cdn::kafka
