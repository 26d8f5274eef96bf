#include "common/influx/duplicates.hpp"

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::influx {

OnDuplicate parse_on_duplicate(const std::string& name) {
  if (name == "nudge") return OnDuplicate::nudge;
  if (name == "warn") return OnDuplicate::warn;
  if (name == "keep-last") return OnDuplicate::keep_last;
  throw UsageError("bad --on-duplicate " + diag::quoted(name) + "; write nudge, warn or keep-last");
}

Duplicates::Duplicates(size_t memory) : memory_(memory < 16 ? 16 : memory) {}

uint64_t Duplicates::hash(const PointKey& key) {
  uint64_t z = key.series ^ (static_cast<uint64_t>(key.time) * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z == 0 ? 1 : z;
}

bool Duplicates::Table::contains(uint64_t h) const {
  if (slots.empty()) return false;
  size_t mask = slots.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots[i] == h) return true;
    if (slots[i] == 0) return false;
  }
}

void Duplicates::Table::insert(uint64_t h) {
  if ((used + 1) * 2 > slots.size()) {
    std::vector<uint64_t> old = std::move(slots);
    slots.assign(old.empty() ? 1024 : old.size() * 2, 0);
    used = 0;
    for (uint64_t v : old) {
      if (v) insert(v);
    }
  }
  size_t mask = slots.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots[i] == h) return;
    if (slots[i] == 0) {
      slots[i] = h;
      ++used;
      return;
    }
  }
}

void Duplicates::insert(uint64_t h) {
  if (current_.used >= memory_) {
    previous_ = std::move(current_);
    current_ = Table{};
  }
  current_.insert(h);
}

bool Duplicates::seen(const PointKey& key) {
  uint64_t h = hash(key);
  if (contains(h)) return true;
  insert(h);
  return false;
}

int64_t Duplicates::nudge(PointKey& key) {
  int64_t moved = 0;
  uint64_t h;
  while (contains(h = hash(key))) {
    ++key.time;
    ++moved;
  }
  insert(h);
  return moved;
}

}  // namespace cdn::influx
