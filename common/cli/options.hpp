// Options the record-processing commands share, defined once: inputs, --input-format,
// --schema (types CSV cells), -o/--output, --rejects, and the Kafka client options that come
// with them. --help, the config file keys and `cdn completion` derive from these definitions;
// the man pages are written by hand, and tests/cli/commands.bats checks that each one
// mentions every long option of its command's --help.
#pragma once

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
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
  std::string output_format = "auto";
  std::string compress = "auto";
  std::string rejects = "-";
};

// Inputs add the Kafka consumer options and outputs the Kafka client options (see
// add_kafka_options), so kafka:TOPIC works wherever a path does.
void add_input_options(CLI::App& app, IoOptions& opts);
void add_output_options(CLI::App& app, IoOptions& opts);
// Opens -o as --output-format and --compress say (or its name: see endpoint::OutputFormat);
// CSV columns and types from --schema when `schema_is_output`: false for a command whose
// records out are not those of its --schema (predict writes predictions).
std::unique_ptr<io::Sink> open_output(const IoOptions& opts, bool schema_is_output = true);
// The format -o is written in: --output-format, or else its name.
record::Format output_format(const IoOptions& opts);

// --rejects alone (add_output_options includes it), for commands whose output is not a path;
// with the Kafka client options, since it may name kafka:TOPIC.
void add_rejects_option(CLI::App& app, IoOptions& opts);

// --key-field FIELD: the Kafka message key of each record written to a topic (the output
// and the rejects) from a field (record::KeyField). `whose` names the field's record when it
// is not the one written, e.g. "each prediction is its input record's". Without
// CDN_WITH_KAFKA this adds nothing.
void add_key_field_option(CLI::App& app, std::string& field, const std::string& whose = "");

// -b/--brokers (env CDN_BROKERS), -X key=value, --stats-interval, --stats-file and --timeout;
// with `consumer` also -G/--group, --offset and -e/--exit-at-end. They fill
// kafka::settings(). Adding them twice is harmless. Without CDN_WITH_KAFKA this adds nothing.
void add_kafka_options(CLI::App& app, bool consumer);

// Sets kafka::settings() from the Kafka options of `command`, the subcommand that runs, once
// parsing is done. Every subcommand's options share those settings, and CLI11 gives the
// subcommands that do not run the values of environment variables too (CDN_BROKERS): left
// as they were parsed, the last of them won over the command line.
void settle_kafka_options(const CLI::App& command);

// The inputs of a run: an endpoint::InputSet over opts.inputs, read one after the other (each
// opened when the one before ends), CSV typed by --schema. Tied to ctx: what a Kafka input read is
// acknowledged after each ctx.commit(), and whenever an input waits for data the output and
// rejects sinks are flushed, so a live stream is not held in a buffer.
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

// A whole-number option (a count, a number of bytes or milliseconds, a seed, a port): its value
// must be decimal digits, within [lo, hi], on the command line and in the config file alike.
// A sign, a fraction, hex, octal or a number out of range is a usage error (UsageError,
// thrown while parsing) that names the option, the value and the range: CLI11 alone reads
// -5 as 18446744073709551611 into an unsigned variable and 010 as 8. --help shows the range.
CLI::Validator whole_number(const std::string& option, uint64_t lo, uint64_t hi);

// The same for a real number: finite, within [lo, hi].
CLI::Validator real_number(const std::string& option, double lo, double hi);

// Adds the option `names` for `var` (any integer type) with whole_number(lo, hi), hi capped
// to what `var` holds.
template <typename T>
CLI::Option* add_whole_number(CLI::App& app, const std::string& names, T& var,
                              const std::string& description, uint64_t lo,
                              uint64_t hi = std::numeric_limits<uint64_t>::max()) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  hi = std::min<uint64_t>(hi, static_cast<uint64_t>(std::numeric_limits<T>::max()));
  std::string shown = names;  // "-n,--rows" -> "-n/--rows"
  for (auto& c : shown) c = c == ',' ? '/' : c;
  return app.add_option(names, var, description)->transform(whole_number(shown, lo, hi));
}

// A duration option: a number (a fraction allowed) with ms, s, m or h (500ms, 5s, 2m), or a plain
// number read in `plain` units (kMilliseconds for the options that took milliseconds before units,
// kSeconds for the others), within [lo_ms, hi_ms]. `var` receives milliseconds; --help shows
// the type DURATION and the range. A bad value is a usage error naming the option, the value and
// the range, on the command line and in the config file alike.
enum class PlainUnit { kMilliseconds, kSeconds };
CLI::Validator duration(const std::string& option, int64_t lo_ms, int64_t hi_ms, PlainUnit plain);

template <typename T>
CLI::Option* add_duration(CLI::App& app, const std::string& names, T& var,
                          const std::string& description, int64_t lo_ms, int64_t hi_ms,
                          PlainUnit plain) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  std::string shown = names;
  for (auto& c : shown) c = c == ',' ? '/' : c;
  std::string unit = plain == PlainUnit::kMilliseconds ? "milliseconds" : "seconds";
  return app
      .add_option(names, var,
                  description + " (like 500ms, 5s or 2m; a plain number is " + unit + ")")
      ->transform(duration(shown, lo_ms, hi_ms, plain))
      ->type_name("DURATION");
}

// An old spelling kept for a release: `old` (an option that stores where its new spelling does)
// is hidden from --help and the completions, and using it, on the command line or in the config
// file, writes one warning on stderr naming `instead`, the new spelling ("--flush-interval").
// Returns `old`.
CLI::Option* deprecated(CLI::Option* old, const std::string& instead);
// The new spelling of a deprecated option, or nullptr.
const std::string* deprecated_instead(const CLI::Option* opt);
// Notes that `opt`, when deprecated, was used: the warning "-m is deprecated ...; write --merge"
// is kept for warn_deprecated, once per option. `spelled` is how the user wrote it ("-m", or
// "the key 'm' of the config file ..."); `as_key` names the new spelling as a config key.
void note_deprecated(const CLI::Option* opt, const std::string& spelled, bool as_key = false);
// Notes each deprecated option `command` was given, then writes the warnings noted (one line
// each, diag::warning: -q silences them).
void warn_deprecated(const CLI::App& command);

// Ends the --help of `app` (after its footer, if any) with an "Examples:" section: each line a
// command line that runs as written (tests/cli/commands.bats runs or parses each one).
void add_examples(CLI::App& app, const std::vector<std::string>& lines);

// Refuses (UsageError) a value of any option of `app` or of its parsed subcommands that is not
// valid UTF-8: such values end up in JSON text (tag's --prefix and --id-field, predict's --keep,
// train's --label and --param in the bundle) or in InfluxDB's line protocol, which must be UTF-8.
// Paths are let through (options whose type is PATH, FILE, DIR, ...): a file name is bytes.
void check_utf8_values(const CLI::App& app);

// Parses a size: a number with an optional K, M, G or T suffix (powers of 1024; KB and KiB
// are read as K, and a trailing B alone means bytes) or a '%' of physical memory. Throws
// UsageError naming `option`.
size_t parse_size(const std::string& text, const std::string& option);

}  // namespace cdn::cli
