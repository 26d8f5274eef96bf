// A valijson adapter over simdjson DOM values (simdjson::dom::element), modeled on valijson's
// own adapters (valijson/adapters/picojson_adapter.hpp): SimdjsonAdapter is a BasicAdapter over
// SimdjsonValue, with array and object wrappers, their iterators and a frozen value.
//
// Types are strict, as in the other adapters: strings, booleans and null are only themselves,
// INT64 and UINT64 values are integers and DOUBLE values are doubles (so 1.0 is a number but
// not an integer). simdjson stores an integer as UINT64 only above INT64_MAX; such a value is an
// integer whose getInteger() fails (it does not fit valijson's int64_t) and is also reported as a
// double, so that minimum, maximum, enum and const compare its real value instead of failing.
//
// The adapter and its wrappers hold simdjson elements, which point into their document: the
// document must outlive them. A SimdjsonFrozenValue (what valijson keeps for enum and const) owns
// an independent copy of the value, so a schema outlives the documents it was parsed from.
//
// Only this header's types belong here; valijson's validator (with its explicit specializations
// for this adapter) is included by common/schema/valijson_engine.cpp alone.
#pragma once

// valijson reports a bad schema or value by throwing only with this set (else it aborts); the
// build sets it for every file (CMakeLists.txt), as every file must agree on it.
#if !defined(VALIJSON_USE_EXCEPTIONS) || !VALIJSON_USE_EXCEPTIONS
#error "valijson must be built with VALIJSON_USE_EXCEPTIONS=1"
#endif

#include <simdjson.h>

#include <stdexcept>  // before valijson/exceptions.hpp, which includes it inside its namespace
#include <valijson/exceptions.hpp>
#include <valijson/internal/adapter.hpp>
#include <valijson/internal/basic_adapter.hpp>
#include <valijson/internal/frozen_value.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace cdn::schema {

class SimdjsonAdapter;
class SimdjsonArrayValueIterator;
class StepBudget;
class SimdjsonObjectMemberIterator;

using SimdjsonObjectMember = std::pair<std::string, SimdjsonAdapter>;

namespace detail {

// A small document parsed from built-in text: the empty array and empty object that default-
// constructed wrappers refer to (valijson builds those for empty values under weak types).
inline simdjson::dom::document constant_document(std::string_view json) {
  simdjson::dom::document doc;
  simdjson::dom::parser parser;
  simdjson::padded_string text(json);
  if (parser.parse_into_document(doc, text.data(), text.size()).error()) {
    valijson::throwRuntimeError("cannot parse a built-in JSON constant");
  }
  return doc;
}

inline simdjson::dom::element empty_array() {
  static const simdjson::dom::document doc = constant_document("[]");
  return doc.root();
}

inline simdjson::dom::element empty_object() {
  static const simdjson::dom::document doc = constant_document("{}");
  return doc.root();
}

// The work budget of the check running on this thread (set by ValijsonEngine while it
// validates; null otherwise), charged a step for each subschema valijson applies to a value
// (valijson_visits.cpp). Past its limit, or on a stop request, it throws out of valijson (see
// StepBudget).
inline thread_local StepBudget* t_budget = nullptr;

}  // namespace detail

// An array value: a light wrapper, copied by value.
class SimdjsonArray {
 public:
  using const_iterator = SimdjsonArrayValueIterator;
  using iterator = SimdjsonArrayValueIterator;

  // The empty array.
  SimdjsonArray() : m_value(detail::empty_array().get_array().value_unsafe()) {}

  // Throws (valijson's runtime error) when `value` is not an array.
  explicit SimdjsonArray(simdjson::dom::element value) {
    if (value.get_array().get(m_value)) valijson::throwRuntimeError("Value is not an array.");
  }

  SimdjsonArrayValueIterator begin() const;
  SimdjsonArrayValueIterator end() const;

  size_t size() const { return m_value.size(); }

 private:
  simdjson::dom::array m_value;
};

// An object value: a light wrapper, copied by value.
class SimdjsonObject {
 public:
  using const_iterator = SimdjsonObjectMemberIterator;
  using iterator = SimdjsonObjectMemberIterator;

  // The empty object.
  SimdjsonObject() : m_value(detail::empty_object().get_object().value_unsafe()) {}

  // Throws (valijson's runtime error) when `value` is not an object.
  explicit SimdjsonObject(simdjson::dom::element value) {
    if (value.get_object().get(m_value)) valijson::throwRuntimeError("Value is not an object.");
  }

  SimdjsonObjectMemberIterator begin() const;
  SimdjsonObjectMemberIterator end() const;
  // The first member named `propertyName` (as simdjson's at_key does), else end().
  SimdjsonObjectMemberIterator find(const std::string& propertyName) const;

  size_t size() const { return m_value.size(); }

 private:
  simdjson::dom::object m_value;
};

