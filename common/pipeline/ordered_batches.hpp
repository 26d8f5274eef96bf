// Batches worked on by a pool of threads and written in input order: the caller fills the
// open batch on its own thread and submits it; a worker runs `work` on it; `write` gets the
// batches back one by one in the order they were submitted, on the caller's thread, as soon
// as the oldest is done. At most max_in_flight() batches are with the workers (submit waits
// for the oldest beyond that), and spent batches are cleared and filled again rather than
// allocated anew.
//
// Batch is default-constructible and has clear(), which readies it for the next records.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <utility>
#include <vector>

#include "common/pipeline/worker_pool.hpp"

namespace cdn::pipeline {

template <class Batch>
class OrderedBatches {
 public:
  // Runs on a worker thread, one batch at a time per worker.
  using Work = std::function<void(Batch&)>;
  // Runs on the caller's thread, in submission order. It may take the batch (move it out)
  // to keep it; a batch left in place is cleared and reused.
  using Write = std::function<void(std::unique_ptr<Batch>& spent)>;

  // threads == 0: one per hardware thread. max_in_flight == 0: twice the workers.
  OrderedBatches(unsigned threads, Work work, Write write, size_t max_in_flight = 0)
      : work_(std::move(work)), write_(std::move(write)), pool_(threads) {
    max_in_flight_ = max_in_flight > 0 ? max_in_flight : 2 * pool_.size();
  }
  // Waits for the workers still busy with batches (an error unwinding the caller) before
  // the batches go away; their results are dropped.
  ~OrderedBatches() {
    for (auto& f : in_flight_) {
      if (f.done.valid()) f.done.wait();
    }
  }
  OrderedBatches(const OrderedBatches&) = delete;
  OrderedBatches& operator=(const OrderedBatches&) = delete;

  // The batch being filled, opened (a spent one, or a new one) when there is none.
  Batch& open() {
    if (!open_) {
      if (spare_.empty()) {
        open_ = std::make_unique<Batch>();
      } else {
        open_ = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    return *open_;
  }
  // The batch being filled; null when none is open.
  Batch* current() const { return open_.get(); }

  // Hands the open batch (if any) to a worker, then writes every batch already done, waiting
  // for the oldest while more than max_in_flight() are out.
  void submit() {
    if (open_) {
      Batch* b = open_.get();
      std::future<void> done = pool_.submit([this, b] { work_(*b); });
      in_flight_.push_back({std::move(open_), std::move(done)});
    }
    while (!in_flight_.empty() && (in_flight_.size() > max_in_flight_ ||
                                   in_flight_.front().done.wait_for(std::chrono::seconds(0)) ==
                                       std::future_status::ready)) {
      write_oldest();
    }
  }

  // Submits the open batch and writes every batch: all that was added is written.
  void drain() {
    submit();
    while (!in_flight_.empty()) write_oldest();
  }

  size_t in_flight() const { return in_flight_.size(); }
  size_t max_in_flight() const { return max_in_flight_; }
  // The workers, for other work of the caller's between batches.
  WorkerPool& pool() { return pool_; }

 private:
  struct InFlight {
    std::unique_ptr<Batch> batch;
    std::future<void> done;
  };

  void write_oldest() {
    InFlight f = std::move(in_flight_.front());
    in_flight_.pop_front();
    f.done.get();  // a worker's exception surfaces here
    write_(f.batch);
    if (f.batch) {
      f.batch->clear();
      spare_.push_back(std::move(f.batch));
    }
  }

  Work work_;
  Write write_;
  size_t max_in_flight_;
  std::unique_ptr<Batch> open_;
  std::deque<InFlight> in_flight_;
  std::vector<std::unique_ptr<Batch>> spare_;
  // Last, so that it is destroyed first: no job runs once the batches are freed.
  WorkerPool pool_;
};

}  // namespace cdn::pipeline
