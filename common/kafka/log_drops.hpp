// What librdkafka's mock cluster drops: it keeps about 5 MiB (and at most 100,000 message
// sets) a partition, and past that removes the oldest message sets while still acknowledging
// new ones. Its Produce answers (v6 and later) carry each partition's log start offset;
// `cdn broker`'s proxy reads them, and every advance of a log start is that many messages
// gone, which it reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "common/kafka/txn_log.hpp"

namespace cdn::kafka {

// The first Produce version whose answers carry the log start offset as the mock writes them
// (Kafka's own from 5; the mock's from 6).
inline constexpr int16_t kProduceLogStartVersion = 6;

// The log start offsets in a Produce answer of `version` (without its size prefix), for each
// partition written without an error; none before kProduceLogStartVersion.
// Throws wire::ParseError on an answer it cannot read.
std::vector<std::pair<TopicPartition, int64_t>> produce_log_starts(int16_t version,
                                                                   std::string_view frame);

class LogDrops {
 public:
  // A Produce answer said the log of `tp` starts at `log_start`: what was before it and after
  // the start known so far (0 for a partition not seen yet: the mock's logs start at 0) is
  // dropped.
  void note(const TopicPartition& tp, int64_t log_start);

  // Drops not reported yet, in partitions last reported at least `every` before `now`: the
  // first offset and the end (exclusive) of what was dropped since the last report, and the
  // partition's count in all.
  struct Report {
    TopicPartition tp;
    int64_t from = 0;
    int64_t to = 0;
    uint64_t total = 0;
  };
  std::vector<Report> due(std::chrono::steady_clock::time_point now,
                          std::chrono::milliseconds every);

  uint64_t total() const { return total_; }
  // Each partition that has lost messages, with how many.
  std::map<TopicPartition, uint64_t> by_partition() const;

 private:
  struct Partition {
    int64_t start = 0;     // the log start offset known
    int64_t reported = 0;  // the log start offset last reported
    std::chrono::steady_clock::time_point last_report;
  };
  std::map<TopicPartition, Partition> partitions_;
  uint64_t total_ = 0;
  bool unreported_ = false;  // some partition has drops not reported yet
};

}  // namespace cdn::kafka
