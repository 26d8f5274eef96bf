// Options every record-processing command shares, defined once: inputs, --input-format,
// --schema (types CSV cells), -o/--output, --rejects. Help, config file, man pages and
// completions all come from these definitions.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/endpoint/endpoint.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/source.hpp"
#include "common/schema/types.hpp"

namespace cdn::cli {

struct IoOptions {
  std::vector<std::string> inputs;
  std::string input_format = "auto";
  std::string schema;
  std::string output = "-";
  std::string rejects = "-";
};

// Inputs add the Kafka consumer options and outputs the Kafka client options (see
// add_kafka_options), so kafka:TOPIC works wherever a path does.
void add_input_options(CLI::App& app, IoOptions& opts);
void add_output_options(CLI::App& app, IoOptions& opts);
// --rejects alone (add_output_options includes it), for commands whose output is not a path.
void add_rejects_option(CLI::App& app, IoOptions& opts);

// -b/--brokers (env CDN_BROKERS) and -X key=value; with `consumer` also -G/--group,
// --offset and -e/--exit-at-end. They fill kafka::settings(). Adding them twice is harmless.
// Without CDN_WITH_KAFKA this adds nothing.
void add_kafka_options(CLI::App& app, bool consumer);

// The inputs of a run, opened lazily one after the other.
class Inputs {
 public:
  // map_limit: see record::SourceOptions::map_limit.
  Inputs(const IoOptions& opts, pipeline::RunContext& ctx, size_t map_limit = 0);
  endpoint::InputSet& records() { return *set_; }
  const record::SourceOptions& source_options() const { return source_opts_; }

 private:
  std::optional<record::PropertyTypes> types_;
  record::SourceOptions source_opts_;
  std::unique_ptr<endpoint::InputSet> set_;
};

// Parses a size with an optional K/M/G suffix (powers of 1024) or a '%' of physical memory.
size_t parse_size(const std::string& text, const std::string& option);

}  // namespace cdn::cli
