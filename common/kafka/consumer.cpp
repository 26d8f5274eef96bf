#include "common/kafka/consumer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/service.hpp"
#include "common/io/line_reader.hpp"
#include "common/io/signals.hpp"
#include "common/record/counts.hpp"
#include "common/record/source.hpp"

namespace cdn::kafka {

namespace {

constexpr size_t kBatch = 4096;
constexpr int kPollMs = 100;
constexpr auto kCommitEvery = std::chrono::seconds(1);

bool parse_i64(std::string_view s, int64_t& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

UsageError bad_offset(const std::string& offset) {
  return UsageError("bad --offset " + diag::quoted(offset) +
                    "; use beginning, end, stored, an offset N, -N (N before the end) or "
                    "s@EPOCH_MS");
}

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};

// cdn's fetch.max.bytes: 2 MiB, or message.max.bytes when -X raised it above that.
int64_t fetch_max_bytes() {
  int64_t v = int64_t{2} << 20;
  constexpr std::string_view kMax = "message.max.bytes=";
  for (const auto& p : settings().properties) {
    int64_t n = 0;
    if (p.starts_with(kMax) && parse_i64(std::string_view(p).substr(kMax.size()), n)) {
      v = std::max(v, n);
    }
  }
  return v;
}

uint64_t key_of(size_t topic, int32_t partition) {
  return (static_cast<uint64_t>(topic) << 32) | static_cast<uint32_t>(partition);
}

}  // namespace

ConsumerOptions consumer_options(std::vector<std::string> topics) {
  ConsumerOptions o;
  o.topics = std::move(topics);
  const Settings& s = settings();
  o.group = s.group;
  o.offset = s.offset;
  o.exit_at_end = s.exit_at_end;
  o.timeout_ms = s.timeout_ms;
  return o;
}

// librdkafka's callbacks, reaching the Consumer through the opaque pointer.
struct Consumer::Callbacks {
  static void error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* c = static_cast<Consumer*>(opaque);
    auto e = static_cast<rd_kafka_resp_err_t>(err);
    c->last_error_ = reason;
    if (e == RD_KAFKA_RESP_ERR__FATAL) {
      char text[512];
      rd_kafka_fatal_error(c->rk_.get(), text, sizeof text);
      c->fatal_ = text;
    } else if (e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      if (!c->down_) c->down_since_ = std::chrono::steady_clock::now();
      c->down_ = true;
      diag::info(std::string("all Kafka brokers are down; retrying: ") + reason);
    } else {
      diag::debug(std::string("kafka: ") + reason);
    }
  }
  static void log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    if (diag::settings().verbosity >= 2 || level <= 2) {
      diag::debug(std::string("librdkafka ") + fac + ": " + buf);
    }
    // "TOPIC [P]: offset reset (at offset N, broker B) to ...: Broker: Offset out of range",
    // a warning, when the position is gone from the broker.
    if (level <= 4 && std::strcmp(fac, "OFFSET") == 0 && std::strstr(buf, "out of range")) {
      static_cast<Consumer*>(rd_kafka_opaque(rk))->on_offset_reset(buf);
    }
  }
  static void rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<Consumer*>(opaque)->on_rebalance(err, parts);
  }
};

