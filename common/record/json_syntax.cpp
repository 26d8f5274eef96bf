#include "common/record/json_syntax.hpp"

#include <cmath>
#include <cstdlib>
#include <vector>

#include "common/base/json_pointer.hpp"
#include "common/base/printable.hpp"

namespace cdn::record {

namespace {

class Scanner {
 public:
  Scanner(std::string_view s, size_t max_depth, bool check_range = false)
      : s_(s), max_depth_(max_depth), check_range_(check_range) {}

  // The first number out of range, once run() found the text well-formed.
  std::optional<NumberRangeError>& range_error() { return range_err_; }

  std::optional<SyntaxError> run() {
    ws();
    if (!value()) return err_;
    ws();
    if (i_ != s_.size()) {
      fail("unexpected text after the JSON value");
      return err_;
    }
    return std::nullopt;
  }

 private:
  bool fail(const char* message) {
    if (!err_) err_ = SyntaxError{i_, message};
    return false;
  }

  void ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return fail("expected a JSON value");
    i_ += word.size();
    return true;
  }

  bool digits() {
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }

  bool number() {
    size_t start = i_;
    bool ok = number_syntax();
    if (ok && check_range_ && !range_err_) check_number_range(start);
    return ok;
  }

  // Whether the number s_[start, i_) fits what simdjson reads: a 64-bit integer (signed when
  // negative) or, written with a fraction or an exponent, a finite double.
  void check_number_range(size_t start) {
    std::string_view lit = s_.substr(start, i_ - start);
    bool negative = lit[0] == '-';
    std::string_view digits = negative ? lit.substr(1) : lit;
    bool in_range;
    if (digits.find_first_of(".eE") == std::string_view::npos) {
      std::string_view max = negative ? "9223372036854775808" : "18446744073709551615";
      in_range = digits.size() < max.size() || (digits.size() == max.size() && digits <= max);
    } else {
      std::string copy(lit);
      in_range = std::isfinite(std::strtod(copy.c_str(), nullptr));
    }
    if (!in_range) range_err_ = NumberRangeError{start, pointer(), lit};
  }

  // The JSON Pointer of the value being read.
  std::string pointer() const {
    std::string p;
    for (const auto& seg : path_) base::append_pointer_token(p, seg);
    return p;
  }

  // The member name that string() just read (as written, escapes left as they are).
  void member_name(size_t open) {
    if (check_range_) path_.back().assign(s_.substr(open + 1, i_ - open - 2));
  }

  void next_element() {
    if (check_range_) path_.back() = std::to_string(++index_.back());
  }

  bool number_syntax() {
    if (s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return fail("expected a digit in a number");
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return fail("expected a digit after the decimal point");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return fail("expected a digit in the exponent");
    }
    return true;
  }

  // One UTF-8 sequence at i_ (well-formed: no overlongs, no surrogates, at most U+10FFFF).
  bool utf8() {
    size_t n = base::utf8_sequence_at(s_, i_);
    if (n == 0) {
      size_t want = base::utf8_lead_length(static_cast<unsigned char>(s_[i_]));
      return fail(want > 1 && i_ + want > s_.size() ? "invalid UTF-8 (a sequence cut short)"
                                                    : "invalid UTF-8");
    }
    i_ += n;
    return true;
  }

