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

// The one timestamp grammar of every command: RFC 3339 date-time as JSON Schema's
// "format": "date-time" reads it (and `cdn validate` checks it with this function), e.g.
// "2026-11-22T10:15:30.123Z", "2026-11-22t10:15:30+01:00", "2026-11-22T04:45:30.5-05:30".
// The date is calendar-checked (month lengths, leap years); the separator is T or t (not a
// space); the offset is Z, z or +hh:mm/-hh:mm; a fraction may have any number of digits
// (truncated to nanoseconds). A leap second, :60, is valid only when the time is 23:59 in UTC
// once the offset is taken away ("1998-12-31T23:59:60Z", "1998-12-31T15:59:60-08:00"), and
// it becomes 23:59:59.999999999 UTC of that day: after every other instant of that day,
// before the next, equal to the other leap-second times of that day (a stable sort keeps
// them in input order).
std::optional<Instant> parse_rfc3339(std::string_view s);
// RFC 3339 full-date ("2026-11-22") and full-time ("10:15:30.5+01:00", the leap second as
// above), the formats "date" and "time".
bool is_rfc3339_full_date(std::string_view s);
bool is_rfc3339_full_time(std::string_view s);

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

// "2026-11-22T10:15:30.123Z" (milliseconds, UTC).
void append_rfc3339_ms(std::string& out, Instant t);
std::string format_rfc3339_ms(Instant t);

}  // namespace cdn::record
