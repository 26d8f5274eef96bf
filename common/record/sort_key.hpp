// Sort keys: a field of a record turned into something that compares fast and right.
// Numbers compare numerically and exactly (int64, uint64 and double mixed: 2^53 + 1 sorts
// after 2^53, 2^64 - 1 before the double 2^64), RFC 3339 timestamps as instants (any offset, any
// fraction), strings bytewise. Across kinds: number < timestamp < string.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::record {

enum class KeyType { automatic, time, number, string };
KeyType parse_key_type(const std::string& name);  // throws UsageError

struct SortKey {
  // 0 = placed first (missing, --missing first), 1 number, 2 time, 3 string, 4 placed last.
  uint8_t kind = 0;
  // number: the ordered bits of the largest double not above it, and what it exceeds that
  // double by; time: biased seconds, nanos; string: its first 16 bytes.
  uint64_t a = 0, b = 0;
  const char* str = nullptr;
  uint32_t len = 0;
};

enum class KeyKind : uint8_t { first = 0, number = 1, time = 2, string = 3, last = 4 };

inline int compare_keys(const SortKey& x, const SortKey& y) {
  if (x.kind != y.kind) return x.kind < y.kind ? -1 : 1;
  if (x.a != y.a) return x.a < y.a ? -1 : 1;
  if (x.b != y.b) return x.b < y.b ? -1 : 1;
  if (x.kind != static_cast<uint8_t>(KeyKind::string)) return 0;
  uint32_t n = x.len < y.len ? x.len : y.len;
  int c = n ? std::memcmp(x.str, y.str, n) : 0;
  if (c != 0) return c < 0 ? -1 : 1;
  return x.len == y.len ? 0 : (x.len < y.len ? -1 : 1);
}

// A string key: its first 16 bytes big-endian in a and b, the rest compared from str.
SortKey string_key(std::string_view s);

class KeyExtractor {
 public:
  enum class Result { ok, missing, unparsable, invalid_json };

  KeyExtractor(const std::string& dotted_path, KeyType type);

  // Parses `text` (padded, see io::LineReader) and fills `key`. For string keys `key.str`
  // points into the parser's buffer: copy it before the next parse. On failure `reason`
  // says why.
  Result extract(simdjson::dom::parser& parser, std::string_view text, SortKey& key,
                 std::string& reason) const;
  // The same for a document already parsed.
  Result extract(simdjson::dom::element doc, SortKey& key, std::string& reason) const;
  // Reads `text` only as far as the key (see scan_path) and, when that finds a key that
  // parses and the text ends as an object does, fills `key` (string keys point into
  // `text`). False when anything is unusual: then extract() decides, with the reason.
  // Neither the UTF-8 nor the JSON past the key is checked.
  bool extract_fast(std::string_view text, SortKey& key) const;

  const std::string& path_text() const { return dotted_; }

 private:
  Result from_string(std::string_view s, SortKey& key, std::string& reason) const;

  std::string dotted_;
  std::vector<std::string> path_;
  KeyType type_;
  bool fast_ = true;  // extract_fast can find this key
};

}  // namespace cdn::record
