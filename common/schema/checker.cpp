// Checking a value against a compiled schema: one walk of the node graph, which stops at the
// first failure or collects errors with their instance locations.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <type_traits>
#include <unordered_map>

#include "common/base/json_pointer.hpp"
#include "common/base/json_text.hpp"
#include "common/diag/log.hpp"
#include "common/schema/json_compare.hpp"
#include "common/schema/uri.hpp"
#include "common/schema/validator.hpp"

namespace cdn::schema {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

struct Segment {
  std::string_view key;
  uint64_t index = 0;
  bool is_index = false;
};

// Where a value is in its document: its index on simdjson's tape, which simdjson keeps private
// in the element (beside a pointer to the document). The element is a trivially copyable
// pair of the two, so the index is read from a copy of its bytes.
size_t tape_index(element v) {
  struct Raw {
    const void* doc;
    size_t index;
  };
  static_assert(sizeof(element) == sizeof(Raw) && std::is_trivially_copyable_v<element>);
  Raw raw;
  std::memcpy(&raw, &v, sizeof raw);
  return raw.index;
}

// Results of (subschema, value) pairs already checked in this walk. A subschema's verdict on
// a value does not depend on how the walk got there, so a pair met again (anyOf of two
// schemas that each recurse into the items, say) is answered at once: checking takes at most
// one visit per pair, not one per path to it. Kept only for nodes more than one edge leads
// to (Node::shared), only once a walk has taken kMemoAfter steps (the common case, a record
// checked in a few hundred steps, pays nothing), and for kMaxEntries pairs at most (a few
// megabytes); past them, the step budget bounds the walk.
struct Memo {
  static constexpr uint64_t kMemoAfter = 4096;
  static constexpr size_t kMaxEntries = size_t{1} << 18;
  struct Entry {
    bool ok = false;
    bool reported = false;  // its errors are already in the walk's list
  };
  struct Hash {
    size_t operator()(const std::pair<const Node*, size_t>& k) const {
      return std::hash<const void*>{}(k.first) * 31 + k.second;
    }
  };
  std::unordered_map<std::pair<const Node*, size_t>, Entry, Hash> entries;
  bool on = false;
  unsigned off = 0;  // > 0 while checking a value of another document (propertyNames)
};

struct Walk {
  explicit Walk(uint64_t max_steps) : budget(max_steps) {}
  std::vector<ValidationError>* errors = nullptr;  // null: stop at the first failure
  size_t max_errors = 0;
  std::vector<Segment> path;
  unsigned depth = 0;
  StepBudget budget;
  Memo memo;

  bool full() const { return errors && max_errors && errors->size() >= max_errors; }
};

constexpr unsigned kMaxDepth = 4000;

std::string pointer_of(const std::vector<Segment>& path) {
  std::string p;
  for (const auto& s : path) {
    if (s.is_index) {
      p += '/';
      p += std::to_string(s.index);
    } else {
      base::append_pointer_token(p, s.key);
    }
  }
  return p;
}

// A short rendering of a value for messages.
std::string describe(element v) {
  std::string s;
  switch (v.type()) {
    case element_type::STRING: {
      std::string_view t = v.get_string().value_unsafe();
      if (t.size() > 60) {
        size_t cut = 57;
        while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
        std::string shown(t.substr(0, cut));
        shown += "...";
        base::append_json_string(s, shown);
      } else {
        base::append_json_string(s, t);
      }
      return s;
    }
    case element_type::INT64:
      base::append_int(s, v.get_int64().value_unsafe());
      return s;
    case element_type::UINT64:
      base::append_uint(s, v.get_uint64().value_unsafe());
      return s;
    case element_type::DOUBLE:
      base::append_double(s, v.get_double().value_unsafe());
      return s;
    case element_type::BOOL:
      return v.get_bool().value_unsafe() ? "true" : "false";
    case element_type::NULL_VALUE:
      return "null";
    case element_type::ARRAY:
      return "an array of " + std::to_string(v.get_array().value_unsafe().size()) + " items";
    case element_type::OBJECT:
      return "an object";
  }
  return "a value";
}

std::string type_names(uint8_t types) {
  static const std::pair<uint8_t, const char*> kNames[] = {
      {kNull, "null"},     {kBoolean, "boolean"}, {kObject, "object"},  {kArray, "array"},
      {kNumber, "number"}, {kString, "string"},   {kInteger, "integer"}};
  std::vector<std::string> names;
  for (auto [bit, name] : kNames) {
    if (!(types & bit)) continue;
    if (bit == kInteger && (types & kNumber)) continue;
    names.push_back(name);
  }
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += i + 1 == names.size() ? " or " : ", ";
    s += names[i];
  }
  return s.empty() ? "no type" : s;
}

