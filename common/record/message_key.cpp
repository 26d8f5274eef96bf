#include "common/record/message_key.hpp"

#include "common/record/fields.hpp"

namespace cdn::record {

namespace {
// -?[0-9]+: an integer, written the same as text and parsed (other numbers are written
// from their parsed value, which may differ from the text: 1.50 is 1.5).
bool is_integer(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
}  // namespace

bool message_key(simdjson::dom::element value, std::string& out) {
  using T = simdjson::dom::element_type;
  out.clear();
  switch (value.type()) {
    case T::NULL_VALUE:
      return false;
    case T::STRING:
      out.assign(value.get_string().value_unsafe());
      return true;
    default:
      out = simdjson::minify(value);
      return true;
  }
}

KeyField::KeyField(std::string_view dotted) {
  if (!dotted.empty()) path_ = split_path(dotted);
}

std::optional<std::string_view> KeyField::of(simdjson::dom::element record,
                                             std::string& buf) const {
  simdjson::dom::element v;
  if (path_.empty() || find_path(record, path_).get(v) || !message_key(v, buf)) {
    return std::nullopt;
  }
  return buf;
}

std::optional<std::string_view> KeyField::of_member(simdjson::dom::element value,
                                                    std::string& buf) const {
  simdjson::dom::element v = value;
  for (size_t step = 1; step < path_.size(); ++step) {
    simdjson::dom::object obj;
    if (v.get_object().get(obj) || obj.at_key(path_[step]).get(v)) return std::nullopt;
  }
  if (path_.empty() || !message_key(v, buf)) return std::nullopt;
  return buf;
}

std::optional<std::string_view> KeyField::of_text(std::string_view text, std::string& buf,
                                                  simdjson::dom::parser& parser) const {
  if (path_.empty()) return std::nullopt;
  if (auto v = scan_path(text, path_)) {
    std::string_view s = *v;
    char c = s.front();
    if (c == '"') {
      if (s.size() >= 2 && s.back() == '"' && s.find('\\') == std::string_view::npos) {
        buf.assign(s.substr(1, s.size() - 2));
        return buf;
      }
    } else if (c == 'n') {
      if (s == "null") return std::nullopt;
    } else if (s == "true" || s == "false" || is_integer(s)) {
      buf.assign(s);  // as the parsed value writes it too
      return buf;
    }
  }
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size(), true).get(root)) return std::nullopt;
  return of(root, buf);
}

}  // namespace cdn::record
