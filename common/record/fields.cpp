#include "common/record/fields.hpp"

#include <cstdint>

#include "common/base/json_text.hpp"

namespace cdn::record {

const char* json_type_name(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY:
      return "an array";
    case T::OBJECT:
      return "an object";
    case T::BOOL:
      return "a boolean";
    case T::NULL_VALUE:
      return "null";
    case T::STRING:
      return "a string";
    default:
      return "a number";
  }
}

std::vector<std::string> split_path(std::string_view dotted) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = dotted.find('.', start);
    parts.emplace_back(dotted.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

simdjson::simdjson_result<simdjson::dom::element> find_path(simdjson::dom::element root,
                                                            const std::vector<std::string>& path) {
  simdjson::dom::element cur = root;
  for (const auto& step : path) {
    simdjson::dom::object obj;
    if (auto err = cur.get_object().get(obj)) return err;
    if (auto err = obj.at_key(step).get(cur)) return err;
  }
  return cur;
}

namespace {
// Index one past the JSON string starting at text[i] == '"'.
size_t skip_string(std::string_view text, size_t i) {
  ++i;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\\') {
      i += 2;
      continue;
    }
    if (c == '"') return i + 1;
    ++i;
  }
  return text.size();
}

inline bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t skip_ws(std::string_view text, size_t i) {
  while (i < text.size() && is_ws(text[i])) ++i;
  return i;
}

// Index one past the value starting at i.
size_t skip_value(std::string_view text, size_t i) {
  if (i >= text.size()) return i;
  char c = text[i];
  if (c == '"') return skip_string(text, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < text.size()) {
      char d = text[i];
      if (d == '"') {
        i = skip_string(text, i);
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' && !is_ws(text[i]))
    ++i;
  return i;
}
// The text of the JSON string body `k` (between its quotes, valid JSON) with its escapes
// decoded, as simdjson holds a key.
std::string unescaped(std::string_view k) {
  std::string out;
  auto hex4 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t j = at; j < at + 4 && j < k.size(); ++j) {
      char c = k[j];
      v = v * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
  };
  for (size_t i = 0; i < k.size(); ++i) {
    if (k[i] != '\\' || i + 1 >= k.size()) {
      out += k[i];
      continue;
    }
    char e = k[++i];
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = hex4(i + 1);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < k.size() && k[i + 1] == '\\' &&
            k[i + 2] == 'u') {
          uint32_t lo = hex4(i + 3);
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        base::append_utf8(out, cp);
        break;
      }
      default:
        out += e;  // \" \\ \/
    }
  }
  return out;
}
}  // namespace

std::optional<MemberSpan> find_member(std::string_view text, std::string_view key) {
  size_t i = skip_ws(text, 0);
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  ++i;
  for (;;) {
    i = skip_ws(text, i);
    if (i >= text.size() || text[i] != '"') return std::nullopt;
    size_t kbegin = i;
    size_t kend = skip_string(text, i);
    std::string_view k = text.substr(kbegin + 1, kend - kbegin - 2);
    i = skip_ws(text, kend);
    if (i >= text.size() || text[i] != ':') return std::nullopt;
    i = skip_ws(text, i + 1);
    size_t vbegin = i;
    size_t vend = skip_value(text, i);
    // The first occurrence, compared unescaped: the member simdjson's at_key finds.
    if (k == key) return MemberSpan{kbegin, vbegin, vend, false};
    if (k.find('\\') != std::string_view::npos && unescaped(k) == key) {
      return MemberSpan{kbegin, vbegin, vend, true};
    }
    i = skip_ws(text, vend);
    if (i < text.size() && text[i] == ',') ++i;
  }
}

std::optional<ObjectEnd> object_end(std::string_view text) {
  size_t e = text.size();
  while (e > 0 && is_ws(text[e - 1])) --e;
  if (e == 0 || text[e - 1] != '}') return std::nullopt;
  size_t close = e - 1;
  size_t b = skip_ws(text, 0);
  if (b >= text.size() || text[b] != '{') return std::nullopt;
  size_t inner = skip_ws(text, b + 1);
  return ObjectEnd{close, inner == close};
}

std::optional<std::string_view> scan_path(std::string_view text,
                                          const std::vector<std::string>& path) {
  size_t i = skip_ws(text, 0);
  for (size_t step = 0; step < path.size(); ++step) {
    if (i >= text.size() || text[i] != '{') return std::nullopt;
    i = skip_ws(text, i + 1);
    for (;;) {
      if (i >= text.size() || text[i] != '"') return std::nullopt;  // also the end: '}'
      size_t kend = skip_string(text, i);
      if (kend > text.size() || text[kend - 1] != '"') return std::nullopt;
      std::string_view k = text.substr(i + 1, kend - i - 2);
      if (k.find('\\') != std::string_view::npos) return std::nullopt;
      i = skip_ws(text, kend);
      if (i >= text.size() || text[i] != ':') return std::nullopt;
      i = skip_ws(text, i + 1);
      if (i >= text.size()) return std::nullopt;
      if (k == path[step]) break;
      i = skip_ws(text, skip_value(text, i));
      if (i >= text.size() || text[i] != ',') return std::nullopt;
      i = skip_ws(text, i + 1);
    }
  }
  size_t end = skip_value(text, i);
  if (end == i || end > text.size()) return std::nullopt;
  return text.substr(i, end - i);
}

}  // namespace cdn::record
