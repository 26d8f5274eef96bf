// The run of one command: its output, its rejects sink and the counts that must balance
// (records in = records out + records rejected), the commit and the summary line at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/diag/log.hpp"
#include "common/diag/service.hpp"
#include "common/diag/status_line.hpp"
#include "common/io/sink.hpp"
#include "common/record/counts.hpp"

namespace cdn::pipeline {

class RunContext {
 public:
  // The sinks come opened (endpoint::open_output and open_rejects open what the user wrote).
  RunContext(std::string command, std::unique_ptr<io::Sink> output,
             std::unique_ptr<io::Sink> rejects);
  // A run that ends in an exception prints no summary, unless its output or rejects sink lost
  // lines it had taken (a Kafka topic whose messages were not delivered): then the summary
  // still says what went out and what did not, before the error.
  ~RunContext();
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  void emit(std::string_view line) {
    out_->write_line(line);
    ++counts_.out;
    went_out(line);
  }
  // The same, keeping the key of the record's Kafka message when the output is a topic.
  void emit(std::string_view line, std::optional<std::string_view> key) {
    if (key && keyed_out_) {
      out_->write_keyed(line, key);
    } else {
      out_->write_line(line);
    }
    ++counts_.out;
    went_out(line);
  }
  // A record went out by another way than emit() (a Kafka producer's), for the sampled ages.
  void went_out(std::string_view record) {
    if (until_sample_ != 0 && --until_sample_ == 0) sample_output(record);
  }
  // --metrics-addr was given: the run measures what costs a little (ages, batch times).
  bool measuring() const { return measures_ != nullptr; }
  // A record at the output (one in every 64 through emit(); a writer of whole batches gives
  // one of each batch), for the ages of records: now minus its time field (a JSON record's
  // RFC 3339 string), and minus the Kafka timestamp of the message read last. Only while
  // measuring().
  void sample_output(std::string_view record);
  // The field sample_output reads the event time from (default "timestamp").
  void set_time_field(std::string_view name);
  // A batch of records went through the command's processing in `seconds` (while measuring).
  void batch_done(double seconds);
  io::Sink& out() { return *out_; }
  record::Rejects& rejects() { return rejects_; }
  record::Counts& counts() { return counts_; }

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
  // do not run, so a Kafka input does not commit offsets of records that were lost. `records`
  // of those counted out were not delivered: they are taken back from counts().out, and the
  // summary counts every record read but neither out nor rejected as not delivered (records
  // in = out + rejected + not delivered), and finish() returns kExitFailure.
  void mark_undelivered(uint64_t records = 0);
  // The command printed its own summary of a failed run (load-influx: points written and not
  // written): the destructor prints none.
  void summarized() { finished_ = true; }

 private:
  std::string command_;
  record::Counts counts_;
  std::unique_ptr<io::Sink> out_;
  bool keyed_out_ = false;  // out_ takes keys
  record::Rejects rejects_;
  std::chrono::steady_clock::time_point start_;
  std::vector<std::function<void()>> after_commit_;
  bool undelivered_ = false;
  uint64_t rejects_lost_ = 0;  // rejects counted whose lines the rejects sink lost
  bool finished_ = false;
  int uncaught_ = 0;  // std::uncaught_exceptions() when the run began
  // Takes what the sinks lost back from the counts (see io::Sink::delivered).
  void count_lost();
  std::string summary_line(std::string_view extra);
  // The summary's numbers, as fields of a --log-format json line.
  std::vector<diag::Field> summary_fields() const;
  // --metrics-addr: the counts as cdn_records_*_total, and as the progress /healthz watches.
  diag::Service::Registration metrics_, progress_;
  // Only with --metrics-addr: rejects by reason, batch times, ages at the output.
  struct Measures;
  std::unique_ptr<Measures> measures_;
  uint32_t until_sample_ = 0;  // records to the next sample; 0: not measuring
  std::string time_field_ = "\"timestamp\"";
  // On a terminal: the counts, the rate and the time so far, until the summary.
  std::unique_ptr<diag::StatusLine> status_;
  std::string status_text() const;
};

}  // namespace cdn::pipeline
