// A Kafka producer over librdkafka: messages are copied into librdkafka's queue, delivery
// reports are counted per topic, a full local queue is waited out (polling, then retrying),
// and flush() waits for every message to be delivered or to fail. Idempotence is on by
// default (enable.idempotence=true, acks=all); -X overrides every default. While messages
// wait and no broker answers for longer than --timeout (settings().timeout_ms), the producer
// gives up: what waits is purged, counted as not delivered, and a RuntimeError says so.
#pragma once

#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/diag/service.hpp"
#include "common/kafka/client.hpp"
#include "common/record/counts.hpp"

namespace cdn::kafka {

struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
using Topic = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

// cdn's producer defaults, applied before the caller's and -X: idempotent, acks=all, and
// batching for throughput.
const std::vector<std::pair<std::string, std::string>>& producer_defaults();

// True when librdkafka refused a message for something about the message itself (too large,
// invalid), so the record goes to rejects; other errors mean the message was not delivered.
bool is_record_error(rd_kafka_resp_err_t err);

// What became of the messages for one topic.
struct TopicStats {
  std::string name;
  // Tallies: the --metrics-addr server's thread reads them.
  record::Tally produced = 0;   // handed to librdkafka
  record::Tally delivered = 0;  // acknowledged by the broker
  record::Tally refused = 0;    // refused for the message's own fault (see is_record_error)
  record::Tally failed = 0;     // not delivered: timed out, broker gone, purged
  std::map<std::string, uint64_t> failures;  // reason -> count of failed
  std::map<std::string, uint64_t> refusals;  // reason -> count of refused
};

// One message; everything is copied by produce().
struct OutMessage {
  std::string_view payload;
  const std::string_view* key = nullptr;      // null: no key
  int32_t partition = RD_KAFKA_PARTITION_UA;  // UA: the partitioner decides (by key)
  int64_t timestamp_ms = 0;                   // 0: the time of producing
  const rd_kafka_headers_t* headers = nullptr;
  uint64_t tag = 0;  // the caller's handle on the record, handed back in a Refusal
};

// A message a delivery report refused for its own fault.
struct Refusal {
  size_t topic;
  uint64_t tag;
  std::string_view payload;
  rd_kafka_resp_err_t err;
};

class Producer {
 public:
  // Configuration: producer_defaults(), then `overrides` (a command's own options, e.g. -z),
  // then -b and every -X. A bad property or a conflict is a cdn::UsageError.
  explicit Producer(const std::vector<std::pair<std::string, std::string>>& overrides = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Registers a topic; returns its index for produce() and stats().
  size_t add_topic(const std::string& name);

  // Enqueues a copy of the message, waiting (and serving delivery reports) while the local
  // queue is full. Returns RD_KAFKA_RESP_ERR_NO_ERROR, or an error for which
  // is_record_error() holds (the message was not enqueued; it counts as refused). Throws
  // cdn::RuntimeError on any other error, after a fatal producer error, and once the producer
  // gave up on unreachable brokers (see gave_up()).
  rd_kafka_resp_err_t produce(size_t topic, const OutMessage& m);

  // Serves delivery reports and errors, waiting up to timeout_ms for the first. Throws
  // cdn::RuntimeError (failure_text()) when the brokers have been unreachable for longer than
  // --timeout while messages wait.
  void poll(int timeout_ms = 0);

  // Waits until every message is delivered or has failed: at most message.timeout.ms and a
  // margin, after which what is left is purged and counted as failed, and no longer than
  // --timeout while no broker answers (then it throws as poll() does). max_wait_ms >= 0
  // shortens the wait.
  void flush(int64_t max_wait_ms = -1);

  // The brokers were unreachable for longer than --timeout: what waited was purged (counted
  // in failed()), and produce() throws from now on.
  bool gave_up() const { return gave_up_; }

  // Called from poll() and flush() for each refused delivery report.
  void on_refusal(std::function<void(const Refusal&)> f) { on_refusal_ = std::move(f); }
  // Called with the topic and the tag of each message that was not delivered (failed, not
  // refused).
  void on_failure(std::function<void(size_t, uint64_t)> f) { on_failure_ = std::move(f); }

  const std::vector<TopicStats>& stats() const { return stats_; }
  uint64_t failed() const;
  // "3 of 10 messages were not delivered; 3 to 'T' (Local: Message timed out)..." with the
  // last broker error and what to change, naming the brokers; empty when nothing failed.
  std::string failure_text() const;
  // librdkafka's reason for a refusal, with advice.
  static std::string refusal_reason(rd_kafka_resp_err_t err);

  rd_kafka_t* handle() const { return rk_.get(); }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf);
  void delivered(const rd_kafka_message_t* m);
  void error(rd_kafka_resp_err_t err, const char* reason);
  void throw_if_fatal();
  // Gives up when messages wait and no broker answered for longer than --timeout: a
  // delivery report or a metadata reply (asked for at most twice a second once the brokers
  // are silent) is an answer.
  void watch_brokers();
  [[noreturn]] void give_up();

