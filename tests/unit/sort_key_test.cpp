#include "common/record/sort_key.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

using cdn::record::compare_keys;
using cdn::record::KeyExtractor;
using cdn::record::KeyType;
using cdn::record::SortKey;

namespace {

// The key of `{"k": value}` as the parser finds it, and as the fast path finds it (when it
// does): both must be the same.
SortKey key_of(const std::string& value, KeyType type = KeyType::automatic) {
  KeyExtractor ex("k", type);
  std::string text = "{\"k\":" + value + "}";
  simdjson::padded_string padded(text);
  std::string_view line(padded.data(), padded.size());
  simdjson::dom::parser parser;
  SortKey parsed;
  std::string reason;
  EXPECT_EQ(ex.extract(parser, line, parsed, reason), KeyExtractor::Result::ok) << value;
  SortKey fast;
  if (ex.extract_fast(line, fast)) {
    EXPECT_EQ(fast.kind, parsed.kind) << value;
    EXPECT_EQ(fast.a, parsed.a) << value;
    EXPECT_EQ(fast.b, parsed.b) << value;
  }
  return parsed;
}

// Each list is in strictly ascending order; every pair must compare so.
void expect_ascending(const std::vector<std::string>& values, KeyType type = KeyType::automatic) {
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values.size(); ++j) {
      int want = i < j ? -1 : (i > j ? 1 : 0);
      EXPECT_EQ(compare_keys(key_of(values[i], type), key_of(values[j], type)), want)
          << values[i] << " vs " << values[j];
    }
  }
}

}  // namespace

TEST(SortKey, IntegersNearTwoToThe53CompareExactly) {
  expect_ascending({"9007199254740991", "9007199254740992", "9007199254740993", "9007199254740994",
                    "9007199254740995"});
  expect_ascending({"-9007199254740995", "-9007199254740994", "-9007199254740993",
                    "-9007199254740992", "-9007199254740991"});
}

TEST(SortKey, IntegersNearTwoToThe63CompareExactly) {
  // 2^63 - 1 is the largest int64, 2^63 the smallest uint64 beyond it, 9.3e18 a double.
  expect_ascending({"9223372036854774783", "9223372036854775806", "9223372036854775807",
                    "9223372036854775808", "9223372036854775809", "9.3e18"});
  expect_ascending({"-9.3e18", "-9223372036854775808", "-9223372036854775807",
                    "-9223372036854775806", "-9223372036854774784"});
}

TEST(SortKey, IntegersNearTwoToThe64CompareExactly) {
  // 2^64 - 1 is the largest uint64; beyond it numbers are doubles (written with a fraction
  // or an exponent: simdjson refuses integers of more than 64 bits).
  expect_ascending({"18446744073709549568", "18446744073709551614", "18446744073709551615",
                    "1.8446744073709551616e19", "18446744073709555712.0", "1e20"});
}

TEST(SortKey, IntegersAndDoublesOfTheSameValueAreEqual) {
  EXPECT_EQ(compare_keys(key_of("9007199254740992"), key_of("9007199254740992.0")), 0);
  EXPECT_EQ(compare_keys(key_of("9223372036854775808"), key_of("9.223372036854775808e18")), 0);
  EXPECT_EQ(compare_keys(key_of("-9223372036854775808"), key_of("-9.223372036854775808e18")), 0);
  EXPECT_EQ(compare_keys(key_of("100"), key_of("1e2")), 0);
  EXPECT_EQ(compare_keys(key_of("0"), key_of("-0.0")), 0);
  // A double just above an integer and an integer just above a double.
  expect_ascending({"9007199254740992", "9007199254740993", "9007199254740994.0"});
  expect_ascending({"9223372036854775807", "9.223372036854775808e18", "9223372036854775809"});
  expect_ascending({"-1.5", "-1", "0.5", "1", "1.5"});
}

TEST(SortKey, NumericStringsWithKeyTypeNumberCompareExactly) {
  expect_ascending({"\"-9223372036854775808\"", "\"9007199254740992\"", "\"9007199254740993\"",
                    "\"9223372036854775807\"", "\"9223372036854775808\"",
                    "\"18446744073709551615\"", "\"18446744073709551616\""},
                   KeyType::number);
}
