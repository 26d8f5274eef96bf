// A small HTTP/1.1 server for a command's probes and metrics (--metrics-addr): GET only, one
// thread of its own, every answer closes its connection. It reads at most 8 KiB of a request
// and gives a client 5 s to send it, holds at most 32 connections at a time, and never
// touches the command's own threads: a handler reads what they publish (atomics).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

namespace cdn::io {

struct HttpAnswer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  // Answers GET and HEAD of a path (without its query) with handler(path).
  using Handler = std::function<HttpAnswer(std::string_view path)>;

  // Listens on `address` (HOST:PORT; HOST an IPv4 address or a name, "" or "*" all
  // interfaces; PORT 0 picks a free one). Throws UsageError for an address that does not
  // parse, RuntimeError when it cannot listen (the port taken, say).
  HttpServer(const std::string& address, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // HOST:PORT it listens on, the port chosen if 0 was asked for.
  const std::string& address() const { return bound_; }

 private:
  void serve();

  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::string bound_;
  std::thread thread_;
};

}  // namespace cdn::io
