// The nearest of some names to a mistyped one, for "did you mean" hints.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::base {

// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`.
size_t edit_distance(std::string_view a, std::string_view b);

// The choice nearest `word`: a third of its length wrong at most, at least one edit.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& choices);

}  // namespace cdn::base
