// The proxy's connections: the listeners, one pair of threads per client connection (its
// requests upstream, the answers back), and what the proxy notes and rewrites on the way
// (txn_rewrite.hpp). Transaction markers are written in txn_markers.cpp.
#include "common/kafka/txn_proxy.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <optional>
#include <unordered_map>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/metric.hpp"
#include "common/kafka/frame_io.hpp"
#include "common/kafka/txn_rewrite.hpp"
#include "common/kafka/wire.hpp"

namespace cdn::kafka {

namespace {

// The mock's answers are trusted: a Fetch answer may be as large as a client asks.
constexpr size_t kMaxAnswerBytes = size_t{1} << 30;

int16_t be16(const std::string& s) {
  return static_cast<int16_t>((static_cast<unsigned char>(s[0]) << 8) |
                              static_cast<unsigned char>(s[1]));
}

// What the proxy needs of a Produce request's head.
struct ProduceHead {
  bool read = false;  // false: the request could not be read (nor the rest, then)
  int16_t version = 0;
  int32_t correlation_id = 0;
  bool transactional = false;  // then it is read whole and followed
  int16_t acks = 0;            // 0: no answer comes
};

// Reads as much of a Produce request's head as that takes.
ProduceHead produce_head(int fd, size_t size, std::string& frame) {
  for (size_t want : {size_t{512}, size}) {
    if (!read_more(fd, size, frame, want)) return {};
    try {
      wire::Reader r(frame);
      ProduceHead h;
      r.skip(2);
      h.version = r.i16();
      h.correlation_id = r.i32();
      r.str();  // client id
      if (h.version >= 3) h.transactional = !r.str().empty();
      h.acks = r.i16();
      h.read = true;
      return h;
    } catch (const wire::ParseError&) {
      if (frame.size() == size) return {};
    }
  }
  return {};
}

// How often, at most, the drops of one partition are reported.
constexpr auto kDropReportEvery = std::chrono::seconds(1);

}  // namespace

struct TxnProxy::Conn {
  int client = -1;
  int upstream = -1;
  std::mutex mu;
  std::unordered_map<int32_t, PendingAnswer> pending;  // by correlation id
  void shut() {
    ::shutdown(client, SHUT_RDWR);
    ::shutdown(upstream, SHUT_RDWR);
  }
  ~Conn() {
    close_fd(client);
    close_fd(upstream);
  }
};

TxnProxy::TxnProxy(std::vector<int> upstream_ports, size_t max_connections)
    : upstream_(std::move(upstream_ports)),
      max_connections_(max_connections),
      marker_fd_(upstream_.size(), -1) {
  try {
    for (size_t i = 0; i < upstream_.size(); ++i) {
      int port = 0;
      listen_fd_.push_back(listen_local(port));
      ports_.push_back(port);
    }
  } catch (...) {
    for (int& fd : listen_fd_) close_fd(fd);
    throw;
  }
  for (size_t i = 0; i < upstream_.size(); ++i)
    acceptors_.emplace_back([this, i] { accept_loop(i); });
  reaper_ = std::thread([this] { reaper(); });
}

TxnProxy::~TxnProxy() {
  {
    std::lock_guard lock(txn_mu_);
    stop_ = true;
  }
  markers_cv_.notify_all();
  for (auto& t : acceptors_) t.join();
  reaper_.join();
  for (int& fd : listen_fd_) close_fd(fd);  // the acceptors have ended
  std::lock_guard lock(conns_mu_);
  for (auto& [weak, threads] : conns_) {
    if (auto c = weak.lock()) c->shut();
  }
  for (auto& [weak, threads] : conns_) {
    for (auto& t : threads) t.join();
  }
  for (int& fd : marker_fd_) close_fd(fd);
}

std::string TxnProxy::bootstraps() const {
  std::string s;
  for (int port : ports_) {
    if (!s.empty()) s += ',';
    s += "127.0.0.1:" + std::to_string(port);
  }
  return s;
}

void TxnProxy::set_down(int32_t id, bool down) {
  std::lock_guard lock(listen_mu_);
  for (size_t i = 0; i < listen_fd_.size(); ++i) {
    if (id != -1 && static_cast<size_t>(id) != i + 1) continue;
    int& fd = listen_fd_[i];
    if (down && fd >= 0) {
      ::shutdown(fd, SHUT_RDWR);  // wakes the acceptor
      close_fd(fd);
    } else if (!down && fd < 0) {
      fd = listen_local(ports_[i]);
    }
  }
}

void TxnProxy::accept_loop(size_t broker) {
  while (!stop_) {
    int fd = -1;
    {
      std::lock_guard lock(listen_mu_);
      fd = listen_fd_[broker];
    }
    if (fd < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int client = -1;
    {
      std::lock_guard lock(listen_mu_);
      if (listen_fd_[broker] != fd) continue;  // taken down meanwhile
      client = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    }
    if (client < 0) continue;
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_shared<Conn>();
    c->client = client;
    std::lock_guard lock(conns_mu_);
    conns_.remove_if([](auto& e) {
      if (!e.first.expired()) return false;
      for (auto& t : e.second) t.join();
      return true;
    });
    if (conns_.size() >= max_connections_) {
      // Each connection holds two threads: past the cap the client sees its connection
      // closed, as by a broker out of file descriptors, and retries.
      if (!at_cap_) {
        diag::warning("closing new client connections: " + std::to_string(conns_.size()) +
                      " are open, the most --max-connections allows");
      }
      at_cap_ = true;
      refused_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (at_cap_) diag::info("accepting client connections again");
    at_cap_ = false;
    c->upstream = connect_local(upstream_[broker]);
    if (c->upstream < 0) {
      // The mock broker is down: the client sees its connection closed, as with the broker.
      diag::debug("broker " + std::to_string(broker + 1) + " refuses connections (" +
                  errno_text(errno) + "); closing the client's");
      continue;
    }
    std::vector<std::thread> threads;
    threads.emplace_back([this, c] { requests(c); });
    threads.emplace_back([this, c] { responses(c); });
    conns_.emplace_back(c, std::move(threads));
  }
}

void TxnProxy::requests(const std::shared_ptr<Conn>& c) {
  std::string frame;
  std::vector<char> buf(kPieceBytes);
  size_t size = 0;
  while (read_head(c->client, size, frame, 2)) {
    int16_t api = frame.size() < 2 ? -1 : be16(frame);
    if (api >= 0 && static_cast<size_t>(api) < kApiKeys) {
      requests_[api].fetch_add(1, std::memory_order_relaxed);
    }
    bool whole = inspected(api);
    if (api == kProduce) {
      ProduceHead h = produce_head(c->client, size, frame);
      whole = h.transactional;
      if (h.read && !h.transactional && h.acks != 0 && h.version >= kProduceLogStartVersion) {
        // Its answer tells where the log starts now (what the mock dropped).
        PendingAnswer p;
        p.api = kProduce;
        p.version = h.version;
        std::lock_guard lock(c->mu);
        c->pending[h.correlation_id] = std::move(p);
      }
    }
    if (!whole) {
      if (!pass_through(c->client, c->upstream, size, frame, buf)) break;
      continue;
    }
    if (!read_rest(c->client, size, frame)) break;
    note_request(*c, frame);
    if (!write_frame(c->upstream, frame)) break;
  }
  if (size > kMaxFrameBytes) {
    diag::warning("closing a client connection that announced a request of " +
                  std::to_string(size) + " bytes, over the limit of " +
                  std::to_string(kMaxFrameBytes) + " (Kafka's socket.request.max.bytes)");
  }
  c->shut();
}

void TxnProxy::note_request(Conn& c, std::string& frame) {
  try {
    RequestNote note = read_request(frame);
    PendingAnswer& p = note.pending;
    if (note.as_producer) {
      std::unique_lock lock(txn_mu_);
      if (log_.superseded(p.tid, p.pid, p.epoch)) {
        lock.unlock();
        // A newer instance has started: this one is fenced, and what it sends is refused
        // before it reaches the log.
        diag::debug("refusing a request of a fenced instance of transactional id " +
                    diag::quoted(p.tid));
        p.own = refusal(frame, kInvalidProducerEpoch);
        frame = stand_in(note.correlation_id);
        std::lock_guard conn_lock(c.mu);
        c.pending[note.correlation_id] = std::move(p);
        return;
      }
    }
    if (!note.assignments.empty()) {
      std::lock_guard lock(txn_mu_);
      rounds_.assigned(p.group, p.generation, std::move(note.assignments));
    }
    switch (note.txn) {
      case RequestNote::Txn::init_producer_id: {
        std::lock_guard lock(txn_mu_);
        log_.set_timeout(p.tid, std::chrono::milliseconds(note.timeout_ms));
        // A new instance with this id fences the old one: what it left open is aborted.
        bool ended = end_txn(p.tid, false);
        if (!end_fenced(p.tid) || !ended) {
          diag::warning("cannot abort the transaction left open by transactional id " +
                        diag::quoted(p.tid) + "; its partitions' readers wait");
        }
        break;
      }
      case RequestNote::Txn::offsets: {
        std::lock_guard lock(txn_mu_);
        for (const auto& [tp, offset] : note.offsets) log_.add_offsets(p.tid, p.group, tp, offset);
        break;
      }
      case RequestNote::Txn::none:
        break;
    }
    if (note.answer) {
      std::lock_guard lock(c.mu);
      c.pending[note.correlation_id] = std::move(note.pending);
    }
  } catch (const wire::ParseError& e) {
    diag::debug(std::string("passing on a request not understood: ") + e.what());
  }
}

void TxnProxy::responses(const std::shared_ptr<Conn>& c) {
  std::string frame;
  std::vector<char> buf(kPieceBytes);
  size_t size = 0;
  while (read_head(c->upstream, size, frame, 4, kMaxAnswerBytes)) {
    std::optional<PendingAnswer> p;
    if (frame.size() == 4) {
      int32_t corr = wire::Reader(frame).i32();
      std::lock_guard lock(c->mu);
      auto it = c->pending.find(corr);
      if (it != c->pending.end()) {
        p = std::move(it->second);
        c->pending.erase(it);
      }
    }
    if (!p || !needs_rewrite(*p)) {
      if (!pass_through(c->upstream, c->client, size, frame, buf)) break;
      continue;
    }
    if (!read_rest(c->upstream, size, frame)) break;
    try {
      frame = rewrite(*p, std::move(frame));
    } catch (const wire::ParseError& e) {
      diag::debug(std::string("passing on an answer not understood: ") + e.what());
    }
    if (!write_frame(c->client, frame)) break;
  }
  c->shut();
}

bool TxnProxy::needs_rewrite(const PendingAnswer& p) {
  if (p.api != kFetch || !p.own.empty()) return true;
  // A partition no transaction has added holds no transactional batch: the cluster's own
  // answer (last stable offset = high watermark, nothing aborted) is right.
  std::lock_guard lock(txn_mu_);
  return std::any_of(p.asked.begin(), p.asked.end(),
                     [&](const auto& f) { return log_.touched(f.first); });
}

std::string TxnProxy::rewrite(const PendingAnswer& p, std::string frame) {
  if (!p.own.empty()) return p.own;
  switch (p.api) {
    case kInitProducerId: {
      std::lock_guard lock(txn_mu_);
      return init_producer_id_answer(p, std::move(frame), log_);
    }
    case kMetadata:
      return metadata_answer(p, std::move(frame), ports_);
    case kFindCoordinator:
      return find_coordinator_answer(p, std::move(frame), ports_);
    case kSyncGroup: {
      std::lock_guard lock(txn_mu_);
      return sync_group_answer(p, std::move(frame), rounds_);
    }
    case kFetch: {
      uint64_t seen = 0;  // markers written before this answer was read
      {
        std::lock_guard lock(txn_mu_);
        seen = markers_written_;
      }
      bool only_open = false;
      std::string answer = fetch_answer(
          p, frame,
          [&](const TopicPartition& tp, int64_t fetch_offset, int64_t hwm,
              std::string_view records) {
            std::lock_guard lock(txn_mu_);
            return log_.committed_view(tp, fetch_offset, hwm, records);
          },
          only_open);
      if (only_open) {
        // Only an open transaction's data: hold the answer, as a broker would, until a marker
        // is written or the reader's wait is up, rather than have it ask again at once.
        std::unique_lock lock(txn_mu_);
        markers_cv_.wait_for(lock, std::chrono::milliseconds(std::clamp(p.max_wait, 0, 1000)),
                             [&] { return markers_written_ != seen || stop_; });
      }
      return answer;
    }
    case kOffsetFetch: {
      std::lock_guard lock(txn_mu_);
      return offset_fetch_answer(p, std::move(frame), log_);
    }
    case kProduce: {
      auto starts = produce_log_starts(p.version, frame);
      if (!starts.empty()) {
        std::lock_guard lock(drops_mu_);
        for (const auto& [tp, start] : starts) drops_.note(tp, start);
        report_drops_locked(kDropReportEvery);
      }
      if (p.produced.empty()) return frame;
      std::lock_guard lock(txn_mu_);
      return produce_answer(p, std::move(frame), log_);
    }
    case kListOffsets: {
      std::lock_guard lock(txn_mu_);
      return list_offsets_answer(p, std::move(frame), log_);
    }
    case kOffsetCommit: {
      std::lock_guard lock(txn_mu_);
      return offset_commit_answer(p, std::move(frame), log_);
    }
    case kAddPartitionsToTxn: {
      std::lock_guard lock(txn_mu_);
      return add_partitions_answer(p, std::move(frame), log_);
    }
    case kEndTxn:
      return end_txn_answer(std::move(frame), [&]() -> int16_t {
        std::lock_guard lock(txn_mu_);
        if (log_.fenced(p.tid, p.pid, p.epoch)) {
          // Its transaction was aborted for its timeout: what it wrote since is aborted too.
          end_fenced(p.tid);
          return kInvalidProducerEpoch;
        }
        // The producer retries EndTxn on this error, and the markers are written again.
        return end_txn(p.tid, p.commit) ? 0 : kCoordinatorLoadInProgress;
      });
    default:
      return frame;
  }
}

void TxnProxy::report_drops_locked(std::chrono::milliseconds every) {
  for (const auto& d : drops_.due(std::chrono::steady_clock::now(), every)) {
    diag::warning("the mock dropped " + std::to_string(d.to - d.from) +
                  " acknowledged messages of " + diag::quoted(d.tp.topic) + "/" +
                  std::to_string(d.tp.partition) + " (offsets " + std::to_string(d.from) + " to " +
                  std::to_string(d.to - 1) + "; " + std::to_string(d.total) +
                  " in all): it keeps about 5 MiB or 100000 message sets a partition; use "
                  "more partitions, or read while writing");
  }
}

bool TxnProxy::report_drops() {
  std::lock_guard lock(drops_mu_);
  report_drops_locked(std::chrono::milliseconds(0));
  return drops_.total() > 0;
}

std::string TxnProxy::dropped_answer() {
  std::lock_guard lock(drops_mu_);
  std::string s = "ok " + std::to_string(drops_.total());
  for (const auto& [tp, n] : drops_.by_partition()) {
    s += ' ' + tp.topic + '/' + std::to_string(tp.partition) + '=' + std::to_string(n);
  }
  return s;
}

void TxnProxy::write_metrics(std::string& out) {
  // The request types a Kafka client sends most, by name; others by their API key.
  static const std::map<int, const char*> kNames = {
      {0, "Produce"},          {1, "Fetch"},           {2, "ListOffsets"},
      {3, "Metadata"},         {8, "OffsetCommit"},    {9, "OffsetFetch"},
      {10, "FindCoordinator"}, {11, "JoinGroup"},      {12, "Heartbeat"},
      {13, "LeaveGroup"},      {14, "SyncGroup"},      {18, "ApiVersions"},
      {19, "CreateTopics"},    {22, "InitProducerId"}, {24, "AddPartitionsToTxn"},
      {25, "AddOffsetsToTxn"}, {26, "EndTxn"},         {28, "TxnOffsetCommit"}};
  diag::metric_header(out, "cdn_broker_up", "1 while the broker listens, 0 while it is down.",
                      "gauge");
  {
    std::lock_guard lock(listen_mu_);
    for (size_t i = 0; i < listen_fd_.size(); ++i) {
      out += "cdn_broker_up{broker=\"" + std::to_string(i + 1) + "\"} " +
             (listen_fd_[i] >= 0 ? "1" : "0") + "\n";
    }
  }
  size_t open = 0;
  {
    std::lock_guard lock(conns_mu_);
    for (const auto& e : conns_) open += e.first.expired() ? 0 : 1;
  }
  diag::metric_header(out, "cdn_broker_connections", "Client connections open.", "gauge");
  out += "cdn_broker_connections " + std::to_string(open) + "\n";
  diag::metric_header(out, "cdn_broker_connections_refused_total",
                      "Client connections closed at once: --max-connections were open.", "counter");
  out += "cdn_broker_connections_refused_total " +
         std::to_string(refused_.load(std::memory_order_relaxed)) + "\n";
  diag::metric_header(out, "cdn_broker_requests_total", "Client requests by Kafka API.", "counter");
  for (size_t k = 0; k < kApiKeys; ++k) {
    uint64_t n = requests_[k].load(std::memory_order_relaxed);
    auto it = kNames.find(static_cast<int>(k));
    if (n == 0 && it == kNames.end()) continue;
    out += "cdn_broker_requests_total{api=\"" +
           (it != kNames.end() ? std::string(it->second) : std::to_string(k)) + "\"} " +
           std::to_string(n) + "\n";
  }
  diag::metric_header(out, "cdn_broker_dropped_messages_total",
                      "Acknowledged messages the mock dropped from its bounded logs.", "counter");
  std::lock_guard lock(drops_mu_);
  out += "cdn_broker_dropped_messages_total " + std::to_string(drops_.total()) + "\n";
}

}  // namespace cdn::kafka
