// The random numbers of `cdn gen`: one portable PRNG, so that a seed and the options fix the
// output on every machine.
#pragma once

#include <cmath>
#include <cstdint>

namespace cdn::gen {

// splitmix64: the next value of the sequence whose state is `x` (advanced).
inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

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

// The samplers are defined here, inline: they run several times for each generated record.
inline double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2 * uniform() - 1;
    v = 2 * uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  const double m = std::sqrt(-2 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

inline double Rng::lognormal(double median, double sigma) {
  return median * std::exp(sigma * normal());
}

inline double Rng::exponential(double mean) {
  return -mean * std::log(1 - uniform());
}

inline double Rng::pareto(double scale, double alpha) {
  return scale * std::pow(1 - uniform(), -1 / alpha);
}

// A distinct, decorrelated stream for each purpose, so that e.g. --dirty does not change the
// clean records and --late only reorders them.
uint64_t stream_seed(uint64_t seed, uint64_t stream);

// The streams of one run.
enum Stream : uint64_t {
  kClients = 1,
  kRequests = 2,
  kIncidents = 3,
  kLate = 4,
  kDirty = 5,
  kShift = 6,
};

}  // namespace cdn::gen
