// What the files of the external sort share and nothing else sees: the batches that carry
// records to the workers (external_sort_batches.cpp), and the merging of sorted streams and
// the writing of runs (external_sort_merge.cpp).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
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

// ---------------------------------------------------------------------------------------
// Merging: a stream yields records in key order with their keys.

class MergeStream {
 public:
  virtual ~MergeStream() = default;
  // Advances; false at end. text/key stay valid until the next call.
  virtual bool next() = 0;
  std::string_view text;
  record::SortKey key;

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
std::unique_ptr<MergeStream> run_stream(const std::string& path, const Keyer& keyer, size_t buffer);
// A sorted range of in-memory entries.
std::unique_ptr<MergeStream> memory_stream(const ExternalSorter& sorter,
                                           const ExternalSorter::Entry* begin,
                                           const ExternalSorter::Entry* end);

// k-way merge; ties go to the stream listed first (streams are in input order).
void merge_streams(std::vector<std::unique_ptr<MergeStream>>& streams, const Keyer& keyer,
                   const std::function<void(std::string_view)>& emit);

// How many sorted streams read from files one merge may hold open: at most `wanted`, and no
// more than the descriptors left (RLIMIT_NOFILE, see base::descriptors_free) less a few for
// the run a pass writes and for what else opens a file meanwhile. 2 at least.
size_t merge_fan_in(size_t wanted);

// Merges the runs `runs` in passes, `fan_in` at a time in input order (ties keep going to
// the earlier run), until at most `fan_in` are left.
void merge_runs_down(std::vector<io::TempFile>& runs, size_t fan_in, const Keyer& keyer,
                     const std::string& temp_dir, size_t buffer);

// Buffered writes of lines to a temporary file.
class RunWriter {
 public:
  explicit RunWriter(io::TempFile& file) : file_(file) { buf_.reserve(kFlush + 4096); }
  void line(std::string_view t) {
    buf_.append(t.data(), t.size());
    buf_ += '\n';
    if (buf_.size() >= kFlush) flush();
  }
  void flush();

 private:
  static constexpr size_t kFlush = size_t{1} << 20;
  io::TempFile& file_;
  std::string buf_;
};

}  // namespace cdn::pipeline
