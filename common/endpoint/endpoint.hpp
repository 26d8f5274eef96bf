// What a user writes for an input or an output, opened: "-" (stdin, or stdout for an output
// and stderr for rejects), a path (NDJSON or CSV, optionally .gz), or kafka:TOPIC. This is
// the one place that reads those words; the layers below open files (record/, io/) and
// topics (kafka/) by what they are.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/io/sink.hpp"
#include "common/record/counts.hpp"
#include "common/record/field_watch.hpp"
#include "common/record/source.hpp"

namespace cdn::endpoint {

// "kafka:TOPIC" -> "TOPIC"; nullopt for anything else. Throws UsageError on "kafka:" with no
// topic.
std::optional<std::string> kafka_topic(const std::string& spec);
inline bool is_kafka(const std::string& spec) {
  return spec.rfind("kafka:", 0) == 0;
}

// Opens one input. Every record read (good or rejected) counts in counts.in. Throws
// RuntimeError/UsageError (kafka:TOPIC without the Kafka part built in).
std::unique_ptr<record::Source> open_source(const std::string& spec,
                                            const record::SourceOptions& opts,
                                            record::Rejects& rejects, record::Counts& counts);

enum class Compression { automatic, none, gzip };
// Parses "auto", "none", "gzip"; throws UsageError otherwise.
Compression parse_compression(const std::string& name);

// How an output of records is written: --output-format and --compress. Automatic takes both
// from the name: FILE.csv is CSV, anything else (.ndjson, .jsonl, .json, a name without
// those) NDJSON, and a name ending in .gz is gzip-compressed; stdout ('-') is plain NDJSON.
struct OutputFormat {
  record::Format format = record::Format::automatic;
  Compression compression = Compression::automatic;
  const record::PropertyTypes* csv_types = nullptr;  // --schema: CSV columns and their types
};
// The format an output is written in, and whether it is compressed, once settled.
record::Format output_format(const std::string& spec, record::Format format);
bool output_compressed(const std::string& spec, Compression compression);

// Opens one output of records: "-" is stdout. NDJSON lines are written as they are given,
// CSV through record::csv_sink, then gzip-compressed when so settled. Throws UsageError
// (CSV or gzip to kafka:TOPIC) / RuntimeError.
std::unique_ptr<io::Sink> open_output(const std::string& spec, const OutputFormat& format);
// Opens an output of lines written as they are given, whatever the name says (cdn gen writes
// its own CSV; load-influx --dry-run line protocol), gzip-compressed when the name ends in .gz.
std::unique_ptr<io::Sink> open_output(const std::string& spec);
// --key-field for a command that writes its records' lines as they are (sort): `out` when it
// does not take keys (not a Kafka topic) or `field` is empty; else a sink that hands each line
// to `out` with the key record::KeyField reads from it (the line read only as far as the
// field), or the key the line is written with when the field gives none.
std::unique_ptr<io::Sink> keyed_by_field(std::unique_ptr<io::Sink> out, const std::string& field);
// Opens the rejects sink: "-" is stderr; NDJSON, gzip-compressed when the name ends in .gz.
// A name ending in .csv[.gz] is a UsageError: reject lines are NDJSON, whatever the output.
std::unique_ptr<io::Sink> open_rejects(const std::string& spec);

// Several inputs read one after the other, as one.
class InputSet : public record::Source {
 public:
  InputSet(std::vector<std::string> specs, record::SourceOptions opts, record::Rejects& rejects,
           record::Counts& counts);
  bool next(record::Record& rec) override;
  // Chunks while the inputs are mapped files, moving on to the next input at the end of one;
  // `records` at the first input that is not (read it with next()), `end` after the last.
  record::ChunkResult next_chunk(record::LineChunk& c, size_t size) override;
  // The next record of the input now open, false at its end: after next_chunk() said
  // `records`, this reads that input alone, and the next call of next_chunk() moves on.
  bool next_in_current(record::Record& rec);
  const std::string& name() const override;
  bool stable() const override { return current_ && current_->stable(); }
  bool acknowledges() const override;
  // Acknowledges every input opened so far; those read to their end are closed then.
  void acknowledge() override;
  // Passed on to every input, including those opened later.
  void on_idle(std::function<void()> f) override;
  // The field names options gave (predict --keep, load-influx --tag, ...), held against the
  // records read: after the first ones, one warning names those no record has (see
  // record::FieldWatch). The command says which names before it reads.
  record::FieldWatch& field_watch() { return watch_; }

 private:
  std::vector<std::string> specs_;
  record::SourceOptions opts_;
  record::Rejects& rejects_;
  record::Counts& counts_;
  size_t index_ = 0;
  std::unique_ptr<record::Source> current_;
  std::function<void()> idle_;  // the command's, and the watch's
  record::FieldWatch watch_;
  bool open_next();  // opens the next input as current_; false when none is left
  // Finished sources kept open: stable ones for their views, acknowledging ones until
  // acknowledge().
  std::vector<std::unique_ptr<record::Source>> finished_;
};

}  // namespace cdn::endpoint
