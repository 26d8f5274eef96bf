// libFuzzer target for cdn validate's path: the JSON syntax scanner, the compiled validator
// with RE2 patterns and the format scanners, and the coercion. The input's first line is a
// regular expression used in a schema (pattern and patternProperties); the rest is a record
// checked against that schema and against schemas/cdn-data.json. Run with -timeout=1: a
// pattern or a string that made a check slow would show as a timeout.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/record/json_syntax.hpp"
#include "common/schema/coerce.hpp"
#include "common/schema/validator.hpp"

using cdn::schema::Validator;

namespace {

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
  return 0;
}
