#include "common/kafka/txn_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <set>
#include <unordered_map>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/kafka/wire.hpp"

namespace cdn::kafka {

namespace {

// Kafka API keys and error codes this file reads or writes.
enum Api : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kInitProducerId = 22,
  kAddPartitionsToTxn = 24,
  kEndTxn = 26,
  kTxnOffsetCommit = 28,
};
constexpr int16_t kNotLeader = 6;
constexpr int16_t kCoordinatorLoadInProgress = 14;
constexpr int16_t kInvalidProducerEpoch = 47;
constexpr int16_t kUnstableOffsetCommit = 88;
constexpr size_t kMaxFrame = size_t{1} << 30;
constexpr size_t kPieceBytes = 256 * 1024;  // messages larger than this are spliced
constexpr auto kMarkerTimeout = std::chrono::seconds(10);

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Listens on 127.0.0.1:port, or on a free port when port is 0 (and sets it).
int listen_local(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw RuntimeError("cannot open a socket: " + errno_text(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    int e = errno;
    ::close(fd);
    throw RuntimeError("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + errno_text(e));
  }
  port = ntohs(a.sin_port);
  return fd;
}

int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool read_exact(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// The size of the next size-prefixed Kafka message, and its first `peek` bytes (fewer when it
// is shorter) in `head`. False at the end of the connection, or on a size out of range.
bool read_head(int fd, size_t& size, std::string& head, size_t peek) {
  unsigned char s[4];
  if (!read_exact(fd, reinterpret_cast<char*>(s), 4)) return false;
  size = (size_t{s[0]} << 24) | (size_t{s[1]} << 16) | (size_t{s[2]} << 8) | s[3];
  if (size > kMaxFrame) return false;
  head.resize(std::min(size, peek));
  return read_exact(fd, head.data(), head.size());
}

// The rest of a message of `size` bytes whose head is in `frame`.
bool read_rest(int fd, size_t size, std::string& frame) {
  size_t have = frame.size();
  frame.resize(size);
  return read_exact(fd, frame.data() + have, size - have);
}

// One whole size-prefixed Kafka message, without its size.
bool read_frame(int fd, std::string& frame) {
  size_t size = 0;
  return read_head(fd, size, frame, 0) && read_rest(fd, size, frame);
}

bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool write_frame(int fd, const std::string& frame) {
  auto n = static_cast<uint32_t>(frame.size());
  unsigned char size[4] = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
                           static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  iovec iov[2] = {{size, 4}, {const_cast<char*>(frame.data()), frame.size()}};
  size_t left = 4 + frame.size();
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  while (left > 0) {
    ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    left -= static_cast<size_t>(w);
    auto done = static_cast<size_t>(w);
    while (msg.msg_iovlen > 0 && done >= msg.msg_iov[0].iov_len) {
      done -= msg.msg_iov[0].iov_len;
      ++msg.msg_iov;
      --msg.msg_iovlen;
    }
    if (msg.msg_iovlen > 0) {
      msg.msg_iov[0].iov_base = static_cast<char*>(msg.msg_iov[0].iov_base) + done;
      msg.msg_iov[0].iov_len -= done;
    }
  }
  return true;
}

// Passes a message of `size` bytes whose head was read on as it arrives: the size and head,
// then the rest in pieces, so a large message is not held back until it is whole.
bool pass_through(int from, int to, size_t size, std::string& head, std::vector<char>& buf) {
  if (size <= kPieceBytes) {  // small: one read, one write
    return read_rest(from, size, head) && write_frame(to, head);
  }
  std::string first(4, '\0');
  wire::put_be(first, 0, size, 4);
  first += head;
  if (!send_all(to, first.data(), first.size())) return false;
  size_t left = size - head.size();
  // socket to pipe to socket, without a copy through this process
  thread_local struct Pipe {
    int fd[2] = {-1, -1};
    Pipe() {
      if (::pipe2(fd, O_CLOEXEC) == 0) ::fcntl(fd[1], F_SETPIPE_SZ, 1 << 20);
    }
    ~Pipe() {
      close_fd(fd[0]);
      close_fd(fd[1]);
    }
  } pipe;
  while (left > 0 && pipe.fd[0] >= 0) {
    ssize_t in = ::splice(from, nullptr, pipe.fd[1], nullptr, left, SPLICE_F_MOVE | SPLICE_F_MORE);
    if (in < 0 && errno == EINTR) continue;
    if (in <= 0) return false;
    left -= static_cast<size_t>(in);
    for (auto out = static_cast<size_t>(in); out > 0;) {
      ssize_t w = ::splice(pipe.fd[0], nullptr, to, nullptr, out,
                           SPLICE_F_MOVE | (left > 0 ? SPLICE_F_MORE : 0));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;  // the pipe keeps bytes that are lost with the connection
      out -= static_cast<size_t>(w);
    }
  }
  while (left > 0) {
    ssize_t r = ::recv(from, buf.data(), std::min(left, buf.size()), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    if (!send_all(to, buf.data(), static_cast<size_t>(r))) return false;
    left -= static_cast<size_t>(r);
  }
  return true;
}

int16_t be16(const std::string& s) {
  return static_cast<int16_t>((static_cast<unsigned char>(s[0]) << 8) |
                              static_cast<unsigned char>(s[1]));
}

// Whether a request of this API is read on its way (see note_request).
bool inspected(int16_t api) {
  switch (api) {
    case kFetch:
    case kListOffsets:
    case kMetadata:
    case kOffsetCommit:
    case kOffsetFetch:
    case kFindCoordinator:
    case kInitProducerId:
    case kAddPartitionsToTxn:
    case kEndTxn:
    case kTxnOffsetCommit:
      return true;
    default:
      return false;
  }
}

// Reads more of a message of `size` bytes, up to `want` bytes of it in all.
bool read_more(int fd, size_t size, std::string& frame, size_t want) {
  size_t have = frame.size();
  want = std::min(size, std::max(want, have));
  frame.resize(want);
  return read_exact(fd, frame.data() + have, want - have);
}

// Whether a Produce request carries a transactional id (then it is read whole and followed).
// Reads as much of its head as that takes; false also when the connection fails, which the
// caller then sees on its next read.
bool transactional(int fd, size_t size, std::string& frame) {
  for (size_t want : {size_t{512}, size}) {
    if (!read_more(fd, size, frame, want)) return false;
    try {
      wire::Reader r(frame);
      r.skip(2);
      int16_t version = r.i16();
      r.skip(4);
      r.str();  // client id
      return version >= 3 && !r.str().empty();
    } catch (const wire::ParseError&) {
      if (frame.size() == size) return false;
    }
  }
  return false;
}

// Calls f(partition) for each partition of an array of topics, each an array of partitions
// that start with their index (the shape of most Kafka requests and answers); f reads the
// rest of the partition's fields.
template <typename F>
void each_partition(wire::Reader& r, F f) {
  for (int32_t t = r.count(); t > 0; --t) {
    std::string topic(r.str());
    for (int32_t n = r.count(); n > 0; --n) f(TopicPartition{topic, r.i32()});
  }
}

// Copies a NULLABLE_STRING, keeping null apart from empty.
void copy_nullable(wire::Reader& r, wire::Writer& w) {
  wire::Reader peek(r.rest());
  if (peek.i16() < 0) {
    r.i16();
    w.null_str();
  } else {
    w.str(r.str());
  }
}

void patch_i16(std::string& s, size_t at, int16_t v) {
  wire::put_be(s, at, static_cast<uint16_t>(v), 2);
}

void patch_i64(std::string& s, size_t at, int64_t v) {
  wire::put_be(s, at, static_cast<uint64_t>(v), 8);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct TxnProxy::Pending {
  int16_t api = -1;
  int16_t version = 0;
  std::string group;
  std::string tid;
  int64_t pid = -1;
  int16_t epoch = 0;
  bool commit = false;
  int32_t max_wait = 0;
  // What the request asked of each partition: the fetch offset of a read_committed Fetch,
  // the timestamp of a read_committed ListOffsets.
  std::map<TopicPartition, int64_t> asked;
  std::vector<std::pair<TopicPartition, int64_t>> produced;  // transactional Produce: pids
};

struct TxnProxy::Conn {
  int client = -1;
  int upstream = -1;
  std::mutex mu;
  std::unordered_map<int32_t, Pending> pending;  // by correlation id
  void shut() {
    ::shutdown(client, SHUT_RDWR);
    ::shutdown(upstream, SHUT_RDWR);
  }
  ~Conn() {
    close_fd(client);
    close_fd(upstream);
  }
};

TxnProxy::TxnProxy(std::vector<int> upstream_ports)
    : upstream_(std::move(upstream_ports)), marker_fd_(upstream_.size(), -1) {
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
    c->upstream = connect_local(upstream_[broker]);
    if (c->upstream < 0) {
      // The mock broker is down: the client sees its connection closed, as with the broker.
      diag::debug("broker " + std::to_string(broker + 1) + " refuses connections (" +
                  errno_text(errno) + "); closing the client's");
      continue;
    }
    std::lock_guard lock(conns_mu_);
    conns_.remove_if([](auto& e) {
      if (!e.first.expired()) return false;
      for (auto& t : e.second) t.join();
      return true;
    });
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
    if (frame.size() < 2 || !(inspected(be16(frame)) ||
                              (be16(frame) == kProduce && transactional(c->client, size, frame)))) {
      if (!pass_through(c->client, c->upstream, size, frame, buf)) break;
      continue;
    }
    if (!read_rest(c->client, size, frame)) break;
    note_request(*c, frame);
    if (!write_frame(c->upstream, frame)) break;
  }
  c->shut();
}

void TxnProxy::note_request(Conn& c, const std::string& frame) {
  try {
    wire::Reader r(frame);
    Pending p;
    p.api = r.i16();
    p.version = r.i16();
    int32_t corr = r.i32();
    r.str();  // client id
    const int16_t v = p.version;
    bool answer = false;  // the answer is rewritten or followed
    switch (p.api) {
      case kFetch: {
        if (v < 4 || v > 11) break;
        r.skip(4);  // replica id
        p.max_wait = r.i32();
        r.skip(v >= 3 ? 8 : 4);  // min bytes, max bytes
        if (r.i8() != 1) break;  // read_uncommitted: passed as it is
        if (v >= 7) r.skip(8);   // session id and epoch
        each_partition(r, [&](TopicPartition tp) {
          if (v >= 9) r.skip(4);  // current leader epoch
          p.asked[std::move(tp)] = r.i64();
          r.skip(v >= 5 ? 12 : 4);  // log start offset, partition max bytes
        });
        answer = true;
        break;
      }
      case kListOffsets:
        if (v < 2 || v > 3) break;
        r.skip(4);               // replica id
        if (r.i8() != 1) break;  // read_uncommitted: the high watermark is right
        each_partition(r, [&](TopicPartition tp) {
          p.asked[std::move(tp)] = r.i64();  // the timestamp asked for
        });
        answer = true;
        break;
      case kProduce: {
        if (v < 3 || v > 7) break;
        if (r.str().empty()) break;  // no transactional id
        if (r.i16() == 0) break;     // acks 0: no answer
        r.skip(4);                   // timeout
        each_partition(r, [&](TopicPartition tp) {
          auto bs = wire::batches(r.bytes());
          if (!bs.empty() && bs[0].transactional()) {
            p.produced.emplace_back(std::move(tp), bs[0].producer_id);
          }
        });
        answer = !p.produced.empty();
        break;
      }
      case kMetadata:
        answer = v <= 8;
        break;
      case kFindCoordinator:
        answer = v <= 2;
        break;
      case kOffsetCommit:
      case kOffsetFetch:
        if (v > (p.api == kOffsetCommit ? 7 : 5)) break;
        p.group = std::string(r.str());
        answer = true;
        break;
      case kInitProducerId: {
        if (v > 4) break;
        if (v >= 2) r.skip_tags();
        std::string tid(v >= 2 ? r.compact_str() : r.str());
        int32_t timeout = r.i32();
        if (tid.empty()) break;
        std::lock_guard lock(txn_mu_);
        log_.set_timeout(tid, std::chrono::milliseconds(timeout));
        // A new instance with this id fences the old one: what it left open is aborted.
        bool ended = end_txn(tid, false);
        if (!end_fenced(tid) || !ended) {
          diag::warning("cannot abort the transaction left open by transactional id " +
                        diag::quoted(tid) + "; its partitions' readers wait");
        }
        break;
      }
      case kAddPartitionsToTxn: {
        if (v > 1) break;
        std::string tid(r.str());
        int64_t pid = r.i64();
        int16_t epoch = r.i16();
        std::vector<TopicPartition> tps;
        each_partition(r, [&](TopicPartition tp) { tps.push_back(std::move(tp)); });
        std::lock_guard lock(txn_mu_);
        log_.add_partitions(tid, pid, epoch, tps);
        break;
      }
      case kTxnOffsetCommit: {
        if (v > 2) break;
        std::string tid(r.str());
        std::string group(r.str());
        r.skip(10);  // producer id and epoch
        std::vector<std::pair<TopicPartition, int64_t>> offsets;
        each_partition(r, [&](TopicPartition tp) {
          int64_t offset = r.i64();
          if (v >= 2) r.skip(4);  // leader epoch
          r.str();                // metadata
          offsets.emplace_back(std::move(tp), offset);
        });
        std::lock_guard lock(txn_mu_);
        for (const auto& [tp, offset] : offsets) log_.add_offsets(tid, group, tp, offset);
        break;
      }
      case kEndTxn:
        if (v > 1) break;
        p.tid = std::string(r.str());
        p.pid = r.i64();
        p.epoch = r.i16();
        p.commit = r.i8() != 0;
        answer = true;
        break;
      default:
        break;
    }
    if (answer) {
      std::lock_guard lock(c.mu);
      c.pending[corr] = std::move(p);
    }
  } catch (const wire::ParseError& e) {
    diag::debug(std::string("passing on a request not understood: ") + e.what());
  }
}

void TxnProxy::responses(const std::shared_ptr<Conn>& c) {
  std::string frame;
  std::vector<char> buf(kPieceBytes);
  size_t size = 0;
  while (read_head(c->upstream, size, frame, 4)) {
    std::optional<Pending> p;
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

bool TxnProxy::needs_rewrite(const Pending& p) {
  if (p.api != kFetch) return true;
  // A partition no transaction has added holds no transactional batch: the cluster's own
  // answer (last stable offset = high watermark, nothing aborted) is right.
  std::lock_guard lock(txn_mu_);
  return std::any_of(p.asked.begin(), p.asked.end(),
                     [&](const auto& f) { return log_.touched(f.first); });
}

std::string TxnProxy::rewrite(const Pending& p, std::string frame) {
  wire::Reader r(frame);
  const int16_t v = p.version;
  wire::Writer w;
  w.i32(r.i32());  // correlation id
  switch (p.api) {
    case kMetadata: {
      if (v >= 3) w.i32(r.i32());  // throttle time
      int32_t n = r.count();
      w.i32(n);
      for (int32_t i = 0; i < n; ++i) {
        int32_t node = r.i32();
        w.i32(node);
        std::string_view host = r.str();
        int32_t port = r.i32();
        if (node >= 1 && static_cast<size_t>(node) <= ports_.size()) {
          w.str("127.0.0.1");
          w.i32(ports_[static_cast<size_t>(node) - 1]);
        } else {
          w.str(host);
          w.i32(port);
        }
        if (v >= 1) copy_nullable(r, w);  // rack
      }
      w.raw(r.rest());
      return std::move(w.str());
    }
    case kFindCoordinator: {
      if (v >= 1) w.i32(r.i32());  // throttle time
      w.i16(r.i16());              // error code
      if (v >= 1) copy_nullable(r, w);
      int32_t node = r.i32();
      if (node < 1 || static_cast<size_t>(node) > ports_.size()) return frame;
      w.i32(node);
      r.str();
      r.i32();
      w.str("127.0.0.1");
      w.i32(ports_[static_cast<size_t>(node) - 1]);
      w.raw(r.rest());
      return std::move(w.str());
    }
    case kFetch: {
      uint64_t seen = 0;  // markers written before this answer was read
      {
        std::lock_guard lock(txn_mu_);
        seen = markers_written_;
      }
      if (v >= 1) w.i32(r.i32());  // throttle time
      if (v >= 7) {
        w.i16(r.i16());  // error code
        w.i32(r.i32());  // session id
      }
      bool data = false;
      bool cut = false;
      int32_t topics = r.count();
      w.i32(topics);
      for (int32_t t = 0; t < topics; ++t) {
        std::string topic(r.str());
        w.str(topic);
        int32_t partitions = r.count();
        w.i32(partitions);
        for (int32_t i = 0; i < partitions; ++i) {
          TopicPartition tp{topic, r.i32()};
          int16_t error = r.i16();
          int64_t hwm = r.i64();
          int64_t last_stable = r.i64();
          std::optional<int64_t> log_start;
          if (v >= 5) log_start = r.i64();
          for (int32_t a = r.count(); a > 0; --a) r.skip(16);  // the mock lists none
          std::optional<int32_t> replica;
          if (v >= 11) replica = r.i32();
          std::string_view records = r.bytes();
          CommittedView view;
          view.keep = records.size();
          view.last_stable = last_stable;
          if (error == 0) {
            auto fo = p.asked.find(tp);
            std::lock_guard lock(txn_mu_);
            view = log_.committed_view(tp, fo == p.asked.end() ? 0 : fo->second, hwm, records);
          }
          w.i32(tp.partition);
          w.i16(error);
          w.i64(hwm);
          w.i64(view.last_stable);
          if (log_start) w.i64(*log_start);
          w.i32(static_cast<int32_t>(view.aborted.size()));
          for (const auto& [pid, first] : view.aborted) {
            w.i64(pid);
            w.i64(first);
          }
          if (replica) w.i32(*replica);
          w.bytes(records.substr(0, view.keep));
          data = data || view.keep > 0;
          cut = cut || view.cut;
        }
      }
      w.raw(r.rest());
      if (cut && !data) {
        // Only an open transaction's data: hold the answer, as a broker would, until a marker
        // is written or the reader's wait is up, rather than have it ask again at once.
        std::unique_lock lock(txn_mu_);
        markers_cv_.wait_for(lock, std::chrono::milliseconds(std::clamp(p.max_wait, 0, 1000)),
                             [&] { return markers_written_ != seen || stop_; });
      }
      return std::move(w.str());
    }
    case kOffsetFetch: {
      if (v >= 3) r.skip(4);  // throttle time
      std::lock_guard lock(txn_mu_);
      each_partition(r, [&](const TopicPartition& tp) {
        size_t at = r.pos();
        r.i64();
        if (v >= 5) r.skip(4);  // leader epoch
        r.str();                // metadata
        size_t error_at = r.pos();
        if (r.i16() != 0) return;
        if (log_.pending(p.group, tp)) {
          // The client asks again until the transaction holding offsets for it ends.
          patch_i16(frame, error_at, kUnstableOffsetCommit);
        } else if (auto off = log_.committed(p.group, tp)) {
          patch_i64(frame, at, *off);
        }
      });
      return frame;
    }
    case kProduce: {
      std::lock_guard lock(txn_mu_);
      each_partition(r, [&](const TopicPartition& tp) {
        int16_t error = r.i16();
        int64_t offset = r.i64();
        r.skip((v >= 2 ? 8 : 0) + (v >= 5 ? 8 : 0));  // log append time, log start offset
        if (error != 0) return;
        for (const auto& [ptp, pid] : p.produced) {
          if (ptp == tp) log_.note_written(tp, pid, offset);
        }
      });
      return frame;
    }
    case kListOffsets: {
      r.skip(4);  // throttle time
      std::lock_guard lock(txn_mu_);
      each_partition(r, [&](const TopicPartition& tp) {
        int16_t error = r.i16();
        r.skip(8);  // timestamp
        size_t at = r.pos();
        int64_t offset = r.i64();
        auto ts = p.asked.find(tp);
        if (error != 0 || ts == p.asked.end() || ts->second != -1) return;
        // the end, for a read_committed reader, is the last stable offset
        if (auto first = log_.first_open(tp); first && *first < offset) {
          patch_i64(frame, at, *first);
        }
      });
      return frame;
    }
    case kOffsetCommit: {
      if (v >= 3) r.skip(4);  // throttle time
      std::lock_guard lock(txn_mu_);
      each_partition(r, [&](const TopicPartition& tp) {
        if (r.i16() == 0) log_.forget_committed(p.group, tp);
      });
      return frame;
    }
    case kEndTxn: {
      r.skip(4);  // throttle time
      size_t at = r.pos();
      if (r.i16() != 0) return frame;
      std::lock_guard lock(txn_mu_);
      if (log_.fenced(p.tid, p.pid, p.epoch)) {
        // Its transaction was aborted for its timeout: what it wrote since is aborted too.
        end_fenced(p.tid);
        patch_i16(frame, at, kInvalidProducerEpoch);
        return frame;
      }
      if (!end_txn(p.tid, p.commit)) {
        // The producer retries EndTxn on this error, and the markers are written again.
        patch_i16(frame, at, kCoordinatorLoadInProgress);
      }
      return frame;
    }
    default:
      return frame;
  }
}

std::set<TopicPartition> TxnProxy::write_markers(const OpenTxn& txn, bool commit) {
  std::set<TopicPartition> failed;
  for (const auto& tp : txn.partitions) {
    if (!write_marker(tp, txn.pid, txn.epoch, commit)) failed.insert(tp);
  }
  return failed;
}

bool TxnProxy::end_txn(const std::string& tid, bool commit) {
  std::optional<OpenTxn> txn = log_.take(tid);
  if (!txn) return true;
  std::set<TopicPartition> failed = write_markers(*txn, commit);
  if (!failed.empty()) {
    txn->partitions = std::move(failed);
    log_.restore(tid, std::move(*txn));
    return false;
  }
  if (commit) log_.commit_offsets(*txn);
  diag::debug(std::string(commit ? "committed" : "aborted") + " the transaction of " +
              diag::quoted(tid) + " in " + std::to_string(txn->partitions.size()) + " partitions");
  return true;
}

bool TxnProxy::end_fenced(const std::string& tid) {
  std::optional<OpenTxn> txn = log_.take_fenced(tid);
  if (!txn) return true;
  std::set<TopicPartition> failed = write_markers(*txn, false);
  if (failed.empty()) return true;
  txn->partitions = std::move(failed);
  log_.fence(tid, std::move(*txn));
  return false;
}

bool TxnProxy::exchange(size_t broker, const std::string& request, std::string& response) {
  int& fd = marker_fd_[broker];
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = fd < 0;
    if (fresh) {
      fd = connect_local(upstream_[broker]);
      if (fd < 0) return false;
      timeval tv{std::chrono::seconds(kMarkerTimeout).count(), 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    if (write_frame(fd, request) && read_frame(fd, response)) return true;
    close_fd(fd);
    if (fresh) return false;  // a connection kept from before may have gone stale: once more
  }
  return false;
}

bool TxnProxy::write_marker(const TopicPartition& tp, int64_t pid, int16_t epoch, bool commit) {
  std::string batch = wire::marker_batch(pid, epoch, commit, now_ms());
  std::vector<size_t> order;
  auto known = leader_.find(tp);
  if (known != leader_.end()) order.push_back(known->second);
  for (size_t b = 0; b < upstream_.size(); ++b) {
    if (known == leader_.end() || b != known->second) order.push_back(b);
  }
  for (size_t b : order) {
    wire::Writer req;
    req.i16(kProduce);
    req.i16(3);
    int32_t corr = ++marker_corr_;
    req.i32(corr);
    req.str("cdn-broker");
    req.null_str();  // no transactional id: the marker is the broker's own write
    req.i16(-1);     // acks: all
    req.i32(static_cast<int32_t>(std::chrono::milliseconds(kMarkerTimeout).count()));
    req.i32(1);
    req.str(tp.topic);
    req.i32(1);
    req.i32(tp.partition);
    req.bytes(batch);
    std::string resp;
    if (!exchange(b, req.str(), resp)) continue;
    try {
      wire::Reader r(resp);
      if (r.i32() != corr || r.count() != 1) throw wire::ParseError("not the answer asked for");
      r.str();
      if (r.count() != 1) throw wire::ParseError("not one partition");
      r.i32();
      int16_t error = r.i16();
      int64_t offset = r.i64();
      if (error == kNotLeader) continue;
      if (error != 0) {
        diag::warning("broker " + std::to_string(b + 1) + " refused a transaction marker for " +
                      tp.topic + "/" + std::to_string(tp.partition) + ": Kafka error " +
                      std::to_string(error));
        return false;
      }
      log_.add_marker(tp, pid, offset, commit);
      ++markers_written_;
      markers_cv_.notify_all();
      leader_[tp] = b;
      return true;
    } catch (const wire::ParseError& e) {
      diag::warning(std::string("cannot read a broker's answer to a transaction marker: ") +
                    e.what());
      close_fd(marker_fd_[b]);
    }
  }
  return false;
}

void TxnProxy::reaper() {
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::lock_guard lock(txn_mu_);
    for (const auto& tid : log_.expired(std::chrono::steady_clock::now())) {
      diag::info("aborting the transaction of transactional id " + diag::quoted(tid) +
                 ", open longer than its timeout; its producer is fenced");
      OpenTxn fenced = *log_.find(tid);
      fenced.offsets.clear();
      if (end_txn(tid, false)) log_.fence(tid, std::move(fenced));
    }
  }
}

}  // namespace cdn::kafka
