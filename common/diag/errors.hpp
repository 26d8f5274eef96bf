// Typed errors and the exit status table. Only cmd/main.cpp turns these into an exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace cdn {

// The exit status table shared by every command (man/cdn.1, EXIT STATUS).
enum ExitStatus : int {
  kExitOk = 0,        // every record went to the output
  kExitRejected = 1,  // some records were rejected (or `sort --check` found disorder)
  kExitUsage = 2,     // usage or configuration error
  kExitFailure = 3,   // runtime failure: I/O, broker, InfluxDB, undelivered messages
};

// A bad flag, a bad config value, an unreadable schema: the user must change the invocation.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The environment failed us: I/O, disk full, a server.
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The reader of our stdout went away (EPIPE): end quietly, as `| head` expects.
struct BrokenPipe : std::exception {
  const char* what() const noexcept override { return "broken pipe"; }
};

// SIGINT or SIGTERM arrived and the command stopped early.
struct Interrupted : std::exception {
  explicit Interrupted(int sig) : signal(sig) {}
  const char* what() const noexcept override { return "interrupted"; }
  int signal;
};

// "strerror(errno)" in one place.
std::string errno_text(int err);

}  // namespace cdn
