// A duration as options write it: a number (a fraction allowed) with ms, s, m or h, or a plain
// number of seconds, from 0 to 10^9 s.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace cdn::base {

// nullopt when `text` is not such a duration; the caller says what it expected.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

}  // namespace cdn::base
