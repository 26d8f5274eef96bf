// Where records come from: the Source interface every input implements, and NDJSON or CSV
// (optionally gzipped) read from files or stdin.
// A Source yields the text of each record with its origin; records it cannot turn into
// JSON text (a malformed CSV row) go to the rejects sink, counted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/record/counts.hpp"
#include "common/record/property_types.hpp"

namespace cdn::record {

enum class Format { automatic, ndjson, csv };

// Parses "auto", "ndjson", "csv"; throws UsageError otherwise.
Format parse_format(const std::string& name);
// From the name: .csv[.gz] is CSV, everything else (and stdin) NDJSON.
Format detect_format(const std::string& spec);

struct Record {
  // The record's JSON text; at least kPadding readable bytes follow it (simdjson-ready).
  std::string_view text;
  uint64_t line = 0;  // line number where it starts in its source
  // The Kafka message key it came with (valid until the next record), for outputs that keep
  // it; nullopt for a message without one and for every other source.
  std::optional<std::string_view> key;
  // The Kafka message's timestamp (ms since the epoch; the producer's CreateTime unless the
  // topic says LogAppendTime); 0 when it has none and for every other source.
  int64_t message_ms = 0;
};

// The keys of the records of a batch, by the record's index in it, kept only once one
// record has a key (so a batch from a file costs nothing).
class Keys {
 public:
  void set(size_t index, std::optional<std::string_view> key) {
    if (!key && spans_.size() <= index) return;  // none is what get() says past the end
    if (spans_.size() <= index) spans_.resize(index + 1, {0, -1});
    auto begin = static_cast<uint32_t>(bytes_.size());
    if (key) bytes_.append(*key);
    spans_[index] = {begin, key ? static_cast<int64_t>(key->size()) : -1};
  }
  std::optional<std::string_view> get(size_t index) const {
    if (index >= spans_.size() || spans_[index].second < 0) return std::nullopt;
    return std::string_view(bytes_).substr(spans_[index].first,
                                           static_cast<size_t>(spans_[index].second));
  }
  bool empty() const { return spans_.empty(); }
  void clear() {
    bytes_.clear();
    spans_.clear();
  }

 private:
  std::string bytes_;
  std::vector<std::pair<uint32_t, int64_t>> spans_;  // offset in bytes_, length (-1: none)
};

// A run of whole lines of a memory-mapped NDJSON file, for a caller that splits lines itself
// (on several threads). Lines are numbered on from the previous chunk of the same source;
// `starts_source`: this chunk opens it (line 1, where a UTF-8 BOM may stand). `readable`:
// bytes that may be read from bytes.data(), at least bytes.size() (the mapping goes on: a
// line ending less than kPadding bytes before the end of it needs a padded copy for simdjson).
struct LineChunk {
  std::string_view bytes;
  size_t readable = 0;
  bool starts_source = false;
};

enum class ChunkResult { chunk, end, records };

// Trims a raw NDJSON line to its record: drops a UTF-8 BOM on the first line and a trailing
// CR. False for a blank line, which is skipped and not counted.
bool trim_ndjson_line(std::string_view& line, bool first_line);

class Source {
 public:
  virtual ~Source() = default;
  // Next record, or false at end of input (or after a stop request).
  virtual bool next(Record& rec) = 0;
  virtual const std::string& name() const = 0;
  // True when the text of every record stays valid (and padded) for the life of the
  // source, not just until the next call: the records of a memory-mapped file.
  virtual bool stable() const { return false; }
  // Bytes of input when known up front (a mapped file), else 0.
  virtual size_t size_hint() const { return 0; }
  // True when the source must hear that its records are safely written (a Kafka input in a
  // consumer group commits its offsets then): it is kept open until acknowledge().
  virtual bool acknowledges() const { return false; }
  // Everything this source yielded so far has been written and the output committed.
  // Throws RuntimeError when the acknowledgement cannot be passed on (a failed commit).
  virtual void acknowledge() {}
  // `f` runs whenever next() is about to wait for records that have not arrived yet (a
  // Kafka topic with nothing new, a pipe with nothing to read; for a pipe also every 100 ms
  // of the wait): a filter flushes its output there, so a live stream does not sit in a
  // buffer. Sources that never wait ignore it.
  virtual void on_idle(std::function<void()> f) { (void)f; }
  // Mapped files hand out their lines in chunks of about `size` bytes: `chunk`, or `end` when
  // none is left. Other sources say `records`: read them with next(). A source is read one
  // way or the other, never both; records in chunks are the caller's to count in counts.in.
  virtual ChunkResult next_chunk(LineChunk& c, size_t size) {
    (void)c;
    (void)size;
    return ChunkResult::records;
  }
};

struct SourceOptions {
  Format format = Format::automatic;
  const PropertyTypes* csv_types = nullptr;  // types CSV cells; null = infer
  // Regular, uncompressed NDJSON files up to this size are memory-mapped instead of read,
  // so their records need no copy (see Source::stable). 0 = never.
  size_t map_limit = 0;
};

// Opens a file, or stdin for "-", as NDJSON or CSV (by opts.format, else by the name).
// Every record read (good or rejected) counts in counts.in. Throws RuntimeError/UsageError.
std::unique_ptr<Source> open_file_source(const std::string& spec, const SourceOptions& opts,
                                         Rejects& rejects, Counts& counts);

}  // namespace cdn::record
