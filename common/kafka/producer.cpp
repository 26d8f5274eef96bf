#include "common/kafka/producer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>

#include "common/base/json_pointer.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/service.hpp"
#include "common/io/signals.hpp"
#include "common/io/sink.hpp"
#include "common/record/fields.hpp"
#include "common/record/json_syntax.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::kafka {

const std::vector<std::pair<std::string, std::string>>& producer_defaults() {
  static const std::vector<std::pair<std::string, std::string>> d = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "10"},
      // librdkafka's sticky choice for messages without a key comes before any partitioner:
      // 0 leaves them to spread_partitioner (below).
      {"sticky.partitioning.linger.ms", "0"},
      {"batch.num.messages", "50000"},
      {"batch.size", "4000000"},
      {"queue.buffering.max.messages", "1000000"},
      {"queue.buffering.max.kbytes", "1048576"},
      {"log.queue", "true"},
  };
  return d;
}

bool is_record_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return true;
    default:
      return false;
  }
}

std::string Producer::refusal_reason(rd_kafka_resp_err_t err) {
  std::string r = "not produced: ";
  r += rd_kafka_err2str(err);
  if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE ||
      err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE) {
    r += " (over message.max.bytes or the topic's max.message.bytes)";
  }
  return r;
}

Producer::Producer(const std::vector<std::pair<std::string, std::string>>& overrides) {
  auto defaults = producer_defaults();
  for (const auto& o : overrides) defaults.push_back(o);
  Conf conf = make_conf(defaults);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Producer::on_delivery);
  rd_kafka_conf_set_error_cb(conf.get(), &Producer::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &Producer::on_log);
  char buf[64];
  size_t n = sizeof buf;
  if (rd_kafka_conf_get(conf.get(), "message.timeout.ms", buf, &n) == RD_KAFKA_CONF_OK) {
    message_timeout_ms_ = std::strtoll(buf, nullptr, 10);
  }
  timeout_ms_ = settings().timeout_ms;
  if (timeout_ms_ <= 0) throw UsageError("--timeout must be a positive number of ms");
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
  if (rk == nullptr) {
    throw UsageError(std::string("cannot create the Kafka producer: ") + err +
                     "; change the -X properties");
  }
  conf.release();  // rd_kafka_new took it
  rk_.reset(rk);
  // Logs come through the main queue, so they are served by poll() on this thread.
  rd_kafka_set_log_queue(rk, nullptr);
  // /readyz: a broker answers a metadata request (librdkafka handles are thread-safe).
  ready_check_ = diag::Service::get().add_check([rk]() -> std::optional<std::string> {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, nullptr, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(md);
      return std::nullopt;
    }
    return "no Kafka broker of " + diag::quoted(settings().brokers) + " answers";
  });
  metrics_ = diag::Service::get().add_metrics([this](std::string& out) { write_metrics(out); });
  diag::info("producing to the Kafka brokers " + diag::quoted(settings().brokers) +
             " (a message waits up to " +
             std::to_string(std::min(timeout_ms_, message_timeout_ms_)) + " ms for them)");
}

void Producer::write_metrics(std::string& out) const {
  out +=
      "# HELP cdn_kafka_producer_queue_messages Messages handed to librdkafka and not yet "
      "delivered or failed.\n# TYPE cdn_kafka_producer_queue_messages gauge\n"
      "cdn_kafka_producer_queue_messages " +
      std::to_string(rd_kafka_outq_len(rk_.get())) + "\n";
  std::string delivered, failed;
  {
    std::lock_guard lock(stats_mutex_);
    for (const auto& t : stats_) {
      std::string label = "{topic=\"" + diag::metric_label(t.name) + "\"} ";
      delivered +=
          "cdn_kafka_messages_delivered_total" + label + std::to_string(t.delivered) + "\n";
      failed +=
          "cdn_kafka_messages_failed_total" + label + std::to_string(t.failed + t.refused) + "\n";
    }
  }
  out +=
      "# HELP cdn_kafka_messages_delivered_total Messages the brokers acknowledged.\n"
      "# TYPE cdn_kafka_messages_delivered_total counter\n" +
      delivered +
      "# HELP cdn_kafka_messages_failed_total Messages not delivered: refused, timed out or "
      "purged.\n# TYPE cdn_kafka_messages_failed_total counter\n" +
      failed;
}

Producer::~Producer() {
  if (!rk_) return;
  // Whatever flush() did not see through is dropped; say so rather than block.
  if (rd_kafka_outq_len(rk_.get()) > 0) {
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
                                  RD_KAFKA_PURGE_F_NON_BLOCKING);
  }
}

