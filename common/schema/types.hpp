// The JSON type each top-level property of a JSON Schema wants: enough to type CSV cells.
#pragma once

#include <string>

#include "common/record/property_types.hpp"

namespace cdn::schema {

// Reads `properties.*.type` from a schema file (the first non-null type when it is a list).
// Throws UsageError when the file is unreadable or not a JSON object.
record::PropertyTypes load_property_types(const std::string& path);

}  // namespace cdn::schema
