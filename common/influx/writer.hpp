// Batches of line protocol to InfluxDB over HTTP (libcurl): the 1.x /write and the 2.x
// /api/v2/write endpoints, gzip bodies, kept-alive connections, a bounded number of requests
// in flight, and delivery that loses nothing without saying so:
//   2xx            the lines are written;
//   413            the batch is split in halves and each half sent again (one line: rejected);
//   429, 5xx and connection errors
//                  sent again after an exponential backoff with jitter, or after the
//                  server's Retry-After, until --retry-timeout has passed since the first
//                  failure: then a RuntimeError;
//   400            a partial write: the lines InfluxDB names are rejected with its message;
//                  when it names fewer lines than it dropped, the rest is sent again in
//                  halves until each refused line is known (re-writing a written point is
//                  harmless: the same point with the same values);
//   401, 403, 404 and other answers
//                  a RuntimeError at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/diag/metric.hpp"
#include "common/diag/service.hpp"
#include "common/influx/curl.hpp"
#include "common/influx/line_protocol.hpp"
#include "common/record/counts.hpp"

namespace cdn::influx {

struct WriterOptions {
  std::string url = "http://localhost:8086";
  int api = 1;  // 1: /write?db=&rp=, 2: /api/v2/write?org=&bucket=
  std::string db, rp;
  std::string org, bucket;
  Precision precision = Precision::ns;
  std::string user, password;  // 1.x basic authentication
  std::string token;           // 2.x: Authorization: Token
  bool gzip = false;
  size_t max_in_flight = 2;
  std::chrono::milliseconds retry_timeout{60000};
  std::chrono::milliseconds request_timeout{30000};
};

// Where a line came from, for the rejects sink.
struct Origin {
  uint32_t source = 0;  // index into the caller's table of source names
  uint64_t line = 0;
  uint32_t raw_begin = 0;  // the raw record in Batch::raw
  uint32_t raw_len = 0;
};

struct Batch {
  std::string body;             // line protocol, each line ending with '\n'
  std::vector<uint32_t> ends;   // offset just past each line's '\n'
  std::string raw;              // the raw records, for rejects
  std::vector<Origin> origins;  // one per line

  size_t size() const { return ends.size(); }
  bool empty() const { return ends.empty(); }
  std::string_view line(size_t i) const;  // without the '\n'
  std::string_view record(size_t i) const;
  void add(std::string_view line_with_newline, uint32_t source, uint64_t line,
           std::string_view raw);
  // A new batch of some of these lines.
  std::unique_ptr<Batch> subset(const std::vector<size_t>& lines) const;
  void clear();

  // Freshness (--metrics-addr): what each point's age at its acknowledgement is measured
  // from, in seconds after `base` (Unix seconds, read once for the batch): the point's own
  // time, and its Kafka message's timestamp (NaN: it has none). Either one per line, added
  // with each line, or empty (not measured). Floats after a base keep microseconds for
  // seconds-old points and cost 8 bytes a point.
  struct Since {
    float event;
    float produce;
  };
  double base = 0;
  std::vector<Since> since;

  // Delivery state.
  int attempts = 0;
  std::optional<std::chrono::steady_clock::time_point> first_failure;
  std::chrono::steady_clock::time_point not_before{};
};

// Of the points InfluxDB acknowledged: the seconds from a time to the acknowledgement, in a
// histogram fine around 0.1 to 5 s, and the largest.
struct Freshness {
  static constexpr double kBounds[] = {0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1,
                                       1.5,  2,     3,    5,   10,  30,  60,  300};
  static constexpr size_t kBuckets = std::size(kBounds) + 1;  // and +Inf
  diag::Histogram seconds{std::vector<double>(std::begin(kBounds), std::end(kBounds))};
  std::atomic<double> max{std::numeric_limits<double>::quiet_NaN()};
  // Counts a batch's values, tallied by the caller: per bucket, their sum and their largest.
  void merge(const uint64_t* counts, double sum, double largest);
};

// Observes the freshness of lines `lines` (all when null) of `batch`, acknowledged now, into
// `produce` and `event`: one clock read for the batch; nothing when its times were not kept.
void observe_freshness(const Batch& batch, const std::vector<size_t>* lines, Freshness& produce,
                       Freshness& event);

class Writer {
 public:
  struct Events {
    // `n` lines of the batch were written.
    std::function<void(const Batch&, size_t n)> written;
    // Line `i` of the batch was refused by the server, for `reason`.
    std::function<void(const Batch&, size_t i, std::string_view reason)> refused;
  };

