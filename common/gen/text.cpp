#include "common/gen/text.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>

#include "common/record/timestamp.hpp"

namespace cdn::gen {

namespace {

constexpr std::string_view kFieldName[kFieldCount] = {
    "timestamp",        "client_ip",    "asn",         "country",         "pop",
    "device",           "content_type", "http_status", "cache_status",    "bytes_sent",
    "response_time_ms", "ttfb_ms",      "rtt_ms",      "throughput_kbps", "bitrate_kbps",
    "qoe_bad"};

constexpr bool is_string_field(int f) {
  return f == kTimestamp || f == kClientIp || f == kCountry || f == kPopField || f == kDevice ||
         f == kContentType || f == kCacheStatus;
}

constexpr int kDirtKinds = 10;

struct Override {
  int field;
  std::string_view text;
  bool quote;
};

constexpr Override kOutOfRange[] = {
    {kHttpStatus, "700", false}, {kHttpStatus, "99", false},  {kBytesSent, "-1234", false},
    {kAsn, "0", false},          {kAsn, "4294967296", false}, {kRtt, "-3.5", false},
    {kTtfb, "-0.4", false},      {kQoeBad, "2", false},
};
constexpr Override kBadEnum[] = {
    {kDevice, "fridge", true},       {kContentType, "podcast", true}, {kCacheStatus, "STALE", true},
    {kCacheStatus, "hit", true},     {kCountry, "Germany", true},     {kPopField, "fra1", true},
    {kClientIp, "300.12.0.7", true},
};
constexpr Override kBadTimestamp[] = {
    {kTimestamp, "2026-13-45T25:00:00Z", true},
    {kTimestamp, "yesterday", true},
    {kTimestamp, "2026-11-22 10:15:30", true},
    {kTimestamp, "1795000000", false},
};
constexpr std::string_view kUnknownField[] = {"\"x_request_id\":\"7f3a9c2e41d0\"",
                                              "\"edge_node\":\"fra1-edge-17\"",
                                              "\"user_agent\":\"Mozilla/5.0 (SMART-TV; Linux)\""};
constexpr std::string_view kUnknownCell[] = {"7f3a9c2e41d0", "fra1-edge-17", "Mozilla/5.0"};
constexpr std::string_view kNotARecord[] = {
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "203.0.113.7 - - [22/Nov/2026:10:15:30 +0000] \"GET /vod/seg_00042.m4s HTTP/1.1\" 206 1843200",
    "#Fields: date time c-ip cs-method cs-uri-stem sc-status",
};
constexpr int kNumberFields[] = {kAsn, kHttpStatus, kBytesSent, kRtt, kThroughput};

void apply(Mutation& m, const Override& o) {
  m.field = o.field;
  m.text = o.text;
  m.quote = o.quote;
}

// "\"timestamp\":" and so on, built once.
const std::array<std::string, kFieldCount> kFieldKey = [] {
  std::array<std::string, kFieldCount> keys;
  for (int f = 0; f < kFieldCount; ++f) {
    keys[f].append(1, '"').append(kFieldName[f]).append("\":");
  }
  return keys;
}();

}  // namespace

Mutation draw_dirt(Rng& rng, bool csv, int fields) {
  Mutation m;
  m.kind = static_cast<Dirt>(1 + rng.below(kDirtKinds));
  auto take = [&](const auto& list) -> const Override& {
    const Override& o = list[rng.below(static_cast<uint32_t>(std::size(list)))];
    // Without the label an out-of-range qoe_bad would be an unknown field instead.
    return o.field < fields ? o : list[0];
  };
  switch (m.kind) {
    case Dirt::truncated:
      m.cut = rng.uniform(0.1, 0.9);
      break;
    case Dirt::unbalanced:
      if (csv) m.field = static_cast<int>(rng.below(static_cast<uint32_t>(fields)));
      break;
    case Dirt::not_a_record:
      m.text = kNotARecord[rng.below(std::size(kNotARecord))];
      break;
    case Dirt::number_as_string:
      m.field = kNumberFields[rng.below(std::size(kNumberFields))];
      break;
    case Dirt::missing_field:
    case Dirt::null_value:
      m.field = static_cast<int>(rng.below(kFieldCount - 1));
      break;
    case Dirt::unknown_field: {
      uint32_t i = rng.below(std::size(kUnknownField));
      m.text = csv ? kUnknownCell[i] : kUnknownField[i];
      break;
    }
    case Dirt::out_of_range:
      apply(m, take(kOutOfRange));
      break;
    case Dirt::bad_enum:
      apply(m, take(kBadEnum));
      break;
    case Dirt::bad_timestamp:
      apply(m, take(kBadTimestamp));
      break;
    case Dirt::none:
      break;
  }
  return m;
}

void LineWriter::write(std::string& out, const Event& e, const Mutation& m) {
  b_.clear();
  if (m.kind == Dirt::not_a_record) {
    out.assign(m.text);
    return;
  }
  if (!csv_) b_.put('{');
  bool first = true;
  for (int f = 0; f < fields(); ++f) {
    if (f == m.field && m.kind == Dirt::missing_field) continue;
    if (!first) b_.put(',');
    first = false;
    if (!csv_) b_.put(kFieldKey[f]);
    if (f != m.field) {
      value(f, e);
      continue;
    }
    switch (m.kind) {
      case Dirt::number_as_string:
        if (csv_) {
          b_.put("n/a");
        } else {
          b_.put('"');
          value(f, e);
          b_.put('"');
        }
        break;
      case Dirt::unbalanced:  // CSV only: a quote in an unquoted cell
        b_.put('"');
        value(f, e);
        break;
      case Dirt::null_value:
        if (!csv_) b_.put("null");
        break;
      default:
        if (m.quote && !csv_) b_.put('"');
        b_.put(m.text);
        if (m.quote && !csv_) b_.put('"');
    }
  }
  if (m.kind == Dirt::unknown_field) {
    b_.put(',');
    b_.put(m.text);
  }
  if (!csv_ && m.kind != Dirt::unbalanced) b_.put('}');
  if (m.kind == Dirt::truncated) {
    size_t keep = static_cast<size_t>(m.cut * static_cast<double>(b_.size()));
    b_.resize(std::clamp<size_t>(keep, 1, b_.size() - 1));
  }
  out.assign(b_.view());
}

// value() and timestamp() are inline, as they were when defined in the class: write() calls
// them for every field.
inline void LineWriter::value(int f, const Event& e) {
  const bool q = !csv_ && is_string_field(f);
  if (q) b_.put('"');
  switch (f) {
    case kTimestamp:
      timestamp(start_ms_ + static_cast<int64_t>(std::floor(e.t * 1000)));
      break;
    case kClientIp:
      for (int shift = 24; shift >= 0; shift -= 8) {
        b_.put_uint((e.ip >> shift) & 0xff);
        if (shift) b_.put('.');
      }
      break;
    case kAsn:
      b_.put_uint(e.asn);
      break;
    case kCountry:
      b_.put(std::string_view(kNetworks[e.net].country, 2));
      break;
    case kPopField:
      b_.put(std::string_view(kPops[e.pop].code, 4));
      break;
    case kDevice:
      b_.put(kDeviceName[e.device]);
      break;
    case kContentType:
      b_.put(kContentName[e.content]);
      break;
    case kHttpStatus:
      b_.put_uint(e.status);
      break;
    case kCacheStatus:
      b_.put(kCacheName[e.cache]);
      break;
    case kBytesSent:
      b_.put_uint(e.bytes);
      break;
    case kResponseTime:
      b_.put_fixed1(e.response_ms);
      break;
    case kTtfb:
      b_.put_fixed1(e.ttfb_ms);
      break;
    case kRtt:
      b_.put_fixed1(e.rtt_ms);
      break;
    case kThroughput:
      b_.put_uint(static_cast<uint64_t>(e.throughput_kbps + 0.5));
      break;
    case kBitrate:
      b_.put_uint(e.bitrate_kbps);
      break;
    case kQoeBad:
      b_.put(static_cast<char>('0' + e.qoe_bad));
      break;
    default:
      break;
  }
  if (q) b_.put('"');
}

inline void LineWriter::timestamp(int64_t ms) {
  int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  if (day != day_) {
    day_ = day;
    std::string d = record::format_rfc3339_ms(record::Instant{day * 86400, 0});
    date_.assign(d, 0, 11);  // "2026-11-22T"
  }
  int64_t rem = ms - day * 86400000;
  int secs = static_cast<int>(rem / 1000);
  int milli = static_cast<int>(rem % 1000);
  b_.put(date_);
  b_.put2(secs / 3600);
  b_.put(':');
  b_.put2(secs / 60 % 60);
  b_.put(':');
  b_.put2(secs % 60);
  b_.put('.');
  b_.put(static_cast<char>('0' + milli / 100));
  b_.put2(milli % 100);
  b_.put('Z');
}

// The header row names the fields as the records do.
std::string Generator::csv_header(bool label) {
  std::string h;
  int n = label ? kFieldCount : kFieldCount - 1;
  for (int f = 0; f < n; ++f) {
    if (f) h += ',';
    h.append(kFieldName[f]);
  }
  return h;
}

}  // namespace cdn::gen
