// Bounds of checking a value against a schema, in both engines: combinators that reach the
// same (subschema, value) pair by many paths take time linear in the pairs, not in the paths;
// uniqueItems sorts instead of comparing every pair; a check past its step budget stops with
// StepLimitExceeded; number keywords compare exact values; a $ref's sibling $id is ignored.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/schema/validator.hpp"
#include "common/schema/valijson_engine.hpp"

using cdn::schema::StepLimitExceeded;
using cdn::schema::ValidationError;
using cdn::schema::Validator;
using cdn::schema::ValijsonEngine;

namespace {

std::unique_ptr<Validator> compile(const std::string& schema) {
  return Validator::from_text(schema, "file:///bounds/schema.json");
}

// Validity by both the quick path and the error-collecting one, which must agree.
bool valid(const Validator& v, const std::string& json, uint64_t max_steps = 0) {
  simdjson::dom::parser parser;
  simdjson::padded_string text(json);
  simdjson::dom::element doc = parser.parse(text).value();
  std::vector<ValidationError> errors;
  bool quick = v.valid(doc, max_steps);
  bool full = v.validate(doc, errors, 0, max_steps);
  EXPECT_EQ(quick, full) << json;
  EXPECT_EQ(full, errors.empty()) << json;
  return quick;
}

bool valid(const std::string& schema, const std::string& json) {
  return valid(*compile(schema), json);
}

std::string nested_array(int depth, const std::string& leaf = "") {
  return std::string(depth, '[') + leaf + std::string(depth, ']');
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Schemas whose combinators apply the whole schema to each item twice or more: checked naively,
// a value n deep takes 2^n steps.
const char* const kDoubling[] = {
    R"({"anyOf":[{"type":"array","items":{"$ref":"#"}},{"type":"array","items":{"$ref":"#"}}]})",
    R"({"oneOf":[{"items":{"$ref":"#"}},{"not":{"items":{"$ref":"#"}}}]})",
    R"({"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]})",
    R"({"not":{"not":{"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]}}})",
    R"({"if":{"items":{"$ref":"#"}},"then":{"items":{"$ref":"#"}},"else":{"items":{"$ref":"#"}}})",
    R"({"contains":{"$ref":"#"},"items":{"$ref":"#"},"minItems":0,"anyOf":[{"maxItems":0},{"contains":{"$ref":"#"}}]})",
    R"({"items":{"$ref":"#/definitions/o"},"definitions":{"o":{"properties":{"a":{"$ref":"#"}},"dependencies":{"a":{"properties":{"a":{"$ref":"#"}}}}}}})",
};

}  // namespace

TEST(SchemaBounds, CombinatorsThatDoubleTheWorkPerLevelStayLinear) {
  for (const char* schema : kDoubling) {
    auto v = compile(schema);
    std::string deep = nested_array(60);
    if (std::string(schema).find("dependencies") != std::string::npos) {
      deep.clear();
      for (int i = 0; i < 60; ++i) deep += "[{\"a\":";
      deep += "[]";
      for (int i = 0; i < 60; ++i) deep += "}]";
    }
    auto start = std::chrono::steady_clock::now();
    valid(*v, deep);
    // 2^60 visits would never end; one visit per (subschema, value) takes microseconds.
    EXPECT_LT(seconds_since(start), 5.0) << schema;
  }
  EXPECT_TRUE(valid(kDoubling[0], nested_array(40)));
  EXPECT_FALSE(valid(kDoubling[0], nested_array(40, "1")));
  EXPECT_TRUE(valid(kDoubling[2], nested_array(40, "1")));
}

TEST(SchemaBounds, ACheckPastItsStepBudgetStops) {
  auto v = compile(kDoubling[0]);
  simdjson::dom::parser parser;
  simdjson::padded_string text(nested_array(40, "1"));
  simdjson::dom::element doc = parser.parse(text).value();
  EXPECT_THROW(v->valid(doc, 50), StepLimitExceeded);
  std::vector<ValidationError> errors;
  EXPECT_THROW(v->validate(doc, errors, 0, 50), StepLimitExceeded);
  EXPECT_FALSE(v->valid(doc, 1000000));
}

