#include "common/model/serve.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "common/io/signals.hpp"
#include "common/pipeline/ordered_batches.hpp"

namespace cdn::model {

namespace {
using Clock = std::chrono::steady_clock;

// One entry per source: a Kafka input switches between its partitions all the time.
uint32_t source_index(std::vector<std::string>& names, uint32_t last, const std::string& name) {
  if (!names.empty() && names[last] == name) return last;
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) it = names.insert(names.end(), name);
  return static_cast<uint32_t>(it - names.begin());
}
}  // namespace

std::vector<uint64_t> serve(const Scorer& scorer, record::Source& in, pipeline::RunContext& ctx,
                            const ServeOptions& o) {
  std::vector<std::string> names;  // source names, indexed by Batch::sources
  std::vector<uint64_t> unknown(scorer.features(), 0);
  auto write = [&](std::unique_ptr<Batch>& spent) {
    const Batch& b = *spent;
    ctx.out().write_lines(b.out);
    ctx.counts().out += b.out_count;
    for (const auto& r : b.rejects) {
      ctx.rejects().reject(names[b.sources[r.index]], b.lines[r.index], r.reason,
                           b.record(r.index));
    }
    for (size_t k = 0; k < b.unknown.size() && k < unknown.size(); ++k) unknown[k] += b.unknown[k];
  };
  pipeline::OrderedBatches<Batch> batches(
      o.threads, [&scorer](Batch& b) { scorer.score(b); }, write);
  Clock::time_point opened;  // when the open batch got its first record
  Clock::time_point last_commit = Clock::now();
  auto commit = [&] {
    ctx.commit();
    last_commit = Clock::now();
  };
  // Waiting for records: what was read goes out now, and is committed.
  in.on_idle([&] {
    batches.drain();
    ctx.out().flush();
    ctx.rejects().sink().flush();
    if (o.periodic_commit) commit();
  });
  record::Record rec;
  uint64_t n = 0;
  uint32_t source = 0;
  while (in.next(rec)) {
    source = source_index(names, source, in.name());
    if (!batches.current()) opened = Clock::now();
    Batch& b = batches.open();
    b.add(rec.text, rec.line, source);
    if (b.size() >= o.batch_size) {
      batches.submit();
    } else if (Clock::now() - opened >= std::chrono::milliseconds(o.linger_ms)) {
      // A slow stream: the batch has waited --linger-ms, its predictions go out now.
      batches.drain();
      ctx.out().flush();
      ctx.rejects().sink().flush();
    }
    if ((++n & 15) == 0) {
      if (o.periodic_commit &&
          Clock::now() - last_commit >= std::chrono::milliseconds(o.commit_ms)) {
        batches.drain();
        commit();
      }
    }
  }
  batches.drain();
  return unknown;
}

}  // namespace cdn::model
