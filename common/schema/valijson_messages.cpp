#include "common/schema/valijson_messages.hpp"

#include <string_view>
#include <vector>

#include "common/base/json_pointer.hpp"
#include "common/schema/uri.hpp"
#include "common/schema/valijson_engine.hpp"

namespace cdn::schema {

std::string keyword_of(const std::string& m, int draft, std::string& property) {
  auto starts = [&](std::string_view p) { return m.rfind(p, 0) == 0; };
  auto quoted_name = [&]() {
    size_t a = m.find('\'');
    size_t b = m.rfind('\'');
    return a != std::string::npos && b > a ? m.substr(a + 1, b - a - 1) : std::string();
  };
  if (starts("Value type not permitted")) return "type";
  if (starts("Missing required property '")) {
    property = quoted_name();
    return "required";
  }
  if (starts("Missing dependency '")) {
    property = quoted_name();
    return "dependencies";
  }
  if (starts("Failed to match against any enum")) return "enum";
  if (starts("Failed to match expected value set by 'const'")) return "const";
  if (starts("Expected number less than or equal to")) return "maximum";
  if (starts("Expected number less than")) return draft == 4 ? "maximum" : "exclusiveMaximum";
  if (starts("Expected number greater than or equal to")) return "minimum";
  if (starts("Expected number greater than")) return draft == 4 ? "minimum" : "exclusiveMinimum";
  if (starts("Array should contain no more than")) return "maxItems";
  if (starts("Array should contain no fewer than")) return "minItems";
  if (starts("String should be no more than")) return "maxLength";
  if (starts("String should be no fewer than")) return "minLength";
  if (starts("Object should have no more than")) return "maxProperties";
  if (starts("Object should have no fewer than")) return "minProperties";
  if (starts("Value should be a multiple of") || starts("Value could not be converted")) {
    return "multipleOf";
  }
  if (starts("Target should not validate against schema specified in 'not'")) return "not";
  if (m.find("oneOf constraint") != std::string::npos ||
      starts("Failed to validate against exactly one")) {
    return "oneOf";
  }
  if (m.find("anyOf constraint") != std::string::npos) return "anyOf";
  if (m.find("if-then-else") != std::string::npos) return "if";
  if (m.find("'contains' constraint") != std::string::npos) return "contains";
  if (starts("Failed to match regex specified by 'pattern'")) return "pattern";
  if (starts("String should be a valid")) return "format";
  if (starts("Object contains a property that could not be validated")) {
    return "additionalProperties";
  }
  if (starts("Array contains more items than allowed") || starts("Cannot validate item #")) {
    return "additionalItems";
  }
  if (m.find("violate uniqueness constraint") != std::string::npos) return "uniqueItems";
  return "";
}

bool propagation_only(const std::string& m) {
  for (std::string_view p :
       {"Failed to validate against schema associated with property name '",
        "Failed to validate against schema associated with pattern '",
        "Failed to validate against additional properties schema", "Failed to validate item #",
        "Failed to validate against child schema #",
        "Failed to validate against dependent schema"}) {
    if (m.rfind(p, 0) == 0) return true;
  }
  return false;
}

std::string valijson_context_pointer(const std::vector<std::string>& context) {
  std::string out;
  for (size_t i = 0; i < context.size(); ++i) {
    std::string_view tok = context[i];
    if (i == 0 && tok == "<root>") continue;
    if (tok.size() >= 2 && tok.front() == '[' && tok.back() == ']') {
      tok = tok.substr(1, tok.size() - 2);
    }
    base::append_pointer_token(out, tok);
  }
  return out;
}

}  // namespace cdn::schema
