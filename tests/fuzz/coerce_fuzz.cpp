// libFuzzer target for schema coercion (cdn validate --coerce, common/schema/coerce.*). The
// input is one record, coerced against schemas/cdn-data.json and against a small fixed schema
// that uses what cdn-data.json does not (booleans, defaults, nested objects, tuple items,
// anyOf, patternProperties, additionalProperties with a schema), each with and without
// drop_unknown. Invariants asserted (a broken one traps):
//   - coerce reports a change exactly when it lists one, and then writes JSON;
//   - idempotence: coercing the output again changes nothing;
//   - a record that already satisfies cdn-data.json still satisfies it after coercion
//     (coercion never breaks a valid record); and one left unchanged keeps its verdict.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/schema/coerce.hpp"
#include "common/schema/validator.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using cdn::schema::Validator;

namespace {

const Validator& data_schema() {
  static std::unique_ptr<Validator> v =
      Validator::from_file(std::string(CDN_SOURCE_SCHEMA_DIR) + "/cdn-data.json");
  return *v;
}

const Validator& mixed_schema() {
  static std::unique_ptr<Validator> v = Validator::from_text(R"({
    "type": "object",
    "properties": {
      "b": {"type": "boolean"},
      "n": {"type": ["number", "null"], "minimum": 0},
      "i": {"type": "integer", "default": 7},
      "t": {"type": "string", "format": "date-time"},
      "e": {"type": ["string", "integer"], "format": "date-time"},
      "a": {"type": "array", "items": {"type": "integer"}},
      "tu": {"type": "array", "items": [{"type": "number"}, {"type": "boolean"}],
             "additionalItems": {"type": "string", "minLength": 1}},
      "o": {"type": "object", "properties": {"x": {"anyOf": [{"type": "integer"},
                                                              {"type": "boolean"}]},
                                              "d": {"default": {"k": [1, "two"]}}},
            "additionalProperties": false},
      "s": {"enum": ["a", "b"]}
    },
    "patternProperties": {"^p_": {"type": "number"}},
    "additionalProperties": {"type": "string", "maxLength": 3}
  })",
                                                             "file:///fuzz/mixed.json");
  return *v;
}

// Coerces `doc`; returns the text of the record after coercion (the input when unchanged).
std::string coerce_once(const Validator& v, simdjson::dom::element doc, bool drop_unknown,
                        bool& changed) {
  cdn::schema::CoerceOptions opts;
  opts.drop_unknown = drop_unknown;
  std::string out;
  std::vector<cdn::schema::Change> changes;
  changed = cdn::schema::coerce(v.root(), doc, opts, out, &changes);
  CDN_FUZZ_REQUIRE(changed == !changes.empty());
  for (const auto& c : changes) CDN_FUZZ_REQUIRE(!c.kind.empty());
  if (!changed) return simdjson::minify(doc);
  return out;
}

void check(const Validator& v, simdjson::dom::element doc, bool drop_unknown, bool data) {
  bool changed;
  std::string once = coerce_once(v, doc, drop_unknown, changed);
  simdjson::dom::parser p2;
  simdjson::dom::element again;
  CDN_FUZZ_REQUIRE(!p2.parse(once).get(again));  // coercion writes JSON
  bool changed_again;
  std::string twice = coerce_once(v, again, drop_unknown, changed_again);
  CDN_FUZZ_REQUIRE(!changed_again);  // idempotence
  CDN_FUZZ_REQUIRE(twice == simdjson::minify(again));
  if (data) {
    bool before = v.valid(doc), after = v.valid(again);
    if (before) CDN_FUZZ_REQUIRE(after);  // coercion never breaks a valid record
    if (!changed) CDN_FUZZ_REQUIRE(before == after);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  simdjson::padded_string padded(reinterpret_cast<const char*>(data), size);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc)) return 0;  // not JSON: cdn validate rejects it first
  for (bool drop : {false, true}) {
    check(data_schema(), doc, drop, true);
    check(mixed_schema(), doc, drop, false);
  }
  return 0;
}
