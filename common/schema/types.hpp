// The JSON type each top-level property of a JSON Schema wants: enough to type CSV cells.
#pragma once

#include <string>

#include "common/record/property_types.hpp"

namespace cdn::schema {

// Reads `properties.*.type` from a schema file, and the names of `properties` in their order.
// A list of types, null aside, is one of them when they agree, number for integer and
// number, and any for others (["string","integer"]: a cell of digits reads as an integer,
// anything else as a string).
// Throws UsageError when the file is unreadable or not a JSON object.
record::PropertyTypes load_property_types(const std::string& path);

}  // namespace cdn::schema
