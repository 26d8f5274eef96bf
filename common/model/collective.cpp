#include "common/model/collective.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/model/xgb.hpp"

namespace cdn::model::collective {

namespace {
using Clock = std::chrono::steady_clock;

std::string duration_text(int64_t ms) {
  char b[32];
  if (ms % 3600000 == 0) {
    std::snprintf(b, sizeof b, "%lldh", static_cast<long long>(ms / 3600000));
  } else if (ms % 60000 == 0) {
    std::snprintf(b, sizeof b, "%lldm", static_cast<long long>(ms / 60000));
  } else if (ms % 1000 == 0) {
    std::snprintf(b, sizeof b, "%llds", static_cast<long long>(ms / 1000));
  } else {
    std::snprintf(b, sizeof b, "%lldms", static_cast<long long>(ms));
  }
  return b;
}

// The magic number of the Rabit tracker's protocol (xgboost/tracker.py, MAGIC_NUM).
constexpr int32_t kMagic = 0xff99;

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Waits for fd to be ready for `events` until `deadline`; false on a timeout (errno ETIMEDOUT).
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

bool send_all(int fd, const void* data, size_t n, Clock::time_point deadline) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    if (!wait_ready(fd, POLLOUT, deadline)) return false;
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool recv_all(int fd, void* data, size_t n, Clock::time_point deadline) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    if (!wait_ready(fd, POLLIN, deadline)) return false;
    ssize_t k = ::recv(fd, p, n, 0);
    if (k == 0) {
      errno = ECONNRESET;
      return false;
    }
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

bool send_int(int fd, int32_t v, Clock::time_point deadline) {
  return send_all(fd, &v, sizeof v, deadline);
}

bool send_str(int fd, const std::string& s, Clock::time_point deadline) {
  return send_int(fd, static_cast<int32_t>(s.size()), deadline) &&
         send_all(fd, s.data(), s.size(), deadline);
}

// A connection to addr, or an invalid socket with errno set.
Socket connect_to(const addrinfo& ai, Clock::time_point deadline) {
  Socket s(::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol));
  if (s.fd() < 0) return s;
  if (::connect(s.fd(), ai.ai_addr, ai.ai_addrlen) == 0) return s;
  if (errno != EINPROGRESS) return Socket();
  if (!wait_ready(s.fd(), POLLOUT, deadline)) return Socket();
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    errno = err != 0 ? err : errno;
    return Socket();
  }
  return s;
}

std::string numeric_host(const addrinfo& ai) {
  char host[NI_MAXHOST];
  if (::getnameinfo(ai.ai_addr, ai.ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) !=
      0) {
    return "";
  }
  return host;
}

struct Resolved {
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list{nullptr, freeaddrinfo};
};

Resolved resolve(const std::string& host, int port, const std::string& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* out = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &out);
  if (rc != 0) {
    throw RuntimeError("cannot resolve the tracker host " + diag::quoted(host) + " of " +
                       diag::quoted(address) + ": " + gai_strerror(rc) +
                       "; check --tracker (or CDN_TRACKER)");
  }
  Resolved r;
  r.list.reset(out);
  return r;
}

// Says a line to the tracker, which logs it (the tracker protocol's "print" command). The
// connection proves the tracker is there; false (with `why`) when it does not answer as one.
bool tracker_print(const addrinfo& ai, const std::string& line, Clock::time_point deadline,
                   std::string& why) {
  Socket s = connect_to(ai, deadline);
  if (s.fd() < 0) {
    why = errno_text(errno);
    return false;
  }
  int32_t magic = 0;
  if (!send_int(s.fd(), kMagic, deadline) || !recv_all(s.fd(), &magic, sizeof magic, deadline)) {
    why = "no answer to the tracker handshake: " + errno_text(errno);
    return false;
  }
  if (magic != kMagic) {
    why = "it answers, but not as an XGBoost (Rabit) tracker";
    return false;
  }
  if (!send_int(s.fd(), -1, deadline) || !send_int(s.fd(), -1, deadline) ||
      !send_str(s.fd(), "NULL", deadline) || !send_str(s.fd(), "print", deadline) ||
      !send_str(s.fd(), line, deadline)) {
    why = errno_text(errno);
    return false;
  }
  return true;
}

