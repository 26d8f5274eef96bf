#include "common/cli/config_toml.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::cli {

namespace {

bool is_bare_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

std::string shown(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F || (c & 0x80) != 0) {
    static const char* hex = "0123456789abcdef";
    std::string s = "byte 0x";
    s += hex[(static_cast<unsigned char>(c) >> 4) & 15];
    s += hex[static_cast<unsigned char>(c) & 15];
    return s;
  }
  return diag::quoted(std::string(1, c));
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& file) : t_(text), file_(file) {}

  std::vector<ConfigEntry> parse() {
    if (size_t bad = base::invalid_utf8_at(t_); bad != std::string_view::npos) {
      pos_ = bad;
      fail("invalid UTF-8", "save the file as UTF-8");
    }
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // a byte order mark
    while (skip_blank_lines()) {
      if (peek() == '[') {
        table_header();
      } else {
        key_value();
      }
    }
    return std::move(entries_);
  }

 private:
  [[noreturn]] void fail(const std::string& what, const std::string& hint) const {
    size_t line = 1;
    for (size_t i = 0; i < pos_ && i < t_.size(); ++i) line += t_[i] == '\n';
    throw UsageError("bad config file " + diag::quoted(file_) + ", line " + std::to_string(line) +
                     ": " + what + "; " + hint);
  }

  size_t line_at(size_t pos) const {
    size_t line = 1;
    for (size_t i = 0; i < pos && i < t_.size(); ++i) line += t_[i] == '\n';
    return line;
  }

  bool at_end() const { return pos_ >= t_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < t_.size() ? t_[pos_ + ahead] : '\0'; }
  bool starts(std::string_view s) const { return t_.substr(pos_, s.size()) == s; }

  void skip_ws() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  // A comment up to the end of its line (not the newline).
  void skip_comment() {
    if (peek() != '#') return;
    while (!at_end() && peek() != '\n') {
      char c = peek();
      if (c == '\r' && peek(1) == '\n') break;
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) {
        fail("control character " + shown(c) + " in a comment", "remove it");
      }
      ++pos_;
    }
  }
  // At a newline (or the end): steps over it and returns true.
  bool newline() {
    if (at_end()) return true;
    if (peek() == '\n') {
      ++pos_;
      return true;
    }
    if (peek() == '\r' && peek(1) == '\n') {
      pos_ += 2;
      return true;
    }
    return false;
  }
  // Skips empty and comment-only lines; false at the end of the text.
  bool skip_blank_lines() {
    for (;;) {
      skip_ws();
      skip_comment();
      if (at_end()) return false;
      if (!newline()) return true;
    }
  }
  // What may follow a header or a value on its line: blanks, a comment, the newline.
  void end_of_line(const char* after) {
    skip_ws();
    skip_comment();
    if (!newline()) {
      fail(std::string("unexpected ") + shown(peek()) + " after " + after,
           "put one key = value on a line, and a '#' before a comment");
    }
  }

  // key: bare or quoted parts joined by dots.
  std::vector<std::string> key() {
    std::vector<std::string> parts;
    for (;;) {
      skip_ws();
      if (peek() == '"') {
        if (starts("\"\"\"")) fail("a multi-line string as a key", "write the key on one line");
        parts.push_back(basic_string());
      } else if (peek() == '\'') {
        if (starts("'''")) fail("a multi-line string as a key", "write the key on one line");
        parts.push_back(literal_string());
      } else {
        size_t b = pos_;
        while (!at_end() && is_bare_key_char(peek())) ++pos_;
        if (b == pos_) {
          if (at_end() || peek() == '\n' || peek() == '\r' || peek() == '=') {
            fail("a key is missing", "write key = value");
          }
          fail(std::string("unexpected ") + shown(peek()) + " in a key",
               "a bare key holds only letters, digits, '-' and '_'; quote other keys");
        }
        parts.emplace_back(t_.substr(b, pos_ - b));
      }
      skip_ws();
      if (peek() != '.') return parts;
      ++pos_;
    }
  }

  static std::string joined(const std::vector<std::string>& path) {
    std::string s;
    for (const auto& p : path) s += (s.empty() ? "" : ".") + p;
    return s;
  }

  void table_header() {
    size_t at = pos_;
    if (starts("[[")) {
      fail("an array of tables ([[...]])", "write each command's options under one [command]");
    }
    ++pos_;
    std::vector<std::string> path = key();
    if (peek() != ']') fail("unterminated table header", "close it with ']'");
    ++pos_;
    std::string name = joined(path);
    if (auto it = tables_.find(path); it != tables_.end()) {
      fail("table [" + name + "] is defined twice (first on line " +
               std::to_string(line_at(it->second)) + ")",
           "merge the two sections into one");
    }
    check_not_a_value(path, "table [" + name + "]");
    tables_[path] = at;
    end_of_line("the table header");
    table_ = path;
    if (path.size() == 1) {
      std::string lower;
      for (char c : path[0])
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "default") table_.clear();  // [default]: the global options, as in CLI11
    }
  }

  // No prefix of `path` (nor path itself) may already be a key with a value.
  void check_not_a_value(const std::vector<std::string>& path, const std::string& what) {
    std::vector<std::string> prefix;
    for (const auto& p : path) {
      prefix.push_back(p);
      if (auto it = values_.find(prefix); it != values_.end()) {
        fail(what + " reuses '" + joined(prefix) + "', a key with a value on line " +
                 std::to_string(line_at(it->second)),
             "rename one of them");
      }
    }
  }

  void key_value() {
    size_t at = pos_;
    std::vector<std::string> k = key();
    skip_ws();
    if (peek() != '=') {
      if (at_end() || peek() == '\n' || peek() == '\r' || peek() == '#') {
        fail("key '" + joined(k) + "' has no value", "write key = value (a flag: key = true)");
      }
      fail(std::string("unexpected ") + shown(peek()) + " after the key '" + joined(k) + "'",
           "write key = value");
    }
    ++pos_;
    skip_ws();
    if (at_end() || peek() == '\n' || peek() == '\r' || peek() == '#') {
      fail("key '" + joined(k) + "' has no value after '='", "write key = value");
    }
    ConfigEntry e;
    e.line = line_at(at);
    e.parents = table_;
    e.parents.insert(e.parents.end(), k.begin(), k.end() - 1);
    e.key = k.back();
    std::vector<std::string> full = e.parents;
    full.push_back(e.key);
    if (auto it = values_.find(full); it != values_.end()) {
      fail("key '" + joined(k) + "' is defined twice (first on line " +
               std::to_string(line_at(it->second)) + ")",
           "keep one of them");
    }
    check_not_a_value(std::vector<std::string>(full.begin(), full.end() - 1),
                      "key '" + joined(k) + "'");
    for (const auto& [table, line] : tables_) {
      if (table.size() >= full.size() && std::equal(full.begin(), full.end(), table.begin())) {
        fail("key '" + joined(k) + "' is also the table [" + joined(table) + "] of line " +
                 std::to_string(line_at(line)),
             "rename one of them");
      }
    }
    for (auto it = values_.lower_bound(full); it != values_.end(); ++it) {
      const auto& other = it->first;
      if (other.size() <= full.size() || !std::equal(full.begin(), full.end(), other.begin())) {
        break;
      }
      fail("key '" + joined(k) + "' is also the table of '" + joined(other) + "' on line " +
               std::to_string(line_at(it->second)),
           "rename one of them");
    }
    values_[full] = at;
    if (peek() == '[') {
      array(e.values);
    } else {
      e.values.push_back(scalar());
    }
    end_of_line("the value");
    entries_.push_back(std::move(e));
  }

  // Blanks, newlines and comments inside an array.
  void skip_array_space() {
    for (;;) {
      skip_ws();
      skip_comment();
      if (at_end() || !newline()) return;
    }
  }

  void array(std::vector<std::string>& out) {
    size_t open = pos_;
    ++pos_;
    for (;;) {
      skip_array_space();
      if (at_end()) {
        pos_ = open;
        fail("unterminated array", "close it with ']'");
      }
      if (peek() == ']') break;
      if (peek() == '[') fail("a nested array", "an option takes a flat list of values");
      out.push_back(scalar());
      skip_array_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') break;
      if (at_end()) {
        pos_ = open;
        fail("unterminated array", "close it with ']'");
      }
      fail(std::string("unexpected ") + shown(peek()) + " in an array",
           "separate the values with ','");
    }
    ++pos_;
  }

  std::string scalar() {
    char c = peek();
    if (c == '"') return starts("\"\"\"") ? multiline_basic_string() : basic_string();
    if (c == '\'') return starts("'''") ? multiline_literal_string() : literal_string();
    if (c == '{') fail("an inline table", "an option takes a value or an array of values");
    size_t b = pos_;
    while (!at_end()) {
      char d = peek();
      if (d == ',' || d == ']' || d == '#' || d == '\n' || d == '\r' || d == '\t') break;
      // A date and a time may be parted by one space: 1979-05-27 07:32:00Z.
      if (d == ' ' && !(pos_ - b == 10 && std::isdigit(static_cast<unsigned char>(peek(1))))) break;
      ++pos_;
    }
    std::string_view word = t_.substr(b, pos_ - b);
    if (word.empty()) {
      fail(std::string("unexpected ") + (at_end() ? "end of file" : shown(c)) + " for a value",
           "write a string in quotes, a number, true or false");
    }
    if (word == "true" || word == "false") return std::string(word);
    if (auto n = integer(word)) return *n;
    if (is_float(word)) {
      std::string s;
      for (char d : word) {
        if (d != '_') s += d;
      }
      return s;
    }
    if (is_date_time(word)) return std::string(word);
    pos_ = b;
    fail("bad value " + diag::quoted(std::string(word)),
         "write a string in quotes, a number, true or false");
  }

  // Digits with single underscores between them.
  static bool digits(std::string_view s, int base) {
    if (s.empty() || s.front() == '_' || s.back() == '_') return false;
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c == '_') {
        if (s[i - 1] == '_') return false;
        continue;
      }
      int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : std::isxdigit(static_cast<unsigned char>(c))
                  ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                  : 99;
      if (v >= base) return false;
    }
    return true;
  }

  // A TOML integer, as decimal text.
  std::optional<std::string> integer(std::string_view w) {
    std::string sign;
    int base = 10;
    std::string_view body = w;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'o' || body[1] == 'b')) {
      base = body[1] == 'x' ? 16 : body[1] == 'o' ? 8 : 2;
      body.remove_prefix(2);
    } else if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
      if (body[0] == '-') sign = "-";
      body.remove_prefix(1);
    }
    if (!digits(body, base)) return std::nullopt;
    if (base == 10 && body.size() > 1 && body[0] == '0') {
      fail("integer " + diag::quoted(std::string(w)) + " has a leading zero",
           "write it without, or in quotes");
    }
    std::string plain;
    for (char c : body) {
      if (c != '_') plain += c;
    }
    if (base == 10) return sign + plain;
    uint64_t v = 0;
    auto r = std::from_chars(plain.data(), plain.data() + plain.size(), v, base);
    if (r.ec != std::errc()) {
      fail("integer " + diag::quoted(std::string(w)) + " is too large", "write a smaller one");
    }
    return std::to_string(v);
  }

  static bool is_float(std::string_view w) {
    if (!w.empty() && (w[0] == '+' || w[0] == '-')) w.remove_prefix(1);
    if (w == "inf" || w == "nan") return true;
    size_t e = w.find_first_of("eE");
    std::string_view mant = w.substr(0, e);
    std::string_view exp = e == std::string_view::npos ? std::string_view() : w.substr(e + 1);
    size_t dot = mant.find('.');
    std::string_view ipart = mant.substr(0, dot);
    if (!digits(ipart, 10) || (ipart.size() > 1 && ipart[0] == '0')) return false;
    if (dot != std::string_view::npos && !digits(mant.substr(dot + 1), 10)) return false;
    if (e != std::string_view::npos) {
      if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) exp.remove_prefix(1);
      if (!digits(exp, 10)) return false;
    }
    return dot != std::string_view::npos || e != std::string_view::npos;
  }

  // RFC 3339 as TOML takes it: a date, a time, or both, with an optional offset.
  static bool is_date_time(std::string_view w) {
    auto num = [&](size_t at, size_t n) {
      if (at + n > w.size()) return false;
      for (size_t i = at; i < at + n; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(w[i]))) return false;
      }
      return true;
    };
    auto time = [&](size_t at) -> bool {
      if (!(num(at, 2) && w[at + 2] == ':' && num(at + 3, 2) && at + 5 < w.size() &&
            w[at + 5] == ':' && num(at + 6, 2))) {
        return false;
      }
      size_t i = at + 8;
      if (i < w.size() && w[i] == '.') {
        size_t b = ++i;
        while (i < w.size() && std::isdigit(static_cast<unsigned char>(w[i]))) ++i;
        if (i == b) return false;
      }
      if (i == w.size()) return true;
      if ((w[i] == 'Z' || w[i] == 'z') && i + 1 == w.size()) return true;
      return (w[i] == '+' || w[i] == '-') && num(i + 1, 2) && i + 3 < w.size() && w[i + 3] == ':' &&
             num(i + 4, 2) && i + 6 == w.size();
    };
    if (num(0, 4) && w.size() >= 10 && w[4] == '-' && num(5, 2) && w[7] == '-' && num(8, 2)) {
      if (w.size() == 10) return true;
      return (w[10] == 'T' || w[10] == 't' || w[10] == ' ') && time(11);
    }
    return time(0);
  }

  void control_check(char c, const char* where) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) {
      fail("control character " + shown(c) + " in " + where, "write it as an escape like \\n");
    }
  }

  // After a backslash in a basic string.
  void escape(std::string& out) {
    char c = peek();
    ++pos_;
    switch (c) {
      case 'b':
        out += '\b';
        return;
      case 't':
        out += '\t';
        return;
      case 'n':
        out += '\n';
        return;
      case 'f':
        out += '\f';
        return;
      case 'r':
        out += '\r';
        return;
      case '"':
        out += '"';
        return;
      case '\\':
        out += '\\';
        return;
      case 'u':
      case 'U': {
        size_t n = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        auto r =
            std::from_chars(t_.data() + pos_, t_.data() + std::min(t_.size(), pos_ + n), cp, 16);
        if (pos_ + n > t_.size() || r.ptr != t_.data() + pos_ + n) {
          pos_ -= 2;
          fail(
              std::string("bad escape \\") + c + " (it takes " + std::to_string(n) + " hex digits)",
              "write a Unicode scalar value in hex");
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          pos_ -= 2;
          fail("escape \\" + std::string(1, c) + " is not a Unicode scalar value",
               "write a code point up to 10FFFF, not a surrogate");
        }
        pos_ += n;
        base::append_utf8(out, cp);
        return;
      }
      default:
        pos_ -= 2;
        fail("bad escape \\" + (at_end() ? std::string() : std::string(1, c)) + " in a string",
             "write \\\\ for a backslash, or use a 'literal string'");
    }
  }

  std::string basic_string() {
    size_t open = pos_;
    ++pos_;
    std::string out;
    for (;;) {
      if (at_end() || peek() == '\n' || peek() == '\r') {
        pos_ = open;
        fail("unterminated string", "close it with '\"' on the same line");
      }
      char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        ++pos_;
        escape(out);
        continue;
      }
      control_check(c, "a string");
      out += c;
      ++pos_;
    }
  }

  std::string literal_string() {
    size_t open = pos_;
    ++pos_;
    std::string out;
    for (;;) {
      if (at_end() || peek() == '\n' || peek() == '\r') {
        pos_ = open;
        fail("unterminated string", "close it with \"'\" on the same line");
      }
      char c = peek();
      ++pos_;
      if (c == '\'') return out;
      control_check(c, "a string");
      out += c;
    }
  }

  std::string multiline_basic_string() {
    size_t open = pos_;
    pos_ += 3;
    newline();  // a newline right after the opening quotes is not part of the string
    std::string out;
    for (;;) {
      if (at_end()) {
        pos_ = open;
        fail("unterminated multi-line string", "close it with '\"\"\"'");
      }
      if (starts("\"\"\"")) {
        pos_ += 3;
        // Up to two more quotes belong to the string: """a"""" is a".
        for (int i = 0; i < 2 && peek() == '"'; ++i, ++pos_) out += '"';
        return out;
      }
      char c = peek();
      if (c == '\\') {
        // A backslash at the end of a line trims the newline and the blanks that follow.
        size_t i = pos_ + 1;
        while (i < t_.size() && (t_[i] == ' ' || t_[i] == '\t')) ++i;
        if (i < t_.size() &&
            (t_[i] == '\n' || (t_[i] == '\r' && i + 1 < t_.size() && t_[i + 1] == '\n'))) {
          pos_ = i;
          while (!at_end() && (peek() == ' ' || peek() == '\t' || newline())) {
            if (peek() == ' ' || peek() == '\t') ++pos_;
          }
          continue;
        }
        ++pos_;
        escape(out);
        continue;
      }
      if (newline()) {
        out += '\n';
        continue;
      }
      control_check(c, "a string");
      out += c;
      ++pos_;
    }
  }

  std::string multiline_literal_string() {
    size_t open = pos_;
    pos_ += 3;
    newline();
    std::string out;
    for (;;) {
      if (at_end()) {
        pos_ = open;
        fail("unterminated multi-line string", "close it with \"'''\"");
      }
      if (starts("'''")) {
        pos_ += 3;
        for (int i = 0; i < 2 && peek() == '\''; ++i, ++pos_) out += '\'';
        return out;
      }
      if (newline()) {
        out += '\n';
        continue;
      }
      char c = peek();
      control_check(c, "a string");
      out += c;
      ++pos_;
    }
  }

  std::string_view t_;
  const std::string& file_;
  size_t pos_ = 0;
  std::vector<std::string> table_;
  std::map<std::vector<std::string>, size_t> tables_;  // header path -> its offset
  std::map<std::vector<std::string>, size_t> values_;  // full key path -> its offset
  std::vector<ConfigEntry> entries_;
};

}  // namespace

std::vector<ConfigEntry> parse_config_toml(std::string_view text, const std::string& file) {
  return Parser(text, file).parse();
}

}  // namespace cdn::cli