TEST(SchemaBounds, UniqueItemsOfManyObjectsIsQuickAndExact) {
  auto v = compile(R"({"uniqueItems":true})");
  std::string many = "[";
  for (int i = 0; i < 100000; ++i) {
    if (i) many += ',';
    many += "{\"id\":" + std::to_string(i) + ",\"name\":\"n\"}";
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(valid(*v, many + "]"));
  EXPECT_FALSE(valid(*v, many + ",{\"name\":\"n\",\"id\":99999.0}]"));
  EXPECT_LT(seconds_since(start), 10.0);
  // Equality as JSON Schema has it: member order and 1 vs 1.0 do not matter...
  EXPECT_FALSE(valid(*v, R"([{"a":1,"b":[1,2]},{"b":[1,2.0],"a":1.0}])"));
  EXPECT_FALSE(valid(*v, "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,-0.0]"));
  // ...but integers beyond 2^53 that round to the same double are different values.
  std::string big = "[";
  for (int i = 0; i < 40; ++i) {
    if (i) big += ',';
    big += std::to_string(9007199254740992LL + i);
  }
  EXPECT_TRUE(valid(*v, big + "]"));
  EXPECT_TRUE(valid(*v, "[9223372036854775807,9223372036854775808,18446744073709551615]"));
  EXPECT_TRUE(valid(*v, R"(["a","b",1,"1",null,false,0,[],{},[[]],{"":null}])"));
  std::vector<ValidationError> errors;
  simdjson::dom::parser parser;
  simdjson::padded_string text(std::string(R"([1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,3,2])"));
  EXPECT_FALSE(v->validate(parser.parse(text).value(), errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "items 2 and 17 are equal");
}

TEST(SchemaBounds, NumberKeywordsCompareExactIntegers) {
  // 2^53 + 1 rounds to 2^53 as a double.
  EXPECT_FALSE(valid(R"({"maximum":9007199254740992})", "9007199254740993"));
  EXPECT_TRUE(valid(R"({"maximum":9007199254740992})", "9007199254740992"));
  EXPECT_FALSE(valid(R"({"minimum":9007199254740993})", "9007199254740992"));
  EXPECT_FALSE(valid(R"({"exclusiveMaximum":9007199254740993})", "9007199254740993"));
  EXPECT_TRUE(valid(R"({"exclusiveMaximum":9007199254740993})", "9007199254740992.0"));
  EXPECT_FALSE(valid(R"({"exclusiveMinimum":9007199254740992})", "9007199254740992.0"));
  // int64 and uint64 around 2^63, and 2^64 as a double.
  EXPECT_FALSE(valid(R"({"maximum":9223372036854775807})", "9223372036854775808"));
  EXPECT_TRUE(valid(R"({"maximum":9223372036854775808})", "9223372036854775807"));
  EXPECT_FALSE(valid(R"({"minimum":-9223372036854775807})", "-9223372036854775808"));
  EXPECT_TRUE(valid(R"({"maximum":18446744073709551615})", "18446744073709551615"));
  EXPECT_FALSE(valid(R"({"maximum":18446744073709551615})", "18446744073709551616.0"));
  EXPECT_FALSE(valid(R"({"exclusiveMaximum":9223372036854775808.0})", "9223372036854775808"));
  EXPECT_TRUE(valid(R"({"exclusiveMaximum":9223372036854775808.0})", "9223372036854775807"));
  EXPECT_TRUE(valid(R"({"minimum":-9223372036854775808.0})", "-9223372036854775808"));
  EXPECT_FALSE(valid(R"({"maximum":1.5})", "2"));
  EXPECT_TRUE(valid(R"({"maximum":1.5})", "1"));
  EXPECT_FALSE(valid(R"({"minimum":-1.5})", "-2"));
  // draft 4's boolean exclusiveMaximum
  EXPECT_FALSE(valid(
      R"({"$schema":"http://json-schema.org/draft-04/schema#","maximum":9007199254740993,"exclusiveMaximum":true})",
      "9007199254740993"));
  // multipleOf on integers beyond 2^53
  EXPECT_FALSE(valid(R"({"multipleOf":1152921504606846976})", "1152921504606846977"));
  EXPECT_TRUE(valid(R"({"multipleOf":1152921504606846976})", "2305843009213693952"));
  EXPECT_FALSE(valid(R"({"multipleOf":2})", "9007199254740993"));
  EXPECT_FALSE(valid(R"({"multipleOf":3})", "9007199254740992.0"));
  EXPECT_TRUE(valid(R"({"multipleOf":0.01})", "19.99"));
  // const and enum
  EXPECT_FALSE(valid(R"({"const":9223372036854775807})", "9223372036854775808"));
  EXPECT_FALSE(valid(R"({"enum":[9007199254740993]})", "9007199254740992.0"));
  EXPECT_TRUE(valid(R"({"enum":[9007199254740992]})", "9007199254740992.0"));
}

TEST(SchemaBounds, ARefSiblingIdChangesNothingInDrafts4To7) {
  // JSON-Schema-Test-Suite: "$ref prevents a sibling $id from changing the base uri".
  for (std::string draft : {"draft-06", "draft-07"}) {
    std::string schema = R"({"$schema":"http://json-schema.org/)" + draft + R"(/schema#",
      "$id":"http://localhost:1234/sibling_id/base/",
      "definitions":{
        "foo":{"$id":"http://localhost:1234/sibling_id/foo.json","type":"string"},
        "base_foo":{"$id":"foo.json","type":"number"}},
      "allOf":[{"$id":"http://localhost:1234/sibling_id/","$ref":"foo.json"}]})";
    EXPECT_FALSE(valid(schema, R"("a")")) << draft;
    EXPECT_TRUE(valid(schema, "1")) << draft;
  }
  std::string schema4 = R"({"$schema":"http://json-schema.org/draft-04/schema#",
    "id":"http://localhost:1234/sibling_id/base/",
    "definitions":{
      "foo":{"id":"http://localhost:1234/sibling_id/foo.json","type":"string"},
      "base_foo":{"id":"http://localhost:1234/sibling_id/base/foo.json","type":"number"}},
    "allOf":[{"id":"http://localhost:1234/sibling_id/","$ref":"foo.json"}]})";
  EXPECT_FALSE(valid(schema4, R"("a")"));
  EXPECT_TRUE(valid(schema4, "1"));
  // A sibling $id that would take the reference out of the document is ignored too: the
  // schema compiles, and #/definitions/a is this document's.
  std::string away = R"({"definitions":{"a":{"type":"integer"}},
    "properties":{"x":{"$id":"http://elsewhere.example/other.json","$ref":"#/definitions/a"}}})";
  EXPECT_TRUE(valid(away, R"({"x":1})"));
  EXPECT_FALSE(valid(away, R"({"x":"1"})"));
  // ...nor does it name the schema it sits in.
  EXPECT_THROW(compile(R"({"definitions":{"a":{"$id":"#named","$ref":"#/definitions/b"},
    "b":{"type":"integer"}},"$ref":"#named"})"),
               cdn::UsageError);
}

