// The run of cdn load-influx: records in, line protocol out (to InfluxDB through a Writer,
// or to the output with --dry-run), counted so that records in = points written + records
// rejected, with collisions handled as --on-duplicate says and Kafka offsets committed only
// once the records before them are written.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>

#include "common/diag/service.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/influx/duplicates.hpp"
#include "common/influx/line_protocol.hpp"
#include "common/influx/writer.hpp"
#include "common/influx/written.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/source.hpp"

namespace cdn::influx {

// When the loader looks in InfluxDB for points written before (by an earlier run, another
// loader or itself beyond its nudge memory) at the times of the records it reads
// (--check-written).
enum class CheckWritten {
  off,
  older,   // records no later than the newest point of their measurement when the loader
           // first met it, and records older than the nudge memory (auto)
  always,  // every record
};

struct LoaderOptions {
  size_t batch_size = 5000;
  std::chrono::milliseconds flush_interval{1000};
  OnDuplicate on_duplicate = OnDuplicate::nudge;
  // Points the nudge memory keeps at least (Duplicates), and twice this many read back from
  // InfluxDB at most (WrittenPoints).
  size_t nudge_memory = size_t{1} << 20;
  // How often a Kafka input commits its offsets (after everything read is written).
  std::chrono::milliseconds commit_interval{1000};
  CheckWritten check_written = CheckWritten::off;
  // The field that tells records apart, to know a point written before as this record's.
  std::string id_field = "sampleID";
};

class Loader {
 public:
  // `writer` null: --dry-run, the lines go to the output.
  Loader(pipeline::RunContext& ctx, endpoint::InputSet& in, Encoder& encoder, Writer* writer,
         LoaderOptions opts);

  // Reads every record and writes it; returns the exit status (RunContext::finish). Throws
  // RuntimeError, saying how many records were not written, when InfluxDB fails us. An input
  // that fails mid-way (a truncated .gz, a missing file) fails the run too: the records read
  // before it are written to InfluxDB first and counted in the summary; with --dry-run the
  // output is not committed, as for every command.
  int run();

 private:
  void load();
  // in_.next(), keeping an input's failure in input_error_ (false then) so that what was read
  // before it is still written.
  bool read(record::Record& rec);
  void add_point(std::string& line, int64_t time, int64_t message_ms, uint32_t source,
                 uint64_t line_no, std::string_view raw, bool may_sync);
  bool needs_check(const PointKey& key);
  void resolve_pending();
  bool may_acknowledge() const;
  void send();
  void on_idle();
  void sync();
  uint32_t source_index(const std::string& name);
  std::string extra() const;

  pipeline::RunContext& ctx_;
  endpoint::InputSet& in_;
  Encoder& encoder_;
  Writer* writer_;
  LoaderOptions opts_;
  Duplicates duplicates_;
  std::unique_ptr<Batch> batch_;
  std::chrono::steady_clock::time_point batch_started_{};
  std::chrono::steady_clock::time_point last_ack_{};
  std::vector<std::string> sources_;
  bool acknowledging_ = false;
  std::exception_ptr input_error_;
  bool idle_failed_ = false;  // on_idle() threw: the error is not the input's
  uint64_t nudged_ = 0;
  uint64_t collided_ = 0;
  bool warned_drift_ = false;
  bool connected_ = false;  // InfluxDB took a batch (-v says when first)
  // --metrics-addr: each point's times are kept in its batch for cdn_influx_freshness_seconds;
  // seconds per unit of --precision.
  bool freshness_ = false;
  double seconds_per_unit_ = 1e-9;
  void count_nudge(int64_t moved);
  std::optional<std::string> nudged_out_of_range(int64_t moved, int64_t time) const;

  // Records waiting for their time while --check-written looks at what InfluxDB holds.
  struct Pending {
    std::string line;  // without the time
    PointKey key;
    uint64_t id = 0;  // WrittenPoints::id_hash of its --id-field value; 0: none
    std::string measurement;
    uint32_t source = 0;
    uint64_t line_no = 0;
    int64_t message_ms = 0;
    std::string raw;
  };
  std::vector<Pending> pending_;
  std::chrono::steady_clock::time_point pending_started_{};
  bool checking_ = false;
  std::unique_ptr<WrittenPoints> written_;
  // The newest time InfluxDB held for newest_of_, the measurement needs_check() saw last.
  std::string newest_of_;
  std::optional<int64_t> newest_;
  // duplicates_.forgotten_through() when the points read back last agreed with it.
  int64_t forgotten_seen_ = INT64_MIN;
  diag::Service::Registration ready_check_;  // /readyz: InfluxDB answers /ping
  uint64_t rewritten_ = 0;                   // written again at the time an earlier run gave them
};

}  // namespace cdn::influx