namespace {

// Messages without a key go to the partitions in turn, kSpread at a time, as Kafka's uniform
// sticky partitioner does (KIP-794). librdkafka's sticky partitioner keeps one partition for
// sticky.partitioning.linger.ms: a fast producer, or one whose first messages wait for the
// topic's metadata, put tens of thousands in one partition (100,000 records over 16
// partitions gave one 15,750, another 2,900), and a broker that keeps a bounded log per
// partition (cdn broker) drops the oldest of the full one. A turn of 32 messages (about
// 16 KB of telemetry records, KIP-794's batch.size) reaches every partition of a topic of
// many soon: 20,000 records in turns of 256 reached 79 of 128 partitions.
constexpr uint64_t kSpread = 32;
std::atomic<uint64_t> g_unkeyed{0};

int32_t spread_partitioner(const rd_kafka_topic_t* rkt, const void* key, size_t keylen,
                           int32_t partition_cnt, void* rkt_opaque, void* msg_opaque) {
  if (key == nullptr || keylen == 0) {
    uint64_t n = g_unkeyed.fetch_add(1, std::memory_order_relaxed);
    return static_cast<int32_t>((n / kSpread) % static_cast<uint64_t>(partition_cnt));
  }
  return rd_kafka_msg_partitioner_consistent_random(rkt, key, keylen, partition_cnt, rkt_opaque,
                                                    msg_opaque);
}

// -X partitioner=...: the user chose.
bool partitioner_chosen() {
  for (const auto& p : settings().properties) {
    if (p.rfind("partitioner=", 0) == 0) return true;
  }
  return false;
}

}  // namespace

size_t Producer::add_topic(const std::string& name) {
  // The topic properties of -X (partitioner, message.timeout.ms, ...) are in the default
  // topic configuration: start from it.
  rd_kafka_topic_conf_t* tc = rd_kafka_default_topic_conf_dup(rk_.get());
  if (!partitioner_chosen()) rd_kafka_topic_conf_set_partitioner_cb(tc, spread_partitioner);
  rd_kafka_topic_conf_set_opaque(tc,
                                 reinterpret_cast<void*>(static_cast<uintptr_t>(stats_.size())));
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk_.get(), name.c_str(), tc);
  if (t == nullptr) {
    throw UsageError("cannot use Kafka topic " + diag::quoted(name) + ": " +
                     rd_kafka_err2str(rd_kafka_last_error()));
  }
  topics_.emplace_back(t);
  std::lock_guard lock(stats_mutex_);
  stats_.emplace_back();
  stats_.back().name = name;
  return stats_.size() - 1;
}

rd_kafka_resp_err_t Producer::produce(size_t topic, const OutMessage& m) {
  if (gave_up_) throw RuntimeError(failure_text());
  rd_kafka_topic_t* rkt = topics_[topic].get();
  void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(m.tag));
  const char* key = m.key ? m.key->data() : nullptr;
  size_t keylen = m.key ? m.key->size() : 0;
  for (;;) {
    rd_kafka_resp_err_t err;
    if (m.headers == nullptr && m.timestamp_ms == 0) {
      // The plain path: no varargs, no header copy.
      int r = rd_kafka_produce(rkt, m.partition, RD_KAFKA_MSG_F_COPY,
                               const_cast<char*>(m.payload.data()), m.payload.size(), key, keylen,
                               opaque);
      err = r == 0 ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_last_error();
    } else {
      rd_kafka_headers_t* hdrs = m.headers ? rd_kafka_headers_copy(m.headers) : nullptr;
      err =
          rd_kafka_producev(rk_.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(m.partition),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_VALUE(const_cast<char*>(m.payload.data()), m.payload.size()),
                            RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_TIMESTAMP(m.timestamp_ms),
                            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) rd_kafka_headers_destroy(hdrs);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++stats_[topic].produced;
      last_produce_ = std::chrono::steady_clock::now();
      // Nothing was waiting: the brokers' silence counts from now.
      if (outstanding_++ == 0) last_contact_ = last_produce_;
      return err;
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      poll(50);  // deliveries make room
      continue;
    }
    if (is_record_error(err)) {
      auto& s = stats_[topic];
      ++s.refused;
      ++s.refusals[rd_kafka_err2str(err)];
      return err;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) throw_if_fatal();
    std::string what = "cannot produce to " + diag::quoted(stats_[topic].name);
    if (err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
      throw RuntimeError(what + ": partition " + std::to_string(m.partition) +
                         " does not exist; choose another --partition");
    }
    check(err, what);
  }
}

