// JSON values compared as JSON Schema compares them, exactly: numbers by value (1 equals 1.0,
// and 9007199254740993 is not 9007199254740992.0, which it would be through double), objects
// whatever the order of their members. Also the work budget of one check (StepBudget), which
// the checker and the uniqueItems search share. Internal to common/schema.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace cdn::schema {

class StepBudget;

// A JSON number as simdjson read it: a signed or unsigned 64-bit integer, or a double.
struct Number {
  enum class Kind : uint8_t { int64, uint64, dbl };
  Kind kind = Kind::int64;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;

  static Number of(simdjson::dom::element v);  // v must be a number
  static Number of_double(double d) { return {Kind::dbl, 0, 0, d}; }
  bool is_integer_kind() const { return kind != Kind::dbl; }
  // The value as text: integers in full, doubles as the shortest text that reads back.
  std::string text() const;
};

// -1, 0 or 1 as a is less than, equal to or greater than b, by their exact values (never
// through a conversion that rounds). JSON has no NaN: a NaN double compares equal to nothing
// and greater than every number, so that it fails every bound.
int compare(const Number& a, const Number& b);

// True when `v` is a whole multiple of `m` (m > 0): exact when both are integers (or v is a
// double with an integer value that fits 64 bits), else within a relative 1e-9, since decimal
// fractions are not exact in binary (19.99 / 0.01 = 1998.9999999999998).
bool is_multiple(const Number& v, const Number& m);

// JSON equality as JSON Schema defines it (also declared in validator.hpp).
bool json_equal(simdjson::dom::element a, simdjson::dom::element b);

// The first two equal items of an array (x < y), found in O(n log n): each item is written
// in a canonical form (object members sorted by name, numbers in one exact form) and the
// forms are sorted. Each value written costs a step of `budget`.
std::optional<std::pair<size_t, size_t>> find_duplicate(simdjson::dom::array a, StepBudget& budget);

// What checking one value may cost, in steps: one per subschema applied to a value, one per
// value written for uniqueItems, one per 64 bytes of a string matched against a pattern or a
// format. A check past its limit ends with StepLimitExceeded. Every kPollSteps steps the
// stop signal is read: SIGINT or SIGTERM ends a check that has taken kStopAfter steps or more
// with cdn::Interrupted (a short one, a few milliseconds at most, is finished).
struct StepLimitExceeded {
  uint64_t limit;
};

class StepBudget {
 public:
  static constexpr uint64_t kPollSteps = 1024;
  static constexpr uint64_t kStopAfter = 65536;
  // limit 0: no limit (the stop signal is still read).
  explicit StepBudget(uint64_t limit) : limit_(limit ? limit : UINT64_MAX) {}

  void step(uint64_t n = 1) {
    steps_ += n;
    if (steps_ >= next_poll_) poll();
  }
  uint64_t steps() const { return steps_; }

 private:
  void poll();

  uint64_t limit_;
  uint64_t steps_ = 0;
  uint64_t next_poll_ = kPollSteps;
};

}  // namespace cdn::schema