Consumer::Consumer(ConsumerOptions opts) : opts_(std::move(opts)) {
  if (opts_.topics.empty()) throw UsageError("no topic to consume; name one with -t TOPIC");
  for (const auto& t : opts_.topics) {
    if (t.empty()) throw UsageError("an empty topic name; name one with -t TOPIC");
  }
  if (opts_.timeout_ms <= 0) throw UsageError("--timeout must be a positive number of ms");
  const std::string& off = opts_.offset;
  int64_t n = 0;
  bool plain = off == "beginning" || off == "end" || off == "stored";
  bool number = parse_i64(off, n);
  bool at_time = off.rfind("s@", 0) == 0 && parse_i64(std::string_view(off).substr(2), n) && n >= 0;
  if (!plain && !number && !at_time) throw bad_offset(off);
  if (!opts_.group.empty() && !plain) {
    throw UsageError("--offset " + diag::quoted(off) +
                     " needs all partitions assigned: a group (-G) resumes from its committed "
                     "offsets, so use beginning, end or stored with -G, or drop -G");
  }
  if (opts_.group.empty() && off == "stored") {
    throw UsageError("--offset stored reads the offsets a group committed; name the group with -G");
  }

  std::vector<std::pair<std::string, std::string>> defaults = {
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", opts_.exit_at_end ? "true" : "false"},
      // Where a position the broker no longer holds goes: to the first offset held, so that
      // only what retention dropped is lost (latest would skip what is still there). --offset
      // end starts a group's new partitions at the end in on_rebalance instead.
      {"auto.offset.reset", "earliest"},
      // Throughput: prefetch deep (bounded by queued.max.messages.kbytes, 64 MB).
      {"fetch.wait.max.ms", "100"},
      {"queued.min.messages", "1000000"},
      // Fetch answers of 2 MiB rather than 50: each answer is a fresh buffer that its
      // messages keep until read, and a smaller one is reused while still in cache, where a
      // 50 MiB one is mapped anew and faulted in page by page (1.6x to 2x the read time of
      // `cdn consume -e` on 128 partitions, bench/README.md). Never below message.max.bytes,
      // which librdkafka requires of it.
      {"fetch.max.bytes", std::to_string(fetch_max_bytes())},
  };
  if (!opts_.group.empty()) defaults.emplace_back("group.id", opts_.group);
  for (const auto& p : opts_.properties) defaults.push_back(p);
  Conf conf = make_conf(defaults);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_error_cb(conf.get(), &Callbacks::error);
  rd_kafka_conf_set_log_cb(conf.get(), &Callbacks::log);
  if (!opts_.group.empty()) rd_kafka_conf_set_rebalance_cb(conf.get(), &Callbacks::rebalance);

  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
  if (rk == nullptr) throw UsageError(std::string("cannot create a Kafka consumer: ") + err);
  conf.release();  // owned by the handle now
  rk_.reset(rk);

  // Both modes look the topics up first: it proves the brokers answer and the topics exist.
  std::vector<int> partitions;
  for (const auto& t : opts_.topics) {
    std::unique_ptr<rd_kafka_topic_t, TopicDeleter> rkt(rd_kafka_topic_new(rk, t.c_str(), nullptr));
    const rd_kafka_metadata_t* raw = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt.get(), &raw, opts_.timeout_ms);
    rd_kafka_poll(rk, 0);  // serve the error callback: the reason the brokers did not answer
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string why = last_error_.empty() ? rd_kafka_err2str(e) : last_error_;
      throw RuntimeError("cannot reach the Kafka brokers " + diag::quoted(settings().brokers) +
                         " within " + std::to_string(opts_.timeout_ms) + " ms: " + why +
                         "; check -b/--brokers (or CDN_BROKERS) and that the brokers run, or "
                         "raise --timeout");
    }
    std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> md(raw);
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topics[0].partition_cnt == 0) {
      rd_kafka_resp_err_t te =
          md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      throw RuntimeError("cannot read topic " + diag::quoted(t) + " on " +
                         diag::quoted(settings().brokers) + ": " + rd_kafka_err2str(te) +
                         "; check the topic name or create the topic");
    }
    partitions.push_back(md->topics[0].partition_cnt);
    diag::info("connected to the Kafka brokers " + diag::quoted(settings().brokers) + ": topic " +
               diag::quoted(t) + " has " + std::to_string(partitions.back()) + " partitions");
  }

  batch_.resize(kBatch);
  last_commit_ = std::chrono::steady_clock::now();
  lag_metrics_ = diag::Service::get().add_metrics([this](std::string& out) { write_lag(out); });
  lag_total_ = diag::Service::get().add_lag([this]() -> std::optional<uint64_t> {
    std::optional<uint64_t> total;
    each_lag([&total](const char*, int32_t, uint64_t lag) { total = total.value_or(0) + lag; });
    return total;
  });
  ready_check_ = diag::Service::get().add_check([this]() -> std::optional<std::string> {
    if (assigned_.load(std::memory_order_relaxed)) return std::nullopt;
    return "waiting for group " + diag::quoted(opts_.group) + " to assign partitions of " +
           diag::quoted(opts_.topics.front());
  });

  if (opts_.group.empty()) {
    // Without a group, the partitions are read with the simple consumer (as kcat does):
    // every partition fetched into one queue, from the offset asked for.
    queue_ = rd_kafka_queue_new(rk);
    PartitionList list(rd_kafka_topic_partition_list_new(0));
    for (size_t i = 0; i < opts_.topics.size(); ++i) {
      for (int p = 0; p < partitions[i]; ++p) {
        auto* tp = rd_kafka_topic_partition_list_add(list.get(), opts_.topics[i].c_str(), p);
        if (off == "beginning") {
          tp->offset = RD_KAFKA_OFFSET_BEGINNING;
        } else if (off == "end") {
          tp->offset = RD_KAFKA_OFFSET_END;
        } else if (at_time) {
          tp->offset = n;  // a timestamp, resolved below
        } else {
          tp->offset = n < 0 ? RD_KAFKA_OFFSET_TAIL(-n) : n;
        }
        at_end_[key_of(i, p)] = false;
      }
    }
    if (at_time) {
      check(rd_kafka_offsets_for_times(rk, list.get(), opts_.timeout_ms),
            "cannot look up the offsets for --offset " + diag::quoted(off));
      for (int i = 0; i < list->cnt; ++i) {
        auto& tp = list->elems[i];
        if (tp.err) {
          check(tp.err, "cannot look up the offset for --offset " + diag::quoted(off) + " in " +
                            tp.topic + "/" + std::to_string(tp.partition));
        }
        if (tp.offset < 0) tp.offset = RD_KAFKA_OFFSET_END;  // nothing at or after that time
      }
    }
    for (const auto& t : opts_.topics)
      topics_.emplace_back(rd_kafka_topic_new(rk, t.c_str(), nullptr));
    for (int i = 0; i < list->cnt; ++i) {
      const auto& tp = list->elems[i];
      rd_kafka_topic_t* rkt = topics_[topic_index(tp.topic)].get();
      if (rd_kafka_consume_start_queue(rkt, tp.partition, tp.offset, queue_) != 0) {
        check(rd_kafka_last_error(),
              std::string("cannot start reading ") + tp.topic + "/" + std::to_string(tp.partition));
      }
      started_.emplace_back(rkt, tp.partition);
    }
    assigned_ = true;
    diag::info("assigned " + std::to_string(list->cnt) + " partitions (no group, from --offset " +
               off + ")");
  } else {
    PartitionList list(rd_kafka_topic_partition_list_new(0));
    for (const auto& t : opts_.topics) {
      rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_poll_set_consumer(rk);
    queue_ = rd_kafka_queue_get_consumer(rk);
    check(rd_kafka_subscribe(rk, list.get()),
          "cannot subscribe to the topics in group " + diag::quoted(opts_.group));
    diag::info("joining group " + diag::quoted(opts_.group) +
               "; its partitions are assigned once the group has settled");
  }
}

