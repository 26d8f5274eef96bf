// The run of cdn load-influx: records in, line protocol out (to InfluxDB through a Writer,
// or to the output with --dry-run), counted so that records in = points written + records
// rejected, with collisions handled as --on-duplicate says and Kafka offsets committed only
// once the records before them are written.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/influx/duplicates.hpp"
#include "common/influx/line_protocol.hpp"
#include "common/influx/writer.hpp"
#include "common/io/source.hpp"
#include "common/pipeline/context.hpp"

namespace cdn::influx {

struct LoaderOptions {
  size_t batch_size = 5000;
  std::chrono::milliseconds flush_interval{1000};
  OnDuplicate on_duplicate = OnDuplicate::nudge;
  // How often a Kafka input commits its offsets (after everything read is written).
  std::chrono::milliseconds commit_interval{1000};
};

class Loader {
 public:
  // `writer` null: --dry-run, the lines go to the output.
  Loader(pipeline::RunContext& ctx, io::InputSet& in, Encoder& encoder, Writer* writer,
         LoaderOptions opts);

  // Reads every record and writes it; returns the exit status (RunContext::finish). Throws
  // RuntimeError, saying how many records were not written, when InfluxDB fails us.
  int run();

 private:
  void load();
  void send();
  void on_idle();
  void sync();
  uint32_t source_index(const std::string& name);
  std::string extra() const;

  pipeline::RunContext& ctx_;
  io::InputSet& in_;
  Encoder& encoder_;
  Writer* writer_;
  LoaderOptions opts_;
  Duplicates duplicates_;
  std::unique_ptr<Batch> batch_;
  std::chrono::steady_clock::time_point batch_started_{};
  std::chrono::steady_clock::time_point last_ack_{};
  std::vector<std::string> sources_;
  bool acknowledging_ = false;
  uint64_t nudged_ = 0;
  uint64_t collided_ = 0;
};

}  // namespace cdn::influx