// An independent copy of a value: the value is minified and parsed again into a document of its
// own, shared (read-only) between clones.
class SimdjsonFrozenValue : public valijson::adapters::FrozenValue {
 public:
  explicit SimdjsonFrozenValue(simdjson::dom::element source) {
    std::string text = simdjson::minify(source);
    simdjson::padded_string padded(text);
    auto doc = std::make_shared<simdjson::dom::document>();
    simdjson::dom::parser parser;
    if (parser.parse_into_document(*doc, padded.data(), padded.size()).error()) {
      valijson::throwRuntimeError("cannot copy a JSON value");
    }
    m_doc = std::move(doc);
  }

  FrozenValue* clone() const override { return new SimdjsonFrozenValue(m_doc); }

  bool equalTo(const valijson::adapters::Adapter& other, bool strict) const override;

 private:
  explicit SimdjsonFrozenValue(std::shared_ptr<const simdjson::dom::document> doc)
      : m_doc(std::move(doc)) {}

  std::shared_ptr<const simdjson::dom::document> m_doc;
};

// What BasicAdapter reads values through (see valijson/internal/basic_adapter.hpp).
class SimdjsonValue {
 public:
  // The empty object.
  SimdjsonValue() : m_value(detail::empty_object()) {}
  SimdjsonValue(simdjson::dom::element value) : m_value(value) {}  // NOLINT: implicit on purpose

  valijson::adapters::FrozenValue* freeze() const { return new SimdjsonFrozenValue(m_value); }

  opt::optional<SimdjsonArray> getArrayOptional() const {
    if (isArray()) return opt::make_optional(SimdjsonArray(m_value));
    return {};
  }

  bool getArraySize(size_t& result) const {
    simdjson::dom::array a;
    if (m_value.get_array().get(a)) return false;
    result = a.size();
    return true;
  }

  bool getBool(bool& result) const { return !m_value.get_bool().get(result); }

  bool getDouble(double& result) const {
    switch (m_value.type()) {
      case simdjson::dom::element_type::DOUBLE:
        result = m_value.get_double().value_unsafe();
        return true;
      case simdjson::dom::element_type::UINT64:
        result = static_cast<double>(m_value.get_uint64().value_unsafe());
        return true;
      default:
        return false;
    }
  }

  bool getInteger(int64_t& result) const {
    if (m_value.type() != simdjson::dom::element_type::INT64) return false;
    result = m_value.get_int64().value_unsafe();
    return true;
  }

  opt::optional<SimdjsonObject> getObjectOptional() const {
    if (isObject()) return opt::make_optional(SimdjsonObject(m_value));
    return {};
  }

  bool getObjectSize(size_t& result) const {
    simdjson::dom::object o;
    if (m_value.get_object().get(o)) return false;
    result = o.size();
    return true;
  }

  bool getString(std::string& result) const {
    std::string_view s;
    if (m_value.get_string().get(s)) return false;
    result.assign(s.data(), s.size());
    return true;
  }

  static bool hasStrictTypes() { return true; }

  bool isArray() const { return m_value.type() == simdjson::dom::element_type::ARRAY; }
  bool isBool() const { return m_value.type() == simdjson::dom::element_type::BOOL; }
  // DOUBLE, and UINT64 (only ever above INT64_MAX): see the top of this file.
  bool isDouble() const {
    auto t = m_value.type();
    return t == simdjson::dom::element_type::DOUBLE || t == simdjson::dom::element_type::UINT64;
  }
  bool isInteger() const {
    auto t = m_value.type();
    return t == simdjson::dom::element_type::INT64 || t == simdjson::dom::element_type::UINT64;
  }
  bool isNull() const { return m_value.type() == simdjson::dom::element_type::NULL_VALUE; }
  bool isNumber() const { return isInteger() || isDouble(); }
  bool isObject() const { return m_value.type() == simdjson::dom::element_type::OBJECT; }
  bool isString() const { return m_value.type() == simdjson::dom::element_type::STRING; }

  simdjson::dom::element element() const { return m_value; }

 private:
  simdjson::dom::element m_value;
};

// The adapter valijson validates and parses schemas through.
class SimdjsonAdapter
    : public valijson::adapters::BasicAdapter<SimdjsonAdapter, SimdjsonArray, SimdjsonObjectMember,
                                              SimdjsonObject, SimdjsonValue> {
 public:
  // The empty object.
  SimdjsonAdapter() : BasicAdapter(), m_element(detail::empty_object()) {}
  SimdjsonAdapter(simdjson::dom::element value)  // NOLINT: implicit, as valijson's adapters
      : BasicAdapter(SimdjsonValue(value)), m_element(value) {}
  // The root of a document (valijson's DocumentType for this adapter, see AdapterTraits below).
  SimdjsonAdapter(const simdjson::dom::document& doc)  // NOLINT: implicit, as valijson wants
      : BasicAdapter(SimdjsonValue(doc.root())), m_element(doc.root()) {}

  // The value itself (BasicAdapter keeps its copy private).
  simdjson::dom::element element() const { return m_element; }

 private:
  simdjson::dom::element m_element;
};

