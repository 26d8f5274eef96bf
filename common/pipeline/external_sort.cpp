#include "common/pipeline/external_sort.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <queue>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/io/signals.hpp"
#include "common/io/sink.hpp"

namespace cdn::pipeline {

using record::KeyKind;
using record::SortKey;

MissingPolicy parse_missing_policy(const std::string& name) {
  if (name == "reject") return MissingPolicy::reject;
  if (name == "first") return MissingPolicy::first;
  if (name == "last") return MissingPolicy::last;
  throw UsageError("unknown --missing policy " + diag::quoted(name) +
                   "; use reject, first or last");
}

Keyer::Keyer(const SortOptions& opts, Rejects& rejects)
    : extractor_(opts.key, opts.key_type),
      missing_(opts.missing),
      reverse_(opts.reverse),
      rejects_(rejects) {}

bool Keyer::key_of(std::string_view text, std::string_view source, uint64_t line, SortKey& key) {
  using R = record::KeyExtractor::Result;
  R r = extractor_.extract(parser_, text, key, reason_);
  if (r == R::ok) return true;
  if (r != R::invalid_json && missing_ != MissingPolicy::reject) {
    // Placed first or last whatever the direction; among themselves in input order.
    bool first = missing_ == MissingPolicy::first;
    if (reverse_) first = !first;
    key = SortKey{};
    key.kind = static_cast<uint8_t>(first ? KeyKind::first : KeyKind::last);
    return true;
  }
  rejects_.reject(source, line, reason_, text);
  return false;
}

// ---------------------------------------------------------------------------------------
// Merging: a stream yields records in key order with their keys.

namespace {

class MergeStream {
 public:
  virtual ~MergeStream() = default;
  // Advances; false at end. text/key stay valid until the next call.
  virtual bool next() = 0;
  std::string_view text;
  SortKey key;
};

// A spilled run: NDJSON lines already known to be good; keys are extracted again.
class RunStream : public MergeStream {
 public:
  RunStream(const std::string& path, Keyer& keyer, size_t buffer)
      : bytes_(path), lines_(bytes_, buffer), keyer_(keyer) {}
  bool next() override {
    std::string_view line;
    if (!lines_.next(line)) return false;
    text = line;
    keyer_.key_of(text, bytes_.name(), lines_.line_number(), key);
    if (key.kind == static_cast<uint8_t>(KeyKind::string)) {
      str_.assign(key.str, key.len);
      key.str = str_.data();
    }
    return true;
  }

 private:
  io::ByteReader bytes_;
  io::LineReader lines_;
  Keyer& keyer_;
  std::string str_;
};

// An input of `--merge`: bad records go to rejects, the rest is taken as sorted.
class SourceStream : public MergeStream {
 public:
  SourceStream(std::unique_ptr<io::Source> src, Keyer& keyer)
      : src_(std::move(src)), keyer_(keyer) {}
  bool next() override {
    io::Record rec;
    while (src_->next(rec)) {
      if (!keyer_.key_of(rec.text, src_->name(), rec.line, key)) continue;
      text = rec.text;
      if (key.kind == static_cast<uint8_t>(KeyKind::string)) {
        str_.assign(key.str, key.len);
        key.str = str_.data();
      }
      return true;
    }
    return false;
  }

 private:
  std::unique_ptr<io::Source> src_;
  Keyer& keyer_;
  std::string str_;
};

template <class Entry>
class MemoryStream : public MergeStream {
 public:
  explicit MemoryStream(const std::vector<Entry>& entries) : entries_(entries) {}
  bool next() override {
    if (i_ >= entries_.size()) return false;
    text = std::string_view(entries_[i_].text, entries_[i_].len);
    key = entries_[i_].key;
    ++i_;
    return true;
  }