Consumer::~Consumer() {
  // First: the --metrics-addr server's thread no longer reaches this consumer.
  lag_metrics_ = {};
  lag_total_ = {};
  ready_check_ = {};
  for (size_t i = batch_pos_; i < batch_len_; ++i) rd_kafka_message_destroy(batch_[i]);
  if (current_) rd_kafka_message_destroy(current_);
  for (const auto& [rkt, p] : started_) rd_kafka_consume_stop(rkt, p);
  bool failing = std::uncaught_exceptions() > 0 || !fatal_.empty();
  if (!opts_.group.empty()) {
    diag::info("committed offsets in group " + diag::quoted(opts_.group) + " " +
               std::to_string(commits_) + " times, each after its records were written");
  }
  if (rk_ && !opts_.group.empty() && !failing && !down_) {
    // Leaves the group cleanly; the revocation commits what was written.
    rd_kafka_consumer_close(rk_.get());
  }
  if (queue_) rd_kafka_queue_destroy(queue_);
  topics_.clear();
  if (rk_ && (failing || down_)) {
    rd_kafka_destroy_flags(rk_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
}

void Consumer::each_lag(
    const std::function<void(const char* topic, int32_t partition, uint64_t lag)>& f) const {
  rd_kafka_t* rk = rk_.get();
  if (rk == nullptr) return;
  PartitionList list(nullptr);
  if (opts_.group.empty()) {
    // started_ is filled before the consumer reads and not changed after.
    list.reset(rd_kafka_topic_partition_list_new(static_cast<int>(started_.size())));
    for (const auto& [rkt, p] : started_) {
      rd_kafka_topic_partition_list_add(list.get(), rd_kafka_topic_name(rkt), p);
    }
  } else {
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    list.reset(assigned);
  }
  if (rd_kafka_position(rk, list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    int64_t lo = 0, hi = 0;
    if (tp.offset < 0 ||
        rd_kafka_get_watermark_offsets(rk, tp.topic, tp.partition, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0) {
      continue;
    }
    f(tp.topic, tp.partition, static_cast<uint64_t>(hi > tp.offset ? hi - tp.offset : 0));
  }
}

void Consumer::write_lag(std::string& out) const {
  std::string samples;
  each_lag([&samples](const char* topic, int32_t partition, uint64_t lag) {
    samples += "cdn_kafka_consumer_lag_messages{topic=\"" + diag::metric_label(topic) +
               "\",partition=\"" + std::to_string(partition) + "\"} " + std::to_string(lag) + "\n";
  });
  out +=
      "# HELP cdn_kafka_consumer_lag_messages Messages of a partition after those the command "
      "has read: the high watermark librdkafka last saw minus the position.\n"
      "# TYPE cdn_kafka_consumer_lag_messages gauge\n" +
      samples;
  out +=
      "# HELP cdn_kafka_consumer_lost_messages_total Messages of a partition the broker dropped "
      "(retention) before the command read them.\n"
      "# TYPE cdn_kafka_consumer_lost_messages_total counter\n";
  std::lock_guard lock(resets_mutex_);
  for (const auto& [tp, n] : lost_) {
    out += "cdn_kafka_consumer_lost_messages_total{topic=\"" + diag::metric_label(tp.first) +
           "\",partition=\"" + std::to_string(tp.second) + "\"} " + std::to_string(n) + "\n";
  }
}

size_t Consumer::topic_index(const char* name) const {
  for (size_t i = 0; i < opts_.topics.size(); ++i) {
    if (opts_.topics[i] == name) return i;
  }
  return opts_.topics.size();
}

size_t Consumer::topic_index(const rd_kafka_topic_t* rkt) {
  for (const auto& [p, i] : topic_cache_) {
    if (p == rkt) return i;
  }
  size_t i = topic_index(rd_kafka_topic_name(rkt));
  topic_cache_.emplace_back(rkt, i);
  return i;
}

void Consumer::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk_.get()), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; ++i) {
      at_end_[key_of(topic_index(parts->elems[i].topic), parts->elems[i].partition)] = false;
    }
    if (opts_.offset == "end") {
      // A partition the group has committed nothing for starts at its end; the others
      // resume from their commit.
      rd_kafka_resp_err_t e = rd_kafka_committed(rk_.get(), parts, opts_.timeout_ms);
      if (e) {
        fatal_ = std::string("cannot read the offsets group ") + diag::quoted(opts_.group) +
                 " committed: " + rd_kafka_err2str(e);
        return;
      }
      for (int i = 0; i < parts->cnt; ++i) {
        if (parts->elems[i].offset < 0) parts->elems[i].offset = RD_KAFKA_OFFSET_END;
      }
    }
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_.get(), parts)) {
        fatal_ = std::string("cannot take the assigned partitions: ") + rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_resp_err_t e = rd_kafka_assign(rk_.get(), parts);
      if (e) fatal_ = std::string("cannot take the assigned partitions: ") + rd_kafka_err2str(e);
    }
    assigned_ = true;
    diag::info("assigned " + std::to_string(parts->cnt) + " partitions in group " +
               diag::quoted(opts_.group));
    return;
  }
  // Revoked (or lost): commit what was written from these partitions, then let them go.
  PartitionList mine(rd_kafka_topic_partition_list_new(parts->cnt));
  for (int i = 0; i < parts->cnt; ++i) {
    uint64_t k = key_of(topic_index(parts->elems[i].topic), parts->elems[i].partition);
    auto w = written_.find(k);
    if (w != written_.end()) {
      auto c = committed_.find(k);
      if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS &&
          (c == committed_.end() || c->second != w->second)) {
        rd_kafka_topic_partition_list_add(mine.get(), parts->elems[i].topic,
                                          parts->elems[i].partition)
            ->offset = w->second;
      }
      written_.erase(w);
    }
    if (auto e = at_end_.find(k); e != at_end_.end()) {
      if (e->second) --ends_;
      at_end_.erase(e);
    }
    returned_.erase(k);
    committed_.erase(k);
  }
  if (mine->cnt > 0) {
    rd_kafka_resp_err_t e = rd_kafka_commit(rk_.get(), mine.get(), 0);
    if (e)
      diag::warning(std::string("cannot commit offsets on revocation: ") + rd_kafka_err2str(e));
  }
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_.get(), parts)) {
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(rk_.get(), nullptr);
  }
  last_ = nullptr;
}