void Producer::poll(int timeout_ms) {
  rd_kafka_poll(rk_.get(), timeout_ms);
  if (fatal_) throw_if_fatal();
  watch_brokers();
}

void Producer::watch_brokers() {
  using clock = std::chrono::steady_clock;
  if (outstanding_ == 0 || gave_up_) return;
  auto now = clock::now();
  if (heard_) {
    heard_ = false;
    last_contact_ = now;
    return;
  }
  auto timeout = std::chrono::milliseconds(timeout_ms_);
  // A healthy broker acknowledges within linger.ms and a round trip: ask only after a
  // silence of a second (or half of --timeout), and then at most twice a second.
  auto quiet = std::min<clock::duration>(std::chrono::seconds(1), timeout / 2);
  if (now - last_contact_ < quiet) return;
  if (now - last_probe_ >= std::chrono::milliseconds(500)) {
    last_probe_ = now;
    const rd_kafka_metadata_t* md = nullptr;
    int wait_ms = static_cast<int>(std::min<int64_t>(500, timeout_ms_));
    if (rd_kafka_metadata(rk_.get(), 0, nullptr, &md, wait_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(md);
      last_contact_ = clock::now();
      return;
    }
  }
  if (clock::now() - last_contact_ > timeout) give_up();
}

void Producer::give_up() {
  gave_up_ = true;
  purged_ = true;
  purge_reason_ =
      "the brokers were unreachable for more than " + std::to_string(timeout_ms_) + " ms";
  rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(rk_.get(), 1000);  // serves the delivery reports of what was purged
  rd_kafka_poll(rk_.get(), 0);
  std::string text = failure_text();
  if (text.empty()) {
    text = "the Kafka brokers " + diag::quoted(settings().brokers) +
           " were unreachable for more than " + std::to_string(timeout_ms_) +
           " ms; check that they run and are reachable (-b/--brokers), or raise --timeout";
  }
  throw RuntimeError(text);
}

void Producer::flush(int64_t max_wait_ms) {
  using clock = std::chrono::steady_clock;
  // Every message must be delivered or failed within message.timeout.ms of being produced;
  // librdkafka does not time out messages for a topic it never got metadata for (no broker
  // reachable), so the deadline is enforced here too.
  auto deadline = last_produce_ + std::chrono::milliseconds(message_timeout_ms_ + 500);
  if (max_wait_ms >= 0) {
    deadline = std::min(deadline, clock::now() + std::chrono::milliseconds(max_wait_ms));
  }
  // A stop signal that arrives while waiting (not the one that ended the reading) ends the
  // wait: what is left is counted as not delivered.
  int signal_at_start = io::stop_signal();
  if (int left = rd_kafka_outq_len(rk_.get()); left > 0) {
    diag::info("flushing: waiting for the brokers to acknowledge " + std::to_string(left) +
               " messages");
  }
  purge_reason_ = "timed out after message.timeout.ms=" + std::to_string(message_timeout_ms_);
  while (rd_kafka_outq_len(rk_.get()) > 0 && clock::now() < deadline) {
    if (signal_at_start == 0 && io::stop_requested()) {
      purge_reason_ = "still queued when a signal stopped the wait";
      break;
    }
    rd_kafka_flush(rk_.get(), 100);
    if (fatal_) throw_if_fatal();
    watch_brokers();
  }
  if (max_wait_ms >= 0 && clock::now() >= deadline) {
    purge_reason_ = "still queued after " + std::to_string(max_wait_ms) + " ms";
  }
  if (rd_kafka_outq_len(rk_.get()) > 0) {
    purged_ = true;
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_.get(), 1000);
  }
  rd_kafka_poll(rk_.get(), 0);
  if (fatal_) throw_if_fatal();
}

uint64_t Producer::failed() const {
  uint64_t n = 0;
  for (const auto& s : stats_) n += s.failed;
  return n;
}

