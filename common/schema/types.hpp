// The JSON type each top-level property of a JSON Schema wants: enough to type CSV cells.
#pragma once

#include <string>
#include <unordered_map>

namespace cdn::schema {

enum class ValueType { any, string, integer, number, boolean };

struct PropertyTypes {
  std::unordered_map<std::string, ValueType> by_name;
  ValueType of(const std::string& name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? ValueType::any : it->second;
  }
};

// Reads `properties.*.type` from a schema file (the first non-null type when it is a list).
// Throws UsageError when the file is unreadable or not a JSON object.
PropertyTypes load_property_types(const std::string& path);

}  // namespace cdn::schema
