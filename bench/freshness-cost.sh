#!/usr/bin/env bash
# What cdn_influx_freshness_seconds costs cdn load-influx a point, measured apart from the rest
# of the load: the add side (two offsets from the batch's base, as Loader::add_point keeps
# them) and the acknowledgement side (influx::observe_freshness: a freshness and its bucket,
# twice a point). Compiles a small program against a built tree's libraries and prints the
# nanoseconds a point of each side, three times.
#
#   bench/freshness-cost.sh [BUILD_DIR]     (default build/ci; configured and built before)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build=${1:-$root/build/ci}
[[ -f $build/libcdn_influx.a ]] || { echo "freshness-cost.sh: no libcdn_influx.a in '$build'; build it first (scripts/build.sh --preset ci)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/cost.cpp" <<'CPP'
#include <chrono>
#include <cstdio>
#include <limits>

#include "common/influx/writer.hpp"

using namespace cdn::influx;
using Clock = std::chrono::steady_clock;

int main() {
  const size_t n = 5000, rounds = 2000;  // batches of 5,000 points (the default --batch-size)
  Batch b;
  b.base = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
               .count();
  b.since.reserve(n);
  // Points 200 us apart (5,000 a second), their event 2 s ago and their message 1.5 s ago.
  const int64_t first = static_cast<int64_t>(b.base * 1e6) - 2000000;
  const double seconds_per_unit = 1e-6;  // --precision us
  auto t0 = Clock::now();
  for (size_t r = 0; r < rounds; ++r) {
    b.since.clear();
    for (size_t i = 0; i < n; ++i) {
      int64_t time = first + static_cast<int64_t>(i * 200);
      int64_t message_ms = time / 1000 + 500;
      b.since.push_back(
          {static_cast<float>(static_cast<double>(time) * seconds_per_unit - b.base),
           message_ms > 0 ? static_cast<float>(static_cast<double>(message_ms) * 1e-3 - b.base)
                          : std::numeric_limits<float>::quiet_NaN()});
    }
  }
  auto t1 = Clock::now();
  Freshness produce, event;
  for (size_t r = 0; r < rounds; ++r) observe_freshness(b, nullptr, produce, event);
  auto t2 = Clock::now();
  double points = static_cast<double>(n * rounds);
  std::printf("add %.2f ns a point, acknowledgement %.2f ns a point (%llu points counted)\n",
              std::chrono::duration<double, std::nano>(t1 - t0).count() / points,
              std::chrono::duration<double, std::nano>(t2 - t1).count() / points,
              static_cast<unsigned long long>(event.seconds.count()));
  return event.seconds.count() == n * rounds ? 0 : 1;
}
CPP
libs=()
for l in influx record io diag base; do libs+=("$build/libcdn_$l.a"); done
g++ -std=c++20 -O3 -DNDEBUG -I"$root" "$dir/cost.cpp" -Wl,--start-group "${libs[@]}" -Wl,--end-group \
  -lcurl -lz -lsimdjson -lpthread -ldl -o "$dir/cost"
for _ in 1 2 3; do "$dir/cost"; done