void Consumer::on_offset_reset(std::string_view line) {
  constexpr std::string_view kAt = "]: offset reset (at offset ";
  // After the thread's name: "[thrd:main]: TOPIC [P]: offset reset (at offset N, ...".
  if (line.starts_with("[")) {
    size_t end = line.find("]: ");
    if (end == std::string_view::npos) return;
    line.remove_prefix(end + 3);
  }
  size_t open = line.find(" [");
  size_t at = line.find(kAt);
  if (open == std::string_view::npos || at == std::string_view::npos || at < open) return;
  Reset r;
  r.topic = std::string(line.substr(0, open));
  std::string_view p = line.substr(open + 2, at - open - 2);
  std::string_view o = line.substr(at + kAt.size());
  auto pr = std::from_chars(p.data(), p.data() + p.size(), r.partition);
  auto orr = std::from_chars(o.data(), o.data() + o.size(), r.offset);
  if (pr.ec != std::errc() || orr.ec != std::errc() || r.offset < 0) return;
  r.to_end = o.find(") to END") != std::string_view::npos;
  std::lock_guard lock(resets_mutex_);
  resets_.push_back(std::move(r));
  reset_pending_ = true;
}

void Consumer::report_resets() {
  std::vector<Reset> resets;
  {
    std::lock_guard lock(resets_mutex_);
    resets.swap(resets_);
    reset_pending_ = false;
  }
  for (auto& r : resets) {
    size_t t = topic_index(r.topic.c_str());
    if (t == opts_.topics.size()) continue;
    uint64_t k = key_of(t, r.partition);
    // A second reset before any message: the first one's position was gone too.
    if (auto g = gaps_.find(k); g != gaps_.end()) {
      Reset first = std::move(g->second);
      gaps_.erase(g);
      close_gap(first, r.offset);
    }
    gaps_[k] = std::move(r);
  }
}

