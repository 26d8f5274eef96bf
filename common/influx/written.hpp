// What InfluxDB already holds at the times of records being loaded, for --check-written: the
// series, time and --id-field value of each point, read back with InfluxQL in windows of one
// second of event time and kept (up to a number of points) so that a window is read once
// however many batches of records fall in it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

#include "common/influx/line_protocol.hpp"

namespace cdn::influx {

// The text of an --id-field value (a string, or a number as written), to compare a record
// with a point read back from InfluxDB; empty for null, an object or an array.
std::string id_text(simdjson::dom::element v);

class WrittenPoints {
 public:
  // Runs one InfluxQL request (statements separated by ';') in the database written to and
  // returns InfluxDB's JSON answer, with times in nanoseconds.
  using Query = std::function<std::string(const std::string& q, const std::string& what)>;

  // `capacity`: the points kept at most; the windows read longest ago are dropped past it.
  WrittenPoints(Query query, std::string id_field, Precision precision, size_t capacity);

  // Reads, in one request, the windows of `measurement` holding these times (in units of the
  // precision) that are not held yet. Windows far apart are read by separate statements,
  // at most a few a request: each statement costs InfluxDB a pass over every series.
  void prefetch(const std::string& measurement, std::vector<int64_t> times);

  // What InfluxDB held at this series and time when its window was read (reading it now if
  // it was not): nullopt if no point, else the hash of the point's --id-field value (0: the
  // point has none).
  std::optional<uint64_t> at(const std::string& measurement, const PointKey& key);

  // The newest time of any point of `measurement` (nullopt: none), asked once and kept.
  std::optional<int64_t> newest(const std::string& measurement);

  // Drops the windows that begin at or before `time`: points written since they were read
  // may lie in them.
  void forget_through(int64_t time);

  uint64_t queries() const { return queries_; }

  // 0 for an empty id (a record or point without one), never 0 otherwise.
  static uint64_t id_hash(std::string_view id);

 private:
  struct Point {
    uint64_t series;
    int64_t time;
    uint64_t id;
    bool operator<(const Point& o) const {
      return time < o.time || (time == o.time && series < o.series);
    }
  };
  struct Window {
    std::vector<Point> points;  // sorted by time, then series
    uint64_t used = 0;          // when last looked at, for dropping the oldest
  };
  struct Measurement {
    std::map<int64_t, Window> windows;  // by window index (time / span)
    std::optional<std::optional<int64_t>> newest;
  };

  void read(const std::string& name, Measurement& m, const std::vector<int64_t>& indexes);
  void trim();
  int64_t window_of(int64_t time) const;

  Query query_;
  std::string id_field_;
  int64_t span_;     // units of the precision in a window: one second
  int64_t unit_ns_;  // nanoseconds in one unit
  size_t capacity_;
  size_t held_ = 0;
  uint64_t clock_ = 0;
  uint64_t queries_ = 0;
  std::unordered_map<std::string, Measurement> measurements_;
};

}  // namespace cdn::influx
