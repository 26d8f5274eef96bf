// What `cdn topics` shows, read from the cluster with one consumer handle: each topic's
// partitions with their leader, replicas, in-sync replicas and watermarks (as `kcat -L` and
// `kcat -Q` give them), and, for a consumer group, its committed offset and lag on each
// partition (as `kafka-consumer-groups --describe` does). It reads, never joins a group and
// never commits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cdn::kafka {

struct PartitionState {
  std::string topic;
  int32_t partition = 0;
  int32_t leader = -1;  // broker id; -1 when the partition has none
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;  // in-sync replicas
  // The watermarks: the first offset the partition still holds, and the offset its next
  // message gets (so high - low messages are kept). Unset when the leader did not answer:
  // then `error` says why.
  std::optional<int64_t> low, high;
  // With a group: the offset it resumes from, unset when it committed none on this partition;
  // the lag is high - committed, the messages it has yet to read.
  std::optional<int64_t> committed;
  std::optional<int64_t> lag;
  std::string error;
};

struct TopicsQuery {
  // The topics to show; empty: every topic of the cluster but Kafka's internal ones (their
  // names begin with "__"), or with a group, the topics where it committed an offset.
  std::vector<std::string> topics;
  std::string group;       // empty: no committed offsets or lag
  int timeout_ms = 10000;  // how long each request to the brokers may take
};

struct TopicsView {
  std::vector<PartitionState> partitions;  // by topic name, then partition
  std::vector<std::string> internal;       // internal topics left out (no topic named)
  // Partitions whose watermarks could not be read (`error` set).
  size_t failed = 0;
};

// Reads the cluster named by settings() (-b, -X). Throws RuntimeError when the brokers do
// not answer within the timeout, when a topic named does not exist (naming the nearest one),
// or when the group has no committed offset on the topics looked at; UsageError for a bad
// -X property or an empty topic name.
TopicsView read_topics(const TopicsQuery& query);

}  // namespace cdn::kafka
