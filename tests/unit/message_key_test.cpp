// record::KeyField: a record's Kafka message key from one of its fields (--key-field).
#include "common/record/message_key.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using cdn::record::KeyField;

// The key KeyField(path) reads from `json`, each of the three ways, which must agree.
std::optional<std::string> key(const char* path, const std::string& json) {
  KeyField k(path);
  std::optional<std::string> by_text;
  std::string buf;
  simdjson::dom::parser parser;
  if (auto v = k.of_text(json, buf, parser)) by_text = std::string(*v);
  simdjson::dom::element root;
  if (parser.parse(json).get(root)) {
    EXPECT_FALSE(by_text) << json;
    return by_text;
  }
  std::optional<std::string> parsed;
  if (auto v = k.of(root, buf)) parsed = std::string(*v);
  EXPECT_EQ(by_text, parsed) << json;
  simdjson::dom::object obj;
  simdjson::dom::element first;
  if (!root.get_object().get(obj) && !obj.at_key(k.path().front()).get(first)) {
    std::optional<std::string> member;
    if (auto v = k.of_member(first, buf)) member = std::string(*v);
    EXPECT_EQ(member, parsed) << json;
  } else {
    EXPECT_FALSE(parsed) << json;
  }
  return parsed;
}

TEST(KeyField, AStringGivesItsTextUnescaped) {
  EXPECT_EQ(key("sampleID", R"({"sampleID":"a1","x":1})"), "a1");
  EXPECT_EQ(key("sampleID", R"({"x":1, "sampleID" : "a\"b\u00e9"})"), "a\"b\xc3\xa9");
  EXPECT_EQ(key("id", R"({"id":""})"), "");
}

TEST(KeyField, ANumberOrABooleanGivesItsJsonText) {
  EXPECT_EQ(key("sampleID", R"({"sampleID":12})"), "12");
  EXPECT_EQ(key("sampleID", R"({"sampleID":-7 })"), "-7");
  EXPECT_EQ(key("sampleID", R"({"sampleID":18446744073709551615})"), "18446744073709551615");
  EXPECT_EQ(key("v", R"({"v":1.50})"), "1.5");
  EXPECT_EQ(key("v", R"({"v":2e3})"), "2000.0");
  EXPECT_EQ(key("v", R"({"v":true})"), "true");
}

TEST(KeyField, AnObjectOrAnArrayGivesItsMinifiedJson) {
  EXPECT_EQ(key("v", R"({"v":[1, "a"]})"), R"([1,"a"])");
  EXPECT_EQ(key("v", R"({"v":{ "a" : 1 }})"), R"({"a":1})");
}

TEST(KeyField, NullAMissingFieldOrTextThatIsNotJsonGivesNone) {
  EXPECT_EQ(key("sampleID", R"({"sampleID":null})"), std::nullopt);
  EXPECT_EQ(key("sampleID", R"({"id":1})"), std::nullopt);
  EXPECT_EQ(key("sampleID", R"([1,2])"), std::nullopt);
  EXPECT_EQ(key("sampleID", R"({"sampleID":)"), std::nullopt);
  EXPECT_EQ(key("a.b", R"({"a":1})"), std::nullopt);
}

TEST(KeyField, ADottedPathReachesIntoObjects) {
  EXPECT_EQ(key("payload.sampleID", R"({"key":"k","payload":{"sampleID":41}})"), "41");
  EXPECT_EQ(key("a.b", R"({"a":{"c":1,"b":"x"}})"), "x");
  EXPECT_EQ(key("a.b", R"({"a":{"b":null}})"), std::nullopt);
}

TEST(KeyField, TheFirstMemberOfANameCounts) {
  EXPECT_EQ(key("id", R"({"id":"first","id":"second"})"), "first");
}

TEST(KeyField, AFieldKeyComesBeforeTheInputKey) {
  EXPECT_EQ(KeyField::chosen(std::string_view("f"), std::string_view("in")), "f");
  EXPECT_EQ(KeyField::chosen(std::nullopt, std::string_view("in")), "in");
  EXPECT_EQ(KeyField::chosen(std::nullopt, std::nullopt), std::nullopt);
}

TEST(KeyField, AnEmptyNameReadsNothing) {
  KeyField k;
  EXPECT_TRUE(k.empty());
  std::string buf;
  simdjson::dom::parser parser;
  EXPECT_EQ(k.of_text(R"({"":1})", buf, parser), std::nullopt);
}

}  // namespace
