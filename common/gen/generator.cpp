// `cdn gen`: the requests of the world (world.hpp) in event-time order, some held back to
// arrive late, each written as a line (text.hpp), now and then a broken one.
#include "common/gen/generator.hpp"

#include <queue>
#include <vector>

#include "common/gen/rng.hpp"
#include "common/gen/text.hpp"
#include "common/gen/world.hpp"

namespace cdn::gen {

namespace {

// A held-back record and when it is let out.
struct Held {
  double release;
  uint64_t seq;
  Event event;
};
struct ReleasesLater {
  bool operator()(const Held& a, const Held& b) const {
    return a.release != b.release ? a.release > b.release : a.seq > b.seq;
  }
};

}  // namespace

struct Generator::Impl {
  explicit Impl(const Options& o)
      : opts(o),
        world(o.seed, o.start_ms, o.rate, o.shift),
        writer(o.format, o.label, o.start_ms),
        late_rng(stream_seed(o.seed, kLate)),
        dirty_rng(stream_seed(o.seed, kDirty)) {}

  Mutation draw_mutation() {
    if (opts.dirty <= 0 || !dirty_rng.chance(opts.dirty)) return Mutation{};
    ++stats.dirty;
    return draw_dirt(dirty_rng, opts.format == Format::csv, writer.fields());
  }

  void write(std::string& line, const Event& e) {
    if (e.qoe_bad) ++stats.qoe_bad;
    if (e.incident > 0) ++stats.in_incident;
    writer.write(line, e, draw_mutation());
  }

  Options opts;
  World world;
  LineWriter writer;
  Rng late_rng;
  Rng dirty_rng;
  std::priority_queue<Held, std::vector<Held>, ReleasesLater> held;
  Event pending;
  bool has_pending = false;
  uint64_t generated = 0, emitted = 0, seq = 0;
  Stats stats;
};

Generator::Generator(const Options& opts) : impl_(std::make_unique<Impl>(opts)) {}
Generator::~Generator() = default;

const Stats& Generator::stats() const {
  return impl_->stats;
}

bool Generator::next(std::string& line) {
  Impl& g = *impl_;
  if (g.emitted >= g.opts.rows) return false;
  // Generate in event-time order; a late record waits 1-30 s of event time before it goes out.
  while (!g.has_pending && g.generated < g.opts.rows) {
    g.world.next(g.pending);
    ++g.generated;
    if (g.opts.late > 0 && g.late_rng.chance(g.opts.late)) {
      g.held.push(Held{g.pending.t + g.late_rng.uniform(1, 30), g.seq++, g.pending});
      ++g.stats.late;
      continue;
    }
    g.has_pending = true;
  }
  if (!g.held.empty() && (!g.has_pending || g.held.top().release <= g.pending.t)) {
    Event e = g.held.top().event;
    g.held.pop();
    g.write(line, e);
  } else {
    g.has_pending = false;
    g.write(line, g.pending);
  }
  ++g.emitted;
  return true;
}

}  // namespace cdn::gen
