#include "common/io/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::io {

namespace {

constexpr size_t kMaxRequest = 8192;
constexpr size_t kMaxClients = 32;
constexpr auto kClientTime = std::chrono::seconds(5);

const char* reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 400:
      return "Bad Request";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Writes all of `text` to a client, waiting at most until `deadline`.
void send_all(int fd, std::string_view text, std::chrono::steady_clock::time_point deadline) {
  while (!text.empty()) {
    ssize_t n = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (n > 0) {
      text.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return;
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, static_cast<int>(left));
      continue;
    }
    return;
  }
}

struct Client {
  int fd;
  std::string request;
  std::chrono::steady_clock::time_point deadline;
};

}  // namespace

HttpServer::HttpServer(const std::string& given, Handler handler) : handler_(std::move(handler)) {
  // A port alone, or ":PORT", listens on 127.0.0.1 only: another interface is asked for by
  // its address (0.0.0.0 or * for all).
  std::string address = given;
  if (!address.empty() && address.find(':') == std::string::npos &&
      address.find_first_not_of("0123456789") == std::string::npos) {
    address = "127.0.0.1:" + address;
  } else if (!address.empty() && address.front() == ':') {
    address = "127.0.0.1" + address;
  }
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    throw UsageError("bad --metrics-addr " + diag::quoted(address) +
                     ": write HOST:PORT, e.g. 127.0.0.1:9464 (PORT 0 picks a free one)");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  for (char c : port) {
    if (c < '0' || c > '9' || port.size() > 5) {
      throw UsageError("bad --metrics-addr " + diag::quoted(address) + ": the port " +
                       diag::quoted(port) + " is not a number from 0 to 65535");
    }
  }
  if (std::stoul(port) > 65535) {
    throw UsageError("bad --metrics-addr " + diag::quoted(address) + ": the port " +
                     diag::quoted(port) + " is not a number from 0 to 65535");
  }
  if (host == "*") host.clear();
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int e = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
      e != 0) {
    throw UsageError("bad --metrics-addr " + diag::quoted(address) + ": " + ::gai_strerror(e) +
                     "; give an IPv4 address or a host name, e.g. 127.0.0.1:9464");
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = ::bind(listen_fd_, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc != 0 || ::listen(listen_fd_, 64) != 0) {
    int err = errno;
    ::close(listen_fd_);
    throw RuntimeError("cannot serve metrics on " + diag::quoted(address) + ": " + errno_text(err) +
                       "; choose another --metrics-addr");
  }
  set_nonblocking(listen_fd_);
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  char ip[INET_ADDRSTRLEN] = "0.0.0.0";
  ::inet_ntop(AF_INET, &bound.sin_addr, ip, sizeof ip);
  bound_ = std::string(ip) + ":" + std::to_string(ntohs(bound.sin_port));
  if (::pipe2(wake_, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(listen_fd_);
    throw RuntimeError("cannot start the metrics server: " + errno_text(err));
  }
  thread_ = std::thread([this] { serve(); });
}

HttpServer::~HttpServer() {
  if (wake_[1] >= 0) {
    char c = 'x';
    (void)!::write(wake_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void HttpServer::serve() {
  std::vector<Client> clients;
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({wake_[0], POLLIN, 0});
    // No new connection while the table is full: they wait in the listen backlog.
    fds.push_back({listen_fd_, static_cast<short>(clients.size() < kMaxClients ? POLLIN : 0), 0});
    for (const auto& c : clients) fds.push_back({c.fd, POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), 250);
    if (n < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) break;
    auto now = std::chrono::steady_clock::now();
    if (fds[1].revents & POLLIN) {
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        if (clients.size() >= kMaxClients) {
          ::close(fd);
          continue;
        }
        clients.push_back({fd, {}, now + kClientTime});
      }
    }
    std::vector<Client> kept;
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      short ev = fds[i + 2].revents;
      bool done = false;
      if (ev & (POLLIN | POLLHUP | POLLERR)) {
        char buf[2048];
        ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got <= 0) {
          done = !(got < 0 && (errno == EAGAIN || errno == EINTR));
        } else {
          c.request.append(buf, static_cast<size_t>(got));
        }
      }
      size_t end = c.request.find("\r\n\r\n");
      if (end == std::string::npos) end = c.request.find("\n\n");
      if (!done && (end != std::string::npos || c.request.size() > kMaxRequest)) {
        HttpAnswer a;
        bool head = false;
        size_t sp1 = c.request.find(' ');
        size_t sp2 = sp1 == std::string::npos ? sp1 : c.request.find(' ', sp1 + 1);
        if (end == std::string::npos || sp2 == std::string::npos) {
          a = {400, "text/plain; charset=utf-8", "bad request\n"};
        } else {
          std::string method = c.request.substr(0, sp1);
          std::string target = c.request.substr(sp1 + 1, sp2 - sp1 - 1);
          target = target.substr(0, target.find('?'));
          head = method == "HEAD";
          if (method != "GET" && !head) {
            a = {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
          } else {
            try {
              a = handler_(target);
            } catch (const std::exception& e) {
              a = {503, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
            }
          }
        }
        std::string text = "HTTP/1.1 " + std::to_string(a.status) + " " + reason_of(a.status) +
                           "\r\nContent-Type: " + a.content_type +
                           "\r\nContent-Length: " + std::to_string(a.body.size()) +
                           "\r\nConnection: close\r\n\r\n";
        if (!head) text += a.body;
        send_all(c.fd, text, now + kClientTime);
        done = true;
      }
      if (!done && now > c.deadline) done = true;
      if (done) {
        ::close(c.fd);
      } else {
        kept.push_back(std::move(c));
      }
    }
    clients = std::move(kept);
  }
  for (auto& c : clients) ::close(c.fd);
}

}  // namespace cdn::io
