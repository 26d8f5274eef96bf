// Reaching fields of a record: dotted paths over a parsed document, and the byte span of a
// top-level member in the record's text (to edit a line without re-serializing it).
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::record {

// "an array", "a string", "null", ...: for messages about what a value is.
const char* json_type_name(simdjson::dom::element_type t);

// "a.b.c" -> {"a","b","c"}. An empty path is a usage error for the caller to report.
std::vector<std::string> split_path(std::string_view dotted);

// Follows `path` through nested objects. Returns an error when a step is missing or not an
// object.
simdjson::simdjson_result<simdjson::dom::element> find_path(simdjson::dom::element root,
                                                            const std::vector<std::string>& path);

// Byte offsets in the text of a JSON object.
struct MemberSpan {
  size_t member_begin;  // the opening quote of the key
  size_t value_begin;
  size_t value_end;  // one past the value
  bool escaped_key;  // the key is written with escapes (so it differs from `key` as text)
};

// Finds the top-level member `key` of the object in `text` (which must be valid JSON, e.g.
// already parsed), comparing keys unescaped. Returns the first occurrence: a member named
// twice counts by its first one, for every command (simdjson's at_key finds the first too).
std::optional<MemberSpan> find_member(std::string_view text, std::string_view key);

// Offset of the closing '}' of the top-level object and whether it has members.
struct ObjectEnd {
  size_t close;
  bool empty;
};
std::optional<ObjectEnd> object_end(std::string_view text);

// The text of the value at `path` in the object `text`, read only as far as that value (as
// find_path finds it: the first member of each name). Member names on the way must be written
// without escapes and values before it are skipped by their extent, unchecked. Nothing when
// the path is not there or the text is unusual on the way: the caller then parses the whole
// text.
std::optional<std::string_view> scan_path(std::string_view text,
                                          const std::vector<std::string>& path);

}  // namespace cdn::record
