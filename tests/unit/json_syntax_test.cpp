#include "common/record/json_syntax.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

using namespace cdn;

namespace {

// Whether simdjson's DOM parser, the one every command reads records with, takes `text`.
bool simdjson_takes(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  return parser.parse(text).get(doc) == simdjson::SUCCESS;
}

// Numbers at and around each edge simdjson has: the 64-bit integers (signed when negative),
// a double's overflow and underflow, long mantissas, leading zeros in exponents.
std::vector<std::string> edge_numbers() {
  std::vector<std::string> v = {
      "0",
      "-0",
      "18446744073709551615",
      "18446744073709551616",
      "18446744073709551614",
      "99999999999999999999",
      "100000000000000000000",
      "9223372036854775807",
      "9223372036854775808",
      "-9223372036854775807",
      "-9223372036854775808",
      "-9223372036854775809",
      "-18446744073709551615",
      "-99999999999999999999",
      "1e308",
      "1.7976931348623157e308",
      "1.7976931348623158e308",
      "1.7976931348623159e308",
      "1.8e308",
      "-1.8e308",
      "1e309",
      "1E999",
      "1e+999",
      "-1e999",
      "1e-400",
      "-1e-400",
      "4.9e-324",
      "2.4e-324",
      "0.0000000000000000000000000000000000001e-300",
      "123456789012345678901234567890.5",
      "1234567890123456789012345678901234567890e-20",
      "0.1e00000000000000000000000000000000000000000000000000000000000000000000000000000000001",
      "1e0000000000000000000000000000000000000000000000000000000000000000000000000000000000309",
  };
  // Integers of 17 to 22 digits, fixed seed.
  std::mt19937_64 rng(20261207);
  for (int n = 0; n < 2000; ++n) {
    size_t digits = 17 + rng() % 6;
    std::string s = n % 2 ? "-" : "";
    s += static_cast<char>('1' + rng() % 9);
    for (size_t d = 1; d < digits; ++d) s += static_cast<char>('0' + rng() % 10);
    v.push_back(s);
    // and doubles around the top of the range
    std::string d = std::to_string(1 + rng() % 9);
    d += '.';
    d += std::to_string(rng() % 1000);
    d += 'e';
    d += std::to_string(300 + rng() % 12);
    v.push_back(d);
  }
  return v;
}

}  // namespace

TEST(NumberRange, AgreesWithSimdjsonOnEveryEdge) {
  for (const auto& lit : edge_numbers()) {
    std::string text = R"({"id":1,"a":[true,{"b/~c":)" + lit + R"(}],"z":"x"})";
    auto e = record::find_number_out_of_range(text);
    EXPECT_EQ(simdjson_takes(text), !e) << lit;
    if (e) {
      EXPECT_EQ(e->pointer, "/a/1/b~1~0c") << lit;
      EXPECT_EQ(e->literal, lit);
      EXPECT_EQ(e->offset, text.find(lit));
    }
  }
}

TEST(NumberRange, NamesTheFirstOneAndWhereItIs) {
  auto e = record::find_number_out_of_range(R"({"ok":[1,2,1e999],"bytes":1e999})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pointer, "/ok/2");
  e = record::find_number_out_of_range(
      R"({"a":{},"b":[],"c":{"d":[[0],[1, 18446744073709551616]]}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pointer, "/c/d/1/1");
  e = record::find_number_out_of_range("-1e999");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pointer, "");
}

TEST(NumberRange, NothingForTextThatIsNotJsonOrHasNoSuchNumber) {
  EXPECT_FALSE(record::find_number_out_of_range(R"({"a":1e999,)"));
  EXPECT_FALSE(record::find_number_out_of_range(R"({"a":1e308})"));
  EXPECT_FALSE(record::find_number_out_of_range(R"({"a":"1e999"})"));
  EXPECT_FALSE(record::find_number_out_of_range(""));
}

TEST(NumberRange, TheReasonSaysWhatWhereAndWhatToChange) {
  EXPECT_EQ(record::invalid_json_reason(R"({"bytes":1e999})", "Problem while parsing a number"),
            "number out of range: /bytes holds 1e999, which fits neither a 64-bit integer nor a "
            "double; write it within range, or as a string");
  EXPECT_EQ(record::describe_json_error(R"({"bytes":-9223372036854775809})", "x"),
            "number out of range: /bytes holds -9223372036854775809, which fits neither a 64-bit "
            "integer nor a double; write it within range, or as a string");
  // a long one is cut short, with its length
  std::string big(100000, '9');
  auto r = record::invalid_json_reason(R"({"n":)" + big + "}", "x");
  EXPECT_EQ(r, "number out of range: /n holds " + std::string(40, '9') +
                   "... (100000 characters), which fits neither a 64-bit integer nor a double; "
                   "write it within range, or as a string");
  // other errors keep simdjson's words, or the syntax checker's
  EXPECT_EQ(record::invalid_json_reason(R"({"a":)", "msg"), "invalid JSON: msg");
  EXPECT_EQ(record::describe_json_error(R"({"a":1e999,)", "msg"),
            "not JSON: expected a member name in quotes at column 12");
}

TEST(JsonSyntax, TakesTheUtf8SimdjsonTakesInAString) {
  // every lead byte, then continuation bytes at the edges of each range
  const unsigned char edges[] = {0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0};
  size_t checked = 0;
  for (int lead = 0x80; lead <= 0xff; ++lead) {
    for (unsigned char a : edges) {
      for (unsigned char b : edges) {
        for (unsigned char c : edges) {
          std::string bytes = {static_cast<char>(lead), static_cast<char>(a), static_cast<char>(b),
                               static_cast<char>(c)};
          for (size_t len = 1; len <= bytes.size(); ++len) {
            std::string s = bytes.substr(0, len);
            bool takes = simdjson::validate_utf8(s.data(), s.size());
            EXPECT_EQ(!record::find_json_error("\"" + s + "\""), takes) << std::hex << lead;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 128u * 8 * 8 * 8 * 4);
}
