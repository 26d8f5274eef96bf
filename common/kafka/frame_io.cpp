#include "common/kafka/frame_io.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/diag/errors.hpp"
#include "common/kafka/wire.hpp"

namespace cdn::kafka {

namespace {

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

// Reads into `frame` until it holds `want` bytes, growing it by at most what it holds (and
// 64 KiB at first) before each read, so that its size follows the bytes received.
bool read_growing(int fd, std::string& frame, size_t want) {
  constexpr size_t kFirst = 64 * 1024;
  size_t have = frame.size();
  while (have < want) {
    size_t room = std::min(want - have, std::max(have, kFirst));
    frame.resize(have + room);
    ssize_t r = ::recv(fd, frame.data() + have, room, 0);
    if (r < 0 && errno == EINTR)
      r = 0;
    else if (r <= 0) {
      frame.resize(have);
      return false;
    }
    have += static_cast<size_t>(r);
    frame.resize(have);
  }
  return true;
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

}  // namespace

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

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

bool read_head(int fd, size_t& size, std::string& head, size_t peek, size_t limit) {
  unsigned char s[4];
  if (!read_exact(fd, reinterpret_cast<char*>(s), 4)) return false;
  size = (size_t{s[0]} << 24) | (size_t{s[1]} << 16) | (size_t{s[2]} << 8) | s[3];
  if (size > limit) return false;
  head.resize(std::min(size, peek));
  return read_exact(fd, head.data(), head.size());
}

bool read_rest(int fd, size_t size, std::string& frame) {
  return read_growing(fd, frame, size);
}

bool read_more(int fd, size_t size, std::string& frame, size_t want) {
  return read_growing(fd, frame, std::min(size, std::max(want, frame.size())));
}

bool read_frame(int fd, std::string& frame) {
  size_t size = 0;
  return read_head(fd, size, frame, 0) && read_rest(fd, size, frame);
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

}  // namespace cdn::kafka
