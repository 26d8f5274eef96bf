// A JSON Schema compiled into a graph of nodes: one node per (sub)schema, each keyword
// turned into a typed field, $ref already resolved to the node it names. The validator and
// the coercion walk the same graph.
#pragma once

#include <re2/re2.h>
#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/schema/formats.hpp"
#include "common/schema/json_compare.hpp"

namespace cdn::schema {

enum TypeBit : uint8_t {
  kNull = 1,
  kBoolean = 2,
  kInteger = 4,
  kNumber = 8,  // every number, integers included
  kString = 16,
  kArray = 32,
  kObject = 64,
};

struct Node {
  enum class Kind : uint8_t { schema, always_true, always_false };
  Kind kind = Kind::schema;
  std::string location;  // where it is in its document: "#/properties/asn"
  // Reached by more than one edge of the graph ($ref, applicators, items, properties...):
  // the only nodes a walk can meet twice on one value, so the only ones worth memoizing.
  bool shared = false;

  // $ref: in drafts 4 to 7 the only keyword that applies when present.
  const Node* ref = nullptr;
  std::string ref_uri;

  uint8_t types = 0;  // TypeBit set; 0 = any type
  std::vector<simdjson::dom::element> enum_values;
  bool has_enum = false;
  // An enum of strings only (the common case) is checked on these, without a JSON compare.
  std::vector<std::string_view> enum_strings;
  bool enum_all_strings = false;
  std::optional<simdjson::dom::element> const_value;

  // numbers, as written (an integer bound stays an exact integer)
  std::optional<Number> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  // strings
  std::optional<uint64_t> min_length, max_length;
  std::unique_ptr<re2::RE2> pattern;
  Format format = Format::none;
  // arrays
  const Node* items = nullptr;     // every item ("items": {...})
  std::vector<const Node*> tuple;  // positional ("items": [...])
  bool tuple_items = false;
  const Node* additional_items = nullptr;  // after the tuple
  std::optional<uint64_t> min_items, max_items;
  bool unique_items = false;
  const Node* contains = nullptr;
  // objects: every property name the schema mentions, once
  struct Key {
    std::string name;
    const Node* schema = nullptr;  // from "properties"
  };
  std::vector<Key> keys;
  std::vector<uint32_t> required;  // indexes into keys
  struct PatternProperty {
    std::unique_ptr<re2::RE2> re;
    const Node* schema = nullptr;
  };
  std::vector<PatternProperty> pattern_properties;
  const Node* additional_properties = nullptr;
  std::optional<uint64_t> min_properties, max_properties;
  struct Dependency {
    uint32_t key = 0;                // when this property is there...
    std::vector<uint32_t> required;  // ...these must be too,
    const Node* schema = nullptr;    // ...or the object must satisfy this
  };
  std::vector<Dependency> dependencies;
  const Node* property_names = nullptr;
  // applicators
  std::vector<const Node*> all_of, any_of, one_of;
  const Node* not_schema = nullptr;
  const Node* if_schema = nullptr;
  const Node* then_schema = nullptr;
  const Node* else_schema = nullptr;
  // annotations the coercion uses
  std::optional<simdjson::dom::element> default_value;

  bool has_object_keywords() const {
    return !keys.empty() || !pattern_properties.empty() || additional_properties ||
           min_properties || max_properties || property_names;
  }
  // Index of `name` in keys, or -1. `hint` is where to look first: records tend to list
  // their members in the schema's order, so the key after the last one found usually matches.
  int find_key(std::string_view name, size_t hint = 0) const {
    const size_t n = keys.size();
    if (hint < n && keys[hint].name == name) return static_cast<int>(hint);
    for (size_t i = 0; i < n; ++i) {
      if (keys[i].name.size() == name.size() && keys[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }
};

}  // namespace cdn::schema