// Calls f(fd, link) for each socket of this process ("socket:[123]") not in `before`, until
// f returns true.
template <class F>
void each_socket(const std::set<std::string>& before, F f) {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    char path[300], link[128];
    std::snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = ::readlink(path, link, sizeof link - 1);
    if (n <= 0) continue;
    link[n] = '\0';
    if (std::strncmp(link, "socket:", 7) != 0 || before.count(link) > 0) continue;
    if (f(std::atoi(e->d_name), std::string(link))) break;
  }
  ::closedir(d);
}

// The inodes of this process's sockets ("socket:[123]").
std::set<std::string> socket_links() {
  std::set<std::string> out;
  each_socket({}, [&](int, std::string link) {
    out.insert(std::move(link));
    return false;
  });
  return out;
}

// Shuts down the sockets opened since `before` was taken: XGBoost's joining blocks in them
// (waiting for the tracker's answer or a peer's connection), and then returns an error.
void shut_new_sockets(const std::set<std::string>& before) {
  each_socket(before, [](int fd, const std::string&) {
    ::shutdown(fd, SHUT_RDWR);
    return false;
  });
}

}  // namespace

// While it lives, a thread that asks `due` every 250 ms whether to shut down the sockets opened
// since `before` (XGBoost's), so that an exchange blocked in them ends with an error instead
// of waiting: then it does, and again at each tick `due` says so, or only once.
class SocketWatch {
 public:
  SocketWatch(std::set<std::string> before, bool once, std::function<bool()> due)
      : before_(std::move(before)) {
    thread_ = std::thread([this, once, due = std::move(due)] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return done_; })) {
        if (!due()) continue;
        fired_ = true;
        shut_new_sockets(before_);
        if (once) break;
      }
    });
  }
  ~SocketWatch() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  SocketWatch(const SocketWatch&) = delete;
  SocketWatch& operator=(const SocketWatch&) = delete;
  bool fired() {
    std::lock_guard<std::mutex> lock(mutex_);
    return fired_;
  }

 private:
  std::set<std::string> before_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false, fired_ = false;
  std::thread thread_;
};

namespace {

// Whether one of the connected sockets opened since `before` (XGBoost's links to the other
// workers; not the tracker's, at `tracker_port`) was hung up by its peer.
bool link_hung_up(const std::set<std::string>& before, int tracker_port) {
  bool hung = false;
  each_socket(before, [&](int fd, const std::string&) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
    int port = peer.ss_family == AF_INET
                   ? ntohs(reinterpret_cast<const sockaddr_in*>(&peer)->sin_port)
               : peer.ss_family == AF_INET6
                   ? ntohs(reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_port)
                   : -1;
    if (port < 0 || port == tracker_port) return false;
    pollfd p{fd, POLLRDHUP, 0};
    hung = ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    return hung;
  });
  return hung;
}

std::string host_name() {
  char b[256] = {0};
  if (::gethostname(b, sizeof b - 1) != 0) return "?";
  return b;
}

// XGBoost's communicator types (xgboost::collective::DataType in 1.7).
constexpr int kUInt8 = 1, kInt64 = 4, kDouble = 7;
}  // namespace

void split_address(const std::string& address, std::string& host, int& port) {
  size_t colon = address.rfind(':');
  bool bracket = !address.empty() && address[0] == '[';
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() ||
      (bracket && address[colon - 1] != ']') || (!bracket && address.find(':') != colon)) {
    throw UsageError("bad value " + diag::quoted(address) +
                     " for --tracker; write HOST:PORT, e.g. 10.0.0.5:9091 or [::1]:9091");
  }
  host = bracket ? address.substr(1, colon - 2) : address.substr(0, colon);
  std::string digits = address.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(digits.c_str(), &end, 10);
  if (*end != '\0' || p < 1 || p > 65535 || !std::isdigit(static_cast<unsigned char>(digits[0]))) {
    throw UsageError("bad port " + diag::quoted(digits) + " in --tracker " + diag::quoted(address) +
                     "; give a port from 1 to 65535");
  }
  port = static_cast<int>(p);
}

