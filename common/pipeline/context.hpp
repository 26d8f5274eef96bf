// The run of one command: its output, its rejects sink and the counts that must balance
// (records in = records out + records rejected), and the summary line at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/sink.hpp"

namespace cdn::pipeline {

struct Counts {
  uint64_t in = 0;
  uint64_t out = 0;
  uint64_t rejected = 0;
};

// One NDJSON line per bad record: {"command","source","line","reason","record"}.
class Rejects {
 public:
  Rejects(std::string command, std::unique_ptr<io::Sink> sink, Counts& counts)
      : command_(std::move(command)), sink_(std::move(sink)), counts_(counts) {}

  void reject(std::string_view source, uint64_t line, std::string_view reason,
              std::string_view raw);
  // The same with more members after "record": `members` is JSON text that starts with a
  // comma, e.g. `,"errors":[...]` (schemas/reject.json lists the members allowed).
  void reject(std::string_view source, uint64_t line, std::string_view reason, std::string_view raw,
              std::string_view members);
  io::Sink& sink() { return *sink_; }

 private:
  std::string command_;
  std::unique_ptr<io::Sink> sink_;
  Counts& counts_;
  std::string scratch_;
};

class RunContext {
 public:
  // output and rejects are sink specs ("-", a path, "kafka:TOPIC").
  RunContext(std::string command, const std::string& output, const std::string& rejects);
  // With an output sink made by the caller (a Kafka transaction, say).
  RunContext(std::string command, std::unique_ptr<io::Sink> output, const std::string& rejects);

  void emit(std::string_view line) {
    out_->write_line(line);
    ++counts_.out;
  }
  io::Sink& out() { return *out_; }
  Rejects& rejects() { return rejects_; }
  Counts& counts() { return counts_; }

  // Commits the output and rejects, prints the summary, and returns kExitOk or
  // kExitRejected. After a stop request the output is still committed (everything read
  // was written) and cdn::Interrupted is thrown.
  int finish(std::string_view extra = {});
  // Everything but the summary and status: for commands that print their own.
  void commit();
  // Runs `f` at the end of every commit(), once the output and rejects are final: a Kafka
  // input commits its consumer offsets then, never before the records are written.
  void after_commit(std::function<void()> f) { after_commit_.push_back(std::move(f)); }
  // Some output was not delivered (a producer gave up on messages): the after-commit hooks
  // do not run, so a Kafka input does not commit offsets of records that were lost.
  void mark_undelivered() { undelivered_ = true; }

 private:
  std::string command_;
  Counts counts_;
  std::unique_ptr<io::Sink> out_;
  Rejects rejects_;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::function<void()>> after_commit_;
  bool undelivered_ = false;
};

}  // namespace cdn::pipeline