  bool string() {
    ++i_;  // the opening quote
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return fail("a control character inside a string (escape it)");
      if (c == '\\') {
        ++i_;
        if (i_ >= s_.size()) break;
        char e = s_[i_];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k) {
            if (i_ + k >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_ + k]))) {
              i_ += k;
              return fail("expected four hex digits after \\u");
            }
          }
          i_ += 5;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                   e == 'r' || e == 't') {
          ++i_;
        } else {
          return fail("an unknown escape in a string");
        }
        continue;
      }
      if (c >= 0x80) {
        if (!utf8()) return false;
        continue;
      }
      ++i_;
    }
    return fail("the string is not closed (the line ends inside it)");
  }

  bool value() {
    // Containers are walked with an explicit stack: no recursion on deep input.
    std::vector<char> stack;
    for (;;) {
      ws();
      if (i_ >= s_.size()) return fail("the line ends where a value should be");
      char c = s_[i_];
      if (c == '{' || c == '[') {
        if (stack.size() >= max_depth_) return fail("nested too deep");
        stack.push_back(c);
        if (check_range_) {
          path_.emplace_back(c == '[' ? "0" : "");
          index_.push_back(0);
        }
        ++i_;
        ws();
        char close = c == '{' ? '}' : ']';
        if (i_ < s_.size() && s_[i_] == close) {
          ++i_;
          pop(stack);
        } else {
          if (c == '{') {
            if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a member name in quotes");
            size_t open = i_;
            if (!string()) return false;
            member_name(open);
            ws();
            if (i_ >= s_.size() || s_[i_] != ':') return fail("expected ':' after the member name");
            ++i_;
          }
          continue;  // the first value of the container
        }
      } else if (c == '"') {
        if (!string()) return false;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!number()) return false;
      } else if (c == 't') {
        if (!literal("true")) return false;
      } else if (c == 'f') {
        if (!literal("false")) return false;
      } else if (c == 'n') {
        if (!literal("null")) return false;
      } else {
        return fail(c == '}' || c == ']' ? "expected a value before the closing bracket"
                                         : "expected a JSON value");
      }
      // After a value: close containers or move to the next element.
      for (;;) {
        if (stack.empty()) return true;
        ws();
        if (i_ >= s_.size()) {
          return fail(stack.back() == '{' ? "the object is not closed (missing '}')"
                                          : "the array is not closed (missing ']')");
        }
        char close = stack.back() == '{' ? '}' : ']';
        if (s_[i_] == close) {
          ++i_;
          pop(stack);
          continue;
        }
        if (s_[i_] != ',') {
          return fail(stack.back() == '{' ? "expected ',' or '}' after an object member"
                                          : "expected ',' or ']' after an array element");
        }
        ++i_;
        if (stack.back() == '{') {
          ws();
          if (i_ >= s_.size() || s_[i_] != '"') return fail("expected a member name in quotes");
          size_t open = i_;
          if (!string()) return false;
          member_name(open);
          ws();
          if (i_ >= s_.size() || s_[i_] != ':') return fail("expected ':' after the member name");
          ++i_;
        } else {
          next_element();
        }
        break;
      }
    }
  }

  void pop(std::vector<char>& stack) {
    stack.pop_back();
    if (check_range_) {
      path_.pop_back();
      index_.pop_back();
    }
  }

  std::string_view s_;
  size_t max_depth_;
  bool check_range_;
  size_t i_ = 0;
  std::optional<SyntaxError> err_;
  std::optional<NumberRangeError> range_err_;
  std::vector<std::string> path_;  // with check_range_: the member name or index per level
  std::vector<size_t> index_;      // with check_range_: the element index per level
};

}  // namespace

std::optional<SyntaxError> find_json_error(std::string_view text, size_t max_depth) {
  return Scanner(text, max_depth).run();
}

std::optional<NumberRangeError> find_number_out_of_range(std::string_view text) {
  Scanner s(text, 1024, true);
  if (s.run()) return std::nullopt;
  return std::move(s.range_error());
}

std::optional<std::string> describe_number_out_of_range(std::string_view text) {
  auto e = find_number_out_of_range(text);
  if (!e) return std::nullopt;
  constexpr size_t shown = 40;
  std::string lit(e->literal.substr(0, shown));
  if (e->literal.size() > shown)
    lit += "... (" + std::to_string(e->literal.size()) + " characters)";
  return "number out of range: " + (e->pointer.empty() ? "the value" : e->pointer) + " holds " +
         lit +
         ", which fits neither a 64-bit integer nor a double; write it within range, or as a "
         "string";
}

std::string invalid_json_reason(std::string_view text, const char* simdjson_message) {
  if (auto r = describe_number_out_of_range(text)) return std::move(*r);
  return std::string("invalid JSON: ") + simdjson_message;
}

std::string describe_json_error(std::string_view text, const char* simdjson_message) {
  std::string r = "not JSON: ";
  if (auto e = find_json_error(text)) {
    r += e->message;
    r += " at column ";
    r += std::to_string(e->offset + 1);
  } else if (auto range = describe_number_out_of_range(text)) {
    return std::move(*range);
  } else {
    r += simdjson_message;
  }
  return r;
}

}  // namespace cdn::record
