#include "common/influx/written.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/influx/writer.hpp"

namespace cdn::influx {

namespace {

// Statements in one request at most: each makes InfluxDB open every series of the
// measurement (tens of milliseconds with thousands of series), so windows far apart are
// read by one statement over the gap between them instead of one statement each.
constexpr size_t kMaxStatements = 8;

int64_t clamp_ns(__int128 ns) {
  if (ns > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (ns < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(ns);
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// The error of a result, if InfluxDB gave one. A database that does not exist yet holds
// nothing: the write that follows says what is wrong with it.
bool result_failed(simdjson::dom::element result, std::string& why) {
  std::string_view err;
  if (result["error"].get(err) != simdjson::SUCCESS) return false;
  if (err.find("database not found") != std::string_view::npos) return false;
  why = std::string(err);
  return true;
}

simdjson::dom::array results_of(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) {
    throw RuntimeError("InfluxDB's answer to a query is not JSON: " + body.substr(0, 200));
  }
  simdjson::dom::array results;
  if (root["results"].get(results) != simdjson::SUCCESS) return {};
  return results;
}

}  // namespace

std::string id_text(simdjson::dom::element v) {
  std::string_view s;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  if (v.get(s) == simdjson::SUCCESS) return std::string(s);
  if (v.get(i) == simdjson::SUCCESS) return std::to_string(i);
  if (v.get(u) == simdjson::SUCCESS) return std::to_string(u);
  if (v.get(d) == simdjson::SUCCESS) {
    if (std::nearbyint(d) == d && std::fabs(d) < 9e15)
      return std::to_string(static_cast<int64_t>(d));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }
  if (v.is_bool()) return v.get_bool().value() ? "true" : "false";
  return "";
}

uint64_t WrittenPoints::id_hash(std::string_view id) {
  if (id.empty()) return 0;
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then a final mix
  for (unsigned char c : id) h = (h ^ c) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

WrittenPoints::WrittenPoints(Query query, std::string id_field, Precision precision,
                             size_t capacity)
    : query_(std::move(query)),
      id_field_(std::move(id_field)),
      span_(units_per_second(precision)),
      unit_ns_(1000000000 / units_per_second(precision)),
      capacity_(capacity) {}

int64_t WrittenPoints::window_of(int64_t time) const {
  return floor_div(time, span_);
}

void WrittenPoints::prefetch(const std::string& measurement, std::vector<int64_t> times) {
  Measurement& m = measurements_[measurement];
  std::vector<int64_t> indexes;
  indexes.reserve(times.size());
  for (int64_t t : times) {
    int64_t w = window_of(t);
    if (!m.windows.count(w)) indexes.push_back(w);
  }
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
  if (!indexes.empty()) read(measurement, m, indexes);
}

std::optional<uint64_t> WrittenPoints::at(const std::string& measurement, const PointKey& key) {
  Measurement& m = measurements_[measurement];
  int64_t w = window_of(key.time);
  auto it = m.windows.find(w);
  if (it == m.windows.end()) {
    read(measurement, m, {w});
    it = m.windows.find(w);
  }
  Window& win = it->second;
  win.used = ++clock_;
  auto p = std::lower_bound(win.points.begin(), win.points.end(), Point{key.series, key.time, 0});
  if (p == win.points.end() || p->time != key.time || p->series != key.series) return std::nullopt;
  return p->id;
}

// Reads the windows `indexes` (sorted, none held): consecutive ones by one statement, and the
// runs between them joined across their smallest gaps until at most kMaxStatements remain.
void WrittenPoints::read(const std::string& name, Measurement& m,
                         const std::vector<int64_t>& indexes) {
  std::vector<std::pair<int64_t, int64_t>> runs;  // first and last window of each statement
  for (int64_t w : indexes) {
    if (!runs.empty() && runs.back().second + 1 == w) {
      runs.back().second = w;
    } else {
      runs.emplace_back(w, w);
    }
  }
  while (runs.size() > kMaxStatements) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < runs.size(); ++i) {
      if (runs[i + 1].first - runs[i].second < runs[best + 1].first - runs[best].second) best = i;
    }
    runs[best].second = runs[best + 1].second;
    runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  std::string q;
  for (const auto& [first, last] : runs) {
    if (!q.empty()) q += "; ";
    q += "SELECT ";
    append_identifier(q, id_field_);
    q += " FROM ";
    append_identifier(q, name);
    q += " WHERE time >= " +
         std::to_string(clamp_ns(static_cast<__int128>(first) * span_ * unit_ns_)) +
         " AND time < " +
         std::to_string(clamp_ns(static_cast<__int128>(last + 1) * span_ * unit_ns_)) +
         " GROUP BY *";
  }
  ++queries_;
  std::string body = query_(q, "read back the points of " + diag::quoted(name));

  // Only the windows asked for are kept: a statement over a gap reads points of windows
  // no record needs.
  for (int64_t w : indexes) m.windows[w].used = ++clock_;
  simdjson::dom::parser parser;
  for (simdjson::dom::element result : results_of(parser, body)) {
    std::string why;
    if (result_failed(result, why)) {
      throw RuntimeError("InfluxDB could not read back the points already written to " +
                         diag::quoted(name) + ": " + why +
                         "; --check-written off skips this check");
    }
    simdjson::dom::array series;
    if (result["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : series) {
      std::vector<std::pair<std::string, std::string>> tags;
      simdjson::dom::object tag_object;
      if (s["tags"].get(tag_object) == simdjson::SUCCESS) {
        for (auto [k, v] : tag_object) {
          std::string_view text;
          // A series without a tag of the GROUP BY lists it as "": not a tag of its own.
          if (v.get(text) == simdjson::SUCCESS && !text.empty()) tags.emplace_back(k, text);
        }
      }
      std::string_view series_name = name;
      if (s["name"].get(series_name) != simdjson::SUCCESS) series_name = name;
      uint64_t series_key = Encoder::series_of(series_name, std::move(tags));
      simdjson::dom::array values;
      if (s["values"].get(values) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element row : values) {
        simdjson::dom::array cells;
        if (row.get(cells) != simdjson::SUCCESS || cells.size() < 2) continue;
        int64_t t = 0;
        if (cells.at(0).get(t) != simdjson::SUCCESS) continue;
        t = floor_div(t, unit_ns_);
        auto it = m.windows.find(window_of(t));
        if (it == m.windows.end()) continue;
        it->second.points.push_back(Point{series_key, t, id_hash(id_text(cells.at(1)))});
        ++held_;
      }
    }
  }
  size_t kept = 0;
  for (int64_t w : indexes) {
    auto& points = m.windows[w].points;
    std::sort(points.begin(), points.end());
    kept += points.size();
  }
  diag::debug("--check-written: read back " + std::to_string(kept) + " points of " +
              diag::quoted(name) + " in " + std::to_string(indexes.size()) +
              " windows of a second (" + std::to_string(runs.size()) + " statements)");
  trim();
}

// Drops the windows looked at longest ago until at most `capacity_` points are held (never
// the window just read, however large).
void WrittenPoints::trim() {
  while (held_ > capacity_) {
    Measurement* owner = nullptr;
    std::map<int64_t, Window>::iterator oldest;
    for (auto& [name, m] : measurements_) {
      for (auto it = m.windows.begin(); it != m.windows.end(); ++it) {
        if (owner == nullptr || it->second.used < oldest->second.used) {
          owner = &m;
          oldest = it;
        }
      }
    }
    if (owner == nullptr || oldest->second.used == clock_) return;
    held_ -= oldest->second.points.size();
    owner->windows.erase(oldest);
  }
}

void WrittenPoints::forget_through(int64_t time) {
  int64_t last = window_of(time);
  for (auto& [name, m] : measurements_) {
    auto end = m.windows.upper_bound(last);
    for (auto it = m.windows.begin(); it != end; ++it) held_ -= it->second.points.size();
    m.windows.erase(m.windows.begin(), end);
  }
}

std::optional<int64_t> WrittenPoints::newest(const std::string& measurement) {
  Measurement& m = measurements_[measurement];
  if (m.newest) return *m.newest;
  std::string q = "SELECT * FROM ";
  append_identifier(q, measurement);
  q += " ORDER BY time DESC LIMIT 1";
  ++queries_;
  std::string body = query_(q, "find the newest point of " + diag::quoted(measurement));
  std::optional<int64_t> found;
  simdjson::dom::parser parser;
  for (simdjson::dom::element result : results_of(parser, body)) {
    std::string why;
    if (result_failed(result, why)) {
      throw RuntimeError("InfluxDB could not say which point of " + diag::quoted(measurement) +
                         " is the newest: " + why + "; --check-written off skips this check");
    }
    simdjson::dom::array series;
    if (result["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : series) {
      simdjson::dom::array values;
      if (s["values"].get(values) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element row : values) {
        simdjson::dom::array cells;
        int64_t t = 0;
        if (row.get(cells) != simdjson::SUCCESS || cells.size() < 1 ||
            cells.at(0).get(t) != simdjson::SUCCESS)
          continue;
        t = floor_div(t, unit_ns_);
        if (!found || t > *found) found = t;
      }
    }
  }
  diag::debug("--check-written: the newest point of " + diag::quoted(measurement) +
              (found ? " is at " + std::to_string(*found) : std::string(" does not exist")) +
              "; records up to it are looked up in InfluxDB");
  m.newest = found;
  return found;
}

}  // namespace cdn::influx
