// Typed errors and the exit status table. Only cmd/main.cpp turns these into an exit status.
#pragma once

#include <stdexcept>
#include <string>

#include "common/base/printable.hpp"

namespace cdn {

// The exit status table shared by every command (man/cdn.1, EXIT STATUS).
enum ExitStatus : int {
  kExitOk = 0,        // every record went to the output
  kExitRejected = 1,  // some records were rejected (or `sort --check` found disorder)
  kExitUsage = 2,     // usage or configuration error
  kExitFailure = 3,   // runtime failure: I/O, broker, InfluxDB, undelivered messages
};

// The message of either error is printable: a byte a terminal would act on, which a value
// quoted without diag::quoted may hold, is written as \n or \xHH (a NUL would cut what()
// short, before what to change).

// A bad flag, a bad config value, an unreadable schema: the user must change the invocation.
struct UsageError : std::runtime_error {
  explicit UsageError(const std::string& message)
      : std::runtime_error(base::escape_controls(message)) {}
  explicit UsageError(const char* message) : UsageError(std::string(message)) {}
};

// The environment failed us: I/O, disk full, a server.
struct RuntimeError : std::runtime_error {
  explicit RuntimeError(const std::string& message)
      : std::runtime_error(base::escape_controls(message)) {}
  explicit RuntimeError(const char* message) : RuntimeError(std::string(message)) {}
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