void settle(Options& o, bool rank_given) {
  if (o.tracker.empty()) {
    if (o.workers > 0 || rank_given) {
      throw UsageError(
          "--workers and --rank train together with other workers over a tracker; give "
          "--tracker HOST:PORT (or CDN_TRACKER) too, or leave them out to train alone");
    }
    return;
  }
  std::string host;
  int port = 0;
  split_address(o.tracker, host, port);
  if (o.workers < 1) {
    throw UsageError(
        "--tracker trains together with other workers; say how many with "
        "--workers N (or CDN_WORKERS)");
  }
  std::string source = "--rank";
  if (!rank_given) {
    const char* index = std::getenv("JOB_COMPLETION_INDEX");
    if (index != nullptr && *index != '\0') {
      char* end = nullptr;
      long v = std::strtol(index, &end, 10);
      if (*end != '\0' || v < 0 || v > 1000000) {
        throw UsageError("bad value " + diag::quoted(index) +
                         " in JOB_COMPLETION_INDEX; it gives the rank, a whole number from 0");
      }
      o.rank = static_cast<int>(v);
      source = "JOB_COMPLETION_INDEX";
    }
  }
  if (o.rank < 0) {
    throw UsageError("--tracker trains as one of " + std::to_string(o.workers) +
                     " workers; give this worker's --rank from 0 to " +
                     std::to_string(o.workers - 1) +
                     " (or CDN_RANK, or JOB_COMPLETION_INDEX as a Kubernetes Indexed Job sets it)");
  }
  if (o.rank >= o.workers) {
    throw UsageError("bad value " + std::to_string(o.rank) + " for " + source + ": the ranks of " +
                     std::to_string(o.workers) + " workers (--workers) go from 0 to " +
                     std::to_string(o.workers - 1));
  }
}

