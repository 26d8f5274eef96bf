#include "common/base/printable.hpp"

namespace cdn::base {

namespace {

// The length of the UTF-8 character at text[i] when it is one a terminal prints (not a C0 or
// C1 control, not DEL), or 0.
size_t printable_at(std::string_view text, size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return c >= 0x20 && c != 0x7f ? 1 : 0;
  // U+0080 to U+009F, C2 80 to C2 9F, are the C1 controls
  if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0) return 0;
  return utf8_sequence_at(text, i);
}

// One byte as C writes it in a string: \n, \t, ... or three octal digits.
void append_escape(std::string& out, unsigned char c, bool hex) {
  switch (c) {
    case '\a':
      out += "\\a";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\v':
      out += "\\v";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\r':
      out += "\\r";
      return;
    default:
      break;
  }
  const char* digits = "0123456789abcdef";
  out += '\\';
  if (hex) {
    out += 'x';
    out += digits[c >> 4];
    out += digits[c & 15];
  } else {
    out += static_cast<char>('0' + ((c >> 6) & 7));
    out += static_cast<char>('0' + ((c >> 3) & 7));
    out += static_cast<char>('0' + (c & 7));
  }
}

}  // namespace

size_t utf8_lead_length(unsigned char c) {
  return c < 0x80                 ? 1
         : c >= 0xC2 && c <= 0xDF ? 2
         : c >= 0xE0 && c <= 0xEF ? 3
         : c >= 0xF0 && c <= 0xF4 ? 4
                                  : 0;
}

size_t utf8_sequence_at(std::string_view text, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char c = b(0);
  size_t n = utf8_lead_length(c);
  if (n <= 1) return n;
  // the second byte's range: no overlong form, no surrogate, at most U+10FFFF
  unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    unsigned char x = b(k);
    if (k == 1 ? (x < lo || x > hi) : (x < 0x80 || x > 0xBF)) return 0;
  }
  return n;
}

bool has_controls(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t n = printable_at(text, i);
    if (n == 0) return true;
    i += n;
  }
  return false;
}

std::string shell_quoted(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  if (!has_controls(name)) {
    out += '\'';
    out += name;
    out += '\'';
    return out;
  }
  // Runs of printable text in '...' (a quote in them as '\''), the rest in $'...'.
  bool in_plain = false, in_escaped = false;
  for (size_t i = 0; i < name.size();) {
    size_t n = printable_at(name, i);
    if (n > 0) {
      if (in_escaped) {
        out += '\'';
        in_escaped = false;
      }
      if (!in_plain) {
        out += '\'';
        in_plain = true;
      }
      if (name[i] == '\'') {
        out += "'\\''";
      } else {
        out.append(name.substr(i, n));
      }
      i += n;
      continue;
    }
    if (in_plain) {
      out += '\'';
      in_plain = false;
    }
    if (!in_escaped) {
      out += "$'";
      in_escaped = true;
    }
    append_escape(out, static_cast<unsigned char>(name[i]), false);
    ++i;
  }
  if (in_plain || in_escaped) out += '\'';
  return out;
}

std::string escape_controls(std::string_view text, std::string_view keep) {
  if (!has_controls(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    size_t n = printable_at(text, i);
    if (n == 0 && keep.find(text[i]) != std::string_view::npos) n = 1;
    if (n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      append_escape(out, static_cast<unsigned char>(text[i]), true);
      ++i;
    }
  }
  return out;
}

}  // namespace cdn::base
