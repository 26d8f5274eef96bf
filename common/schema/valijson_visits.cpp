// valijson's validateSchema (charging the valijson engine's step budget, valijson_adapter.hpp),
// uniqueItems, minimum and maximum, for simdjson values.
//
// valijson 1.0 compares every pair of items for uniqueItems (100,000 objects: minutes), and
// reads numbers as doubles for minimum and maximum (9007199254740993 passes maximum
// 9007199254740992). Here uniqueItems is cdn's find_duplicate (sorting a canonical form of the
// items: O(n log n), and 1 equals 1.0 as JSON Schema says), and the bounds compare the value
// exactly with the bound valijson read (a double: valijson keeps no other form).
#include "common/schema/valijson_visits.hpp"

#include <functional>
#include <string>

#include "common/schema/json_compare.hpp"

namespace valijson {

using cdn::schema::Number;

// valijson's validateSchema, with a step of the budget charged first; when errors are
// collected, a step more for each level of the context, which each error copies.
template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::validateSchema(const Subschema& subschema) {
  if (auto* budget = cdn::schema::detail::t_budget) {
    budget->step(m_results ? 1 + m_context.size() : 1);
  }
  if (subschema.getAlwaysInvalid()) {
    return false;
  }
  Subschema::ApplyFunction fn(
      std::bind(validationCallback, std::placeholders::_1, std::ref(*this)));
  // Stops at the first failure unless errors are collected, as valijson's does.
  return m_results == nullptr ? subschema.applyStrict(fn) : subschema.apply(fn);
}

template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::UniqueItemsConstraint&) {
  simdjson::dom::array a;
  if (m_target.element().get_array().get(a)) return true;
  cdn::schema::StepBudget unlimited(0);
  auto* budget = cdn::schema::detail::t_budget;
  auto dup = cdn::schema::find_duplicate(a, budget ? *budget : unlimited);
  if (!dup) return true;
  if (m_results) {
    m_results->pushError(m_context, "Elements at indexes #" + std::to_string(dup->first) +
                                        " and #" + std::to_string(dup->second) +
                                        " violate uniqueness constraint.");
  }
  return false;
}

template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::MaximumConstraint& constraint) {
  const simdjson::dom::element v = m_target.element();
  if (!v.is_number()) return true;
  const double maximum = constraint.getMaximum();
  const int c = cdn::schema::compare(Number::of(v), Number::of_double(maximum));
  if (constraint.getExclusiveMaximum() ? c < 0 : c <= 0) return true;
  if (m_results) {
    m_results->pushError(
        m_context, (constraint.getExclusiveMaximum() ? "Expected number less than "
                                                     : "Expected number less than or equal to ") +
                       std::to_string(maximum));
  }
  return false;
}

template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::MinimumConstraint& constraint) {
  const simdjson::dom::element v = m_target.element();
  if (!v.is_number()) return true;
  const double minimum = constraint.getMinimum();
  const int c = cdn::schema::compare(Number::of(v), Number::of_double(minimum));
  if (constraint.getExclusiveMinimum() ? c > 0 : c >= 0) return true;
  if (m_results) {
    m_results->pushError(m_context, (constraint.getExclusiveMinimum()
                                         ? "Expected number greater than "
                                         : "Expected number greater than or equal to ") +
                                        std::to_string(minimum));
  }
  return false;
}

}  // namespace valijson