Communicator::Communicator(const Options& o) : tracker_(o.tracker), wait_ms_(o.wait_ms) {
  if (o.tracker.empty()) return;
  std::string host;
  int port = 0;
  split_address(o.tracker, host, port);
  rank_ = o.rank;
  size_ = o.workers;
  auto deadline = Clock::now() + std::chrono::milliseconds(o.join_ms);
  Resolved addrs = resolve(host, port, o.tracker);

  // The tracker first, by cdn itself: an address that does not answer is named at once.
  std::string line = "cdn train: worker " + std::to_string(o.rank) + " of " +
                     std::to_string(o.workers) + " (" + host_name() + ", pid " +
                     std::to_string(::getpid()) + ") joins";
  const addrinfo* reached = nullptr;
  std::string why;
  while (reached == nullptr) {
    for (const addrinfo* ai = addrs.list.get(); ai != nullptr && reached == nullptr;
         ai = ai->ai_next) {
      auto attempt = std::min(deadline, Clock::now() + std::chrono::seconds(5));
      if (tracker_print(*ai, line, attempt, why)) reached = ai;
    }
    if (reached != nullptr) break;
    if (Clock::now() + std::chrono::milliseconds(250) >= deadline) {
      throw RuntimeError("worker " + std::to_string(o.rank) + " of " + std::to_string(o.workers) +
                         ": cannot reach the tracker at " + diag::quoted(o.tracker) + " within " +
                         duration_text(o.join_ms) + " (--join-timeout): " + why +
                         "; start it first (scripts/train-tracker.sh) or check --tracker");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  diag::debug("the tracker at " + diag::quoted(o.tracker) + " answers; joining the group of " +
              std::to_string(o.workers));

  // Then XGBoost joins: the tracker answers once every worker has connected.
  char task[16];
  std::snprintf(task, sizeof task, "%06d", o.rank);  // the tracker ranks by it (sortby task)
  std::string config = "{";
  auto add = [&config](const char* key, const std::string& value) {
    if (config.size() > 1) config += ',';
    base::append_json_string(config, key);
    config += ':';
    base::append_json_string(config, value);
  };
  add("DMLC_TRACKER_URI", numeric_host(*reached));
  add("DMLC_TRACKER_PORT", std::to_string(port));
  add("DMLC_TASK_ID", task);
  add("rabit_world_size", std::to_string(o.workers));
  add("rabit_timeout", "1");
  add("rabit_timeout_sec", std::to_string(std::max<int64_t>(1, (o.wait_ms + 999) / 1000)));
  add("DMLC_WORKER_CONNECT_RETRY", "3");
  config += '}';
  int rc = 0;
  bool timed_out = false;
  std::set<std::string> before = socket_links();
  {
    // Joining blocks in XGBoost's sockets until the tracker answers: past the deadline, they
    // are shut down (at each tick), and joining fails.
    SocketWatch watchdog(before, false, [deadline] { return Clock::now() >= deadline; });
    rc = xgb::api().XGCommunicatorInit(config.c_str());
    timed_out = watchdog.fired();
  }
  std::string me = "worker " + std::to_string(o.rank) + " of " + std::to_string(o.workers);
  if (timed_out || rc != 0) say_failed();
  if (timed_out) {
    if (rc == 0) xgb::api().XGCommunicatorFinalize();
    throw RuntimeError(me + ": the group did not form within " + duration_text(o.join_ms) +
                       " (--join-timeout): the tracker at " + diag::quoted(o.tracker) +
                       " waits until all " + std::to_string(o.workers) +
                       " workers have joined; start the missing ones, each with its own "
                       "--rank and the same --workers and --tracker");
  }
  if (rc != 0) {
    throw RuntimeError(me + ": cannot join the group at the tracker " + diag::quoted(o.tracker) +
                       ": " + xgb::last_error() +
                       "; a worker with another --workers stops the tracker: start it again and "
                       "give every worker the same --workers");
  }
  distributed_ = true;
  rank_ = xgb::api().XGCommunicatorGetRank();
  size_ = xgb::api().XGCommunicatorGetWorldSize();
  // Then, once a link to another worker has been hung up for 2 s (that worker's process
  // ended), an exchange waiting on the others fails now rather than after --worker-timeout
  // (rabit polls its links that long, and may not poll the one that broke).
  link_watch_ = std::make_unique<SocketWatch>(
      before, true, [before, port, hung = false, since = Clock::now()]() mutable {
        if (!link_hung_up(before, port)) {
          hung = false;
        } else if (!hung) {
          hung = true;
          since = Clock::now();
        } else if (Clock::now() - since >= std::chrono::seconds(2)) {
          diag::debug("a link to another worker is closed: leaving the group's exchanges");
          return true;
        }
        return false;
      });

  // Every worker checks what every other was started with, so that all fail alike.
  step_ = "joining";
  std::vector<int64_t> asked(static_cast<size_t>(2 * size_), 0);
  asked[static_cast<size_t>(2 * rank_)] = o.rank;
  asked[static_cast<size_t>(2 * rank_ + 1)] = o.workers;
  allreduce(asked, Op::sum);
  std::string problem;
  for (int r = 0; r < size_ && problem.empty(); ++r) {
    int64_t want = asked[static_cast<size_t>(2 * r)], n = asked[static_cast<size_t>(2 * r + 1)];
    if (n != size_) {
      problem = "the group has " + std::to_string(size_) +
                " workers but one was started with --workers " + std::to_string(n) +
                "; give every worker the same --workers";
    } else if (want != r) {
      int same = 0;
      for (int k = 0; k < size_; ++k) same += asked[static_cast<size_t>(2 * k)] == want;
      problem = same > 1 ? std::to_string(same) + " workers were started with --rank " +
                               std::to_string(want) + "; give each its own rank from 0 to " +
                               std::to_string(size_ - 1)
                         : "the tracker gave rank " + std::to_string(r) +
                               " to the worker started with --rank " + std::to_string(want) +
                               "; start the tracker with scripts/train-tracker.sh, which ranks "
                               "the workers by their --rank";
    }
  }
  if (!problem.empty()) {
    say_failed();
    throw UsageError(who() + ": " + problem);
  }
  diag::info(who() + " joined the group at the tracker " + diag::quoted(o.tracker));
}

Communicator::~Communicator() {
  // Before saying anything to the tracker: the watch shuts down sockets opened after the join.
  link_watch_.reset();
  if (!distributed_ || finalized_) return;
  // Failing: leave without a word (the others fail at their next exchange), but tell the
  // tracker, which then ends with an error (scripts/train-tracker.sh).
  if (std::uncaught_exceptions() > 0) {
    say_failed();
    return;
  }
  finalize();
}

void Communicator::say_failed() const {
  try {
    std::string host;
    int port = 0;
    split_address(tracker_, host, port);
    Resolved addrs = resolve(host, port, tracker_);
    std::string why;
    auto deadline = Clock::now() + std::chrono::seconds(2);
    for (const addrinfo* ai = addrs.list.get(); ai != nullptr; ai = ai->ai_next) {
      if (tracker_print(*ai, "cdn train: failed: " + who() + " stopped with an error", deadline,
                        why)) {
        return;
      }
    }
  } catch (const std::exception&) {
    // the tracker is gone too
  }
}

std::string Communicator::who() const {
  if (!distributed_ && tracker_.empty()) return "";
  return "worker " + std::to_string(rank_) + " of " + std::to_string(size_);
}

void Communicator::finalize() {
  if (!distributed_ || finalized_) return;
  finalized_ = true;
  link_watch_.reset();  // the others close their links as they leave too
  if (xgb::api().XGCommunicatorFinalize() != 0) {
    diag::debug("leaving the group: " + xgb::last_error());
  }
}

std::string Communicator::lost_message(const std::string& xgboost_error) const {
  std::string m = who() + ": the group broke";
  if (!step_.empty()) m += " during " + step_;
  if (xgboost_error.find("timeout") != std::string::npos ||
      xgboost_error.find("Timeout") != std::string::npos) {
    m += ": no word from another worker within " + duration_text(wait_ms_) +
         " (--worker-timeout; XGBoost: " + xgboost_error + ")";
  } else {
    m += ": another worker stopped or failed (XGBoost: " + xgboost_error + ")";
  }
  return m + "; its log says why";
}

void Communicator::reduce(void* data, size_t count, int type, Op op, const char* what) {
  if (!distributed_ || count == 0) return;
  if (xgb::api().XGCommunicatorAllreduce(data, count, type, static_cast<int>(op)) != 0) {
    throw RuntimeError(lost_message(std::string(what) + ": " + xgb::last_error()));
  }
}

void Communicator::allreduce(std::vector<double>& v, Op op) {
  reduce(v.data(), v.size(), kDouble, op, "allreduce");
}

void Communicator::allreduce(std::vector<int64_t>& v, Op op) {
  reduce(v.data(), v.size(), kInt64, op, "allreduce");
}

std::vector<std::string> Communicator::allgather(const std::string& mine) {
  if (!distributed_) return {mine};
  std::vector<int64_t> sizes(static_cast<size_t>(size_), 0);
  sizes[static_cast<size_t>(rank_)] = static_cast<int64_t>(mine.size());
  allreduce(sizes, Op::sum);
  size_t total = 0, offset = 0;
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) offset = total;
    total += static_cast<size_t>(sizes[static_cast<size_t>(r)]);
  }
  std::string buf(total, '\0');
  std::copy(mine.begin(), mine.end(), buf.begin() + static_cast<std::ptrdiff_t>(offset));
  reduce(buf.data(), buf.size(), kUInt8, Op::sum, "allgather");
  std::vector<std::string> out;
  size_t at = 0;
  for (int r = 0; r < size_; ++r) {
    auto n = static_cast<size_t>(sizes[static_cast<size_t>(r)]);
    out.push_back(buf.substr(at, n));
    at += n;
  }
  return out;
}

std::vector<float> Communicator::allgather(const std::vector<float>& mine) {
  if (!distributed_) return mine;
  std::string bytes(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(float));
  std::vector<float> out;
  for (const auto& part : allgather(bytes)) {
    size_t n = part.size() / sizeof(float);
    size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, part.data(), n * sizeof(float));
  }
  return out;
}

}  // namespace cdn::model::collective
