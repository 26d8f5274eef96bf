// The JSON type each top-level property of a record wants: enough to type CSV cells
// (schema/types.hpp reads them from a JSON Schema).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace cdn::record {

enum class ValueType { any, string, integer, number, boolean };

struct PropertyTypes {
  std::unordered_map<std::string, ValueType> by_name;
  std::vector<std::string> order;  // every property, in the order the schema names them
  ValueType of(const std::string& name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? ValueType::any : it->second;
  }
};

}  // namespace cdn::record
