// The member functions of valijson 1.0's ValidationVisitor that cdn replaces, declared for
// every file that sees the visitor (an explicit specialization must be declared before any
// use that would instantiate the member). Internal to common/schema: included by
// valijson_engine.cpp (pattern, patternProperties, formats: RE2 and cdn's scanners instead of
// std::regex) and valijson_visits.cpp (each subschema applied charged to the check's step
// budget; uniqueItems in O(n log n) instead of comparing every pair; minimum and maximum on
// the exact value instead of a double).
#pragma once

#include <stdexcept>  // before valijson/exceptions.hpp, which includes it inside its namespace

#include <valijson/adapters/std_string_adapter.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/validation_visitor.hpp>

#include "common/schema/valijson_adapter.hpp"

namespace valijson {

template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::validateSchema(const Subschema& subschema);
template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::PatternConstraint& constraint);
template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::PropertiesConstraint& constraint);
template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::FormatConstraint& constraint);
template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::UniqueItemsConstraint& constraint);
template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::MaximumConstraint& constraint);
template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::MinimumConstraint& constraint);

template <>
bool ValidationVisitor<adapters::StdStringAdapter>::visit(
    const constraints::PatternConstraint& constraint);
template <>
bool ValidationVisitor<adapters::StdStringAdapter>::visit(
    const constraints::PropertiesConstraint& constraint);
template <>
bool ValidationVisitor<adapters::StdStringAdapter>::visit(
    const constraints::FormatConstraint& constraint);

}  // namespace valijson