// Iterates over the values of an array. simdjson's iterator only goes forward; stepping back
// (valijson does so once, in uniqueItems) walks again from the start.
class SimdjsonArrayValueIterator {
 public:
  using iterator_category = std::bidirectional_iterator_tag;
  using value_type = SimdjsonAdapter;
  using difference_type = std::ptrdiff_t;
  using pointer = SimdjsonAdapter*;
  using reference = SimdjsonAdapter&;

  SimdjsonArrayValueIterator(simdjson::dom::array array, simdjson::dom::array::iterator itr,
                             size_t index)
      : m_array(array), m_itr(itr), m_index(index) {}

  SimdjsonAdapter operator*() const { return SimdjsonAdapter(*m_itr); }

  valijson::adapters::DerefProxy<SimdjsonAdapter> operator->() const {
    return valijson::adapters::DerefProxy<SimdjsonAdapter>(**this);
  }

  // Iterators of the same array are equal when they are at the same index.
  bool operator==(const SimdjsonArrayValueIterator& other) const {
    return m_index == other.m_index;
  }
  bool operator!=(const SimdjsonArrayValueIterator& other) const { return !(*this == other); }

  const SimdjsonArrayValueIterator& operator++() {
    ++m_itr;
    ++m_index;
    return *this;
  }

  SimdjsonArrayValueIterator operator++(int) {
    SimdjsonArrayValueIterator pre(*this);
    ++(*this);
    return pre;
  }

  const SimdjsonArrayValueIterator& operator--() {
    seek(m_index - 1);
    return *this;
  }

  void advance(std::ptrdiff_t n) {
    if (n >= 0) {
      for (std::ptrdiff_t i = 0; i < n; ++i) ++(*this);
    } else {
      seek(m_index - static_cast<size_t>(-n));
    }
  }

 private:
  void seek(size_t index) {
    m_itr = m_array.begin();
    for (size_t i = 0; i < index; ++i) ++m_itr;
    m_index = index;
  }

  simdjson::dom::array m_array;
  simdjson::dom::array::iterator m_itr;
  size_t m_index;
};

// Iterates over the members of an object, in document order.
class SimdjsonObjectMemberIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = SimdjsonObjectMember;
  using difference_type = std::ptrdiff_t;
  using pointer = SimdjsonObjectMember*;
  using reference = SimdjsonObjectMember&;

  explicit SimdjsonObjectMemberIterator(simdjson::dom::object::iterator itr) : m_itr(itr) {}

  SimdjsonObjectMember operator*() const {
    return SimdjsonObjectMember(std::string(m_itr.key()), SimdjsonAdapter(m_itr.value()));
  }

  valijson::adapters::DerefProxy<SimdjsonObjectMember> operator->() const {
    return valijson::adapters::DerefProxy<SimdjsonObjectMember>(**this);
  }

  bool operator==(const SimdjsonObjectMemberIterator& other) const { return m_itr == other.m_itr; }
  bool operator!=(const SimdjsonObjectMemberIterator& other) const { return !(*this == other); }

  const SimdjsonObjectMemberIterator& operator++() {
    ++m_itr;
    return *this;
  }

  SimdjsonObjectMemberIterator operator++(int) {
    SimdjsonObjectMemberIterator pre(*this);
    ++(*this);
    return pre;
  }

 private:
  simdjson::dom::object::iterator m_itr;
};

inline bool SimdjsonFrozenValue::equalTo(const valijson::adapters::Adapter& other,
                                         bool strict) const {
  return SimdjsonAdapter(m_doc->root()).equalTo(other, strict);
}

inline SimdjsonArrayValueIterator SimdjsonArray::begin() const {
  return SimdjsonArrayValueIterator(m_value, m_value.begin(), 0);
}

inline SimdjsonArrayValueIterator SimdjsonArray::end() const {
  return SimdjsonArrayValueIterator(m_value, m_value.end(), m_value.size());
}

inline SimdjsonObjectMemberIterator SimdjsonObject::begin() const {
  return SimdjsonObjectMemberIterator(m_value.begin());
}

inline SimdjsonObjectMemberIterator SimdjsonObject::end() const {
  return SimdjsonObjectMemberIterator(m_value.end());
}

inline SimdjsonObjectMemberIterator SimdjsonObject::find(const std::string& propertyName) const {
  for (auto it = m_value.begin(); it != m_value.end(); ++it) {
    if (it.key_equals(propertyName)) return SimdjsonObjectMemberIterator(it);
  }
  return end();
}

}  // namespace cdn::schema

namespace valijson::adapters {

// What SchemaParser's fetch-document callback returns for this adapter: a whole document.
template <>
struct AdapterTraits<cdn::schema::SimdjsonAdapter> {
  using DocumentType = simdjson::dom::document;
  static std::string adapterName() { return "SimdjsonAdapter"; }
};

}  // namespace valijson::adapters