void Consumer::close_gap(const Reset& r, int64_t resume) {
  std::string where = r.topic + "/" + std::to_string(r.partition);
  if (resume <= r.offset) {
    diag::warning("offset " + std::to_string(r.offset) + " of " + diag::quoted(where) +
                  " is past its end: the partition was emptied or the topic made anew; read "
                  "on from offset " +
                  std::to_string(resume));
    return;
  }
  auto n = static_cast<uint64_t>(resume - r.offset);
  {
    std::lock_guard lock(resets_mutex_);
    lost_[{r.topic, r.partition}] += n;
  }
  diag::count_lost_input(n);
  std::string text = "lost " + std::to_string(n) + (n == 1 ? " record" : " records") + " of " +
                     diag::quoted(where) + ": offsets " + std::to_string(r.offset) + " to " +
                     std::to_string(resume - 1);
  if (r.to_end) {
    text +=
        " were skipped: offset " + std::to_string(r.offset) +
        " was no longer on the broker (retention) and auto.offset.reset=latest went to the end, "
        "past what it still held; drop -X auto.offset.reset=latest so that only what the "
        "broker dropped is lost";
  } else {
    text +=
        " were dropped by the broker before they were read (retention: the reader fell that far "
        "behind); reading on from " +
        std::to_string(resume) +
        ". Keep the readers closer to the end of the topic, or give it more retention or "
        "partitions";
  }
  diag::error(text);
}

void Consumer::settle_gaps() {
  // Read to the end with no message of the partition since its reset: reading resumed at
  // its end (the high watermark), with nothing between.
  for (const auto& [k, r] : gaps_) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk_.get(), r.topic.c_str(), r.partition, &lo, &hi, 5000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      close_gap(r, hi);
    } else {
      diag::error("offset " + std::to_string(r.offset) + " of " +
                  diag::quoted(r.topic + "/" + std::to_string(r.partition)) +
                  " was no longer on the broker, and where reading resumed is unknown: "
                  "records may have been lost there; compare the topic's offsets with what "
                  "was written");
    }
  }
  gaps_.clear();
}

int64_t message_time_ms(const rd_kafka_message_t* m) {
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  int64_t ts = rd_kafka_message_timestamp(m, &type);
  return type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts > 0 ? ts : 0;
}

bool Consumer::all_at_end() const {
  if (!assigned_.load(std::memory_order_relaxed)) return false;
  return ends_ == at_end_.size();
}

