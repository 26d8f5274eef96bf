#include "common/schema/json_compare.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <string_view>
#include <vector>

#include "common/base/json_text.hpp"
#include "common/io/signals.hpp"

namespace cdn::schema {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr double kTwo63 = 9223372036854775808.0;
constexpr double kTwo64 = 18446744073709551616.0;

int sign_of(double x) {
  return x < 0 ? -1 : x > 0 ? 1 : 0;
}

// An integer against a double, exactly: the double's whole part fits 64 bits once it is
// within range, and its fraction decides a tie.
int compare_int_double(int64_t i, double d) {
  if (std::isnan(d)) return -1;
  if (d >= kTwo63) return -1;
  if (d < -kTwo63) return 1;
  double t = std::trunc(d);
  auto ti = static_cast<int64_t>(t);
  if (i != ti) return i < ti ? -1 : 1;
  return -sign_of(d - t);
}

int compare_uint_double(uint64_t u, double d) {
  if (std::isnan(d)) return -1;
  if (d < 0) return 1;
  if (d >= kTwo64) return -1;
  double t = std::trunc(d);
  auto tu = static_cast<uint64_t>(t);
  if (u != tu) return u < tu ? -1 : 1;
  return -sign_of(d - t);
}

// The value as a sign and a 64-bit magnitude, when it is an integer that fits.
bool as_integer(const Number& n, bool& negative, uint64_t& magnitude) {
  switch (n.kind) {
    case Number::Kind::int64:
      negative = n.i < 0;
      magnitude = negative ? static_cast<uint64_t>(-(n.i + 1)) + 1 : static_cast<uint64_t>(n.i);
      return true;
    case Number::Kind::uint64:
      negative = false;
      magnitude = n.u;
      return true;
    case Number::Kind::dbl:
      if (!std::isfinite(n.d) || n.d != std::trunc(n.d) || std::fabs(n.d) >= kTwo64) return false;
      negative = n.d < 0;
      magnitude = static_cast<uint64_t>(std::fabs(n.d));
      return true;
  }
  return false;
}

double as_double(const Number& n) {
  switch (n.kind) {
    case Number::Kind::int64:
      return static_cast<double>(n.i);
    case Number::Kind::uint64:
      return static_cast<double>(n.u);
    case Number::Kind::dbl:
      return n.d;
  }
  return 0;
}

// A canonical text of a value: equal values (as json_equal says) have the same text, others
// differ. Strings carry their length, so that no text can pass for another.
class Canonical {
 public:
  explicit Canonical(StepBudget& budget) : budget_(budget) {}

