#include "common/schema/types.hpp"

#include <simdjson.h>

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
    simdjson::dom::element type_el;
    if (field.value["type"].get(type_el)) continue;
    std::string_view name;
    if (!type_el.get_string().get(name)) {
      types.by_name[std::string(field.key)] = from_name(name);
    } else if (type_el.is_array()) {
      for (auto t : type_el.get_array()) {
        std::string_view n;
        if (!t.get_string().get(n) && n != "null") {
          types.by_name[std::string(field.key)] = from_name(n);
          break;
        }
      }
    }
  }
  return types;
}

}  // namespace cdn::schema