std::string Producer::failure_text() const {
  std::string text;
  uint64_t total = 0, failed_total = 0;
  for (const auto& s : stats_) {
    total += s.produced;
    failed_total += s.failed;
  }
  if (failed_total == 0) return text;
  text = std::to_string(failed_total) + " of " + std::to_string(total) +
         (total == 1 ? " message was" : " messages were") + " not delivered";
  for (const auto& s : stats_) {
    if (s.failed == 0) continue;
    text += "; " + std::to_string(s.failed) + " to " + diag::quoted(s.name) + " (";
    bool first = true;
    for (const auto& [reason, n] : s.failures) {
      if (!first) text += ", ";
      first = false;
      text += reason;
      if (s.failures.size() > 1) text += ": " + std::to_string(n);
    }
    text += ')';
  }
  if (!last_error_.empty()) text += "; last broker error: " + last_error_;
  bool timed_out = purged_;
  for (const auto& st : stats_) {
    timed_out = timed_out || st.failures.count(rd_kafka_err2str(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT));
  }
  std::string brokers = "; check that the brokers " + diag::quoted(settings().brokers) +
                        " (-b/--brokers) are reachable, or raise ";
  if (gave_up_) {
    text += brokers + "--timeout";
  } else if (timed_out) {
    text += brokers + "message.timeout.ms (-X message.timeout.ms=MS)";
  } else {
    text += "; the brokers refused them: check the topics and the brokers' logs";
  }
  return text;
}

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  static_cast<Producer*>(opaque)->delivered(m);
}

void Producer::delivered(const rd_kafka_message_t* m) {
  auto topic = static_cast<size_t>(reinterpret_cast<uintptr_t>(rd_kafka_topic_opaque(m->rkt)));
  TopicStats& s = stats_[topic];
  if (outstanding_ > 0) --outstanding_;
  // An acknowledgement, or an error from a broker (librdkafka's own are negative): an answer.
  if (m->err >= RD_KAFKA_RESP_ERR_NO_ERROR) heard_ = true;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++s.delivered;
    return;
  }
  if (is_record_error(m->err)) {
    ++s.refused;
    ++s.refusals[rd_kafka_err2str(m->err)];
    if (on_refusal_) {
      on_refusal_(Refusal{topic, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private)),
                          std::string_view(static_cast<const char*>(m->payload), m->len), m->err});
    }
    return;
  }
  ++s.failed;
  if (on_failure_) {
    on_failure_(topic, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private)));
  }
  if (purged_ &&
      (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)) {
    ++s.failures[purge_reason_];
  } else {
    ++s.failures[rd_kafka_err2str(m->err)];
  }
}

void Producer::on_error(rd_kafka_t*, int err, const char* reason, void* opaque) {
  static_cast<Producer*>(opaque)->error(static_cast<rd_kafka_resp_err_t>(err), reason);
}

void Producer::error(rd_kafka_resp_err_t err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    fatal_ = true;
    return;
  }
  last_error_ = reason;
  // Each kind of error once: librdkafka keeps retrying until message.timeout.ms.
  if (std::find(warned_.begin(), warned_.end(), static_cast<int>(err)) == warned_.end()) {
    warned_.push_back(static_cast<int>(err));
    diag::warning(std::string(reason) + "; retrying for up to " +
                  (timeout_ms_ < message_timeout_ms_
                       ? "--timeout (" + std::to_string(timeout_ms_)
                       : "message.timeout.ms (" + std::to_string(message_timeout_ms_)) +
                  " ms)");
  } else {
    diag::info(reason);
  }
}

void Producer::on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  std::string line = std::string("librdkafka ") + fac + ": " + buf;
  if (level <= 4) {
    diag::info(line);
  } else {
    diag::debug(line);
  }
}

void Producer::throw_if_fatal() {
  char reason[512];
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_.get(), reason, sizeof reason);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  throw RuntimeError(std::string("the Kafka producer failed: ") + reason +
                     "; messages after the failure were not delivered");
}

// A field's value as a message key: a string's text, or the JSON of a number or boolean.
// Returns a reason when there is none.
std::optional<std::string> key_from(simdjson::dom::element v, std::string& key,
                                    const std::string& field) {
  using T = simdjson::dom::element_type;
  switch (v.type()) {
    case T::STRING:
      key = std::string_view(v.get_string().value_unsafe());
      return std::nullopt;
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE:
    case T::BOOL:
      key = simdjson::to_string(v);
      return std::nullopt;
    default:
      return "the key field " + diag::quoted(field) + " is " + record::json_type_name(v.type()) +
             "; keys come from strings, numbers or booleans";
  }
}

