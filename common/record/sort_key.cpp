#include "common/record/sort_key.hpp"

#include <bit>
#include <charconv>
#include <cmath>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/record/fields.hpp"
#include "common/record/json_syntax.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::record {

KeyType parse_key_type(const std::string& name) {
  if (name == "auto") return KeyType::automatic;
  if (name == "time") return KeyType::time;
  if (name == "number") return KeyType::number;
  if (name == "string") return KeyType::string;
  throw UsageError("unknown key type " + diag::quoted(name) + "; use auto, time, number or string");
}

namespace {

inline uint64_t ordered_bits(double d) {
  if (d == 0) d = 0;  // -0.0 and 0.0 are equal
  uint64_t u = std::bit_cast<uint64_t>(d);
  return (u >> 63) ? ~u : (u | (uint64_t{1} << 63));
}

// Numbers compare exactly whether they came as int64, uint64 or double: `a` orders the
// largest double not above the value, `b` is what the value exceeds that double by (0 for a
// double and for an integer a double holds; below 2^11 for any 64-bit integer, whose doubles
// are 2^11 apart at most). Converting both to double instead would make 2^53 + 1 equal 2^53.
inline void set_number(SortKey& key, double d) {
  key.kind = static_cast<uint8_t>(KeyKind::number);
  key.a = ordered_bits(d);
  key.b = 0;
}

constexpr int64_t kExactInDouble = int64_t{1} << 53;

inline void set_number(SortKey& key, int64_t n) {
  if (n >= -kExactInDouble && n <= kExactInDouble) return set_number(key, static_cast<double>(n));
  double d = static_cast<double>(n);  // the nearest double: maybe above n, maybe 2^63
  if (d >= 0x1p63 || static_cast<int64_t>(d) > n) d = std::nextafter(d, -HUGE_VAL);
  key.kind = static_cast<uint8_t>(KeyKind::number);
  key.a = ordered_bits(d);
  key.b = static_cast<uint64_t>(n - static_cast<int64_t>(d));
}

inline void set_number(SortKey& key, uint64_t n) {
  if (n <= static_cast<uint64_t>(kExactInDouble)) return set_number(key, static_cast<double>(n));
  double d = static_cast<double>(n);  // the nearest double: maybe above n, maybe 2^64
  if (d >= 0x1p64 || static_cast<uint64_t>(d) > n) d = std::nextafter(d, -HUGE_VAL);
  key.kind = static_cast<uint8_t>(KeyKind::number);
  key.a = ordered_bits(d);
  key.b = n - static_cast<uint64_t>(d);
}

inline void set_time(SortKey& key, const Instant& t) {
  key.kind = static_cast<uint8_t>(KeyKind::time);
  key.a = static_cast<uint64_t>(t.seconds) ^ (uint64_t{1} << 63);
  key.b = t.nanos;
}

inline void set_string(SortKey& key, std::string_view s) {
  key.kind = static_cast<uint8_t>(KeyKind::string);
  // The first 16 bytes, big-endian, decide most comparisons without touching memory again.
  unsigned char pre[16] = {};
  std::memcpy(pre, s.data(), s.size() < 16 ? s.size() : 16);
  uint64_t a = 0, b = 0;
  for (int i = 0; i < 8; ++i) a = (a << 8) | pre[i];
  for (int i = 8; i < 16; ++i) b = (b << 8) | pre[i];
  key.a = a;
  key.b = b;
  key.str = s.data();
  key.len = static_cast<uint32_t>(s.size());
}

}  // namespace

SortKey string_key(std::string_view s) {
  SortKey k;
  set_string(k, s);
  return k;
}

namespace {

// Strings that start like a date ("2026-11-22...") are meant as timestamps.
inline bool looks_like_date(std::string_view s) {
  return s.size() >= 10 && s[4] == '-' && s[7] == '-' && s[0] >= '0' && s[0] <= '9' &&
         s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9';
}

// RFC 8259 number syntax. Integers of more than 18 digits are left to the parser, which
// knows where 64 bits end.
bool is_json_number(std::string_view v) {
  size_t i = 0, n = v.size();
  if (i < n && v[i] == '-') ++i;
  if (i >= n || v[i] < '0' || v[i] > '9') return false;
  size_t int_begin = i;
  if (v[i] == '0') {
    ++i;
  } else {
    while (i < n && v[i] >= '0' && v[i] <= '9') ++i;
  }
  bool integer = true;
  if (i < n && v[i] == '.') {
    integer = false;
    size_t d = ++i;
    while (i < n && v[i] >= '0' && v[i] <= '9') ++i;
    if (i == d) return false;
  }
  if (i < n && (v[i] == 'e' || v[i] == 'E')) {
    integer = false;
    ++i;
    if (i < n && (v[i] == '+' || v[i] == '-')) ++i;
    size_t d = i;
    while (i < n && v[i] >= '0' && v[i] <= '9') ++i;
    if (i == d) return false;
  }
  return i == n && !(integer && i - int_begin > 18);
}

// A number written as text (a JSON number, or a string with --key-type number): an integer
// that fits 64 bits keeps every digit, as the JSON parser keeps it; anything else is the
// nearest double.
bool number_from_text(std::string_view s, SortKey& key) {
  const char* first = s.data();
  const char* last = first + s.size();
  size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
  bool integer = i < s.size();
  for (size_t k = i; k < s.size() && integer; ++k) integer = s[k] >= '0' && s[k] <= '9';
  if (integer) {
    int64_t n;
    auto r = std::from_chars(first, last, n);
    if (r.ec == std::errc() && r.ptr == last) {
      set_number(key, n);
      return true;
    }
    uint64_t u;
    r = std::from_chars(first, last, u);
    if (i == 0 && r.ec == std::errc() && r.ptr == last) {
      set_number(key, u);
      return true;
    }
  }
  double d;
  auto r = std::from_chars(first, last, d);
  if (r.ec != std::errc() || r.ptr != last || !std::isfinite(d)) return false;
  set_number(key, d);
  return true;
}

}  // namespace

