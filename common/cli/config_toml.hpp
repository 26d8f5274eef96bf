// The config file's reader: TOML (https://toml.io/en/v1.0.0), strictly. CLI11's own reader
// takes what it does not understand as a literal (`key = "x` unterminated became the value
// `"x`), splits values at '#' and ',' inside strings and keeps escapes as they are written; this
// one refuses every malformed line with the file, the line and what is wrong.
//
// What a command option can hold is taken: strings (basic, literal, multi-line, with every
// escape), integers (decimal, 0x, 0o, 0b, with underscores: given on as decimal text), floats,
// booleans, dates and times (as written), and arrays of these (one value per element). Inline
// tables and arrays of tables are valid TOML but configure no option: they are refused too.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::cli {

// One key = value of the file: the tables it is in ([section], dotted keys), its name and its
// values as text (an array gives one per element).
struct ConfigEntry {
  std::vector<std::string> parents;
  std::string key;
  std::vector<std::string> values;
  size_t line = 0;
};

// The most a config file may hold; a longer one (or /dev/zero) is refused.
inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;

// Parses `text`, the content of the config file `file`. Throws UsageError naming the file,
// the line and the fault.
std::vector<ConfigEntry> parse_config_toml(std::string_view text, const std::string& file);

}  // namespace cdn::cli
