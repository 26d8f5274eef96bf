// What the files of the external sort share and nothing else sees: the batches that carry
// records to the workers (external_sort_batches.cpp), and the merging of sorted streams and
// the writing of runs (external_sort_merge.cpp).
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/io/temp_file.hpp"
#include "common/pipeline/external_sort.hpp"
#include "common/record/sort_key.hpp"

namespace cdn::pipeline {

constexpr size_t kBatchRecords = 4096;
constexpr size_t kBatchBytes = size_t{1} << 20;

// Records are copied into arena blocks on the reading thread and cut into batches; worker
// threads parse each batch and extract its keys. Batches are collected in input order, so
// rejects come out in input order and `seq` numbers keep the sort stable.

struct ExternalSorter::Batch {
  std::string source;
  uint64_t first_seq = 0;  // added to the entries' sequence numbers when collected
  size_t bytes = 0;
  std::vector<std::string_view> texts;  // into the arena
  std::vector<uint64_t> lines;
  std::vector<Entry> entries;                               // string keys: b indexes string_spans
  std::vector<std::pair<uint32_t, std::string>> failures;   // index into texts, reason
  std::string key_strings;                                  // string keys, when the key is one
  std::vector<std::pair<uint32_t, uint32_t>> string_spans;  // offset, length in key_strings
  // A chunk of a mapped file, split into texts by the worker; lines count from the chunk.
  bool is_chunk = false;
  record::LineChunk chunk;
  uint64_t chunk_lines = 0;
  std::deque<std::string> tails;  // padded copies of lines too near the end of the mapping

  void clear() {
    source.clear();
    first_seq = 0;
    bytes = 0;
    texts.clear();
    lines.clear();
    entries.clear();
    failures.clear();
    key_strings.clear();
    string_spans.clear();
    is_chunk = false;
    chunk = {};
    chunk_lines = 0;
    tails.clear();
  }
};

// Splits (when it is a chunk) and keys a batch: what a worker does.
void extract_batch(const Keyer& keyer, ExternalSorter::Batch& b);

class MessageKeys {
 public:
  // The key of the record with sequence number `seq` (copied); none is what get() says of a
  // record never set.
  void set(uint64_t seq, std::optional<std::string_view> key) {
    if (!key && spans_.size() <= seq) return;
    if (spans_.size() <= seq) spans_.resize(seq + 1, Span{nullptr, -1});
    spans_[seq] = key ? Span{copy(*key), static_cast<int64_t>(key->size())} : Span{nullptr, -1};
  }
  std::optional<std::string_view> get(uint64_t seq) const {
    if (seq >= spans_.size() || spans_[seq].len < 0) return std::nullopt;
    return std::string_view(spans_[seq].data, static_cast<size_t>(spans_[seq].len));
  }
  // Memory held, for the budget.
  size_t bytes() const { return spans_.capacity() * sizeof(Span) + block_bytes_; }

 private:
  struct Span {
    const char* data;
    int64_t len;  // -1: no key
  };
  static constexpr size_t kBlock = size_t{64} << 10;
  // Into blocks that never grow, so earlier keys stay where they are.
  const char* copy(std::string_view key) {
    if (blocks_.empty() || blocks_.back().capacity() - blocks_.back().size() < key.size()) {
      blocks_.emplace_back().reserve(std::max(kBlock, key.size()));
      block_bytes_ += blocks_.back().capacity();
    }
    std::string& b = blocks_.back();
    size_t at = b.size();
    b.append(key);
    return b.data() + at;
  }
  std::vector<Span> spans_;
  std::vector<std::string> blocks_;
  size_t block_bytes_ = 0;
};

// ---------------------------------------------------------------------------------------
// Merging: a stream yields records in key order with their keys.

class MergeStream {
 public:
  virtual ~MergeStream() = default;
  // Advances; false at end. text/key/message_key stay valid until the next call.
  virtual bool next() = 0;
  std::string_view text;
  record::SortKey key;
  std::optional<std::string_view> message_key;  // the record's Kafka message key

 protected:
  // Keeps a string key alive past the next parse.
  void own_key_string() {
    if (key.kind == static_cast<uint8_t>(record::KeyKind::string)) {
      str_.assign(key.str, key.len);
      key.str = str_.data();
    }
  }
  std::string str_;
};

// A spilled run, read `buffer` bytes at a time; its keys are extracted again.
std::unique_ptr<MergeStream> run_stream(const SpilledRun& run, const Keyer& keyer, size_t buffer);
// A sorted range of in-memory entries.
std::unique_ptr<MergeStream> memory_stream(const ExternalSorter& sorter,
                                           const ExternalSorter::Entry* begin,
                                           const ExternalSorter::Entry* end);

// A merged record: its text and its Kafka message key.
using EmitKeyed = std::function<void(std::string_view, std::optional<std::string_view>)>;

// k-way merge; ties go to the stream listed first (streams are in input order).
void merge_streams(std::vector<std::unique_ptr<MergeStream>>& streams, const Keyer& keyer,
                   const EmitKeyed& emit);

// How many sorted streams read from files one merge may hold open: at most `wanted`, and no
// more than the descriptors left (RLIMIT_NOFILE, see base::descriptors_free) less a few for
// the run a pass writes and for what else opens a file meanwhile. 2 at least.
size_t merge_fan_in(size_t wanted);

// Merges the runs `runs` in passes, `fan_in` at a time in input order (ties keep going to
// the earlier run), until at most `fan_in` are left.
void merge_runs_down(std::vector<SpilledRun>& runs, size_t fan_in, const Keyer& keyer,
                     const std::string& temp_dir, size_t buffer);

// Buffered writes of lines to a run. In a keyed run each line starts with its record's message
// key in hex ("-" for none) and a space: keys may hold any byte, a newline too.
class RunWriter {
 public:
  explicit RunWriter(SpilledRun& run) : file_(run.file), keyed_(run.keyed) {
    buf_.reserve(kFlush + 4096);
  }
  void line(std::string_view t, std::optional<std::string_view> key = std::nullopt) {
    if (keyed_) put_key(key);
    buf_.append(t.data(), t.size());
    buf_ += '\n';
    if (buf_.size() >= kFlush) flush();
  }
  void flush();

 private:
  void put_key(std::optional<std::string_view> key) {
    static constexpr char kHex[] = "0123456789abcdef";
    if (!key) {
      buf_ += "- ";
      return;
    }
    for (unsigned char c : *key) {
      buf_ += kHex[c >> 4];
      buf_ += kHex[c & 15];
    }
    buf_ += ' ';
  }
  static constexpr size_t kFlush = size_t{1} << 20;
  io::TempFile& file_;
  bool keyed_;
  std::string buf_;
};

// Splits a line of a keyed run (see RunWriter) into its record's text and message key (decoded
// into `buf`); false when the line is not one RunWriter wrote.
bool split_keyed_line(std::string_view line, std::string_view& text,
                      std::optional<std::string_view>& key, std::string& buf);

}  // namespace cdn::pipeline