void Consumer::check_health() {
  if (!fatal_.empty()) throw RuntimeError("Kafka consumer failed: " + fatal_);
  if (!down_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_probe_ >= std::chrono::milliseconds(500)) {
    last_probe_ = now;
    const rd_kafka_metadata_t* raw = nullptr;
    if (rd_kafka_metadata(rk_.get(), 0, nullptr, &raw, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(raw);
      down_ = false;
      diag::info("the Kafka brokers answer again");
      return;
    }
  }
  if (now - down_since_ > std::chrono::milliseconds(opts_.timeout_ms)) {
    throw RuntimeError("the Kafka brokers " + diag::quoted(settings().brokers) +
                       " have been unreachable for more than " + std::to_string(opts_.timeout_ms) +
                       " ms: " + last_error_ + "; check that they run, or raise --timeout");
  }
}

const rd_kafka_message_t* Consumer::next() {
  if (current_) {
    rd_kafka_message_destroy(current_);
    current_ = nullptr;
  }
  for (;;) {
    if (io::stop_requested()) return nullptr;
    if (batch_pos_ == batch_len_) {
      if (reset_pending_.load(std::memory_order_relaxed)) report_resets();
      if (opts_.exit_at_end && all_at_end()) {
        if (!gaps_.empty()) settle_gaps();
        return nullptr;
      }
      // A short batch means the local queue ran dry: the next poll may wait.
      if (batch_len_ < batch_.size() && idle_) idle_();
      batch_pos_ = batch_len_ = 0;
      diag::Service::get().tick();  // polling is alive, records or not (/healthz)
      ssize_t got = rd_kafka_consume_batch_queue(queue_, kPollMs, batch_.data(), batch_.size());
      if (got < 0) check(rd_kafka_last_error(), "cannot consume from Kafka");
      batch_len_ = static_cast<size_t>(got);
      if (opts_.group.empty()) rd_kafka_poll(rk_.get(), 0);  // the error callback
      check_health();
      continue;
    }
    rd_kafka_message_t* m = batch_[batch_pos_++];
    size_t t = topic_index(m->rkt);
    uint64_t k = key_of(t, m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      auto it = at_end_.find(k);
      if (it != at_end_.end() && !it->second) {
        it->second = true;
        ++ends_;
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->err) {
      std::string what = rd_kafka_message_errstr(m);
      rd_kafka_resp_err_t e = m->err;
      rd_kafka_message_destroy(m);
      if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
          e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
          e == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED || e == RD_KAFKA_RESP_ERR__FATAL) {
        throw RuntimeError("cannot consume from Kafka: " + what);
      }
      diag::debug("kafka: " + what);
      continue;
    }
    down_ = false;
    if (ends_ > 0) {
      auto it = at_end_.find(k);
      if (it != at_end_.end() && it->second) {
        it->second = false;
        --ends_;
      }
    }
    if (!gaps_.empty()) {
      // The first message after a reset says where reading resumed (one fetched before it
      // comes from before the lost offset).
      if (auto g = gaps_.find(k); g != gaps_.end() && m->offset >= g->second.offset) {
        Reset gap = std::move(g->second);
        gaps_.erase(g);
        close_gap(gap, m->offset);
      }
    }
    if (last_ == nullptr || last_key_ != k) {
      last_ = &returned_[k];
      last_key_ = k;
    }
    *last_ = m->offset + 1;
    current_ = m;
    if (serving_) {
      if (int64_t ts = message_time_ms(m); ts > 0) diag::Service::get().message_time(ts);
    }
    return m;
  }
}

void Consumer::mark_written() {
  for (const auto& [k, off] : returned_) written_[k] = off;
}

bool Consumer::commit_due() const {
  return !opts_.group.empty() && std::chrono::steady_clock::now() - last_commit_ >= kCommitEvery;
}

PartitionList Consumer::returned_offsets() const {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(returned_.size())));
  for (const auto& [k, off] : returned_) {
    size_t t = static_cast<size_t>(k >> 32);
    rd_kafka_topic_partition_list_add(list.get(), opts_.topics.at(t).c_str(),
                                      static_cast<int32_t>(k & 0xffffffffu))
        ->offset = off;
  }
  return list;
}