KeyExtractor::KeyExtractor(const std::string& dotted_path, KeyType type)
    : dotted_(dotted_path), path_(split_path(dotted_path)), type_(type) {
  for (const auto& p : path_) {
    // A name that JSON writes with escapes is left to the parser.
    for (char c : p) {
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) fast_ = false;
    }
    if (p.empty()) {
      throw UsageError("bad key " + diag::quoted(dotted_path) +
                       ": empty field name; write a field name or a dotted path like 'a.b'");
    }
  }
}

KeyExtractor::Result KeyExtractor::from_string(std::string_view s, SortKey& key,
                                               std::string& reason) const {
  if (type_ == KeyType::string) {
    set_string(key, s);
    return Result::ok;
  }
  if (type_ == KeyType::number) {
    if (number_from_text(s, key)) return Result::ok;
    reason = "key '" + dotted_ + "' is not a number: \"" + std::string(s) + "\"";
    return Result::unparsable;
  }
  if (type_ == KeyType::time || looks_like_date(s)) {
    if (auto inst = parse_rfc3339(s)) {
      set_time(key, *inst);
      return Result::ok;
    }
    reason = "key '" + dotted_ + "' is not an RFC 3339 timestamp: \"" + std::string(s) + "\"";
    return Result::unparsable;
  }
  set_string(key, s);
  return Result::ok;
}

bool KeyExtractor::extract_fast(std::string_view text, SortKey& key) const {
  if (!fast_) return false;
  // The record must end as an object does; whether it is well-formed past the key is for the
  // caller to trust or check.
  size_t e = text.size();
  while (e > 0 && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r')) --e;
  if (e == 0 || text[e - 1] != '}') return false;
  // After every '}' comes ',', '}', ']' or the end: a second document on the line does not
  // pass (a '}' in a string may send a good record to the parser, which is only slower).
  const char* end = text.data() + e;
  for (const char* p = text.data();
       (p = static_cast<const char*>(std::memchr(p, '}', static_cast<size_t>(end - p))));) {
    ++p;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
    if (p < end && *p != ',' && *p != '}' && *p != ']') return false;
  }
  auto found = scan_path(text, path_);
  if (!found) return false;
  std::string_view v = *found;
  std::string reason;
  if (v.front() == '"') {
    if (v.size() < 2 || v.back() != '"') return false;
    v = v.substr(1, v.size() - 2);
    for (char c : v) {
      // Escapes and control characters: the parser decides.
      if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
    }
    return from_string(v, key, reason) == Result::ok;
  }
  if (type_ == KeyType::time || type_ == KeyType::string || !is_json_number(v)) return false;
  return number_from_text(v, key);
}

KeyExtractor::Result KeyExtractor::extract(simdjson::dom::parser& parser, std::string_view text,
                                           SortKey& key, std::string& reason) const {
  simdjson::dom::element doc;
  if (auto err = parser.parse(text.data(), text.size(), false).get(doc)) {
    reason = invalid_json_reason(text, simdjson::error_message(err));
    return Result::invalid_json;
  }
  return extract(doc, key, reason);
}

KeyExtractor::Result KeyExtractor::extract(simdjson::dom::element doc, SortKey& key,
                                           std::string& reason) const {
  simdjson::dom::element v;
  if (find_path(doc, path_).get(v)) {
    reason = "no key '" + dotted_ + "'";
    return Result::missing;
  }
  using T = simdjson::dom::element_type;
  T t = v.type();
  switch (t) {
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: {
      if (type_ == KeyType::time || type_ == KeyType::string) break;
      if (t == T::INT64) {
        set_number(key, v.get_int64().value_unsafe());
      } else if (t == T::UINT64) {
        set_number(key, v.get_uint64().value_unsafe());
      } else {
        set_number(key, v.get_double().value_unsafe());
      }
      return Result::ok;
    }
    case T::STRING:
      return from_string(v.get_string().value_unsafe(), key, reason);
    default:
      break;
  }
  const char* want = type_ == KeyType::time     ? "an RFC 3339 timestamp string"
                     : type_ == KeyType::number ? "a number"
                     : type_ == KeyType::string ? "a string"
                                                : "a number, timestamp or string";
  reason = "key '" + dotted_ + "' is " + json_type_name(t) + ", not " + want;
  return Result::unparsable;
}

}  // namespace cdn::record
