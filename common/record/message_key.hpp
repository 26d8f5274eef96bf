// --key-field: the Kafka message key of an output record, from one of its fields, so that a
// key's records (and the predictions made of them) land on one partition. A string gives its
// text (unescaped), a number or a boolean its JSON text, an object or an array its minified
// JSON text. Null, or no such field, gives none: the record keeps the key of its input
// message, if it had one, else it goes out without a key.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::record {

// The key a field's value gives, written to `out` (replacing it); false for null.
bool message_key(simdjson::dom::element value, std::string& out);

// The key of a record, from the field `dotted` names (a path into nested objects: "a.b").
class KeyField {
 public:
  KeyField() = default;
  explicit KeyField(std::string_view dotted);
  bool empty() const { return path_.empty(); }
  const std::vector<std::string>& path() const { return path_; }

  // From a parsed record; the key is written in `buf`. Const: threads may share one.
  std::optional<std::string_view> of(simdjson::dom::element record, std::string& buf) const;
  // From the value of the record's top-level member path().front(), found by a caller that
  // passes over the members anyway (the rest of the path is followed from there).
  std::optional<std::string_view> of_member(simdjson::dom::element value, std::string& buf) const;
  // From a record's text, not parsed: read only as far as the field (record::scan_path) when
  // it is a string without escapes, an integer of up to 18 digits, true or false; else parsed
  // whole, so the key is the same as of() gives. Text that is not JSON gives none. No padding
  // needed; `parser` parses it when needed.
  std::optional<std::string_view> of_text(std::string_view text, std::string& buf,
                                          simdjson::dom::parser& parser) const;

  // The key the record goes out with: the field's when it gives one, else its input
  // message's.
  static std::optional<std::string_view> chosen(std::optional<std::string_view> field_key,
                                                std::optional<std::string_view> input_key) {
    return field_key ? field_key : input_key;
  }

 private:
  std::vector<std::string> path_;
};

}  // namespace cdn::record
