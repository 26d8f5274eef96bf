// Writing JSON text by hand, fast: string escaping and numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdn::base {

// Appends `s` as a JSON string literal (with quotes). Invalid UTF-8 bytes pass through
// unchanged; control characters are escaped.
void append_json_string(std::string& out, std::string_view s);

// The offset of the first byte of `s` that is not well-formed UTF-8 (an overlong form, a
// surrogate, past U+10FFFF, a sequence cut short), or std::string_view::npos when it is all
// well-formed: JSON text must be, and append_json_string does not check.
size_t invalid_utf8_at(std::string_view s);

// Appends `s` with each byte that is not part of a well-formed UTF-8 sequence replaced by
// U+FFFD (the replacement character); returns how many bytes were replaced.
size_t append_utf8_replacing(std::string& out, std::string_view s);

// Appends `s` in base64 (RFC 4648, with padding).
void append_base64(std::string& out, std::string_view s);

// Appends the code point `cp` (at most 0x10FFFF) encoded in UTF-8.
void append_utf8(std::string& out, uint32_t cp);

// Appends `bytes` in base64 as a JSON string literal: how bytes that are not UTF-8 go into
// JSON text.
void append_json_base64(std::string& out, std::string_view bytes);

void append_int(std::string& out, int64_t v);
void append_uint(std::string& out, uint64_t v);
// Shortest text that reads back as the same double; non-finite values are written as null.
// A whole number beyond 64-bit integers gets an exponent (1e+20, not 100000000000000000000),
// so that it reads back as a double rather than as an integer that does not fit.
void append_double(std::string& out, double v);

// True when `s` is exactly a JSON number (RFC 8259 grammar).
bool is_json_number(std::string_view s);

// True when the JSON number `s` (is_json_number) reads back: an integer that fits in 64 bits
// (signed, or unsigned when not negative), or a number with a fraction or an exponent that
// does not overflow a double (an underflow reads as zero). simdjson refuses the others.
bool json_number_fits(std::string_view s);

}  // namespace cdn::base