  void write(std::string& out, element v) {
    budget_.step();
    switch (v.type()) {
      case element_type::NULL_VALUE:
        out += 'n';
        return;
      case element_type::BOOL:
        out += v.get_bool().value_unsafe() ? 't' : 'f';
        return;
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        number(out, Number::of(v));
        return;
      case element_type::STRING:
        string(out, v.get_string().value_unsafe());
        return;
      case element_type::ARRAY: {
        out += '[';
        simdjson::dom::array arr = v.get_array().value_unsafe();
        for (element e : arr) write(out, e);
        out += ']';
        return;
      }
      case element_type::OBJECT: {
        std::vector<std::pair<std::string_view, element>> members;
        simdjson::dom::object obj = v.get_object().value_unsafe();
        for (auto [k, e] : obj) members.emplace_back(k, e);
        std::stable_sort(members.begin(), members.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        out += '{';
        for (const auto& [k, e] : members) {
          string(out, k);
          write(out, e);
        }
        out += '}';
        return;
      }
    }
  }

 private:
  static void number(std::string& out, const Number& n) {
    bool negative;
    uint64_t magnitude;
    if (as_integer(n, negative, magnitude)) {
      out += negative && magnitude ? "i-" : "i";
      base::append_uint(out, magnitude);
    } else {
      // Not an integer that fits 64 bits: only a double can be that, and two doubles are
      // equal when their shortest texts are.
      char buf[40];
      auto r = std::to_chars(buf, buf + sizeof buf, n.d);
      out += 'd';
      out.append(buf, r.ptr);
    }
    out += ';';
  }

  static void string(std::string& out, std::string_view s) {
    out += 's';
    base::append_uint(out, s.size());
    out += ':';
    out += s;
  }

  StepBudget& budget_;
};

}  // namespace

Number Number::of(element v) {
  switch (v.type()) {
    case element_type::INT64:
      return {Kind::int64, v.get_int64().value_unsafe(), 0, 0};
    case element_type::UINT64:
      return {Kind::uint64, 0, v.get_uint64().value_unsafe(), 0};
    default:
      return of_double(v.get_double().value_unsafe());
  }
}

std::string Number::text() const {
  std::string s;
  switch (kind) {
    case Kind::int64:
      base::append_int(s, i);
      break;
    case Kind::uint64:
      base::append_uint(s, u);
      break;
    case Kind::dbl:
      if (d == std::floor(d) && std::fabs(d) < 9e15) {
        base::append_int(s, static_cast<int64_t>(d));
      } else {
        base::append_double(s, d);
      }
      break;
  }
  return s;
}

int compare(const Number& a, const Number& b) {
  using K = Number::Kind;
  switch (a.kind) {
    case K::int64:
      switch (b.kind) {
        case K::int64:
          return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
        case K::uint64:
          return a.i < 0 || static_cast<uint64_t>(a.i) < b.u ? -1
                 : static_cast<uint64_t>(a.i) > b.u          ? 1
                                                             : 0;
        case K::dbl:
          return compare_int_double(a.i, b.d);
      }
      break;
    case K::uint64:
      switch (b.kind) {
        case K::int64:
          return -compare(b, a);
        case K::uint64:
          return a.u < b.u ? -1 : a.u > b.u ? 1 : 0;
        case K::dbl:
          return compare_uint_double(a.u, b.d);
      }
      break;
    case K::dbl:
      if (b.kind != K::dbl) return -compare(b, a);
      if (std::isnan(a.d) || std::isnan(b.d)) return std::isnan(a.d) ? 1 : -1;
      return a.d < b.d ? -1 : a.d > b.d ? 1 : 0;
  }
  return 0;
}

bool is_multiple(const Number& v, const Number& m) {
  bool vneg, mneg;
  uint64_t vmag, mmag;
  if (as_integer(v, vneg, vmag) && as_integer(m, mneg, mmag) && mmag != 0) {
    return vmag % mmag == 0;
  }
  double q = as_double(v) / as_double(m);
  return std::isfinite(q) && std::fabs(q - std::nearbyint(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
}

bool json_equal(element a, element b) {
  element_type ta = a.type(), tb = b.type();
  auto is_number = [](element_type t) {
    return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
  };
  if (is_number(ta) && is_number(tb)) return compare(Number::of(a), Number::of(b)) == 0;
  if (ta != tb) return false;
  switch (ta) {
    case element_type::NULL_VALUE:
      return true;
    case element_type::BOOL:
      return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    case element_type::STRING:
      return a.get_string().value_unsafe() == b.get_string().value_unsafe();
    case element_type::ARRAY: {
      auto x = a.get_array().value_unsafe(), y = b.get_array().value_unsafe();
      if (x.size() != y.size()) return false;
      auto i = x.begin(), j = y.begin();
      for (; i != x.end(); ++i, ++j) {
        if (!json_equal(*i, *j)) return false;
      }
      return true;
    }
    case element_type::OBJECT: {
      auto x = a.get_object().value_unsafe(), y = b.get_object().value_unsafe();
      if (x.size() != y.size()) return false;
      for (auto [k, e] : x) {
        element other;
        if (y.at_key(k).get(other) || !json_equal(e, other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

std::optional<std::pair<size_t, size_t>> find_duplicate(simdjson::dom::array a,
                                                        StepBudget& budget) {
  const size_t n = a.size();
  if (n < 2) return std::nullopt;
  std::vector<element> items(a.begin(), a.end());
  if (n <= 16) {  // a few items: compared in pairs, without writing them out
    for (size_t y = 1; y < n; ++y) {
      for (size_t x = 0; x < y; ++x) {
        budget.step();
        if (json_equal(items[x], items[y])) return std::make_pair(x, y);
      }
    }
    return std::nullopt;
  }
  Canonical canonical(budget);
  std::vector<std::string> texts(n);
  for (size_t i = 0; i < n; ++i) canonical.write(texts[i], items[i]);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t x, size_t y) { return texts[x] != texts[y] ? texts[x] < texts[y] : x < y; });
  budget.step(n);
  // Of each run of equal texts, its first two items; of those pairs, the one whose second
  // item comes first: the first item that repeats an earlier one.
  std::optional<std::pair<size_t, size_t>> best;
  for (size_t k = 1; k < n; ++k) {
    if (texts[order[k]] != texts[order[k - 1]]) continue;
    if (k >= 2 && texts[order[k - 2]] == texts[order[k]]) continue;  // not the run's second
    if (!best || order[k] < best->second) best = std::make_pair(order[k - 1], order[k]);
  }
  return best;
}

void StepBudget::poll() {
  if (steps_ > limit_) throw StepLimitExceeded{limit_};
  if (steps_ >= kStopAfter) io::throw_if_stopped();
  next_poll_ = steps_ + kPollSteps;
  if (limit_ != UINT64_MAX && next_poll_ > limit_ + 1) next_poll_ = limit_ + 1;
}

}  // namespace cdn::schema
