// libFuzzer target for cdn validate's path: the JSON syntax scanner, the compiled validator
// with RE2 patterns and the format scanners, and the coercion. The input's first line is a
// regular expression used in a schema (pattern and patternProperties); the rest is a record
// checked against that schema, against schemas/cdn-data.json, and against schemas whose
// combinators (anyOf, oneOf, allOf, not, if/then/else, contains, dependencies) apply the
// whole schema to each item more than once, in both engines, under the step limit cdn
// validate sets. Run with -timeout=1: a pattern, a string or a nesting that made a check slow
// would show as a timeout. Arrays are also checked for uniqueItems both ways: the sorted
// canonical forms must find a pair of equal items exactly when comparing every pair does.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/record/json_syntax.hpp"
#include "common/schema/coerce.hpp"
#include "common/schema/json_compare.hpp"
#include "common/schema/record_check.hpp"
#include "common/schema/validator.hpp"
#include "common/schema/valijson_engine.hpp"

using cdn::schema::Validator;

namespace {

// Each applies the schema to the items (or members) of a value twice or more.
const char* const kRecursive[] = {
    R"({"anyOf":[{"type":"array","items":{"$ref":"#"}},{"type":"array","items":{"$ref":"#"}}]})",
    R"({"oneOf":[{"items":{"$ref":"#"}},{"not":{"items":{"$ref":"#"}}}]})",
    R"({"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}],"uniqueItems":true})",
    R"({"not":{"not":{"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]}}})",
    R"({"if":{"items":{"$ref":"#"}},"then":{"items":{"$ref":"#"}},"else":{"items":{"$ref":"#"}}})",
    R"({"items":{"$ref":"#"},"anyOf":[{"maxItems":0},{"contains":{"$ref":"#"}}]})",
    R"({"additionalProperties":{"$ref":"#"},"items":{"$ref":"#"},"dependencies":{"a":{"additionalProperties":{"$ref":"#"}}}})",
};

struct Recursive {
  std::unique_ptr<Validator> compiled;
  std::unique_ptr<cdn::schema::ValijsonEngine> valijson;
};

const std::vector<Recursive>& recursive_schemas() {
  static const std::vector<Recursive> all = [] {
    std::vector<Recursive> r;
    for (const char* s : kRecursive) {
      r.push_back({Validator::from_text(s, "file:///fuzz/recursive.json"),
                   cdn::schema::ValijsonEngine::from_text(s, "")});
    }
    return r;
  }();
  return all;
}

// Both modes of the compiled check must agree, unless the step limit stops one of them.
void check_bounded(const Recursive& r, simdjson::dom::element doc, uint64_t limit) {
  try {
    std::vector<cdn::schema::ValidationError> errors;
    bool fast = r.compiled->valid(doc, limit);
    bool full = r.compiled->validate(doc, errors, 0, limit);
    if (fast != full || full != errors.empty()) __builtin_trap();
  } catch (const cdn::schema::StepLimitExceeded&) {
  }
  try {  // (valijson has no memo: a smaller limit, so that each input stays quick)
    std::vector<cdn::schema::ValidationError> errors;
    (void)r.valijson->valid(doc, 20000);
    (void)r.valijson->validate(doc, errors, 20, 20000);
  } catch (const cdn::schema::StepLimitExceeded&) {
  }
}

// uniqueItems: sorting canonical forms finds the first repeated item that comparing every
// pair finds.
void check_unique(simdjson::dom::element v) {
  simdjson::dom::array a;
  if (v.get_array().get(a) || a.size() > 300) return;
  std::vector<simdjson::dom::element> items(a.begin(), a.end());
  std::optional<std::pair<size_t, size_t>> naive;
  for (size_t y = 1; y < items.size() && !naive; ++y) {
    for (size_t x = 0; x < y && !naive; ++x) {
      if (cdn::schema::json_equal(items[x], items[y])) naive = std::make_pair(x, y);
    }
  }
  cdn::schema::StepBudget unlimited(0);
  if (cdn::schema::find_duplicate(a, unlimited) != naive) __builtin_trap();
  for (auto e : items) check_unique(e);
}

const Validator& record_schema() {
  static std::unique_ptr<Validator> v =
      Validator::from_file(std::string(CDN_SOURCE_SCHEMA_DIR) + "/cdn-data.json");
  return *v;
}

void check(const Validator& v, simdjson::dom::element doc) {
  std::vector<cdn::schema::ValidationError> errors;
  bool fast = v.valid(doc);
  bool full = v.validate(doc, errors, 0);
  if (fast != full || full != errors.empty()) __builtin_trap();  // the two modes must agree
  std::string out;
  std::vector<cdn::schema::Change> changes;
  cdn::schema::CoerceOptions opts;
  opts.drop_unknown = true;
  if (cdn::schema::coerce(v.root(), doc, opts, out, &changes)) {
    simdjson::dom::parser p;
    simdjson::dom::element again;
    if (p.parse(out).get(again)) __builtin_trap();  // coercion must write JSON
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view pattern = nl == std::string_view::npos ? std::string_view{} : in.substr(0, nl);
  std::string_view record = nl == std::string_view::npos ? in : in.substr(nl + 1);
  if (pattern.size() > 256) pattern = pattern.substr(0, 256);

  std::unique_ptr<Validator> custom;
  if (!pattern.empty()) {
    std::string schema = "{\"properties\":{\"s\":{\"pattern\":";
    cdn::base::append_json_string(schema, pattern);
    schema += ",\"format\":\"date-time\"}},\"patternProperties\":{";
    cdn::base::append_json_string(schema, pattern);
    schema += ":{\"type\":\"string\",\"format\":\"ipv6\"}},\"items\":{\"format\":\"uri\"}}";
    try {
      custom = Validator::from_text(schema, "file:///fuzz/schema.json");
    } catch (const cdn::UsageError&) {
      // A pattern RE2 refuses (or invalid UTF-8 in it): refused cleanly, nothing to check.
    }
  }

  simdjson::padded_string padded(record);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc)) {
    (void)cdn::record::describe_json_error(record, "invalid");
    return 0;
  }
  check(record_schema(), doc);
  if (custom) check(*custom, doc);
  const uint64_t limit = cdn::schema::step_limit(record.size());
  for (const auto& r : recursive_schemas()) check_bounded(r, doc, limit);
  check_unique(doc);
  return 0;
}
