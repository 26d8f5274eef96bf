// URIs and JSON Pointers, only as far as $ref needs them: internal to common/schema (the
// compiler resolves references with them; the checker writes instance locations).
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace cdn::schema {

// A URI and its fragment, apart ("" when there is none), without the '#'.
std::pair<std::string, std::string> split_fragment(const std::string& uri);

// Removes "." and ".." segments of a path.
std::string normalize_path(const std::string& path);

// RFC 3986 reference resolution, enough for schema identifiers.
std::string resolve_uri(const std::string& base, const std::string& ref);

// %XX escapes decoded.
std::string percent_decode(std::string_view s);

}  // namespace cdn::schema
