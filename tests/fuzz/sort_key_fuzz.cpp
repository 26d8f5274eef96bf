// libFuzzer target for the sort keys cdn sort reads without parsing the whole line
// (record::KeyExtractor::extract_fast, record::scan_path). The first byte picks the key (a
// top-level timestamp, a nested number, a string, a number with --key-type number, a time
// with --key-type time); the rest is one line. Invariants asserted (a broken one traps):
//   - when the line is one JSON document (simdjson parses it), the fast path finds a key only
//     where the parser finds one, and the same key (same kind, same words, same string);
//   - whatever the line, the value the fast path takes its key from gives the parser the same
//     key on its own (when it is UTF-8), and so does the line cut just after it and closed
//     (when what was skipped before it is JSON): the fast path never makes a key up;
//   - the fast path does not read outside the line (ASan; the line is copied to a buffer of
//     its own size).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "common/record/fields.hpp"
#include "common/record/sort_key.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using cdn::record::KeyExtractor;
using cdn::record::KeyType;
using cdn::record::SortKey;

struct Case {
  const char* path;
  KeyType type;
};
constexpr Case kCases[] = {
    {"timestamp", KeyType::automatic},
    {"a.b", KeyType::automatic},
    {"k", KeyType::string},
    {"k", KeyType::number},
    {"t", KeyType::time},
};

bool same_key(const SortKey& x, const SortKey& y) {
  if (x.kind != y.kind || x.a != y.a || x.b != y.b) return false;
  if (x.kind != 3) return true;
  return std::string_view(x.str, x.len) == std::string_view(y.str, y.len);
}

KeyExtractor::Result parse_key(const KeyExtractor& ex, std::string_view text, SortKey& key,
                               std::string& owned) {
  static simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  std::string reason;
  auto r = ex.extract(parser, std::string_view(padded.data(), padded.size()), key, reason);
  if (r == KeyExtractor::Result::ok && key.kind == 3) {
    owned.assign(key.str, key.len);
    key.str = owned.data();
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Case& c = kCases[data[0] % (sizeof kCases / sizeof kCases[0])];
  static const KeyExtractor* extractors[sizeof kCases / sizeof kCases[0]] = {};
  size_t which = static_cast<size_t>(&c - kCases);
  if (!extractors[which]) extractors[which] = new KeyExtractor(c.path, c.type);
  const KeyExtractor& ex = *extractors[which];

  // A buffer of exactly the line's size: reading past it is a bug ASan reports.
  std::unique_ptr<char[]> buf(new char[size - 1 + 1]);
  std::memcpy(buf.get(), data + 1, size - 1);
  std::string_view line(buf.get(), size - 1);

  SortKey fast;
  bool found = ex.extract_fast(line, fast);

  SortKey parsed;
  std::string owned;
  auto r = parse_key(ex, line, parsed, owned);
  simdjson::dom::parser check;
  simdjson::padded_string padded(line);
  bool valid = !check.parse(padded).error();
  if (valid && found) {
    CDN_FUZZ_REQUIRE(r == KeyExtractor::Result::ok);
    CDN_FUZZ_REQUIRE(same_key(fast, parsed));
  }
  if (found) {
    auto value = cdn::record::scan_path(line, cdn::record::split_path(c.path));
    CDN_FUZZ_REQUIRE(value.has_value());
    size_t depth = 1;
    for (const char* p = c.path; *p; ++p) depth += *p == '.';
    // The line up to the end of the key's value, with the objects on the way closed: the
    // parser finds the same key there, unless what was skipped before it is not JSON.
    size_t end = static_cast<size_t>(value->data() + value->size() - line.data());
    std::string cut(line.substr(0, end));
    cut.append(depth, '}');
    SortKey again;
    std::string owned_again;
    auto rc = parse_key(ex, cut, again, owned_again);
    CDN_FUZZ_REQUIRE(rc == KeyExtractor::Result::ok || rc == KeyExtractor::Result::invalid_json);
    if (rc == KeyExtractor::Result::ok) CDN_FUZZ_REQUIRE(same_key(fast, again));
    // The value alone at the key's path: the same key, when the value is UTF-8.
    std::string alone;
    for (const auto& step : cdn::record::split_path(c.path)) alone += "{\"" + step + "\":";
    alone += *value;
    alone.append(depth, '}');
    if (cdn::fuzz::valid_utf8(*value)) {
      CDN_FUZZ_REQUIRE(parse_key(ex, alone, again, owned_again) == KeyExtractor::Result::ok);
      CDN_FUZZ_REQUIRE(same_key(fast, again));
    }
  }
  return 0;
}
