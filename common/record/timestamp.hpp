// RFC 3339 timestamps: parsed to an instant (any fraction, any offset), formatted in UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdn::record {

struct Instant {
  int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
  uint32_t nanos = 0;   // 0 .. 999,999,999 (digits beyond nanoseconds are truncated)
  auto operator<=>(const Instant&) const = default;
};

// "2026-11-22T10:15:30.123Z", "2026-11-22t10:15:30+01:00", "2026-11-22 10:15:30.5-05:30".
// Calendar-checked (month lengths, leap years); a leap second (:60) is accepted.
std::optional<Instant> parse_rfc3339(std::string_view s);

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

// "2026-11-22T10:15:30.123Z" (milliseconds, UTC).
void append_rfc3339_ms(std::string& out, Instant t);
std::string format_rfc3339_ms(Instant t);

}  // namespace cdn::record
