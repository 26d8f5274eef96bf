// `cdn gen`: synthetic CDN telemetry. A fixed CDN (PoPs, the networks they serve), clients
// drawn from a seed, a diurnal load curve, incident windows, per-request physics (cache,
// status, rtt, ttfb, adaptive bitrate, bytes, throughput) and a logistic label (world.hpp),
// written as NDJSON or CSV lines (text.hpp). docs/gen.md documents it. Everything is drawn
// from one portable PRNG (rng.hpp), so a seed and the options fix the output.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cdn::gen {

enum class Format { ndjson, csv };

// Drift on purpose (--shift, docs/gen.md "Shifted data"): each moves one field only, and
// everything else is byte for byte the output without it.
struct Shift {
  bool devices = false;    // half of the clients report as mobile (device)
  uint32_t slow_pops = 0;  // one bit per PoP of kPops: its rtt_ms grows by kSlowRttMs
};
inline constexpr double kSlowRttMs = 60;

// Adds one --shift value ("devices", "slow-region=REGION", "slow-pop=POP") to `shift`; false
// when it names no shift, region or PoP.
bool add_shift(Shift& shift, std::string_view spec);
// The values add_shift accepts, for help and error messages.
std::string shift_choices();

struct Options {
  uint64_t rows = 1000;
  uint64_t seed = 1;
  Format format = Format::ndjson;
  int64_t start_ms = 0;  // milliseconds since the epoch, UTC
  double rate = 20;      // mean records per second of event time
  double late = 0.01;    // fraction emitted 1-30 s after later records
  double dirty = 0;      // fraction replaced by bad lines
  bool label = true;     // write qoe_bad
  Shift shift;
};

// What one run produced, for the summary line.
struct Stats {
  uint64_t late = 0;
  uint64_t dirty = 0;
  uint64_t qoe_bad = 0;
  uint64_t in_incident = 0;
};

class Generator {
 public:
  explicit Generator(const Options& opts);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // The next output line (no newline) in `line`, which is reused; false after the last row.
  bool next(std::string& line);
  const Stats& stats() const;

  // The CSV header row for these options (no newline).
  static std::string csv_header(bool label);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdn::gen
