#include "common/diag/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "common/base/fd.hpp"
#include "common/base/json_text.hpp"
#include "common/base/printable.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/status_line.hpp"

namespace cdn {

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace cdn

namespace cdn::diag {

bool color_wanted() {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(STDERR_FILENO) == 1;
}

Settings& settings() {
  static Settings s = [] {
    Settings x;
    x.color = color_wanted();
    return x;
  }();
  return s;
}

namespace {

const char* level_name(Level level) {
  switch (level) {
    case Level::error:
      return "error";
    case Level::warning:
      return "warning";
    case Level::info:
      return "info";
    case Level::debug:
      return "debug";
  }
  return "info";
}

void write_stderr(const std::string& line) {
  write_diagnostic(line);  // nowhere left to report a failure to
}

// RFC 3339 UTC with milliseconds: 2026-12-06T22:30:01.123Z.
std::string now_text() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  ::gmtime_r(&ts.tv_sec, &t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<int>(ts.tv_nsec / 1000000) % 1000);
  return buf;
}

void emit(std::string_view level, std::string_view message, const std::vector<Field>& fields = {}) {
  const Settings& s = settings();
  std::string line;
  if (s.format == Format::json) {
    // {"ts","level","command","msg"} and the line's numbers as fields of their own.
    std::string_view command = s.program;
    if (command.rfind("cdn ", 0) == 0) command.remove_prefix(4);
    line = "{\"ts\":\"" + now_text() + "\",\"level\":";
    base::append_json_string(line, level);
    line += ",\"command\":";
    base::append_json_string(line, command);
    line += ",\"msg\":";
    base::append_json_string(line, message);
    for (const auto& f : fields) {
      line += ',';
      base::append_json_string(line, f.name);
      line += ':';
      line += f.value;
    }
    line += "}\n";
  } else {
    // Bold red for an error, bold yellow for a warning: the prefix only, the message plain.
    const char* on = nullptr;
    if (s.color) on = level == "error" ? "\x1b[1;31m" : level == "warning" ? "\x1b[1;33m" : nullptr;
    line.reserve(s.program.size() + message.size() + 32);
    if (on != nullptr) line += on;
    line += s.program;
    line += ':';
    if (level == "warning") line += " warning:";
    if (on != nullptr) line += "\x1b[0m";
    line += ' ';
    // Nothing in a message acts on the terminal; a message laid out in lines (train's
    // confusion matrix) keeps them. Names in it are quoted (diag::quoted), newlines and all.
    line += base::escape_controls(message, "\n\t");
    line += '\n';
  }
  write_stderr(line);
}

}  // namespace

void log(Level level, std::string_view message) {
  const Settings& s = settings();
  if (level == Level::error) {
    emit(level_name(level), message);
    return;
  }
  if (s.quiet) return;
  if (level == Level::warning || static_cast<int>(level) <= 1 + s.verbosity) {
    emit(level_name(level), message);
  }
}

void summary(std::string_view message, const std::vector<Field>& fields) {
  if (settings().quiet) return;
  emit("summary", message, fields);
}

namespace {
std::atomic<uint64_t> g_lost_input{0};
}  // namespace

void count_lost_input(uint64_t records) {
  g_lost_input.fetch_add(records, std::memory_order_relaxed);
}
uint64_t lost_input() {
  return g_lost_input.load(std::memory_order_relaxed);
}

void notice(std::string_view message) {
  if (settings().quiet) return;
  emit("info", message);
}

std::string quoted(std::string_view name) {
  return base::shell_quoted(name);
}

}  // namespace cdn::diag