namespace {

// Kafka keeps a message time of 1 ms after the epoch or later: CreateTime must not be
// negative, and librdkafka reads 0 as "now". An earlier time cannot be kept, so the record is
// rejected rather than sent with another time.
std::optional<std::string> too_early(int64_t ms, const std::string& field, std::string_view raw) {
  if (ms >= 1) return std::nullopt;
  return "the time field " + diag::quoted(field) + " holds " + diag::quoted(raw) +
         ", before 1970-01-01T00:00:00.001Z, which a Kafka message time cannot be";
}

// Epoch seconds, or milliseconds from 10^11 on, in milliseconds (truncated).
bool epoch_ms(double d, int64_t& ms) {
  if (!(d > -1e15 && d < 1e15)) return false;
  ms = static_cast<int64_t>(d >= 1e11 ? d : d * 1000);
  return true;
}

}  // namespace

// An event time in milliseconds since the epoch: an RFC 3339 string, or a number of seconds
// (milliseconds when above 10^11, i.e. after 1973 in milliseconds).
std::optional<std::string> time_from(simdjson::dom::element v, int64_t& ms,
                                     const std::string& field) {
  using T = simdjson::dom::element_type;
  if (v.type() == T::STRING) {
    std::string_view s = v.get_string().value_unsafe();
    if (auto t = record::parse_rfc3339(s)) {
      ms = t->seconds * 1000 + t->nanos / 1000000;
      return too_early(ms, field, s);
    }
    return "the time field " + diag::quoted(field) + " holds " + diag::quoted(s) +
           ", not an RFC 3339 time";
  }
  if (v.type() == T::INT64 || v.type() == T::UINT64 || v.type() == T::DOUBLE) {
    double d = v.get_double().value_unsafe();
    if (v.type() == T::INT64) d = static_cast<double>(v.get_int64().value_unsafe());
    if (v.type() == T::UINT64) d = static_cast<double>(v.get_uint64().value_unsafe());
    if (epoch_ms(d, ms)) return too_early(ms, field, simdjson::to_string(v));
  }
  return "the time field " + diag::quoted(field) + " is not an RFC 3339 string or epoch number";
}

namespace {
std::string pointer_of(const std::vector<std::string>& path) {
  std::string p;
  for (const auto& step : path) base::append_pointer_token(p, step);
  return p;
}
}  // namespace

RecordFields::RecordFields(std::string key_field, std::string time_field)
    : key_field_(std::move(key_field)), time_field_(std::move(time_field)) {
  if (!key_field_.empty()) key_path_ = record::split_path(key_field_);
  if (!time_field_.empty()) time_path_ = record::split_path(time_field_);
  key_pointer_ = pointer_of(key_path_);
  time_pointer_ = pointer_of(time_path_);
}

std::optional<std::string> RecordFields::read(std::string_view text, std::string_view& key,
                                              int64_t& event_ms) {
  if (!fast(text, event_ms)) {
    if (auto why = slow(text, event_ms)) return why;
  }
  key = key_;
  return std::nullopt;
}

bool RecordFields::fast(std::string_view text, int64_t& event_ms) {
  namespace od = simdjson::ondemand;
  od::document doc;
  if (ondemand_.iterate(text.data(), text.size(), text.size() + simdjson::SIMDJSON_PADDING)
          .get(doc)) {
    return false;
  }
  od::json_type type;
  if (!key_path_.empty()) {
    od::value v;
    if (doc.at_pointer(key_pointer_).get(v) || v.type().get(type)) return false;
    if (type == od::json_type::string) {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      key_.assign(s);
    } else if (type == od::json_type::number || type == od::json_type::boolean) {
      std::string_view raw = v.raw_json_token();
      while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\r' ||
                              raw.back() == '\n')) {
        raw.remove_suffix(1);
      }
      key_.assign(raw);
    } else {
      return false;
    }
  }
  if (!time_path_.empty()) {
    od::value v;
    if (doc.at_pointer(time_pointer_).get(v) || v.type().get(type)) return false;
    if (type == od::json_type::string) {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      auto t = record::parse_rfc3339(s);
      if (!t) return false;
      event_ms = t->seconds * 1000 + t->nanos / 1000000;
    } else if (type == od::json_type::number) {
      double d;
      if (v.get_double().get(d) || !epoch_ms(d, event_ms)) return false;
    } else {
      return false;
    }
    if (event_ms < 1) return false;  // the slow way says why
  }
  return true;
}

