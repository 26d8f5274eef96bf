// Points that would share measurement, tag set and timestamp: InfluxDB keeps only the last
// one it is sent, silently. A Duplicates table remembers the points of a run (the last
// million or more of them) to find such collisions before they are written.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "common/influx/line_protocol.hpp"

namespace cdn::influx {

enum class OnDuplicate { nudge, warn, keep_last };

// "nudge", "warn", "keep-last"; throws UsageError otherwise.
OnDuplicate parse_on_duplicate(const std::string& name);

class Duplicates {
 public:
  // Remembers at least `memory` points (two generations of up to `memory` each). The two
  // tables have a fixed size (16 bytes a point each, 32 MiB at the default), taken as
  // untouched zero pages: a small load costs little. Once a load has seen a sixteenth of
  // `memory` points both tables are written through, so a long-running loader reaches its
  // full size within its first minute and keeps it, instead of growing for as long as it
  // takes to see 2 x `memory` points.
  explicit Duplicates(size_t memory = size_t{1} << 20);

  // True when a point with this series and time was seen; records it either way.
  bool seen(const PointKey& key);
  // Moves key.time forward by one unit until it names a point not seen (or the last time an
  // int64_t holds), and records it. Returns how many units it moved.
  int64_t nudge(PointKey& key);
  // Whether a point with this series and time was recorded; records nothing.
  bool contains(const PointKey& key) const { return contains(hash(key)); }
  // Records a point.
  void add(const PointKey& key) { insert(hash(key), key.time); }
  // The newest time among the points forgotten so far (INT64_MIN while none is): a point at
  // this time or before may collide with one this table no longer knows of, one at a later
  // time collides with none it forgot.
  int64_t forgotten_through() const { return forgotten_through_; }

 private:
  // An open-addressing set of 64-bit hashes (0 marks an empty slot), of a fixed power-of-two
  // size at least twice the points it holds, so it is never more than half full.
  struct Table {
    struct Free {
      void operator()(uint64_t* p) const { std::free(p); }
    };
    std::unique_ptr<uint64_t[], Free> slots;
    size_t mask = 0;
    size_t used = 0;
    int64_t newest = INT64_MIN;  // the newest time recorded since the last clear()
    explicit Table(size_t capacity);
    bool contains(uint64_t h) const;
    void insert(uint64_t h);
    void clear();  // keeps the memory: no allocation once both generations are in use
  };
  static uint64_t hash(const PointKey& key);
  bool contains(uint64_t h) const { return current_.contains(h) || previous_.contains(h); }
  void insert(uint64_t h, int64_t time);

  size_t memory_;
  int64_t forgotten_through_ = INT64_MIN;
  Table current_, previous_;
  bool previous_touched_ = false;
};

}  // namespace cdn::influx
