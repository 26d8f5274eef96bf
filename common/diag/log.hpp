// Diagnostics on stderr: one prefix ("cdn CMD: "), -q/-v levels, text or JSON lines. On a
// terminal the prefix of an error is red and that of a warning ("cdn CMD: warning:") yellow,
// unless NO_COLOR is set to anything but "" (no-color.org) or TERM is "dumb"; never in JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::diag {

enum class Level { error = 0, warning = 1, info = 2, debug = 3 };
enum class Format { text, json };

struct Settings {
  std::string program = "cdn";  // "cdn sort" once a command is chosen
  int verbosity = 0;            // -v count
  bool quiet = false;           // -q: errors only, no summary
  Format format = Format::text;
  bool color = false;  // colour the prefix of errors and warnings (see color_wanted)
};

// Whether stderr takes colour: a terminal, NO_COLOR unset or empty, TERM not "dumb". It is
// what settings().color starts as.
bool color_wanted();

Settings& settings();

void log(Level level, std::string_view message);
inline void error(std::string_view m) {
  log(Level::error, m);
}
inline void warning(std::string_view m) {
  log(Level::warning, m);
}
inline void info(std::string_view m) {
  log(Level::info, m);
}
inline void debug(std::string_view m) {
  log(Level::debug, m);
}

// A number a line carries as a field of its own with --log-format json ("in": 120); `value`
// is JSON number text.
struct Field {
  std::string name;
  std::string value;
};

// The end-of-run summary line; suppressed by -q. With --log-format json the `fields` follow
// the message.
void summary(std::string_view message, const std::vector<Field>& fields = {});
// An info line shown without -v (suppressed by -q): what the user needs to act on, such as
// the address a server took.
void notice(std::string_view message);

// Records an input lost before the command could read them (a Kafka broker's retention dropped
// them first): counted for the whole process, said in the summary, and the run fails.
void count_lost_input(uint64_t records);
uint64_t lost_input();

// Quote a name for a message: 'day1.ndjson', and a name holding a byte a terminal would act
// on as GNU ls and sort do: 'a'$'\n''b' (base::shell_quoted).
std::string quoted(std::string_view name);

}  // namespace cdn::diag
