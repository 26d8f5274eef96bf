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
//     its own size);
//   - a number key compares with the keys of numbers near 0, 2^53, +-2^63 and 2^64 (int64,
//     uint64 and double) exactly as the values do, compared exactly as long doubles (whose 64
//     bits of mantissa hold every int64, uint64 and double), never as doubles;
//   - with --key-type number, a string holding a JSON number has the key of that number.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
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

// The value of a JSON number element, exactly.
static_assert(std::numeric_limits<long double>::digits >= 64, "long double must hold a uint64");
bool exact_value(simdjson::dom::element v, long double& out) {
  using T = simdjson::dom::element_type;
  switch (v.type()) {
    case T::INT64:
      out = static_cast<long double>(v.get_int64().value_unsafe());
      return true;
    case T::UINT64:
      out = static_cast<long double>(v.get_uint64().value_unsafe());
      return true;
    case T::DOUBLE:
      out = static_cast<long double>(v.get_double().value_unsafe());
      return true;
    default:
      return false;
  }
}

// Numbers where int64, uint64 and double part ways, written as the parser reads them.
constexpr const char* kBoundaries[] = {"0",
                                       "-0.0",
                                       "0.5",
                                       "-1",
                                       "9007199254740991",
                                       "9007199254740992",
                                       "9007199254740993",
                                       "9007199254740992.0",
                                       "9007199254740994.0",
                                       "-9007199254740993",
                                       "-9007199254740992",
                                       "9223372036854774783",
                                       "9223372036854775807",
                                       "9223372036854775808",
                                       "9.223372036854775808e18",
                                       "9223372036854775809",
                                       "-9223372036854775808",
                                       "-9223372036854775807",
                                       "-9.3e18",
                                       "18446744073709549568",
                                       "18446744073709551614",
                                       "18446744073709551615",
                                       "1.8446744073709551616e19",
                                       "18446744073709555712.0",
                                       "1e300",
                                       "-1e300"};

// Every number key agrees with the exact order of the values against every boundary.
void check_exact_order(const KeyExtractor& ex, std::string_view line, const SortKey& key) {
  static simdjson::dom::parser parser;
  simdjson::padded_string padded(line);
  simdjson::dom::element doc, v;
  if (parser.parse(padded).get(doc)) return;
  if (cdn::record::find_path(doc, cdn::record::split_path(ex.path_text())).get(v)) return;
  long double value;
  if (!exact_value(v, value)) return;
  static simdjson::dom::parser bparser;
  for (const char* b : kBoundaries) {
    simdjson::padded_string bp{std::string_view(b)};
    simdjson::dom::element be;
    CDN_FUZZ_REQUIRE(!bparser.parse(bp).get(be));
    long double bound;
    CDN_FUZZ_REQUIRE(exact_value(be, bound));
    SortKey bkey;
    std::string owned, text = "{\"k\":" + std::string(b) + "}";
    static const KeyExtractor number_key("k", KeyType::number);
    CDN_FUZZ_REQUIRE(parse_key(number_key, text, bkey, owned) == KeyExtractor::Result::ok);
    int want = value < bound ? -1 : (value > bound ? 1 : 0);
    CDN_FUZZ_REQUIRE(cdn::record::compare_keys(key, bkey) == want);
  }
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
  if (r == KeyExtractor::Result::ok && parsed.kind == 1) {
    check_exact_order(ex, line, parsed);
    if (c.type == KeyType::number && cdn::fuzz::valid_utf8(line)) {
      // A numeric string: the key of the number it holds.
      simdjson::dom::parser p;
      simdjson::padded_string padded(line);
      simdjson::dom::element doc;
      std::string_view str;
      if (!p.parse(padded).get(doc) && !doc["k"].get(str)) {
        simdjson::padded_string inner(str);
        simdjson::dom::parser q;
        simdjson::dom::element num;
        if (!q.parse(inner).get(num) && num.is_number()) {
          SortKey again;
          std::string owned_again;
          std::string plain = "{\"k\":" + std::string(str) + "}";
          CDN_FUZZ_REQUIRE(parse_key(ex, plain, again, owned_again) == KeyExtractor::Result::ok);
          CDN_FUZZ_REQUIRE(same_key(parsed, again));
        }
      }
    }
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
