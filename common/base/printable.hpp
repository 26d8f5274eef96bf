// Text from outside (a file name, an option value, a record's bytes) made safe to print in a
// message: no byte a terminal would act on (a control character, DEL, a C1 control, a byte
// that is not UTF-8) reaches it raw, and a NUL does not cut the message short.
#pragma once

#include <string>
#include <string_view>

namespace cdn::base {

// 'name' as GNU ls and sort quote it for a shell: a name with such a byte is written in runs,
// each byte as $'\n' or $'\033' between quoted runs: 'a'$'\n''b'. Copied into a shell, it is
// the name again.
std::string shell_quoted(std::string_view name);

// `text` with each such byte written as \n, \t, \r or \xHH, everything else as it is
// (and the control characters of `keep`, like "\n\t" for a message laid out in lines).
std::string escape_controls(std::string_view text, std::string_view keep = {});

// The length of the well-formed UTF-8 sequence at text[i] (no overlong form, no surrogate, at
// most U+10FFFF), or 0.
size_t utf8_sequence_at(std::string_view text, size_t i);

// The length of the sequence a UTF-8 lead byte starts (1 for ASCII), or 0 for no lead byte.
size_t utf8_lead_length(unsigned char c);

// Whether `text` holds such a byte.
bool has_controls(std::string_view text);

}  // namespace cdn::base
