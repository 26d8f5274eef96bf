// Merging sorted streams (the runs a sort spilled, the inputs of `sort --merge`), writing
// runs, and `sort --check`.
#include <cerrno>
#include <queue>

#include "common/base/fd.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/io/signals.hpp"
#include "common/pipeline/external_sort_internal.hpp"

namespace cdn::pipeline {

using record::KeyKind;
using record::SortKey;

namespace {

constexpr size_t kMaxMergeInputs = 512;

// A spilled run: NDJSON lines already known to be good; keys are extracted again.
class RunStream : public MergeStream {
 public:
  RunStream(const std::string& path, const Keyer& keyer, size_t buffer)
      : bytes_(path), lines_(bytes_, buffer), keyer_(keyer) {}
  bool next() override {
    std::string_view line;
    if (!lines_.next(line)) return false;
    text = line;
    // Its lines were checked (UTF-8 included) before they were spilled.
    if (!keyer_.key_of(parser_, text, key, reason_, true)) {
      throw RuntimeError("spilled run " + diag::quoted(bytes_.name()) +
                         " was changed while sorting: " + reason_);
    }
    own_key_string();
    return true;
  }

 private:
  io::ByteReader bytes_;
  io::LineReader lines_;
  const Keyer& keyer_;
  simdjson::dom::parser parser_;
  std::string reason_;
};

// An input of `--merge`: bad records go to rejects, the rest is taken as sorted.
class SourceStream : public MergeStream {
 public:
  SourceStream(std::unique_ptr<record::Source> src, const Keyer& keyer, record::Rejects& rejects)
      : src_(std::move(src)), keyer_(keyer), rejects_(rejects) {}
  bool next() override {
    record::Record rec;
    while (src_->next(rec)) {
      if (!keyer_.key_of(parser_, rec.text, key, reason_)) {
        rejects_.reject(src_->name(), rec.line, reason_, rec.text);
        continue;
      }
      text = rec.text;
      own_key_string();
      return true;
    }
    return false;
  }

 private:
  std::unique_ptr<record::Source> src_;
  const Keyer& keyer_;
  record::Rejects& rejects_;
  simdjson::dom::parser parser_;
  std::string reason_;
};

// A sorted range of in-memory entries.
class MemoryStream : public MergeStream {
 public:
  using Entry = ExternalSorter::Entry;
  MemoryStream(const ExternalSorter& sorter, const Entry* begin, const Entry* end)
      : sorter_(sorter), it_(begin), end_(end) {}
  bool next() override {
    if (it_ == end_) return false;
    text = std::string_view(it_->text, it_->len);
    key = sorter_.key_of(*it_);
    ++it_;
    return true;
  }

 private:
  const ExternalSorter& sorter_;
  const Entry* it_;
  const Entry* end_;
};

}  // namespace

std::unique_ptr<MergeStream> run_stream(const std::string& path, const Keyer& keyer,
                                        size_t buffer) {
  return std::make_unique<RunStream>(path, keyer, buffer);
}

std::unique_ptr<MergeStream> memory_stream(const ExternalSorter& sorter,
                                           const ExternalSorter::Entry* begin,
                                           const ExternalSorter::Entry* end) {
  return std::make_unique<MemoryStream>(sorter, begin, end);
}

void merge_streams(std::vector<std::unique_ptr<MergeStream>>& streams, const Keyer& keyer,
                   const std::function<void(std::string_view)>& emit) {
  auto after = [&](size_t x, size_t y) {  // priority_queue wants "x comes after y"
    const SortKey& a = streams[x]->key;
    const SortKey& b = streams[y]->key;
    if (keyer.before(b, a)) return true;
    if (keyer.before(a, b)) return false;
    return x > y;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(after)> heap(after);
  for (size_t i = 0; i < streams.size(); ++i) {
    if (streams[i]->next()) heap.push(i);
  }
  uint64_t n = 0;
  while (!heap.empty()) {
    size_t i = heap.top();
    heap.pop();
    emit(streams[i]->text);
    if (streams[i]->next()) heap.push(i);
    if ((++n & 0xffff) == 0) io::throw_if_stopped();
  }
}

void RunWriter::flush() {
  if (!base::try_write_all(file_.fd(), buf_.data(), buf_.size())) {
    int err = errno;
    std::string hint;
    if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
      hint =
          "; point -T/--temporary-directory at a file system with more room, or raise "
          "-S/--buffer-size to spill less";
    }
    throw RuntimeError("cannot write the spilled run " + diag::quoted(file_.path()) + ": " +
                       errno_text(err) + hint);
  }
  buf_.clear();
}

void merge_sorted_inputs(const std::vector<std::string>& specs, const OpenSource& open,
                         const SortOptions& opts, RunContext& ctx) {
  Keyer keyer(opts);
  std::vector<std::unique_ptr<MergeStream>> streams;
  std::vector<std::string> list = specs.empty() ? std::vector<std::string>{"-"} : specs;
  if (list.size() > kMaxMergeInputs) {
    throw UsageError("too many inputs to merge (" + std::to_string(list.size()) +
                     "); merge at most " + std::to_string(kMaxMergeInputs) + " at a time");
  }
  for (const auto& s : list) {
    streams.push_back(std::make_unique<SourceStream>(open(s), keyer, ctx.rejects()));
  }
  merge_streams(streams, keyer, [&](std::string_view t) { ctx.emit(t); });
  io::throw_if_stopped();
}

bool check_sorted(record::Source& input, const SortOptions& opts, RunContext& ctx) {
  Keyer keyer(opts);
  simdjson::dom::parser parser;
  std::string reason;
  record::Record rec;
  SortKey prev, key;
  std::string prev_str;
  bool have_prev = false;
  while (input.next(rec)) {
    if (!keyer.key_of(parser, rec.text, key, reason)) {
      ctx.rejects().reject(input.name(), rec.line, reason, rec.text);
      continue;
    }
    if (have_prev && keyer.before(key, prev)) {
      std::string shown(rec.text.substr(0, 200));
      diag::error("disorder: " + input.name() + ":" + std::to_string(rec.line) + ": " + shown);
      ++ctx.counts().out;  // the record was read and judged, not rejected
      return false;
    }
    ++ctx.counts().out;
    prev = key;
    if (key.kind == static_cast<uint8_t>(KeyKind::string)) {
      prev_str.assign(key.str, key.len);
      prev.str = prev_str.data();
    }
    have_prev = true;
  }
  io::throw_if_stopped();
  return true;
}

}  // namespace cdn::pipeline
