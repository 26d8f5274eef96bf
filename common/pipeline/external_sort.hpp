// Sorting records that may not fit in memory: records are kept byte for byte in an arena
// with their keys; past the memory budget a sorted run spills to a temporary file; at the
// end the runs (and what is still in memory) are k-way merged. Stable: equal keys keep
// their input order. Temporary files are removed on every exit path.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/temp_file.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/message_key.hpp"
#include "common/record/sort_key.hpp"
#include "common/record/source.hpp"

namespace cdn::pipeline {

enum class MissingPolicy { reject, first, last };
MissingPolicy parse_missing_policy(const std::string& name);  // throws UsageError

struct SortOptions {
  std::string key = "timestamp";
  record::KeyType key_type = record::KeyType::automatic;
  bool reverse = false;
  MissingPolicy missing = MissingPolicy::reject;
  // Every record checked as one JSON document; otherwise records are read only as far as the
  // key (see record::KeyExtractor::extract_fast) and must be valid UTF-8.
  bool strict_json = false;
  size_t buffer_bytes = size_t{1} << 30;
  std::string temp_dir = "/tmp";
  size_t merge_fan_in = 128;  // runs merged at once; more runs merge in several passes
  // --key-field: on a rejects topic a record is keyed by this field when it gives a key, else
  // by its own message key (outputs: see endpoint::keyed_by_field).
  std::string key_field;
};

// Rejects records of a sort, each with its Kafka message key or --key-field's when the
// rejects are a topic.
class SortRejects {
 public:
  SortRejects(const SortOptions& opts, record::Rejects& rejects);
  void reject(std::string_view source, uint64_t line, std::string_view reason,
              std::string_view text, std::optional<std::string_view> message_key);

 private:
  record::Rejects& rejects_;
  record::KeyField field_;  // empty unless the rejects take keys
  std::string buf_;
  simdjson::dom::parser parser_;
};

// Turns records into keys, applying the missing-key policy.
class Keyer {
 public:
  explicit Keyer(const SortOptions& opts);
  // Thread-safe with one parser per thread. False (with `reason`) when the record cannot be
  // placed and must be rejected. String keys point into the parser or the text: copy before
  // reusing either. `utf8_checked`: the caller has checked that the text is valid UTF-8.
  bool key_of(simdjson::dom::parser& parser, std::string_view text, record::SortKey& key,
              std::string& reason, bool utf8_checked = false) const;
  // The same for a document already parsed.
  bool key_of(simdjson::dom::element doc, record::SortKey& key, std::string& reason) const;
  // Orders a before b (honouring --reverse; ties are the caller's).
  bool strict_json() const { return strict_json_; }
  bool before(const record::SortKey& a, const record::SortKey& b) const {
    int c = record::compare_keys(a, b);
    return reverse_ ? c > 0 : c < 0;
  }

 private:
  record::KeyExtractor extractor_;
  MissingPolicy missing_;
  bool reverse_;
  bool strict_json_;
};

template <class Batch>
class OrderedBatches;

// A sorted run on disk. `keyed`: each of its lines carries its record's Kafka message key
// (see RunWriter); runs of records without keys are plain NDJSON.
struct SpilledRun {
  io::TempFile file;
  bool keyed = false;
};

// The Kafka message keys of the records of an in-memory run, by sequence number; made only
// once a record has a key, so a sort of files costs nothing.
class MessageKeys;

class ExternalSorter {
 public:
  ExternalSorter(const SortOptions& opts, RunContext& ctx);
  ~ExternalSorter();

  // Adds one record; keys are extracted on worker threads. The text is copied unless
  // `stable`: then it must stay valid, with its padding, until finish() returns.
  // `message_key`: the Kafka message key it came with, kept to its output and its reject
  // when either is a Kafka topic (copied).
  void add(std::string_view text, std::string_view source, uint64_t line, bool stable = false,
           std::optional<std::string_view> message_key = std::nullopt);
  // Adds the records of a chunk of a mapped file (see record::Source::next_chunk): lines are split
  // and keyed on worker threads, and counted in the context's counts.in. The chunk's bytes
  // must stay valid until finish() returns.
  void add_chunk(const record::LineChunk& chunk, std::string_view source);
  // Writes every record, in order, to the context's output.
  void finish();