  // Checks the options (UsageError). Makes no connection yet.
  explicit Writer(WriterOptions opts);
  void set_events(Events events) { events_ = std::move(events); }
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // 1.x: CREATE DATABASE (it is harmless when the database exists), retried like a write.
  void create_database();

  // Runs an InfluxQL statement on /query (in the database or bucket written to when `in_db`,
  // times as nanoseconds since the epoch) and returns InfluxDB's JSON answer. Retried like a
  // write; an HTTP error throws RuntimeError "cannot WHAT: ..." (errors inside a 200 answer
  // are the caller's to read when `in_db`).
  std::string query(const std::string& q, const std::string& what, bool in_db);
  // GET /ping once, with a handle of its own and a 2 s limit: nullopt when InfluxDB answers
  // 204, else why not. Safe from another thread (the /readyz check of --metrics-addr).
  std::optional<std::string> ping() const;
  int api() const { return opts_.api; }
  const std::string& retention_policy() const { return opts_.rp; }

  // Hands a batch over; first waits, sending and receiving, while more than max_in_flight
  // batches are held (in flight, ready to go, or waiting to be sent again). Throws RuntimeError
  // when delivery fails.
  void submit(std::unique_ptr<Batch> batch);
  // Progress without waiting.
  void poll();
  // Waits until every batch is written or refused.
  void drain();

  size_t held() const { return in_flight_.size() + waiting_.size(); }
  const std::string& endpoint() const { return endpoint_; }
  uint64_t retries() const { return retries_; }
  uint64_t requests() const { return requests_; }

 private:
  struct Request;

  void step(int wait_ms);
  void start_due();
  void start(std::unique_ptr<Batch> batch);
  void finish(Request& r, CURLcode code);
  void retry_later(std::unique_ptr<Batch> batch, const std::string& why, long retry_after_s);
  void handle_400(std::unique_ptr<Batch> batch, const std::string& message);
  // Lines `lines` of the batch (all when null) were written: counted, their freshness
  // observed, and said to the events.
  void written(const Batch& batch, const std::vector<size_t>* lines);
  std::string describe(long status, const std::string& body) const;
  Easy take_handle();

  WriterOptions opts_;
  Events events_;
  std::string endpoint_;  // the write URL with its query
  Multi multi_;
  Slist headers_;
  std::vector<Easy> idle_handles_;
  std::vector<std::unique_ptr<Request>> in_flight_;
  std::deque<std::unique_ptr<Batch>> waiting_;
  record::Tally retries_ = 0;
  bool failing_ = false;  // the last answer asked for a retry
  record::Tally requests_ = 0;
  // --metrics-addr: requests by answer, points written, request times (written here, read by
  // the server's thread).
  struct Metrics {
    record::Tally by_class[4];  // 2xx, 4xx, 5xx, no answer
    record::Tally points;
    diag::Histogram seconds{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
    // Freshness of the points written, [0] since their Kafka message's timestamp, [1] since
    // their own time; and the largest of each seen (NaN: none yet).
    Freshness fresh[2];
    void write(std::string& out) const;
  };
  Metrics metrics_;
  diag::Service::Registration metrics_registration_;
  uint64_t rng_;
};

// Appends an InfluxQL identifier in double quotes, escaped.
// A query InfluxDB answered with a client error (401, 403, 404 and the like): the
// credentials may write but not read, or the database cannot be queried. Retrying would not
// help.
struct QueryRefused : RuntimeError {
  using RuntimeError::RuntimeError;
};

void append_identifier(std::string& out, std::string_view name);

// "250ms", "30s", "5m", "1h", or a plain number of seconds ("1.5"). Throws UsageError naming
// `option` otherwise.
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& option);

// Compresses `in` as one gzip member into `out`. Throws RuntimeError on zlib failure.
void gzip(std::string_view in, std::string& out, int level = 1);

// The text InfluxDB gives in an error body: {"error": …} (1.x) or {"message": …} (2.x), else
// the body itself.
std::string error_message(const std::string& body);

// Which lines of `batch` an InfluxDB 400 message names ("unable to parse 'LINE': why"),
// with the reason for each; and the count it says it dropped ("dropped=N"), if any.
struct Refusals {
  std::vector<std::pair<size_t, std::string>> lines;
  std::optional<uint64_t> dropped;
};
Refusals parse_refusals(const Batch& batch, const std::string& message);

}  // namespace cdn::influx