 private:
  const std::vector<Entry>& entries_;
  size_t i_ = 0;
};

// k-way merge; ties go to the stream listed first (streams are in input order).
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

constexpr size_t kMaxMergeFanIn = 128;

}  // namespace

// ---------------------------------------------------------------------------------------

ExternalSorter::ExternalSorter(const SortOptions& opts, RunContext& ctx)
    : opts_(opts), ctx_(ctx), keyer_(opts, ctx.rejects()) {}

ExternalSorter::~ExternalSorter() = default;

char* ExternalSorter::arena_alloc(size_t n) {
  if (block_used_ + n > block_size_) {
    // Blocks small enough that the budget holds many of them.
    size_t preferred =
        std::clamp<size_t>(opts_.buffer_bytes / 16, size_t{64} << 10, size_t{8} << 20);
    block_size_ = std::max(n, preferred);
    blocks_.emplace_back(new char[block_size_]);
    block_used_ = 0;
    arena_bytes_ += block_size_;
  }
  char* p = blocks_.back().get() + block_used_;
  block_used_ += n;
  return p;
}

void ExternalSorter::add(std::string_view text, std::string_view source, uint64_t line) {
  SortKey key;
  if (!keyer_.key_of(text, source, line, key)) return;
  if (text.size() > UINT32_MAX) {
    ctx_.rejects().reject(source, line, "record longer than 4 GiB", text.substr(0, 1024));
    return;
  }
  char* t =
      arena_alloc(text.size() + (key.kind == static_cast<uint8_t>(KeyKind::string) ? key.len : 0));
  std::memcpy(t, text.data(), text.size());
  if (key.kind == static_cast<uint8_t>(KeyKind::string)) {
    char* s = t + text.size();
    std::memcpy(s, key.str, key.len);
    key.str = s;
  }
  entries_.push_back(Entry{key, t, static_cast<uint32_t>(text.size()), 0, seq_++});
  if (arena_bytes_ + entries_.capacity() * sizeof(Entry) > opts_.buffer_bytes &&
      entries_.size() > 1) {
    spill();
  }
}

void ExternalSorter::sort_memory() {
  const Keyer& k = keyer_;
  std::sort(entries_.begin(), entries_.end(), [&k](const Entry& a, const Entry& b) {
    if (k.before(a.key, b.key)) return true;
    if (k.before(b.key, a.key)) return false;
    return a.seq < b.seq;
  });
}

void ExternalSorter::reset_memory() {
  entries_.clear();
  blocks_.clear();
  block_used_ = block_size_ = 0;
  arena_bytes_ = 0;
}

void ExternalSorter::spill() {
  io::throw_if_stopped();
  sort_memory();
  runs_.emplace_back(opts_.temp_dir, "cdn-sort-run.");
  ++spilled_;
  io::TempFile& run = runs_.back();
  std::string buf;
  buf.reserve(size_t{1} << 20);
  for (const Entry& e : entries_) {
    buf.append(e.text, e.len);
    buf += '\n';
    if (buf.size() >= (size_t{1} << 20)) {
      io::write_all(run.fd(), buf.data(), buf.size(), run.path(), false);
      buf.clear();
    }
  }
  io::write_all(run.fd(), buf.data(), buf.size(), run.path(), false);
  run.close();
  diag::debug("spilled run " + std::to_string(runs_.size()) + " (" +
              std::to_string(entries_.size()) + " records) to " + run.path());
  // Keep the entry vector's capacity: the next run will need as much.
  size_t cap = entries_.capacity();
  reset_memory();
  entries_.reserve(cap);
}

void ExternalSorter::finish() {
  io::throw_if_stopped();  // input ended because of a stop: no partial sorted output
  if (runs_.empty()) {
    sort_memory();
    for (const Entry& e : entries_) ctx_.emit(std::string_view(e.text, e.len));
    return;
  }
  sort_memory();
  // Too many runs for one merge: merge groups into bigger runs first.
  const size_t fan_in = std::max<size_t>(2, opts_.merge_fan_in);
  size_t per_stream = std::max<size_t>(size_t{64} << 10, opts_.buffer_bytes / (fan_in + 2));
  while (runs_.size() + 1 > fan_in) {
    std::vector<io::TempFile> merged;
    for (size_t g = 0; g < runs_.size(); g += fan_in) {
      std::vector<std::unique_ptr<MergeStream>> streams;
      size_t end = std::min(runs_.size(), g + fan_in);
      for (size_t i = g; i < end; ++i)
        streams.push_back(std::make_unique<RunStream>(runs_[i].path(), keyer_, per_stream));
      merged.emplace_back(opts_.temp_dir, "cdn-sort-run.");
      io::TempFile& out = merged.back();
      std::string buf;
      merge_streams(streams, keyer_, [&](std::string_view t) {
        buf.append(t.data(), t.size());
        buf += '\n';
        if (buf.size() >= (size_t{1} << 20)) {
          io::write_all(out.fd(), buf.data(), buf.size(), out.path(), false);
          buf.clear();
        }
      });
      io::write_all(out.fd(), buf.data(), buf.size(), out.path(), false);
      out.close();
    }
    runs_ = std::move(merged);
  }
  std::vector<std::unique_ptr<MergeStream>> streams;
  size_t stream_buf =
      std::max<size_t>(size_t{64} << 10, (opts_.buffer_bytes / 2) / (runs_.size() + 1));
  stream_buf = std::min<size_t>(stream_buf, size_t{4} << 20);
  for (auto& r : runs_)
    streams.push_back(std::make_unique<RunStream>(r.path(), keyer_, stream_buf));
  streams.push_back(std::make_unique<MemoryStream<Entry>>(entries_));
  merge_streams(streams, keyer_, [&](std::string_view t) { ctx_.emit(t); });
}

void merge_sorted_inputs(const std::vector<std::string>& specs, const io::SourceOptions& src_opts,
                         const SortOptions& opts, RunContext& ctx) {
  Keyer keyer(opts, ctx.rejects());
  std::vector<std::unique_ptr<MergeStream>> streams;
  std::vector<std::string> list = specs.empty() ? std::vector<std::string>{"-"} : specs;
  if (list.size() > kMaxMergeFanIn * 4) {
    throw UsageError("too many inputs to merge (" + std::to_string(list.size()) +
                     "); merge at most " + std::to_string(kMaxMergeFanIn * 4) + " at a time");
  }
  for (const auto& s : list) {
    streams.push_back(std::make_unique<SourceStream>(
        io::open_source(s, src_opts, ctx.rejects(), ctx.counts()), keyer));
  }
  merge_streams(streams, keyer, [&](std::string_view t) { ctx.emit(t); });
  io::throw_if_stopped();
}

bool check_sorted(io::Source& input, const SortOptions& opts, RunContext& ctx) {
  Keyer keyer(opts, ctx.rejects());
  io::Record rec;
  SortKey prev, key;
  std::string prev_str;
  bool have_prev = false;
  while (input.next(rec)) {
    if (!keyer.key_of(rec.text, input.name(), rec.line, key)) continue;
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
