#include "common/influx/duplicates.hpp"

#include <algorithm>
#include <limits>

#include <cstring>
#include <new>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::influx {

OnDuplicate parse_on_duplicate(const std::string& name) {
  if (name == "nudge") return OnDuplicate::nudge;
  if (name == "warn") return OnDuplicate::warn;
  if (name == "keep-last") return OnDuplicate::keep_last;
  throw UsageError("bad --on-duplicate " + diag::quoted(name) + "; write nudge, warn or keep-last");
}

Duplicates::Duplicates(size_t memory)
    : memory_(memory < 16 ? 16 : memory), current_(memory_), previous_(memory_) {}

Duplicates::Table::Table(size_t capacity) {
  size_t n = 32;
  while (n < capacity * 2) n *= 2;
  // calloc of this size maps zero pages that take memory only once written.
  slots.reset(static_cast<uint64_t*>(std::calloc(n, sizeof(uint64_t))));
  if (!slots) throw std::bad_alloc();
  mask = n - 1;
}

void Duplicates::Table::clear() {
  std::memset(slots.get(), 0, (mask + 1) * sizeof(uint64_t));
  used = 0;
  newest = INT64_MIN;
}

uint64_t Duplicates::hash(const PointKey& key) {
  uint64_t z = key.series ^ (static_cast<uint64_t>(key.time) * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z == 0 ? 1 : z;
}

bool Duplicates::Table::contains(uint64_t h) const {
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots[i] == h) return true;
    if (slots[i] == 0) return false;
  }
}

void Duplicates::Table::insert(uint64_t h) {
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots[i] == h) return;
    if (slots[i] == 0) {
      slots[i] = h;
      ++used;
      return;
    }
  }
}

void Duplicates::insert(uint64_t h, int64_t time) {
  if (!previous_touched_ && current_.used >= memory_ / 16) {
    previous_.clear();
    previous_touched_ = true;
  }
  if (current_.used >= memory_) {
    // The older generation is dropped: its points are forgotten.
    forgotten_through_ = std::max(forgotten_through_, previous_.newest);
    std::swap(current_, previous_);
    current_.clear();
  }
  current_.insert(h);
  current_.newest = std::max(current_.newest, time);
}

bool Duplicates::seen(const PointKey& key) {
  uint64_t h = hash(key);
  if (contains(h)) return true;
  insert(h, key.time);
  return false;
}

int64_t Duplicates::nudge(PointKey& key) {
  int64_t moved = 0;
  uint64_t h;
  // Never past the last time an int64_t holds (beyond InfluxDB's range: the caller's
  // range check rejects the point).
  while (contains(h = hash(key)) && key.time < std::numeric_limits<int64_t>::max()) {
    ++key.time;
    ++moved;
  }
  insert(h, key.time);
  return moved;
}

}  // namespace cdn::influx
