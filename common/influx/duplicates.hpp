// Points that would share measurement, tag set and timestamp: InfluxDB keeps only the last
// one it is sent, silently. A Duplicates table remembers the points of a run (the last
// million or more of them) to find such collisions before they are written.
#pragma once

#include <cstdint>
#include <vector>

#include "common/influx/line_protocol.hpp"

namespace cdn::influx {

enum class OnDuplicate { nudge, warn, keep_last };

// "nudge", "warn", "keep-last"; throws UsageError otherwise.
OnDuplicate parse_on_duplicate(const std::string& name);

class Duplicates {
 public:
  // Remembers at least `memory` points (two generations of up to `memory` each).
  explicit Duplicates(size_t memory = size_t{1} << 20);

  // True when a point with this series and time was seen; records it either way.
  bool seen(const PointKey& key);
  // Moves key.time forward by one unit until it names a point not seen, and records it.
  // Returns how many units it moved.
  int64_t nudge(PointKey& key);
  // Whether a point with this series and time was recorded; records nothing.
  bool contains(const PointKey& key) const { return contains(hash(key)); }
  // Records a point.
  void add(const PointKey& key) { insert(hash(key)); }

 private:
  // An open-addressing set of 64-bit hashes (0 marks an empty slot).
  struct Table {
    std::vector<uint64_t> slots;
    size_t used = 0;
    bool contains(uint64_t h) const;
    void insert(uint64_t h);  // grows at half load
  };
  static uint64_t hash(const PointKey& key);
  bool contains(uint64_t h) const { return current_.contains(h) || previous_.contains(h); }
  void insert(uint64_t h);

  size_t memory_;
  Table current_, previous_;
};

}  // namespace cdn::influx
