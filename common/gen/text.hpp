// One generated request as a line of text: NDJSON or CSV, clean or deliberately broken
// (docs/gen.md, "The record" and "Dirty lines").
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/gen/generator.hpp"
#include "common/gen/rng.hpp"
#include "common/gen/world.hpp"

namespace cdn::gen {

enum Field : int {
  kTimestamp,
  kClientIp,
  kAsn,
  kCountry,
  kPopField,
  kDevice,
  kContentType,
  kHttpStatus,
  kCacheStatus,
  kBytesSent,
  kResponseTime,
  kTtfb,
  kRtt,
  kThroughput,
  kBitrate,
  kQoeBad,
  kFieldCount
};

// Kinds of bad line (docs/gen.md, "Dirty lines").
enum class Dirt : uint8_t {
  none,
  truncated,         // the line cut short
  unbalanced,        // NDJSON: closing brace missing; CSV: a stray quote inside a cell
  not_a_record,      // a line that is no record at all
  number_as_string,  // NDJSON: "asn":"13335"; CSV: a number cell holding text
  missing_field,     // a required field left out
  unknown_field,     // an extra field
  out_of_range,      // http_status 700, negative bytes_sent, asn 0, ...
  bad_enum,          // device "fridge", lower-case cache status, bad country, pop, address
  bad_timestamp,     // "2026-13-45T25:00:00Z", "yesterday", no zone, epoch seconds
  null_value,        // NDJSON null; CSV an empty cell
};

struct Mutation {
  Dirt kind = Dirt::none;
  int field = -1;
  std::string_view text;  // the replacement value or line
  bool quote = false;     // NDJSON: the replacement is a string
  double cut = 0;         // truncated: the fraction of the line kept
};

// Which bad line to write instead of a clean one, drawn from `rng`; `csv` for CSV output,
// `fields` the number of fields written.
Mutation draw_dirt(Rng& rng, bool csv, int fields);

// Appends to a fixed buffer: no allocation, one copy per line. Lines are far shorter than it.
class Buf {
 public:
  void clear() { p_ = data_; }
  void put(char c) { *p_++ = c; }
  void put(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void put_uint(uint64_t v) { p_ = std::to_chars(p_, data_ + sizeof data_, v).ptr; }
  // One decimal, always written ("12.0"): a fixed shape is friendlier to CSV readers.
  void put_fixed1(double v) {
    uint64_t tenths = static_cast<uint64_t>(v * 10 + 0.5);
    put_uint(tenths / 10);
    put('.');
    put(static_cast<char>('0' + tenths % 10));
  }
  void put2(int v) {
    p_[0] = static_cast<char>('0' + v / 10);
    p_[1] = static_cast<char>('0' + v % 10);
    p_ += 2;
  }
  size_t size() const { return static_cast<size_t>(p_ - data_); }
  void resize(size_t n) { p_ = data_ + n; }
  std::string_view view() const { return {data_, size()}; }

 private:
  char data_[2048];
  char* p_ = data_;
};

class LineWriter {
 public:
  LineWriter(Format format, bool label, int64_t start_ms)
      : csv_(format == Format::csv), label_(label), start_ms_(start_ms) {}

  int fields() const { return label_ ? kFieldCount : kFieldCount - 1; }

  void write(std::string& out, const Event& e, const Mutation& m);

 private:
  void value(int f, const Event& e);
  // "2026-11-22T10:15:30.123Z"; the date part is cached per day.
  void timestamp(int64_t ms);

  bool csv_;
  bool label_;
  int64_t start_ms_;
  int64_t day_ = INT64_MIN;
  std::string date_;
  Buf b_;
};

}  // namespace cdn::gen
