// The string formats JSON Schema names, checked by hand-written scanners that run in linear
// time whatever the input (no regular expressions, no recursion).
#pragma once

#include <string_view>

namespace cdn::schema {

enum class Format {
  none,  // unknown formats are annotations and always pass
  date_time,
  date,
  time,
  ipv4,
  ipv6,
  email,
  hostname,
  uri,
};

// The format of a schema's "format" value; Format::none for names it does not check.
Format format_of(std::string_view name);
const char* format_name(Format f);

// True when `s` is a valid instance of `f` (RFC 3339 date-time/full-date/full-time,
// dotted-quad IPv4, RFC 4291 IPv6, RFC 5321 mailbox, RFC 1123 host name, RFC 3986 URI).
bool check_format(Format f, std::string_view s);

}  // namespace cdn::schema
