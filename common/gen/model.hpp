// The model behind `cdn gen`: a fixed synthetic CDN (PoPs, the networks they serve), clients
// drawn from a seed, a diurnal load curve, incident windows, per-request physics (cache, status,
// rtt, ttfb, adaptive bitrate, bytes, throughput) and a logistic label. docs/gen.md documents
// it. Everything is drawn from one portable PRNG, so a seed and the options fix the output.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::gen {

// xoshiro256** seeded through splitmix64, with its own samplers: std:: distributions differ
// between standard libraries, these do not.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // 0 .. n-1 (n > 0), without modulo bias worth mentioning (Lemire's multiply-shift).
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  bool chance(double p) { return uniform() < p; }
  double normal();                                // standard normal (polar method)
  double lognormal(double median, double sigma);  // median * exp(sigma * N(0,1))
  double exponential(double mean);                // mean * -ln(U)
  double pareto(double scale, double alpha);      // scale * U^(-1/alpha)

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// A distinct, decorrelated stream for each purpose, so that e.g. --dirty does not change the
// clean records and --late only reorders them.
uint64_t stream_seed(uint64_t seed, uint64_t stream);

enum class Format { ndjson, csv };

struct Options {
  uint64_t rows = 1000;
  uint64_t seed = 1;
  Format format = Format::ndjson;
  int64_t start_ms = 0;  // milliseconds since the epoch, UTC
  double rate = 20;      // mean records per second of event time
  double late = 0.01;    // fraction emitted 1-30 s after later records
  double dirty = 0;      // fraction replaced by bad lines
  bool label = true;     // write qoe_bad
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
