// XGBoost's collective (Rabit, as libxgboost 1.7 has it) behind one RAII owner: several
// processes, each started with the tracker's address, the number of workers and its own rank,
// join one group; XGBoost then trains one model over all their rows, and these functions move
// cdn's own values (bytes, numbers) between the workers. The tracker is XGBoost's Python
// RabitTracker (scripts/train-tracker.sh starts it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cdn::model::collective {

struct Options {
  std::string tracker;        // HOST:PORT; empty: one worker, no collective
  int workers = 0;            // the number of workers in the group
  int rank = -1;              // this worker's rank, 0 .. workers - 1
  int64_t join_ms = 120000;   // reaching the tracker and the group forming, at most
  int64_t wait_ms = 1800000;  // a worker waits this long for another at any one step
};

// Completes `o` from the environment where the command line and the config file left a value
// out: the rank from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's pod) when neither
// --rank nor CDN_RANK gave one. Then checks the whole: a tracker HOST:PORT with a port, the
// number of workers and a rank in 0 .. workers - 1. Throws UsageError naming the option.
void settle(Options& o, bool rank_given);

// "HOST:PORT" (IPv6 in brackets, [::1]:9091) split; throws UsageError.
void split_address(const std::string& address, std::string& host, int& port);

// Data types and operations of XGCommunicatorAllreduce (xgboost::collective in 1.7).
enum class Op { max = 0, min = 1, sum = 2 };

// This process's membership of the group, from joining to leaving. One at a time; XGBoost's
// communicator belongs to the thread that made it, so every call comes from that thread.
class SocketWatch;

class Communicator {
 public:
  // With an empty tracker: a group of one (rank 0, every exchange returns what it is given).
  // Else connects to the tracker (retrying until o.join_ms) and waits for the others to join
  // (until o.join_ms): RuntimeError naming the address and what was waited for.
  explicit Communicator(const Options& o);
  // Leaves the group (tells the tracker) unless an exception is unwinding: a worker that
  // fails leaves without a word, and the others fail at their next exchange.
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  bool distributed() const { return distributed_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  // "worker 1 of 4" (empty for a group of one), to start messages with.
  std::string who() const;
  const std::string& tracker() const { return tracker_; }

  // In-place reductions over every worker's vector (all of one length).
  void allreduce(std::vector<double>& v, Op op);
  void allreduce(std::vector<int64_t>& v, Op op);
  // Every worker's bytes, in rank order, on every worker.
  std::vector<std::string> allgather(const std::string& mine);
  // Every worker's values one after the other, in rank order.
  std::vector<float> allgather(const std::vector<float>& mine);

  // Leaves the group now (the tracker ends when every worker has left). Idempotent.
  void finalize();

  // What the last exchange was, for the message when one fails ("the boosting rounds").
  void set_step(std::string step) { step_ = std::move(step); }
  // A message for an exchange that failed inside XGBoost (a worker gone, or silent past
  // wait_ms): who, where, XGBoost's words, what to look at.
  std::string lost_message(const std::string& xgboost_error) const;

 private:
  void say_failed() const;
  // Watches XGBoost's links to the other workers from the join to leaving the group.
  std::unique_ptr<SocketWatch> link_watch_;
  void reduce(void* data, size_t count, int type, Op op, const char* what);
  bool distributed_ = false;
  bool finalized_ = false;
  int rank_ = 0;
  int size_ = 1;
  std::string tracker_;
  int64_t wait_ms_ = 0;
  std::string step_;
};

}  // namespace cdn::model::collective