  size_t spilled_runs() const { return spilled_; }

  // 32 bytes per record: the key words, the text, and the kind with the record's sequence
  // number in this in-memory run (ties keep input order).
  struct Entry {
    uint64_t a, b;  // SortKey::a and b; for a string key, b indexes strings_
    const char* text;
    uint32_t len;
    uint32_t tag;  // kind << kKindShift | kNewline when a '\n' follows the text | sequence
  };
  static constexpr unsigned kSeqBits = 28;
  static constexpr uint32_t kSeqMask = (uint32_t{1} << kSeqBits) - 1;
  static constexpr uint32_t kNewline = uint32_t{1} << kSeqBits;
  static constexpr unsigned kKindShift = kSeqBits + 1;
  static unsigned kind_of(const Entry& e) { return e.tag >> kKindShift; }
  static std::string_view text_of(const Entry& e) { return {e.text, e.len}; }
  // The full key of an entry, for merging.
  record::SortKey key_of(const Entry& e) const;
  // The Kafka message key of an entry's record, if it had one.
  std::optional<std::string_view> message_key_of(const Entry& e) const;
  // Key order (honouring --reverse), then sequence.
  bool entry_before(const Entry& x, const Entry& y) const;
  struct Batch;

 private:
  char* arena_alloc(size_t n);
  void submit_batch();
  void check_budget();
  void collect(std::unique_ptr<Batch>& batch);
  void sort_memory();
  bool sort_compact();
  void apply_ranks();
  template <class Emit>
  void emit_sorted(Emit&& emit);
  void spill();
  void reset_memory();

  SortOptions opts_;
  RunContext& ctx_;
  Keyer keyer_;
  SortRejects rejects_;
  // Batches keyed on worker threads and collected in input order (see collect).
  std::unique_ptr<OrderedBatches<Batch>> batches_;
  std::vector<std::unique_ptr<Batch>> kept_;  // batches whose key buffers entries point into
  std::vector<Entry> entries_;
  std::vector<std::string_view> strings_;  // string keys of entries_
  size_t sorted_split_ = 0;                // entries_[0, split) and [split, end) are each sorted
  // When every key fits one 64-bit word (see sort_compact): entries_ stay in input order and
  // ranks_[0, split) and [split, end) are each sorted instead.
  struct Rank {
    uint64_t key;
    uint32_t index;
  };
  std::vector<Rank> ranks_;
  static void sort_ranks(Rank* first, Rank* last);
  struct Block;
  std::vector<Block> blocks_;
  std::vector<Block> spare_blocks_;  // blocks of runs already spilled, for the next run
  size_t block_used_ = 0, block_size_ = 0;
  size_t arena_bytes_ = 0;
  size_t mapped_bytes_ = 0;   // stable (memory-mapped) records added
  uint64_t seq_ = 0;          // records added to this in-memory run (chunks: once collected)
  uint64_t chunk_bound_ = 0;  // most records the chunks with the workers can hold
  uint64_t chunk_line_ = 0;   // lines of the current mapped source in chunks collected
  // Message keys are kept only when the output or the rejects are a Kafka topic.
  bool keep_keys_ = false;
  std::unique_ptr<MessageKeys> keys_;  // of the in-memory run; null while none had a key
  std::vector<SpilledRun> runs_;
  size_t spilled_ = 0;
};

// Opens one input by what the user wrote (endpoint::open_source).
using OpenSource = std::function<std::unique_ptr<record::Source>(const std::string& spec)>;

// `sort --merge`: merges inputs that are each already sorted ("-" when `specs` is empty).
void merge_sorted_inputs(const std::vector<std::string>& specs, const OpenSource& open,
                         const SortOptions& opts, RunContext& ctx);

// `sort --check`: returns true when in order; otherwise reports the first record out of order
// on stderr.
bool check_sorted(record::Source& input, const SortOptions& opts, RunContext& ctx);

}  // namespace cdn::pipeline