std::optional<std::string> RecordFields::slow(std::string_view text, int64_t& event_ms) {
  simdjson::dom::element root;
  if (auto err = dom_.parse(text.data(), text.size(), false).get(root)) {
    return record::invalid_json_reason(text, simdjson::error_message(err));
  }
  if (!root.is_object()) {
    return std::string("not a JSON object but ") + record::json_type_name(root.type());
  }
  if (!key_path_.empty()) {
    simdjson::dom::element v;
    if (record::find_path(root, key_path_).get(v) ||
        v.type() == simdjson::dom::element_type::NULL_VALUE) {
      return "missing key field " + diag::quoted(key_field_);
    }
    if (auto why = key_from(v, key_, key_field_)) return why;
  }
  if (!time_path_.empty()) {
    simdjson::dom::element v;
    if (record::find_path(root, time_path_).get(v)) {
      return "missing time field " + diag::quoted(time_field_);
    }
    if (auto why = time_from(v, event_ms, time_field_)) return why;
  }
  return std::nullopt;
}

void Pacer::wait(Producer& producer, int64_t event_ms) {
  using clock = std::chrono::steady_clock;
  clock::time_point when;
  if (rate_ > 0) {
    when = start_ + std::chrono::duration_cast<clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(count_++) / rate_));
  } else {
    if (!first_event_ms_) {
      first_event_ms_ = event_ms;
      start_ = clock::now();
    }
    double gap = static_cast<double>(event_ms - *first_event_ms_) / 1000.0 / speed_;
    if (gap <= 0) return;
    when = start_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(gap));
  }
  // Records due within 5 ms go now: a fast stream is sent in bursts of 5 ms and more, not
  // one wait of a millisecond (a poll, a wake-up, the producer's threads woken) every few
  // records; the schedule counts from the start, so the mean rate is exact still.
  constexpr auto kEarly = std::chrono::milliseconds(5);
  if (when - clock::now() < kEarly) return;
  for (auto now = clock::now(); now < when && !io::stop_requested(); now = clock::now()) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when - now).count();
    producer.poll(static_cast<int>(std::clamp<int64_t>(ms, 1, 100)));
  }
}

namespace {

// `-o kafka:TOPIC`, `--rejects kafka:TOPIC`: each line one message.
class TopicSink : public io::Sink {
 public:
  explicit TopicSink(const std::string& topic) : io::Sink("kafka:" + topic) {
    topic_ = producer_.add_topic(topic);
  }
  ~TopicSink() override {
    // Given up on unreachable brokers: said already, and nothing more can go.
    if (committed_ || producer_.gave_up()) return;
    try {
      // A failed run: send what was written, but do not hold the exit for long.
      flush();
      producer_.flush(5000);
      if (auto text = producer_.failure_text(); !text.empty()) diag::error(name() + ": " + text);
    } catch (const std::exception& e) {
      diag::error(e.what());
    }
  }
  void commit() override {
    flush();
    producer_.flush();
    committed_ = true;
    const TopicStats& s = producer_.stats()[topic_];
    if (s.failed + s.refused == 0) return;
    std::string text = std::to_string(s.failed + s.refused) + " of " +
                       std::to_string(s.produced + s.refused) + " messages to " +
                       diag::quoted(s.name) + " were not delivered (";
    bool first = true;
    for (const auto* reasons : {&s.failures, &s.refusals}) {
      for (const auto& [reason, n] : *reasons) {
        if (!first) text += ", ";
        first = false;
        text += reason + ": " + std::to_string(n);
      }
    }
    text += ")";
    throw RuntimeError(text + "; check the brokers (-b/--brokers) and message.max.bytes");
  }
  std::optional<uint64_t> delivered() const override {
    const TopicStats& s = producer_.stats()[topic_];
    if (s.failed + s.refused == 0 && !producer_.gave_up()) return std::nullopt;
    return s.delivered;
  }
  bool takes_keys() const override { return true; }
  void write_keyed(std::string_view line, std::optional<std::string_view> key) override {
    flush();  // what was written before goes first
    OutMessage m;
    m.payload = line;
    if (key) m.key = &*key;
    producer_.produce(topic_, m);
    if ((++keyed_ & 255) == 0) producer_.poll(0);
  }

 protected:
  void write_out(const char* data, size_t n) override {
    std::string_view rest(data, n);
    OutMessage m;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      if (nl == std::string_view::npos) nl = rest.size();
      m.payload = rest.substr(0, nl);
      producer_.produce(topic_, m);
      rest.remove_prefix(std::min(nl + 1, rest.size()));
    }
    producer_.poll(0);
  }

 private:
  Producer producer_;
  size_t topic_ = 0;
  bool committed_ = false;
  uint64_t keyed_ = 0;
};

}  // namespace

std::unique_ptr<io::Sink> open_topic_sink(const std::string& topic) {
  return std::make_unique<TopicSink>(topic);
}

}  // namespace cdn::kafka
