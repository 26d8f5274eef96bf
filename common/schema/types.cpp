#include "common/schema/types.hpp"

#include <simdjson.h>

#include <optional>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/whole_file.hpp"

namespace cdn::schema {

namespace {
record::ValueType from_name(std::string_view t) {
  if (t == "string") return record::ValueType::string;
  if (t == "integer") return record::ValueType::integer;
  if (t == "number") return record::ValueType::number;
  if (t == "boolean") return record::ValueType::boolean;
  return record::ValueType::any;
}
}  // namespace

record::PropertyTypes load_property_types(const std::string& path) {
  // Read whole first: --schema may name a pipe, which simdjson's load cannot size.
  const std::string hint = "pass a JSON Schema file with --schema";
  simdjson::padded_string text(io::read_whole_file(path, "the schema", hint, io::kMaxSchemaBytes));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(text).get(doc)) {
    throw UsageError("cannot read the schema " + diag::quoted(path) + ": " +
                     simdjson::error_message(err) + "; " + hint);
  }
  record::PropertyTypes types;
  simdjson::dom::object props;
  if (doc["properties"].get_object().get(props)) return types;
  for (auto field : props) {
    types.order.emplace_back(field.key);
    simdjson::dom::element type_el;
    if (field.value["type"].get(type_el)) continue;
    std::string_view name;
    if (!type_el.get_string().get(name)) {
      types.by_name[std::string(field.key)] = from_name(name);
    } else if (type_el.is_array()) {
      // Several types (null aside): a cell reads as any of them, as the reader's `any` reads
      // it (a JSON number as a number, anything else as a string); integer or number is a
      // number.
      std::optional<record::ValueType> one;
      for (auto t : type_el.get_array()) {
        std::string_view n;
        if (t.get_string().get(n) || n == "null") continue;
        record::ValueType v = from_name(n);
        if (!one) {
          one = v;
        } else if (*one != v) {
          bool numeric =
              (*one == record::ValueType::integer || *one == record::ValueType::number) &&
              (v == record::ValueType::integer || v == record::ValueType::number);
          one = numeric ? record::ValueType::number : record::ValueType::any;
        }
      }
      if (one) types.by_name[std::string(field.key)] = *one;
    }
  }
  return types;
}

}  // namespace cdn::schema
