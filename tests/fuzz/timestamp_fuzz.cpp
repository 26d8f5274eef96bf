// libFuzzer target for RFC 3339 timestamps (common/record/timestamp.*) and the time sort
// keys built on them (common/record/sort_key.*). The input is two candidate timestamps, split
// at the first '\n' (without one, the second is the first with its last byte dropped).
// Invariants asserted (a broken one traps):
//   - parse_rfc3339 accepts exactly what an independent parser built on <chrono>'s calendar
//     accepts, and to the same instant (offsets, leap years, month lengths, fractions
//     truncated to nanoseconds, :60 only at 23:59 UTC and read as 23:59:59.999999999 UTC);
//   - the date-time, date and time format checks of `cdn validate` (schema::check_format)
//     agree with the parser: a date-time is valid exactly when it parses, and exactly when
//     its date and its time are valid with a T or t between them;
//   - format_rfc3339_ms writes what <chrono>'s calendar says, and for instants in the years
//     0000..9999 parse -> format -> parse gives the instant truncated to milliseconds, and
//     formatting that again gives the same text (stable);
//   - ordering agrees: two instants compare as their time sort keys compare (cdn sort), and as
//     their formatted texts compare bytewise when both truncate to distinct milliseconds.
#include <simdjson.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/json_text.hpp"
#include "common/record/sort_key.hpp"
#include "common/record/timestamp.hpp"
#include "common/schema/formats.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using cdn::record::Instant;

namespace {

bool num(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// The reference: the grammar of RFC 3339 section 5.6 as JSON Schema reads it (lower-case 't'
// and 'z' allowed, no space for 'T'), the calendar from <chrono>; a leap second is valid
// when 23:59:59 at its offset is 23:59:59 in UTC, and is the last nanosecond of that second.
std::optional<Instant> reference_parse(std::string_view s) {
  using namespace std::chrono;
  int Y, M, D, h, m, sec;
  if (!num(s, 0, 4, Y) || s.size() < 20 || s[4] != '-' || !num(s, 5, 2, M) || s[7] != '-' ||
      !num(s, 8, 2, D) || (s[10] != 'T' && s[10] != 't') || !num(s, 11, 2, h) || s[13] != ':' ||
      !num(s, 14, 2, m) || s[16] != ':' || !num(s, 17, 2, sec))
    return std::nullopt;
  year_month_day ymd{year{Y}, month{static_cast<unsigned>(M)}, day{static_cast<unsigned>(D)}};
  if (!ymd.ok() || h > 23 || m > 59 || sec > 60) return std::nullopt;
  size_t i = 19;
  uint64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return std::nullopt;
    std::string frac(s.substr(start, i - start));
    frac.resize(9, '0');  // pads or truncates to nanoseconds
    nanos = std::stoull(frac);
  }
  int offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!num(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !num(s, i + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  if (sec == 60) {
    auto t = sys_days(ymd) + hours(h) + minutes(m) + seconds(59) - seconds(offset);
    hh_mm_ss utc(t - floor<days>(t));
    if (utc.hours().count() != 23 || utc.minutes().count() != 59) return std::nullopt;
    return Instant{t.time_since_epoch().count(), 999999999};
  }
  auto t = sys_days(ymd) + hours(h) + minutes(m) + seconds(sec) - seconds(offset);
  return Instant{t.time_since_epoch().count(), static_cast<uint32_t>(nanos)};
}

std::string reference_format(Instant t) {
  using namespace std::chrono;
  sys_seconds s{seconds(t.seconds)};
  auto day = floor<days>(s);
  year_month_day ymd(day);
  hh_mm_ss hms(s - day);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03uZ",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                        static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()), t.nanos / 1000000);
  return std::string(buf, static_cast<size_t>(n));
}

bool in_four_digit_years(Instant t) {
  // 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z
  return t.seconds >= -62167219200 && t.seconds <= 253402300799;
}

Instant to_ms(Instant t) {
  return Instant{t.seconds, t.nanos / 1000000 * 1000000};
}

// The time sort key of a timestamp, as cdn sort builds it from a record.
bool time_key(std::string_view s, cdn::record::SortKey& key) {
  static const cdn::record::KeyExtractor extractor("t", cdn::record::KeyType::time);
  if (!cdn::fuzz::valid_utf8(s)) return false;
  std::string json = "{\"t\":";
  cdn::base::append_json_string(json, s);
  json += '}';
  simdjson::padded_string padded(json);
  simdjson::dom::parser parser;
  std::string reason;
  auto r = extractor.extract(parser, std::string_view(padded.data(), padded.size()), key, reason);
  CDN_FUZZ_REQUIRE(r == cdn::record::KeyExtractor::Result::ok ||
                   r == cdn::record::KeyExtractor::Result::unparsable);
  return r == cdn::record::KeyExtractor::Result::ok;
}

std::optional<Instant> check_one(std::string_view s) {
  auto t = cdn::record::parse_rfc3339(s);
  auto ref = reference_parse(s);
  CDN_FUZZ_REQUIRE(t.has_value() == ref.has_value());
  using cdn::schema::check_format;
  using cdn::schema::Format;
  CDN_FUZZ_REQUIRE(check_format(Format::date_time, s) == t.has_value());
  if (s.size() > 11) {
    bool parts = (s[10] == 'T' || s[10] == 't') && check_format(Format::date, s.substr(0, 10)) &&
                 check_format(Format::time, s.substr(11));
    CDN_FUZZ_REQUIRE(parts == t.has_value());
  }
  if (!t) return t;
  CDN_FUZZ_REQUIRE(*t == *ref);
  CDN_FUZZ_REQUIRE(t->nanos < 1000000000);
  std::string f = cdn::record::format_rfc3339_ms(*t);
  CDN_FUZZ_REQUIRE(f == reference_format(*t));
  if (in_four_digit_years(*t)) {
    auto back = cdn::record::parse_rfc3339(f);
    CDN_FUZZ_REQUIRE(back && *back == to_ms(*t));
    CDN_FUZZ_REQUIRE(cdn::record::format_rfc3339_ms(*back) == f);
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view a = nl == std::string_view::npos ? in : in.substr(0, nl);
  std::string_view b = nl == std::string_view::npos ? in.substr(0, in.empty() ? 0 : in.size() - 1)
                                                    : in.substr(nl + 1);
  auto ta = check_one(a);
  auto tb = check_one(b);

  cdn::record::SortKey ka, kb;
  bool has_ka = time_key(a, ka), has_kb = time_key(b, kb);
  if (cdn::fuzz::valid_utf8(a)) CDN_FUZZ_REQUIRE(has_ka == ta.has_value());
  if (cdn::fuzz::valid_utf8(b)) CDN_FUZZ_REQUIRE(has_kb == tb.has_value());
  if (!ta || !tb) return 0;
  if (has_ka && has_kb) {
    int c = cdn::record::compare_keys(ka, kb);
    int expect = *ta < *tb ? -1 : (*tb < *ta ? 1 : 0);
    CDN_FUZZ_REQUIRE(c == expect);
  }
  if (in_four_digit_years(*ta) && in_four_digit_years(*tb)) {
    std::string fa = cdn::record::format_rfc3339_ms(*ta), fb = cdn::record::format_rfc3339_ms(*tb);
    auto ma = to_ms(*ta), mb = to_ms(*tb);
    CDN_FUZZ_REQUIRE((fa < fb) == (ma < mb));
    CDN_FUZZ_REQUIRE((fa == fb) == (ma == mb));
  }
  return 0;
}
