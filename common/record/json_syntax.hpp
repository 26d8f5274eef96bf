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

// A number of well-formed JSON that fits neither a 64-bit integer nor a finite double (what
// simdjson refuses: 18446744073709551616, -9223372036854775809, 1e999), and where it is.
struct NumberRangeError {
  size_t offset = 0;
  std::string pointer;       // JSON Pointer of the member or element: "/bytes", "/a/0"
  std::string_view literal;  // the number as written
};

// The first such number of `text`, or nothing when there is none or `text` is not JSON.
std::optional<NumberRangeError> find_number_out_of_range(std::string_view text);

// "number out of range: /bytes holds 1e999, ...; write it ..." for a line simdjson refused
// because of such a number, or nothing when that is not why.
std::optional<std::string> describe_number_out_of_range(std::string_view text);

// The reason for a line simdjson refused with `simdjson_message`: the number out of range when
// that is why, "invalid JSON: MESSAGE" otherwise. Only refused lines are scanned again.
std::string invalid_json_reason(std::string_view text, const char* simdjson_message);

// "not JSON: MESSAGE at column N" for a line simdjson refused with `simdjson_message` (or the
// number out of range when that is why).
std::string describe_json_error(std::string_view text, const char* simdjson_message);

}  // namespace cdn::record
