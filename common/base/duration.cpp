#include "common/base/duration.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace cdn::base {

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == text.c_str() || errno != 0 || !(v >= 0) || v > 1e9) {
    return std::nullopt;
  }
  std::string unit(end);
  double ms;
  if (unit.empty() || unit == "s") {
    ms = v * 1000;
  } else if (unit == "ms") {
    ms = v;
  } else if (unit == "m") {
    ms = v * 60000;
  } else if (unit == "h") {
    ms = v * 3600000;
  } else {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace cdn::base
