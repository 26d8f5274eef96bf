// What a running command publishes for --metrics-addr (served by io::HttpServer, started in
// common/cli/service.*): metric families in the Prometheus text format, the checks /readyz
// runs, and the progress /healthz watches. Parts of the command register while they live;
// what they hand over runs on the server's thread, so it reads only what is safe to read
// from there (atomics, thread-safe library calls).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>

namespace cdn::diag {

class Service {
 public:
  // Appends metric families (# HELP, # TYPE and samples) to `out`.
  using Metrics = std::function<void(std::string& out)>;
  // nullopt: ready as far as this part goes; else why not, in a few words.
  using Check = std::function<std::optional<std::string>()>;
  // A number that grows while the command's loop moves (records counted, ticks while it
  // waits for input).
  using Progress = std::function<uint64_t()>;
  // Messages of a Kafka input not read yet (nullopt: not known yet).
  using Lag = std::function<std::optional<uint64_t>()>;

  static Service& get();

  // Removes what it registered when destroyed.
  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& o) noexcept : id_(o.id_) { o.id_ = 0; }
    Registration& operator=(Registration&& o) noexcept;
    ~Registration();

   private:
    friend class Service;
    explicit Registration(uint64_t id) : id_(id) {}
    uint64_t id_ = 0;
  };

  [[nodiscard]] Registration add_metrics(Metrics m);
  [[nodiscard]] Registration add_check(Check c);
  [[nodiscard]] Registration add_progress(Progress p);
  [[nodiscard]] Registration add_lag(Lag l);

  // The command's loop has started (its inputs open, its model loaded): until then /readyz
  // answers "starting".
  void started() { started_.store(true, std::memory_order_relaxed); }
  // The loop is alive while it waits (an input with nothing new, every 100 ms).
  void tick() { ticks_.fetch_add(1, std::memory_order_relaxed); }
  // --metrics-addr was given: parts that measure at a cost (the sampled ages of records,
  // predictions by label) do so only then.
  void serve() { serving_.store(true, std::memory_order_relaxed); }
  bool serving() const { return serving_.load(std::memory_order_relaxed); }
  // The Kafka timestamp (ms since the epoch) of the message read last, for the age of
  // records at the output; 0 while none carried one.
  void message_time(int64_t ms) { message_ms_.store(ms, std::memory_order_relaxed); }
  int64_t message_time() const { return message_ms_.load(std::memory_order_relaxed); }

  // A label of cdn_build_info known only once a library is loaded (predict: "xgboost").
  void build_label(const std::string& key, const std::string& value);
  // `key="value",...` of those labels, each after a comma.
  std::string build_labels();

  // The text of /metrics: every registered family, then the process's own.
  std::string metrics();
  // Why the command is not ready (nullopt: ready).
  std::optional<std::string> not_ready();
  // Whether the loop's progress moved within `limit` (seen by the calls to this function).
  bool healthy(std::chrono::milliseconds limit, double& idle_seconds);
  // The lag of every Kafka input, summed; nullopt when there is none or none known.
  std::optional<uint64_t> lag();

 private:
  struct Entry {
    uint64_t id;
    Metrics metrics;
    Check check;
    Progress progress;
    Lag lag;
  };
  Registration add(Entry e);
  void remove(uint64_t id);

  std::mutex mutex_;
  std::list<Entry> entries_;
  uint64_t next_id_ = 1;
  std::atomic<bool> started_{false};
  std::atomic<uint64_t> ticks_{0};
  std::string build_labels_;  // guarded by mutex_
  std::atomic<bool> serving_{false};
  std::atomic<int64_t> message_ms_{0};
  uint64_t last_progress_ = 0;
  std::chrono::steady_clock::time_point last_change_ = std::chrono::steady_clock::now();
};

// Writes a label value for the text format: backslash, double quote and newline escaped.
std::string metric_label(std::string_view value);

}  // namespace cdn::diag
