// Every record to every topic, as `cdn produce` publishes: the same headers on each message,
// and the accounting of records, not messages: a record counts out once every topic took
// it, and goes to rejects once when a topic refused it (at once, or later in a delivery
// report, which takes back the count). A record whose message to some topic was not
// delivered is counted by undelivered().
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/kafka/producer.hpp"
#include "common/record/counts.hpp"

namespace cdn::kafka {

// --partition's default: the partitioner chooses (by key).
inline constexpr int32_t kAnyPartition = RD_KAFKA_PARTITION_UA;

// Headers from KEY=VALUE texts; null when there are none. Throws UsageError for a text
// without a key.
Headers parse_headers(const std::vector<std::string>& specs);

class FanOut {
 public:
  // Registers the topics with the producer (a bad name is a UsageError).
  FanOut(Producer& producer, const std::vector<std::string>& topics, Headers headers,
         int32_t partition);
  // Where records are counted and rejected, before the first publish(); the producer's
  // refusals are reported through this object from then on.
  void account(record::Counts& counts, record::Rejects& rejects);

  // Publishes a record read from `source` at `line` to every topic, with a key (null: none)
  // and a timestamp (0: the time of producing).
  void publish(std::string_view text, const std::string& source, uint64_t line,
               const std::string_view* key, int64_t timestamp_ms);

  // Records counted out of which a message was not delivered (and none refused): what
  // RunContext::mark_undelivered takes back.
  uint64_t undelivered() const;

 private:
  // A message's tag says where its record came from: the source's index and the line.
  static constexpr int kLineBits = 44;

  Producer& producer_;
  std::vector<size_t> topics_;
  Headers headers_;
  int32_t partition_;
  record::Counts* counts_ = nullptr;
  record::Rejects* rejects_ = nullptr;
  std::vector<std::string> sources_;
  std::set<uint64_t> refused_;  // tags already rejected (a record goes to several topics)
  std::set<uint64_t> failed_;   // tags of records with a message not delivered
  // The tag of a record being published: not counted out yet when produce() throws.
  std::optional<uint64_t> publishing_;
  uint64_t published_ = 0;
};

}  // namespace cdn::kafka
