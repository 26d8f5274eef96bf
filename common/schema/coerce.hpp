// Schema-driven coercion (cdn validate --coerce): the data engineering that makes a record
// satisfy its schema before it is checked. Where the schema wants a number or an integer, a
// numeric string becomes a number; where it wants a boolean, "true"/"false" become booleans;
// strings the schema constrains are trimmed; date-time values (RFC 3339 with any offset, or
// epoch seconds or milliseconds) become RFC 3339 UTC with milliseconds; missing properties
// with a `default` get it; with drop_unknown, properties that additionalProperties: false
// forbids are removed. A record that needs none of this is left alone, byte for byte.
#pragma once

#include <simdjson.h>

#include <string>
#include <vector>

#include "common/schema/node.hpp"

namespace cdn::schema {

struct CoerceOptions {
  bool drop_unknown = false;
};

struct Change {
  std::string pointer;  // the instance location
  std::string kind;     // "string to number", "trimmed", "date-time", "default", "removed", ...
  std::string from;     // JSON text before ("" when the value was added)
  std::string to;       // JSON text after ("" when the value was removed)
};

// Writes the coerced record into `out` and returns true when anything changed; returns false
// (and leaves `out` unspecified) when the record is already what the schema wants.
// `changes`, when given, receives each change.
bool coerce(const Node& root, simdjson::dom::element record, const CoerceOptions& opts,
            std::string& out, std::vector<Change>* changes);

}  // namespace cdn::schema
