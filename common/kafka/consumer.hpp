// The Kafka consumer behind `kafka:TOPIC` inputs and `cdn consume`.
//
// Without a group every partition of the topics is assigned (looked up in the metadata) and
// --offset says where each starts; with -G/--group the consumer subscribes and the group's
// committed offsets win, --offset only saying where partitions without one start.
// Offsets are never committed on their own: the caller marks what it has written
// (mark_written) and commits once its output is flushed (commit), so a crash re-reads
// rather than loses.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/diag/service.hpp"
#include "common/kafka/client.hpp"

namespace cdn::kafka {

struct ConsumerOptions {
  std::vector<std::string> topics;
  std::string group;                 // empty: assign every partition, no group
  std::string offset = "beginning";  // beginning | end | stored | N | -N | s@EPOCH_MS
  bool exit_at_end = false;          // stop once every assigned partition is read to its end
  int timeout_ms = 10000;            // how long the brokers may stay unreachable
  // librdkafka properties after cdn's defaults and before -X (isolation.level, ...).
  std::vector<std::pair<std::string, std::string>> properties;
};

// The options from kafka::settings() for these topics.
ConsumerOptions consumer_options(std::vector<std::string> topics);

class Consumer {
 public:
  // Connects, checks that the topics exist and assigns or subscribes. Throws UsageError for
  // a bad --offset or option, RuntimeError when the brokers cannot be reached in time.
  explicit Consumer(ConsumerOptions opts);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // The next message, valid until the next call; nullptr once -e found every partition at
  // its end, or after a stop request (SIGINT/SIGTERM). Throws RuntimeError on a broker
  // failure that does not heal within the timeout.
  const rd_kafka_message_t* next();

  // Everything next() returned so far has been written: its offsets may be committed.
  void mark_written();
  // Commits the offsets marked written (group mode only; a no-op without a group).
  // `sync` waits for the broker's answer and throws on failure.
  void commit(bool sync);
  // True when a commit is due (about once a second) after mark_written.
  bool commit_due() const;

  // Called before next() waits for messages that have not arrived yet (everything fetched
  // so far was returned): where a stream flushes its output and commits.
  void on_idle(std::function<void()> f) { idle_ = std::move(f); }

  const ConsumerOptions& options() const { return opts_; }
  rd_kafka_t* handle() const { return rk_.get(); }
  // The offset after each partition's last message next() returned: what a transaction
  // commits (rd_kafka_send_offsets_to_transaction) once those messages are written.
  PartitionList returned_offsets() const;

 private:
  struct Callbacks;
  friend struct Callbacks;

  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void check_health();
  bool all_at_end() const;
  size_t topic_index(const char* name) const;
  size_t topic_index(const rd_kafka_topic_t* rkt);

  ConsumerOptions opts_;
  Handle rk_;
  rd_kafka_queue_t* queue_ = nullptr;
  std::vector<rd_kafka_message_t*> batch_;
  size_t batch_pos_ = 0;
  size_t batch_len_ = 0;
  rd_kafka_message_t* current_ = nullptr;
  std::function<void()> idle_;
  std::vector<std::pair<const rd_kafka_topic_t*, size_t>> topic_cache_;
  // Without a group: a handle per topic and the partitions started on queue_.
  struct TopicDeleter {
    void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  };
  std::vector<std::unique_ptr<rd_kafka_topic_t, TopicDeleter>> topics_;
  std::vector<std::pair<rd_kafka_topic_t*, int32_t>> started_;

  // Keyed by topic index << 32 | partition: the next offset after what was returned, after
  // what was written, and what the group has committed.
  std::unordered_map<uint64_t, int64_t> returned_;
  std::unordered_map<uint64_t, int64_t> written_;
  std::unordered_map<uint64_t, int64_t> committed_;
  int64_t* last_ = nullptr;  // returned_ entry of the last message's partition
  uint64_t last_key_ = 0;
  std::chrono::steady_clock::time_point last_commit_;
  uint64_t commits_ = 0;  // offset commits known to have succeeded (-v says how many)

  // -e: the partitions assigned, true once read to their end; ends_ counts the true ones.
  std::unordered_map<uint64_t, bool> at_end_;
  size_t ends_ = 0;
  // An assignment arrived (group) or was made (no group); read by /readyz's check too.
  std::atomic<bool> assigned_{false};
  diag::Service::Registration ready_check_;
  diag::Service::Registration lag_metrics_, lag_total_;
  // cdn_kafka_consumer_lag_messages, on the --metrics-addr server's thread: librdkafka's own
  // thread-safe calls only (assignment, position, cached watermarks).
  void write_lag(std::string& out) const;
  // Each partition read (assigned, in a group) whose position and high watermark are known.
  void each_lag(
      const std::function<void(const char* topic, int32_t partition, uint64_t lag)>& f) const;

  // Health: since when every broker is down (error callback), and a fatal error.
  bool down_ = false;
  bool serving_ = diag::Service::get().serving();  // --metrics-addr: note message times
  std::chrono::steady_clock::time_point down_since_{};
  std::chrono::steady_clock::time_point last_probe_{};
  std::string fatal_;
  std::string last_error_;

  // Offsets a partition was read from that the broker no longer held (its retention dropped
  // them before they were read): librdkafka resets the position and says so in a log line,
  // on its own thread; next() reports each, with the records lost, from the caller's.
  struct Reset {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
    bool to_end = false;  // reset to the end (auto.offset.reset=latest), not the start
  };
  void on_offset_reset(std::string_view line);
  // Each reset opens a gap of its partition, closed by the first message read after it
  // (or, read to the end with none, by the end): what was skipped is what was lost.
  void report_resets();
  void close_gap(const Reset& r, int64_t resume);
  void settle_gaps();  // -e, at the end: the gaps still open close at their partition's end
  std::unordered_map<uint64_t, Reset> gaps_;  // by topic index << 32 | partition
  mutable std::mutex resets_mutex_;
  std::vector<Reset> resets_;                                 // under resets_mutex_
  std::map<std::pair<std::string, int32_t>, uint64_t> lost_;  // under resets_mutex_
  std::atomic<bool> reset_pending_{false};
};

// A message's timestamp (ms since the epoch), or 0 when it has none.
int64_t message_time_ms(const rd_kafka_message_t* m);

// Several topics read by one consumer, as one input (see open_topic_source in client.hpp):
// in a group they are one subscription, and without -e none of them waits for another.
std::unique_ptr<record::Source> open_topics_source(std::vector<std::string> topics,
                                                   record::Rejects& rejects,
                                                   record::Counts& counts);

}  // namespace cdn::kafka
