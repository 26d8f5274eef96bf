// Where a line stops being JSON, and why: simdjson says that a document is invalid but not
// where, so a rejected line is scanned again by this small checker (only bad lines are).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cdn::record {

struct SyntaxError {
  size_t offset = 0;  // byte offset of the first byte that is wrong (or of the end)
  std::string message;
};

// The first syntax error of `text` as one JSON value (RFC 8259, UTF-8), or nothing when it is
// well-formed. Nesting deeper than `max_depth` is an error too.
std::optional<SyntaxError> find_json_error(std::string_view text, size_t max_depth = 1024);

// "not JSON: MESSAGE at column N" for a line simdjson refused with `simdjson_message`.
std::string describe_json_error(std::string_view text, const char* simdjson_message);

}  // namespace cdn::record