  Handle rk_;
  std::vector<Topic> topics_;
  std::vector<TopicStats> stats_;
  std::function<void(const Refusal&)> on_refusal_;
  std::function<void(size_t, uint64_t)> on_failure_;
  std::string last_error_;
  std::vector<int> warned_;  // error codes already reported once
  bool fatal_ = false;
  bool purged_ = false;       // flush() gave up waiting and purged the queues
  std::string purge_reason_;  // why flush() gave up
  std::chrono::steady_clock::time_point last_produce_ = std::chrono::steady_clock::now();
  int64_t message_timeout_ms_ = 300000;
  // watch_brokers()
  int64_t timeout_ms_ = 10000;  // --timeout
  uint64_t outstanding_ = 0;    // produced, no delivery report yet
  bool heard_ = false;          // a delivery report came since the last watch
  bool gave_up_ = false;
  std::chrono::steady_clock::time_point last_contact_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_probe_{};
  diag::Service::Registration ready_check_;  // before rk_ goes
  // cdn_kafka_producer_*: the queue (librdkafka's, thread-safe) and stats_ (its size guarded
  // by stats_mutex_, as add_topic may grow it).
  mutable std::mutex stats_mutex_;
  diag::Service::Registration metrics_;
  void write_metrics(std::string& out) const;
};

// A record field's value as a message key: a string's text (unescaped), or the JSON text of
// a number or boolean. Returns the reason there is none (null, object, array).
std::optional<std::string> key_from(simdjson::dom::element v, std::string& key,
                                    const std::string& field);

// A record field's value as an event time in milliseconds since the epoch: an RFC 3339
// string, or a number of seconds (of milliseconds when it is 10^11 or more). Returns the reason
// when it is neither, or when it is before 1970-01-01T00:00:00.001Z, which a Kafka message
// time cannot be (0 means "now" to librdkafka; a negative one is not allowed).
std::optional<std::string> time_from(simdjson::dom::element v, int64_t& ms,
                                     const std::string& field);

// Reads a message's key and event time from a record's fields (dotted paths; an empty name
// is not read). Records are parsed only as far as the fields (simdjson On-Demand); when that
// fails, a full parse finds the reason (invalid JSON, not an object, missing field, ...).
class RecordFields {
 public:
  RecordFields(std::string key_field, std::string time_field);
  // text must be followed by SIMDJSON_PADDING readable bytes. Returns the reason the record
  // has no usable key or time; else sets key (valid until the next call) and event_ms.
  std::optional<std::string> read(std::string_view text, std::string_view& key, int64_t& event_ms);

 private:
  bool fast(std::string_view text, int64_t& event_ms);
  std::optional<std::string> slow(std::string_view text, int64_t& event_ms);
  std::string key_field_, time_field_;
  std::vector<std::string> key_path_, time_path_;
  std::string key_pointer_, time_pointer_;  // JSON Pointers of the paths
  simdjson::ondemand::parser ondemand_;
  simdjson::dom::parser dom_;
  std::string key_;
};

// Paces a stream of records: at most N a second (--rate), or with the gaps between their
// event times divided by a speed (--replay). Waiting serves the producer's delivery reports
// and ends early on SIGINT/SIGTERM.
class Pacer {
 public:
  static Pacer rate(double per_second) { return Pacer(per_second, 0); }
  static Pacer replay(double speed) { return Pacer(0, speed); }
  // Waits until the next record (with this event time, for replay) is due.
  void wait(Producer& producer, int64_t event_ms);

 private:
  Pacer(double rate, double speed) : rate_(rate), speed_(speed) {}
  double rate_;
  double speed_;
  uint64_t count_ = 0;
  std::optional<int64_t> first_event_ms_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// An io::Sink that produces each line as one message (no key, the partitioner's choice):
// what `-o kafka:TOPIC` and `--rejects kafka:TOPIC` write to. commit() flushes and throws
// cdn::RuntimeError saying how many messages were not delivered and why.
// (Declared in client.hpp as open_topic_sink.)

}  // namespace cdn::kafka
