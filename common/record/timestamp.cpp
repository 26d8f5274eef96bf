#include "common/record/timestamp.hpp"

#include <cstdio>

namespace cdn::record {

namespace {
inline bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + static_cast<int>(d);
  }
  out = v;
  return true;
}

inline bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned month_days(int64_t y, int m) {
  static const unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}
}  // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

namespace {
struct Date {
  int year, month, day;
};
struct Clock {
  int hour, minute, second;
  uint32_t nanos;
  int offset;  // seconds east of UTC
};

// full-date = date-fullyear "-" date-month "-" date-mday, calendar-checked.
bool parse_full_date(std::string_view s, Date& d) {
  if (s.size() != 10 || !digits(s, 0, 4, d.year) || s[4] != '-' || !digits(s, 5, 2, d.month) ||
      s[7] != '-' || !digits(s, 8, 2, d.day))
    return false;
  return d.month >= 1 && d.month <= 12 && d.day >= 1 &&
         d.day <= static_cast<int>(month_days(d.year, d.month));
}

// full-time = partial-time time-offset: hh:mm:ss, a fraction of any length (truncated to
// nanoseconds), then Z (or z) or +hh:mm / -hh:mm. Second 60 only when the time is 23:59 in
// UTC once the offset is taken away.
bool parse_full_time(std::string_view s, Clock& c) {
  if (!digits(s, 0, 2, c.hour) || s.size() < 9 || s[2] != ':' || !digits(s, 3, 2, c.minute) ||
      s[5] != ':' || !digits(s, 6, 2, c.second))
    return false;
  if (c.hour > 23 || c.minute > 59 || c.second > 60) return false;
  size_t i = 8;
  c.nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    uint32_t scale = 100000000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      c.nanos += static_cast<uint32_t>(s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  c.offset = 0;
  char z = s[i];
  if (z == 'Z' || z == 'z') {
    ++i;
  } else if (z == '+' || z == '-') {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !digits(s, i + 4, 2, om) || oh > 23 || om > 59)
      return false;
    c.offset = (oh * 60 + om) * 60 * (z == '-' ? -1 : 1);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  if (c.second == 60) {
    int utc_minute = ((c.hour * 60 + c.minute - c.offset / 60) % 1440 + 1440) % 1440;
    if (utc_minute != 23 * 60 + 59) return false;
  }
  return true;
}
}  // namespace

std::optional<Instant> parse_rfc3339(std::string_view s) {
  Date d;
  Clock c;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || !parse_full_date(s.substr(0, 10), d) ||
      !parse_full_time(s.substr(11), c))
    return std::nullopt;
  if (c.second == 60) {
    // The leap second 23:59:60 UTC is the last instant of 23:59:59 UTC (see the header).
    c.second = 59;
    c.nanos = 999999999;
  }
  int64_t days =
      days_from_civil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day));
  Instant out;
  out.seconds = days * 86400 + c.hour * 3600 + c.minute * 60 + c.second - c.offset;
  out.nanos = c.nanos;
  return out;
}

bool is_rfc3339_full_date(std::string_view s) {
  Date d;
  return parse_full_date(s, d);
}

bool is_rfc3339_full_time(std::string_view s) {
  Clock c;
  return parse_full_time(s, c);
}

void append_rfc3339_ms(std::string& out, Instant t) {
  int64_t days = t.seconds >= 0 ? t.seconds / 86400 : -((-t.seconds + 86399) / 86400);
  int64_t rem = t.seconds - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[40];
  int n =
      std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03uZ",
                    static_cast<long long>(y), m, d, static_cast<int>(rem / 3600),
                    static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60), t.nanos / 1000000);
  out.append(buf, static_cast<size_t>(n));
}

std::string format_rfc3339_ms(Instant t) {
  std::string s;
  append_rfc3339_ms(s, t);
  return s;
}

}  // namespace cdn::record
