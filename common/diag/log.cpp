#include "common/diag/log.hpp"

#include <unistd.h>

#include <cstring>
#include <string>

#include "common/base/fd.hpp"
#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"

namespace cdn {

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace cdn

namespace cdn::diag {

Settings& settings() {
  static Settings s;
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
  base::try_write_all(STDERR_FILENO, line.data(), line.size());  // nowhere left to report to
}

void emit(std::string_view level, std::string_view message) {
  const Settings& s = settings();
  std::string line;
  if (s.format == Format::json) {
    line = "{\"level\":";
    base::append_json_string(line, level);
    line += ",\"program\":";
    base::append_json_string(line, s.program);
    line += ",\"message\":";
    base::append_json_string(line, message);
    line += "}\n";
  } else {
    line.reserve(s.program.size() + message.size() + 16);
    line += s.program;
    line += ": ";
    if (level == "warning") line += "warning: ";
    line += message;
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

void summary(std::string_view message) {
  if (settings().quiet) return;
  emit("summary", message);
}

void notice(std::string_view message) {
  if (settings().quiet) return;
  emit("info", message);
}

std::string quoted(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '\'';
  out += name;
  out += '\'';
  return out;
}

}  // namespace cdn::diag