void Consumer::commit(bool sync) {
  last_commit_ = std::chrono::steady_clock::now();
  if (opts_.group.empty()) return;
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(written_.size())));
  for (const auto& [k, off] : written_) {
    auto c = committed_.find(k);
    if (c != committed_.end() && c->second == off) continue;
    size_t t = static_cast<size_t>(k >> 32);
    rd_kafka_topic_partition_list_add(list.get(), opts_.topics.at(t).c_str(),
                                      static_cast<int32_t>(k & 0xffffffffu))
        ->offset = off;
  }
  if (list->cnt == 0) return;
  rd_kafka_resp_err_t e = rd_kafka_commit(rk_.get(), list.get(), sync ? 0 : 1);
  if (!sync) {
    // Not known to have succeeded: the next commit sends these offsets again.
    if (e) diag::debug(std::string("offset commit failed, retried later: ") + rd_kafka_err2str(e));
    diag::debug("committing the offsets of " + std::to_string(list->cnt) + " partitions");
    return;
  }
  check(e, "cannot commit the offsets of group " + diag::quoted(opts_.group));
  diag::debug("committed the offsets of " + std::to_string(list->cnt) + " partitions in group " +
              diag::quoted(opts_.group));
  ++commits_;
  for (int i = 0; i < list->cnt; ++i) {
    committed_[key_of(topic_index(list->elems[i].topic), list->elems[i].partition)] =
        list->elems[i].offset;
  }
}

// kafka:TOPIC as the input of any command: each message's payload is one record.
namespace {
class TopicSource : public record::Source {
 public:
  TopicSource(std::vector<std::string> topics, record::Rejects& rejects, record::Counts& counts)
      : consumer_(consumer_options(std::move(topics))), rejects_(rejects), counts_(counts) {}

  bool next(record::Record& rec) override {
    const rd_kafka_message_t* m = nullptr;
    for (;;) {
      m = consumer_.next();
      if (m == nullptr) return false;
      ++counts_.in;
      if (m->rkt != rkt_ || m->partition != partition_ || name_.empty()) {
        rkt_ = m->rkt;
        partition_ = m->partition;
        name_ =
            std::string("kafka:") + rd_kafka_topic_name(rkt_) + "/" + std::to_string(partition_);
      }
      if (m->payload != nullptr) break;
      // A tombstone (a key's deletion on a compacted topic) holds no record.
      std::optional<std::string_view> key;
      if (m->key) key.emplace(static_cast<const char*>(m->key), m->key_len);
      rejects_.reject(name_, static_cast<uint64_t>(m->offset),
                      "no payload (a tombstone): a message holds no record; leave tombstones "
                      "out of the topic, or read it with cdn consume --envelope",
                      "", "", key);
    }
    buf_.clear();
    if (m->payload) buf_.append(static_cast<const char*>(m->payload), m->len);
    size_t len = buf_.size();
    // A message is one record, however its JSON is laid out: a line break in JSON can only be
    // whitespace between tokens (a string holds \n escaped), so a pretty-printed payload becomes
    // one line with the same meaning, and an output line stays one record.
    if (std::memchr(buf_.data(), '\n', len) != nullptr) {
      std::replace(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(len), '\n', ' ');
    }
    buf_.append(io::LineReader::kPadding, ' ');
    rec.text = std::string_view(buf_.data(), len);
    rec.line = static_cast<uint64_t>(m->offset);
    rec.key = m->key ? std::optional<std::string_view>(std::in_place,
                                                       static_cast<const char*>(m->key), m->key_len)
                     : std::nullopt;
    rec.message_ms = message_time_ms(m);
    return true;
  }
  const std::string& name() const override { return name_; }
  void on_idle(std::function<void()> f) override { consumer_.on_idle(std::move(f)); }
  bool acknowledges() const override { return true; }
  void acknowledge() override {
    consumer_.mark_written();
    consumer_.commit(true);
  }

 private:
  Consumer consumer_;
  record::Rejects& rejects_;
  record::Counts& counts_;
  std::string buf_;
  std::string name_;
  const rd_kafka_topic_t* rkt_ = nullptr;
  int32_t partition_ = -1;
};
}  // namespace

std::unique_ptr<record::Source> open_topic_source(const std::string& topic,
                                                  record::Rejects& rejects,
                                                  record::Counts& counts) {
  return std::make_unique<TopicSource>(std::vector<std::string>{topic}, rejects, counts);
}

std::unique_ptr<record::Source> open_topics_source(std::vector<std::string> topics,
                                                   record::Rejects& rejects,
                                                   record::Counts& counts) {
  return std::make_unique<TopicSource>(std::move(topics), rejects, counts);
}

}  // namespace cdn::kafka