TEST(SchemaBounds, TheValijsonEngineHasTheSameBounds) {
  auto engine = ValijsonEngine::from_text(kDoubling[0], "");
  simdjson::dom::parser parser;
  simdjson::padded_string deep(nested_array(40, "1"));
  simdjson::dom::element doc = parser.parse(deep).value();
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(engine->valid(doc, 1000000), StepLimitExceeded);
  std::vector<ValidationError> errors;
  EXPECT_THROW(engine->validate(doc, errors, 0, 1000000), StepLimitExceeded);
  EXPECT_LT(seconds_since(start), 10.0);
  std::fprintf(stderr, "valijson, 40 deep: %.2f s\n", seconds_since(start));

  auto unique = ValijsonEngine::from_text(R"({"uniqueItems":true})", "");
  std::string many = "[";
  for (int i = 0; i < 100000; ++i) {
    if (i) many += ',';
    many += "{\"id\":" + std::to_string(i) + "}";
  }
  simdjson::padded_string distinct(many + "]");
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(unique->valid(parser.parse(distinct).value()));
  EXPECT_LT(seconds_since(start), 10.0);
  std::fprintf(stderr, "valijson, uniqueItems of 100,000: %.2f s\n", seconds_since(start));
  simdjson::padded_string twice(std::string(R"([{"a":1,"b":2},3,{"b":2,"a":1}])"));
  errors.clear();
  EXPECT_FALSE(unique->validate(parser.parse(twice).value(), errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].keyword, "uniqueItems");

  auto maximum = ValijsonEngine::from_text(R"({"maximum":9007199254740992})", "");
  simdjson::padded_string over(std::string("9007199254740993"));
  EXPECT_FALSE(maximum->valid(parser.parse(over).value()));
  simdjson::padded_string at(std::string("9007199254740992"));
  EXPECT_TRUE(maximum->valid(parser.parse(at).value()));
}
