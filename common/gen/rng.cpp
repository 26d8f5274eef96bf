#include "common/gen/rng.hpp"

namespace cdn::gen {

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t stream_seed(uint64_t seed, uint64_t stream) {
  uint64_t s = stream * 0x632be59bd9b4e019ULL + 0x1234567ULL;
  uint64_t x = seed ^ splitmix64(s);
  return splitmix64(x);
}

}  // namespace cdn::gen
