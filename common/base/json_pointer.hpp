// JSON Pointers (RFC 6901): the one escaper of their reference tokens.
#pragma once

#include <string>
#include <string_view>

namespace cdn::base {

// Appends "/" and `token` with "~" written as "~0" and "/" as "~1".
void append_pointer_token(std::string& out, std::string_view token);

}  // namespace cdn::base