uint8_t type_bits(element v) {
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return kNull;
    case element_type::BOOL:
      return kBoolean;
    case element_type::INT64:
    case element_type::UINT64:
      return kInteger | kNumber;
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      return (std::isfinite(d) && d == std::floor(d)) ? (kInteger | kNumber) : kNumber;
    }
    case element_type::STRING:
      return kString;
    case element_type::ARRAY:
      return kArray;
    case element_type::OBJECT:
      return kObject;
  }
  return 0;
}

uint64_t code_points(std::string_view s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class Checker {
 public:
  explicit Checker(Walk& w) : w_(w) {}

  bool check(const Node& n, element v) {
    w_.budget.step();
    Memo& memo = w_.memo;
    if (!memo.on && w_.budget.steps() >= Memo::kMemoAfter) memo.on = true;
    Memo::Entry* entry = nullptr;
    if (n.shared && memo.on && !memo.off) {
      bool added = false;
      if (memo.entries.size() < Memo::kMaxEntries) {
        auto r = memo.entries.try_emplace({&n, tape_index(v)});
        entry = &r.first->second;
        added = r.second;
      } else if (auto it = memo.entries.find({&n, tape_index(v)}); it != memo.entries.end()) {
        entry = &it->second;
      }
      // Known, and nothing to add to the list: a valid pair has no errors, an invalid one
      // has given its errors already (or no list is kept).
      if (entry && !added && (entry->ok || !w_.errors || entry->reported || w_.full())) {
        return entry->ok;
      }
    }
    if (++w_.depth > kMaxDepth) {
      --w_.depth;
      return fail("$ref", [] { return std::string("the schema nests too deep for this value"); });
    }
    bool ok = check_node(n, v);
    --w_.depth;
    if (entry) {  // (an unordered_map's entries stay where they are as it grows)
      entry->ok = ok;
      entry->reported = entry->reported || w_.errors;
    }
    return ok;
  }

 private:
  template <class Message>
  bool fail(const char* keyword, Message&& message, std::string_view property = {}) {
    if (w_.errors && !w_.full()) {
      w_.errors->push_back({pointer_of(w_.path), keyword, message(), std::string(property)});
    }
    return false;
  }

  // Runs `f` without collecting errors: for anyOf, oneOf, not, if and contains.
  template <class F>
  bool quietly(F&& f) {
    auto* saved = w_.errors;
    w_.errors = nullptr;
    bool ok = f();
    w_.errors = saved;
    return ok;
  }

  bool done(bool ok) const { return !ok && (!w_.errors || w_.full()); }

  bool check_node(const Node& n, element v) {
    if (n.kind == Node::Kind::always_true) return true;
    if (n.kind == Node::Kind::always_false) {
      return fail("false", [] { return std::string("no value is allowed here"); });
    }
    if (n.ref) return check(*n.ref, v);

    bool ok = true;
    uint8_t bits = type_bits(v);
    if (n.types && !(n.types & bits)) {
      ok = fail("type", [&] { return describe(v) + " is not of type " + type_names(n.types); });
      if (done(ok)) return false;
    }
    if (n.has_enum) {
      bool found = false;
      if (n.enum_all_strings) {
        std::string_view str;
        if (!v.get_string().get(str)) {
          for (std::string_view e : n.enum_strings) {
            if (e == str) {
              found = true;
              break;
            }
          }
        }
      } else {
        for (element e : n.enum_values) {
          if (json_equal(v, e)) {
            found = true;
            break;
          }
        }
      }
      if (!found) {
        ok = fail("enum", [&] {
          std::string m = describe(v) + " is not one of ";
          for (size_t i = 0; i < n.enum_values.size() && i < 12; ++i) {
            if (i) m += ", ";
            m += describe(n.enum_values[i]);
          }
          if (n.enum_values.size() > 12) m += ", ...";
          return m;
        });
        if (done(ok)) return false;
      }
    }
    if (n.const_value && !json_equal(v, *n.const_value)) {
      ok = fail("const", [&] { return describe(v) + " is not " + describe(*n.const_value); });
      if (done(ok)) return false;
    }

    switch (v.type()) {
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        ok = check_number(n, v) && ok;
        break;
      case element_type::STRING:
        ok = check_string(n, v.get_string().value_unsafe(), v) && ok;
        break;
      case element_type::ARRAY:
        ok = check_array(n, v.get_array().value_unsafe()) && ok;
        break;
      case element_type::OBJECT:
        ok = check_object(n, v, v.get_object().value_unsafe()) && ok;
        break;
      default:
        break;
    }
    if (done(ok)) return false;

    for (const Node* s : n.all_of) {
      ok = check(*s, v) && ok;
      if (done(ok)) return false;
    }
    if (!n.any_of.empty()) {
      bool any = quietly([&] {
        for (const Node* s : n.any_of) {
          if (check(*s, v)) return true;
        }
        return false;
      });
      if (!any) {
        ok = fail("anyOf", [&] {
          return describe(v) + " matches none of the " + std::to_string(n.any_of.size()) +
                 " schemas of anyOf";
        });
        if (done(ok)) return false;
      }
    }
    if (!n.one_of.empty()) {
      std::vector<size_t> matched;
      quietly([&] {
        for (size_t i = 0; i < n.one_of.size() && matched.size() < 2; ++i) {
          if (check(*n.one_of[i], v)) matched.push_back(i);
        }
        return true;
      });
      if (matched.size() != 1) {
        ok = fail("oneOf", [&] {
          if (matched.empty()) {
            return describe(v) + " matches none of the " + std::to_string(n.one_of.size()) +
                   " schemas of oneOf";
          }
          return describe(v) + " matches more than one schema of oneOf (" +
                 std::to_string(matched[0]) + " and " + std::to_string(matched[1]) + ")";
        });
        if (done(ok)) return false;
      }
    }
    if (n.not_schema) {
      if (quietly([&] { return check(*n.not_schema, v); })) {
        ok = fail("not", [&] { return describe(v) + " matches the schema of not"; });
        if (done(ok)) return false;
      }
    }
    if (n.if_schema) {
      bool cond = quietly([&] { return check(*n.if_schema, v); });
      const Node* branch = cond ? n.then_schema : n.else_schema;
      if (branch) ok = check(*branch, v) && ok;
    }
    return ok;
  }

  // Bounds compare exact values: an integer is never rounded to a double on either side.
  bool check_number(const Node& n, element v) {
    bool ok = true;
    const Number d = Number::of(v);
    if (n.minimum && compare(d, *n.minimum) < 0) {
      ok = fail("minimum",
                [&] { return describe(v) + " is less than the minimum " + n.minimum->text(); });
      if (done(ok)) return false;
    }
    if (n.maximum && compare(d, *n.maximum) > 0) {
      ok = fail("maximum",
                [&] { return describe(v) + " is greater than the maximum " + n.maximum->text(); });
      if (done(ok)) return false;
    }
    if (n.exclusive_minimum && compare(d, *n.exclusive_minimum) <= 0) {
      ok = fail("exclusiveMinimum", [&] {
        return describe(v) + " is not greater than the exclusive minimum " +
               n.exclusive_minimum->text();
      });
      if (done(ok)) return false;
    }
    if (n.exclusive_maximum && compare(d, *n.exclusive_maximum) >= 0) {
      ok = fail("exclusiveMaximum", [&] {
        return describe(v) + " is not less than the exclusive maximum " +
               n.exclusive_maximum->text();
      });
      if (done(ok)) return false;
    }
    if (n.multiple_of && !is_multiple(d, *n.multiple_of)) {
      ok = fail("multipleOf",
                [&] { return describe(v) + " is not a multiple of " + n.multiple_of->text(); });
    }
    return ok;
  }

  bool check_string(const Node& n, std::string_view s, element v) {
    bool ok = true;
    if (n.min_length || n.max_length) {
      uint64_t len = code_points(s);
      if (n.min_length && len < *n.min_length) {
        ok = fail("minLength", [&] {
          return describe(v) + " is shorter than " + std::to_string(*n.min_length) + " characters";
        });
        if (done(ok)) return false;
      }
      if (n.max_length && len > *n.max_length) {
        ok = fail("maxLength", [&] {
          return describe(v) + " is longer than " + std::to_string(*n.max_length) + " characters";
        });
        if (done(ok)) return false;
      }
    }
    if (n.pattern || n.format != Format::none) w_.budget.step(s.size() >> 6);
    if (n.pattern && !RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *n.pattern)) {
      ok = fail("pattern", [&] {
        return describe(v) + " does not match the pattern " + n.pattern->pattern();
      });
      if (done(ok)) return false;
    }
    if (n.format != Format::none && !check_format(n.format, s)) {
      ok = fail("format", [&] { return describe(v) + " is not a valid " + format_name(n.format); });
    }
    return ok;
  }

  bool check_array(const Node& n, simdjson::dom::array a) {
    bool ok = true;
    size_t size = a.size();
    if (n.min_items && size < *n.min_items) {
      ok = fail("minItems", [&] {
        return "an array of " + std::to_string(size) + " items is shorter than " +
               std::to_string(*n.min_items);
      });
      if (done(ok)) return false;
    }
    if (n.max_items && size > *n.max_items) {
      ok = fail("maxItems", [&] {
        return "an array of " + std::to_string(size) + " items is longer than " +
               std::to_string(*n.max_items);
      });
      if (done(ok)) return false;
    }
    if (n.items || n.tuple_items) {
      size_t i = 0;
      for (element e : a) {
        const Node* s = !n.tuple_items       ? n.items
                        : i < n.tuple.size() ? n.tuple[i]
                                             : n.additional_items;
        if (s) {
          w_.path.push_back({{}, i, true});
          ok = check(*s, e) && ok;
          w_.path.pop_back();
          if (done(ok)) return false;
        } else if (n.tuple_items) {
          break;
        }
        ++i;
      }
    }
    if (n.contains) {
      bool any = quietly([&] {
        for (element e : a) {
          if (check(*n.contains, e)) return true;
        }
        return false;
      });
      if (!any) {
        ok = fail("contains", [&] {
          return "no item of an array of " + std::to_string(size) +
                 " matches the schema of contains";
        });
        if (done(ok)) return false;
      }
    }
    if (n.unique_items && size > 1) {
      if (auto dup = find_duplicate(a, w_.budget)) {
        return fail("uniqueItems", [&] {
          return "items " + std::to_string(dup->first) + " and " + std::to_string(dup->second) +
                 " are equal";
        });
      }
    }
    return ok;
  }

  bool check_object(const Node& n, element v, simdjson::dom::object o) {
    bool ok = true;
    const size_t nkeys = n.keys.size();
    uint64_t small_seen = 0;
    std::vector<bool> big_seen;
    if (nkeys > 64) big_seen.assign(nkeys, false);
    auto seen = [&](size_t i) {
      return nkeys > 64 ? bool(big_seen[i]) : bool(small_seen >> i & 1);
    };

    if (n.min_properties || n.max_properties) {
      size_t size = o.size();
      if (n.min_properties && size < *n.min_properties) {
        ok = fail("minProperties", [&] {
          return "an object of " + std::to_string(size) + " properties has fewer than " +
                 std::to_string(*n.min_properties);
        });
        if (done(ok)) return false;
      }
      if (n.max_properties && size > *n.max_properties) {
        ok = fail("maxProperties", [&] {
          return "an object of " + std::to_string(size) + " properties has more than " +
                 std::to_string(*n.max_properties);
        });
        if (done(ok)) return false;
      }
    }

    const bool per_member =
        nkeys > 0 || !n.pattern_properties.empty() || n.additional_properties || n.property_names;
    if (per_member) {
      size_t hint = 0;
      for (auto member : o) {
        const std::string_view k = member.key;  // a plain variable: lambdas capture it
        const element e = member.value;
        bool matched = false;
        int i = nkeys ? n.find_key(k, hint) : -1;
        if (i >= 0) hint = static_cast<size_t>(i) + 1;
        w_.path.push_back({k, 0, false});
        if (i >= 0) {
          if (nkeys > 64) {
            big_seen[i] = true;
          } else {
            small_seen |= uint64_t{1} << i;
          }
          if (const Node* s = n.keys[i].schema) {
            matched = true;
            ok = check(*s, e) && ok;
          }
        }
        for (const auto& pp : n.pattern_properties) {
          if (done(ok)) break;
          if (RE2::PartialMatch(re2::StringPiece(k.data(), k.size()), *pp.re)) {
            matched = true;
            ok = check(*pp.schema, e) && ok;
          }
        }
        if (!matched && n.additional_properties && !done(ok)) {
          if (n.additional_properties->kind == Node::Kind::always_false) {
            ok = fail("additionalProperties",
                      [&] { return "the property " + diag::quoted(k) + " is not allowed"; });
          } else {
            ok = check(*n.additional_properties, e) && ok;
          }
        }
        w_.path.pop_back();
        if (done(ok)) return false;
        if (n.property_names && !check_name(*n.property_names, k)) {
          ok = fail("propertyNames", [&] {
            return "the property name " + diag::quoted(k) +
                   " does not match the schema of propertyNames";
          });
          if (done(ok)) return false;
        }
      }
    }
    for (uint32_t r : n.required) {
      if (!seen(r)) {
        ok = fail(
            "required",
            [&] { return "the required property " + diag::quoted(n.keys[r].name) + " is missing"; },
            n.keys[r].name);
        if (done(ok)) return false;
      }
    }
    for (const auto& d : n.dependencies) {
      if (!seen(d.key)) continue;
      for (uint32_t r : d.required) {
        if (!seen(r)) {
          ok = fail(
              "dependencies",
              [&] {
                return "the property " + diag::quoted(n.keys[d.key].name) +
                       " requires the property " + diag::quoted(n.keys[r].name);
              },
              n.keys[r].name);
          if (done(ok)) return false;
        }
      }
      if (d.schema) {
        ok = check(*d.schema, v) && ok;
        if (done(ok)) return false;
      }
    }
    return ok;
  }

  // propertyNames: the name as a JSON string value of its own.
  bool check_name(const Node& s, std::string_view name) {
    thread_local simdjson::dom::parser parser;
    std::string text;
    base::append_json_string(text, name);
    element e;
    if (parser.parse(text).get(e)) return false;
    ++w_.memo.off;  // `e` is in another document: its tape index is no key
    bool ok = quietly([&] {
      std::vector<Segment> saved;
      saved.swap(w_.path);
      bool ok = check(s, e);
      saved.swap(w_.path);
      return ok;
    });
    --w_.memo.off;
    return ok;
  }

  Walk& w_;
};

}  // namespace

bool Validator::valid(element v, uint64_t max_steps) const {
  Walk w(max_steps);
  Checker c(w);
  return c.check(*root_, v);
}

bool Validator::validate(element v, std::vector<ValidationError>& errors, size_t max_errors,
                         uint64_t max_steps) const {
  Walk w(max_steps);
  w.errors = &errors;
  w.max_errors = max_errors;
  Checker c(w);
  size_t before = errors.size();
  bool ok = c.check(*root_, v);
  return ok && errors.size() == before;
}

}  // namespace cdn::schema
