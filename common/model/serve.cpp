#include "common/model/serve.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <memory>

#include "common/io/signals.hpp"
#include "common/pipeline/worker_pool.hpp"

namespace cdn::model {

namespace {
using Clock = std::chrono::steady_clock;

class Pipeline {
 public:
  Pipeline(const Scorer& scorer, pipeline::RunContext& ctx, const ServeOptions& o)
      : scorer_(scorer), ctx_(ctx), o_(o), unknown_(scorer.features(), 0), pool_(o.threads) {
    max_in_flight_ = pool_.size() * 2;
  }

  Batch& current() {
    if (!current_) {
      if (spare_.empty()) {
        current_ = std::make_unique<Batch>();
      } else {
        current_ = std::move(spare_.back());
        spare_.pop_back();
      }
      opened_ = Clock::now();
    }
    return *current_;
  }

  // The open batch's first record has waited --linger-ms.
  bool lingered() const {
    return current_ && current_->size() > 0 &&
           Clock::now() - opened_ >= std::chrono::milliseconds(o_.linger_ms);
  }

  // Hands the open batch to a worker; waits for the oldest while too many are in flight.
  void submit() {
    if (!current_ || current_->size() == 0) return;
    Batch* b = current_.get();
    auto done = pool_.submit([this, b] { scorer_.score(*b); });
    in_flight_.push_back({std::move(current_), std::move(done)});
    while (in_flight_.size() >= max_in_flight_) write_oldest();
    while (!in_flight_.empty() &&
           in_flight_.front().done.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      write_oldest();
    }
  }

  // Everything submitted is written.
  void drain() {
    submit();
    while (!in_flight_.empty()) write_oldest();
  }

  std::vector<std::string> names;  // source names, indexed by Batch::sources
  const std::vector<uint64_t>& unknown() const { return unknown_; }

 private:
  struct InFlight {
    std::unique_ptr<Batch> batch;
    std::future<void> done;
  };

  void write_oldest() {
    InFlight f = std::move(in_flight_.front());
    in_flight_.pop_front();
    f.done.get();  // a failure in the worker is thrown here
    Batch& b = *f.batch;
    ctx_.out().write_lines(b.out);
    ctx_.counts().out += b.out_count;
    for (const auto& r : b.rejects) {
      ctx_.rejects().reject(names[b.sources[r.index]], b.lines[r.index], r.reason,
                            b.record(r.index));
    }
    for (size_t k = 0; k < b.unknown.size() && k < unknown_.size(); ++k)
      unknown_[k] += b.unknown[k];
    b.clear();
    spare_.push_back(std::move(f.batch));
  }

  const Scorer& scorer_;
  pipeline::RunContext& ctx_;
  const ServeOptions& o_;
  size_t max_in_flight_ = 2;
  std::unique_ptr<Batch> current_;
  Clock::time_point opened_;
  std::deque<InFlight> in_flight_;
  std::vector<std::unique_ptr<Batch>> spare_;
  std::vector<uint64_t> unknown_;
  // Last, so that it is destroyed first: its workers finish before the batches they score
  // are freed (when an error unwinds the loop).
  pipeline::WorkerPool pool_;
};
}  // namespace

std::vector<uint64_t> serve(const Scorer& scorer, record::Source& in, pipeline::RunContext& ctx,
                            const ServeOptions& o) {
  Pipeline p(scorer, ctx, o);
  Clock::time_point last_commit = Clock::now();
  auto commit = [&] {
    ctx.commit();
    last_commit = Clock::now();
  };
  // Waiting for records: what was read goes out now, and is committed.
  in.on_idle([&] {
    p.drain();
    ctx.out().flush();
    ctx.rejects().sink().flush();
    if (o.periodic_commit) commit();
  });
  record::Record rec;
  uint64_t n = 0;
  uint32_t source = 0;
  while (in.next(rec)) {
    // One entry per source: a Kafka input switches between its partitions all the time.
    if (p.names.empty() || p.names[source] != in.name()) {
      auto it = std::find(p.names.begin(), p.names.end(), in.name());
      if (it == p.names.end()) it = p.names.insert(p.names.end(), in.name());
      source = static_cast<uint32_t>(it - p.names.begin());
    }
    p.current().add(rec.text, rec.line, source);
    if (p.current().size() >= o.batch_size) {
      p.submit();
    } else if (p.lingered()) {
      // A slow stream: the batch has waited long enough, its predictions go out now.
      p.drain();
      ctx.out().flush();
      ctx.rejects().sink().flush();
    }
    if ((++n & 15) == 0) {
      if (o.periodic_commit &&
          Clock::now() - last_commit >= std::chrono::milliseconds(o.commit_ms)) {
        p.drain();
        commit();
      }
    }
  }
  p.drain();
  return p.unknown();
}

}  // namespace cdn::model
