#include "common/pipeline/external_sort.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <thread>

#include "common/base/fd.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/io/signals.hpp"
#include "common/io/sink.hpp"
#include "common/pipeline/ordered_batches.hpp"

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

Keyer::Keyer(const SortOptions& opts)
    : extractor_(opts.key, opts.key_type),
      missing_(opts.missing),
      reverse_(opts.reverse),
      strict_json_(opts.strict_json) {}

namespace {
// The missing-key policy applied to an extraction result.
bool place(record::KeyExtractor::Result r, MissingPolicy missing, bool reverse, SortKey& key) {
  using R = record::KeyExtractor::Result;
  if (r == R::ok) return true;
  if (r != R::invalid_json && missing != MissingPolicy::reject) {
    // Placed first or last whatever the direction; among themselves in input order.
    bool first = missing == MissingPolicy::first;
    if (reverse) first = !first;
    key = SortKey{};
    key.kind = static_cast<uint8_t>(first ? KeyKind::first : KeyKind::last);
    return true;
  }
  return false;
}
}  // namespace

bool Keyer::key_of(simdjson::dom::parser& parser, std::string_view text, SortKey& key,
                   std::string& reason, bool utf8_checked) const {
  if (!strict_json_ && (utf8_checked || simdjson::validate_utf8(text.data(), text.size())) &&
      extractor_.extract_fast(text, key)) {
    return true;
  }
  return place(extractor_.extract(parser, text, key, reason), missing_, reverse_, key);
}

bool Keyer::key_of(simdjson::dom::element doc, SortKey& key, std::string& reason) const {
  return place(extractor_.extract(doc, key, reason), missing_, reverse_, key);
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

 protected:
  // Keeps a string key alive past the next parse.
  void own_key_string() {
    if (key.kind == static_cast<uint8_t>(KeyKind::string)) {
      str_.assign(key.str, key.len);
      key.str = str_.data();
    }
  }
  std::string str_;
};

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

// Sorted lines to the output where they lie: a span per line (lines that follow each other
// in memory too, as in an input that was nearly sorted, make one span), written with writev.
class SpanWriter {
 public:
  explicit SpanWriter(RunContext& ctx) : ctx_(ctx) { iov_.reserve(kSpans); }
  // `newline_follows`: the byte after `t` is a '\n', written with it.
  void line(std::string_view t, bool newline_follows) {
    const char* p = t.data();
    size_t n = t.size() + (newline_follows ? 1 : 0);
    if (!iov_.empty() &&
        static_cast<const char*>(iov_.back().iov_base) + iov_.back().iov_len == p) {
      iov_.back().iov_len += n;
    } else {
      iov_.push_back(iovec{const_cast<char*>(p), n});
    }
    if (n == t.size()) iov_.push_back(iovec{const_cast<char*>("\n"), 1});
    ++lines_;
    if (iov_.size() + 2 > kSpans) flush();
  }
  void flush() {
    ctx_.out().write_spans(iov_.data(), iov_.size());
    ctx_.counts().out += lines_;
    lines_ = 0;
    iov_.clear();
  }

 private:
  static constexpr size_t kSpans = 1024;
  RunContext& ctx_;
  std::vector<iovec> iov_;
  uint64_t lines_ = 0;
};

constexpr size_t kMaxMergeInputs = 512;
constexpr size_t kBatchRecords = 4096;
constexpr size_t kBatchBytes = size_t{1} << 20;

// Buffered writes of lines to a temporary file.
class RunWriter {
 public:
  explicit RunWriter(io::TempFile& file) : file_(file) { buf_.reserve(kFlush + 4096); }
  void line(std::string_view t) {
    buf_.append(t.data(), t.size());
    buf_ += '\n';
    if (buf_.size() >= kFlush) flush();
  }
  void flush() {
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

 private:
  static constexpr size_t kFlush = size_t{1} << 20;
  io::TempFile& file_;
  std::string buf_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
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

// Arena memory straight from mmap: returned to the system as soon as a run spills.
struct ExternalSorter::Block {
  explicit Block(size_t n) : size(n) {
    void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data = static_cast<char*>(p);
  }
  Block(Block&& o) noexcept : data(o.data), size(o.size) { o.data = nullptr; }
  Block& operator=(Block&&) = delete;
  ~Block() {
    if (data) ::munmap(data, size);
  }
  char* data;
  size_t size;
};

namespace {
// Adds the entry of texts[i] given its key (or the failure).
void add_entry(ExternalSorter::Batch& b, size_t i, bool ok, SortKey& key, std::string& reason) {
  using Entry = ExternalSorter::Entry;
  if (!ok) {
    b.failures.emplace_back(static_cast<uint32_t>(i), reason);
    return;
  }
  std::string_view t = b.texts[i];
  uint64_t second = key.b;
  if (key.kind == static_cast<uint8_t>(KeyKind::string)) {
    second = b.string_spans.size();
    b.string_spans.emplace_back(static_cast<uint32_t>(b.key_strings.size()), key.len);
    b.key_strings.append(key.str, key.len);
  }
  uint32_t seq = static_cast<uint32_t>(i);  // first_seq is added when collected
  // Read here, where the line is in the cache, not when the output is written.
  uint32_t newline = t.data()[t.size()] == '\n' ? ExternalSorter::kNewline : 0;
  b.entries.push_back(Entry{key.a, second, t.data(), static_cast<uint32_t>(t.size()),
                            uint32_t{key.kind} << ExternalSorter::kKindShift | newline | seq});
}

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The bytes from a batch's first text to the end of its last, when the texts lie one after
// the other separated by whitespace only (lines of a mapped file, or records copied into the
// arena with a newline after each).
std::optional<std::string_view> contiguous_span(const ExternalSorter::Batch& b) {
  const size_t n = b.texts.size();
  if (n == 0) return std::nullopt;
  for (size_t i = 1; i < n; ++i) {
    const char* gap = b.texts[i - 1].data() + b.texts[i - 1].size();
    if (gap >= b.texts[i].data()) return std::nullopt;
    for (const char* p = gap; p < b.texts[i].data(); ++p) {
      if (!is_space(*p)) return std::nullopt;
    }
  }
  const char* begin = b.texts.front().data();
  const char* end = b.texts.back().data() + b.texts.back().size();
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

// When a batch's texts lie one after the other separated by whitespace only (lines of a
// mapped file, or records copied into the arena with a newline after each), simdjson parses
// the whole region as a stream of documents: one structural pass for thousands of records.
// Returns how many leading texts it handled; the caller parses the rest one by one (a
// document that is not exactly one text, an error, anything unexpected ends the stream).
size_t extract_stream(const Keyer& keyer, ExternalSorter::Batch& b, simdjson::dom::parser& parser) {
  const size_t n = b.texts.size();
  if (n < 2) return 0;
  auto span = contiguous_span(b);
  if (!span) return 0;
  const char* begin = span->data();
  size_t len = span->size();
  simdjson::dom::document_stream stream;
  // The last text is followed by its padding (see io::LineReader::kPadding).
  if (parser.parse_many(begin, len, std::max<size_t>(len, simdjson::dom::MINIMAL_BATCH_SIZE))
          .get(stream)) {
    return 0;
  }
  std::string reason;
  size_t k = 0;
  for (auto it = stream.begin(); it != stream.end() && k < n; ++it) {
    simdjson::dom::element doc;
    if ((*it).get(doc)) break;
    std::string_view t = b.texts[k];
    while (!t.empty() && is_space(t.front())) t.remove_prefix(1);
    while (!t.empty() && is_space(t.back())) t.remove_suffix(1);
    std::string_view src = it.source();
    if (src.data() != t.data() || src.size() != t.size()) break;
    SortKey key;
    bool ok = keyer.key_of(doc, key, reason);
    add_entry(b, k, ok, key, reason);
    ++k;
  }
  return k;
}

// Splits a chunk of a mapped file into its records.
void split_chunk(ExternalSorter::Batch& b) {
  constexpr size_t kPadding = io::LineReader::kPadding;
  const record::LineChunk& c = b.chunk;
  const char* p = c.bytes.data();
  const char* end = p + c.bytes.size();
  const char* readable_end = p + c.readable;
  uint64_t line = 0;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    std::string_view text(p, static_cast<size_t>((nl ? nl : end) - p));
    p = nl ? nl + 1 : end;
    ++line;
    if (!record::trim_ndjson_line(text, c.starts_source && line == 1)) continue;
    if (text.size() > UINT32_MAX) {
      b.failures.emplace_back(static_cast<uint32_t>(b.texts.size()),
                              "record longer than 4 GiB; split it");
      text = text.substr(0, 1024);
    } else if (readable_end - (text.data() + text.size()) < static_cast<std::ptrdiff_t>(kPadding)) {
      std::string& copy = b.tails.emplace_back(text);
      copy.append(kPadding, ' ');
      text = std::string_view(copy.data(), text.size());
    }
    b.texts.push_back(text);
    b.lines.push_back(line);
  }
  b.chunk_lines = line;
}

void extract_batch(const Keyer& keyer, ExternalSorter::Batch& b) {
  if (b.is_chunk) split_chunk(b);
  thread_local simdjson::dom::parser parser;
  std::string reason;
  b.entries.reserve(b.texts.size());
  size_t i = 0;
  bool utf8_checked = false;
  if (keyer.strict_json()) {
    if (b.failures.empty()) i = extract_stream(keyer, b, parser);
  } else if (b.is_chunk && b.tails.empty()) {
    utf8_checked = simdjson::validate_utf8(b.chunk.bytes.data(), b.chunk.bytes.size());
  } else if (auto span = contiguous_span(b)) {
    // One UTF-8 check for the whole batch; when it fails each record is checked alone.
    utf8_checked = simdjson::validate_utf8(span->data(), span->size());
  }
  size_t next_failure = 0;  // records split_chunk already failed
  for (; i < b.texts.size(); ++i) {
    if (next_failure < b.failures.size() && b.failures[next_failure].first == i) {
      ++next_failure;
      continue;
    }
    SortKey key;
    bool ok = keyer.key_of(parser, b.texts[i], key, reason, utf8_checked);
    add_entry(b, i, ok, key, reason);
  }
  // Failures in input order, for the rejects.
  std::sort(b.failures.begin(), b.failures.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
}
}  // namespace

ExternalSorter::ExternalSorter(const SortOptions& opts, RunContext& ctx)
    : opts_(opts), ctx_(ctx), keyer_(opts) {
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  // Back-pressure: a few batches per worker in flight, fewer when the budget is small, so
  // the budget is checked on time.
  const size_t max_in_flight = std::clamp<size_t>(
      opts_.buffer_bytes / (kBatchRecords * sizeof(Entry) * 4), 1, 4 * size_t{threads});
  const Keyer* k = &keyer_;
  batches_ = std::make_unique<OrderedBatches<Batch>>(
      threads, [k](Batch& b) { extract_batch(*k, b); },
      [this](std::unique_ptr<Batch>& b) { collect(b); }, max_in_flight);
}

// Lets running jobs finish before the arena their batches point into goes away.
ExternalSorter::~ExternalSorter() {
  batches_.reset();
}

// Every record is followed by kPadding readable bytes in its block (simdjson reads past the
// end): a record only goes into a block where that much room is left, and a submitted batch
// reserves the bytes after its last record so no later record is written there while a
// worker parses.
char* ExternalSorter::arena_alloc(size_t n) {
  constexpr size_t kPadding = io::LineReader::kPadding;
  if (blocks_.empty() || block_used_ + n + kPadding > block_size_) {
    // Blocks small enough that the budget holds many of them.
    size_t preferred =
        std::clamp<size_t>(opts_.buffer_bytes / 16, size_t{64} << 10, size_t{32} << 20);
    size_t want = std::max(n + kPadding, preferred);
    if (!spare_blocks_.empty() && spare_blocks_.back().size >= want) {
      // A block of a run already spilled: its pages are in place, no faults to take again.
      blocks_.push_back(std::move(spare_blocks_.back()));
      spare_blocks_.pop_back();
    } else {
      blocks_.emplace_back(want);
    }
    block_size_ = blocks_.back().size;
    block_used_ = 0;
    arena_bytes_ += block_size_;
  }
  char* p = blocks_.back().data + block_used_;
  block_used_ += n;
  return p;
}

void ExternalSorter::add(std::string_view text, std::string_view source, uint64_t line,
                         bool stable) {
  if (text.size() > UINT32_MAX) {
    ctx_.rejects().reject(source, line, "record longer than 4 GiB; split it", text.substr(0, 1024));
    return;
  }
  Batch* b = batches_->current();
  if (b && b->source != source) submit_batch();
  if (!batches_->current()) {
    if (chunk_bound_ > 0) batches_->drain();  // seq_ must count the chunks' records first
    b = &batches_->open();
    b->source.assign(source);
    b->first_seq = seq_;
    b->texts.reserve(kBatchRecords);
    b->lines.reserve(kBatchRecords);
  }
  if (stable) {
    b->texts.push_back(text);
    mapped_bytes_ += text.size() + 1;  // resident until the end, so it counts against -S
  } else {
    // A newline after each record lets a batch parse as one stream (extract_stream).
    char* t = arena_alloc(text.size() + 1);
    std::memcpy(t, text.data(), text.size());
    t[text.size()] = '\n';
    b->texts.emplace_back(t, text.size());
  }
  b->lines.push_back(line);
  b->bytes += text.size();
  ++seq_;
  if (b->texts.size() >= kBatchRecords || b->bytes >= kBatchBytes) submit_batch();
  check_budget();
}

void ExternalSorter::add_chunk(const record::LineChunk& chunk, std::string_view source) {
  submit_batch();
  if (chunk.starts_source) {
    // Line numbers of chunks count on from the previous chunk: start again at a new source.
    batches_->drain();
    chunk_line_ = 0;
  }
  uint64_t bound = chunk.bytes.size() / 2 + 1;  // a record takes two bytes at least
  if (seq_ + chunk_bound_ + bound >= kSeqMask) {
    batches_->drain();
    if (seq_ + bound >= kSeqMask && !entries_.empty()) spill();
  }
  Batch& b = batches_->open();
  b.source.assign(source);
  b.is_chunk = true;
  b.chunk = chunk;
  mapped_bytes_ += chunk.bytes.size();
  chunk_bound_ += bound;
  batches_->submit();
  check_budget();
}

void ExternalSorter::check_budget() {
  // Entries are counted for every record added, collected or still with a worker, so the
  // decision does not depend on how far the workers are (chunks: by the bytes read).
  size_t records = seq_ + chunk_bound_ / 8;
  size_t entry_bytes = std::max<size_t>(entries_.capacity(), records) * sizeof(Entry);
  if (mapped_bytes_ + arena_bytes_ + entry_bytes > opts_.buffer_bytes || seq_ >= kSeqMask) {
    submit_batch();
    batches_->drain();
    if (!entries_.empty()) spill();
  }
}

void ExternalSorter::submit_batch() {
  if (!batches_->current()) return;
  block_used_ += io::LineReader::kPadding;  // room checked by arena_alloc
  batches_->submit();
}

// A batch back from the workers, in input order: its entries join the in-memory run and its
// failures go to rejects. Kept when entries point into it; otherwise it is reused.
void ExternalSorter::collect(std::unique_ptr<Batch>& batch) {
  Batch& b = *batch;
  if (b.is_chunk) {
    b.first_seq = seq_;
    seq_ += b.texts.size();
    chunk_bound_ -= b.chunk.bytes.size() / 2 + 1;
    ctx_.counts().in += b.texts.size();
    for (uint64_t& line : b.lines) line += chunk_line_;
    chunk_line_ += b.chunk_lines;
    if (b.chunk.starts_source && !b.texts.empty()) {
      // Room for the records of the whole mapped file at the first chunk's bytes per
      // record, rather than growing (copying, zeroing) the entries as they come.
      double per_record = static_cast<double>(b.chunk.bytes.size()) / b.texts.size();
      auto expected =
          static_cast<size_t>(static_cast<double>(b.chunk.readable) / per_record * 1.05);
      size_t want = entries_.size() + expected;
      if (want * sizeof(Entry) + mapped_bytes_ + arena_bytes_ <= opts_.buffer_bytes)
        entries_.reserve(want);
    }
  }
  if (b.first_seq != 0) {
    for (Entry& e : b.entries) e.tag += static_cast<uint32_t>(b.first_seq);
  }
  for (auto& [i, reason] : b.failures)
    ctx_.rejects().reject(b.source, b.lines[i], reason, b.texts[i]);
  if (!b.string_spans.empty()) {
    uint64_t base = strings_.size();
    for (auto [offset, len] : b.string_spans)
      strings_.emplace_back(b.key_strings.data() + offset, len);
    for (Entry& e : b.entries) {
      if (kind_of(e) == static_cast<unsigned>(KeyKind::string)) e.b += base;
    }
  }
  entries_.insert(entries_.end(), b.entries.begin(), b.entries.end());
  if (!b.key_strings.empty() || !b.tails.empty()) {
    b.entries = {};
    b.texts = {};
    b.lines = {};
    b.string_spans = {};
    kept_.push_back(std::move(batch));
  }
}

SortKey ExternalSorter::key_of(const Entry& e) const {
  unsigned kind = kind_of(e);
  if (kind == static_cast<unsigned>(KeyKind::string)) return record::string_key(strings_[e.b]);
  SortKey k;
  k.kind = static_cast<uint8_t>(kind);
  k.a = e.a;
  k.b = e.b;
  return k;
}

bool ExternalSorter::entry_before(const Entry& x, const Entry& y) const {
  int c = 0;
  unsigned kx = kind_of(x), ky = kind_of(y);
  if (kx != ky) {
    c = kx < ky ? -1 : 1;
  } else if (x.a != y.a) {
    c = x.a < y.a ? -1 : 1;
  } else if (kx == static_cast<unsigned>(KeyKind::string)) {
    int m = strings_[x.b].compare(strings_[y.b]);
    c = m < 0 ? -1 : (m > 0 ? 1 : 0);
  } else if (x.b != y.b) {
    c = x.b < y.b ? -1 : 1;
  }
  if (c != 0) return opts_.reverse ? c > 0 : c < 0;
  return (x.tag & kSeqMask) < (y.tag & kSeqMask);
}

void ExternalSorter::sort_memory() {
  if (sort_compact()) return;
  auto less = [this](const Entry& x, const Entry& y) { return entry_before(x, y); };
  // Two halves sorted side by side; emit_sorted merges them.
  sorted_split_ = entries_.size() / 2;
  if (entries_.size() < 65536 || batches_->pool().size() < 2) {
    std::sort(entries_.begin(), entries_.end(), less);
    sorted_split_ = entries_.size();
    return;
  }
  auto mid = entries_.begin() + static_cast<std::ptrdiff_t>(sorted_split_);
  std::future<void> half = batches_->pool().submit([&] { std::sort(entries_.begin(), mid, less); });
  std::sort(mid, entries_.end(), less);
  half.get();
}

// When all keys are of one kind other than string and the spread of their first words leaves
// room for the second, each key becomes one word: (a - min a) shifted left past b, or b.
// Ranks of 16 bytes sort much faster than entries of 32 with a comparator that looks at kinds.
bool ExternalSorter::sort_compact() {
  ranks_.clear();
  if (entries_.empty() || entries_.size() > UINT32_MAX) return false;
  const unsigned kind = kind_of(entries_.front());
  if (kind == static_cast<unsigned>(KeyKind::string)) return false;
  uint64_t min_a = UINT64_MAX, max_a = 0, max_b = 0;
  for (const Entry& e : entries_) {
    if (kind_of(e) != kind) return false;
    min_a = std::min(min_a, e.a);
    max_a = std::max(max_a, e.a);
    max_b = std::max(max_b, e.b);
  }
  const int b_bits = std::bit_width(max_b);
  if (b_bits == 64 || (b_bits > 0 && (max_a - min_a) >> (64 - b_bits) != 0)) return false;
  ranks_.resize(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    uint64_t key = b_bits == 0 ? e.a - min_a : (e.a - min_a) << b_bits | e.b;
    // Descending keys, ties still in input order.
    ranks_[i] = Rank{opts_.reverse ? ~key : key, static_cast<uint32_t>(i)};
  }
  sorted_split_ = ranks_.size() / 2;
  if (ranks_.size() < 65536 || batches_->pool().size() < 2) {
    sort_ranks(ranks_.data(), ranks_.data() + ranks_.size());
    sorted_split_ = ranks_.size();
    return true;
  }
  Rank* mid = ranks_.data() + sorted_split_;
  std::future<void> half = batches_->pool().submit([&] { sort_ranks(ranks_.data(), mid); });
  sort_ranks(mid, ranks_.data() + ranks_.size());
  half.get();
  return true;
}

// Records mostly in order already (a log written in time order, with a few late lines) sort
// in linear time: the records in order stay where they are, the late ones are sorted apart and
// merged in. When many are late, an ordinary sort.
void ExternalSorter::sort_ranks(Rank* first, Rank* last) {
  auto less = [](const Rank& x, const Rank& y) {
    return x.key != y.key ? x.key < y.key : x.index < y.index;
  };
  const size_t n = static_cast<size_t>(last - first);
  std::vector<Rank> late;
  Rank* kept = first;  // [first, kept): the records in order so far
  uint64_t max = 0;
  for (Rank* r = first; r != last; ++r) {
    if (r->key >= max) {
      max = r->key;
      *kept++ = *r;
    } else if (late.size() < n / 16) {
      late.push_back(*r);
    } else {
      // Too many: put the late ones back in the gap they left, and sort everything.
      std::copy(late.begin(), late.end(), kept);
      std::sort(first, last, less);
      return;
    }
  }
  if (late.empty()) return;
  std::sort(late.begin(), late.end(), less);
  // Merge from the back: [first, kept) and late fill [first, last).
  Rank* i = kept;
  size_t j = late.size();
  Rank* out = last;
  while (j > 0) {
    if (i != first && less(late[j - 1], i[-1])) {
      *--out = *--i;
    } else {
      *--out = late[--j];
    }
  }
}

// Puts entries_ in the order of ranks_ (for a spill or a merge with runs, which read entries).
void ExternalSorter::apply_ranks() {
  if (ranks_.empty()) return;
  std::vector<Entry> sorted;
  sorted.reserve(entries_.size());
  for (const Rank& r : ranks_) sorted.push_back(entries_[r.index]);
  entries_.swap(sorted);
  std::vector<Rank>().swap(ranks_);
}

template <class Emit>
void ExternalSorter::emit_sorted(Emit&& emit) {
  if (!ranks_.empty()) {
    const Rank* a = ranks_.data();
    const Rank* a_end = a + sorted_split_;
    const Rank* b = a_end;
    const Rank* b_end = ranks_.data() + ranks_.size();
    // Ties go to the first half: its records came first.
    while (a != a_end && b != b_end) {
      if (b->key < a->key) {
        emit(entries_[(b++)->index]);
      } else {
        emit(entries_[(a++)->index]);
      }
    }
    for (; a != a_end; ++a) emit(entries_[a->index]);
    for (; b != b_end; ++b) emit(entries_[b->index]);
    return;
  }
  const Entry* a = entries_.data();
  const Entry* a_end = a + sorted_split_;
  const Entry* b = a_end;
  const Entry* b_end = entries_.data() + entries_.size();
  // Ties go to the first half: its records came first.
  while (a != a_end && b != b_end) {
    if (entry_before(*b, *a)) {
      emit(*b++);
    } else {
      emit(*a++);
    }
  }
  for (; a != a_end; ++a) emit(*a);
  for (; b != b_end; ++b) emit(*b);
}

// After a spill: the next run reuses the arena blocks and the entries' room (both within the
// budget already); finish() gives them back before merging.
void ExternalSorter::reset_memory() {
  entries_.clear();
  std::vector<Rank>().swap(ranks_);
  strings_.clear();
  seq_ = 0;
  kept_.clear();
  for (auto& b : blocks_) spare_blocks_.push_back(std::move(b));
  blocks_.clear();
  block_used_ = block_size_ = 0;
  arena_bytes_ = 0;
  sorted_split_ = 0;
}

void ExternalSorter::spill() {
  io::throw_if_stopped();
  sort_memory();
  runs_.emplace_back(opts_.temp_dir, "cdn-sort-run.");
  ++spilled_;
  io::TempFile& run = runs_.back();
  RunWriter w(run);
  emit_sorted([&](const Entry& e) { w.line(text_of(e)); });
  w.flush();
  run.close();
  diag::debug("spilled run " + std::to_string(spilled_) + " (" + std::to_string(entries_.size()) +
              " records) to " + run.path());
  reset_memory();
}

void ExternalSorter::finish() {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::to_string(std::chrono::duration<double>(b - a).count()) + " s";
  };
  auto t0 = Clock::now();
  submit_batch();
  batches_->drain();
  io::throw_if_stopped();  // input ended because of a stop: no partial sorted output
  auto t1 = Clock::now();
  sort_memory();
  auto t2 = Clock::now();
  if (runs_.empty()) {
    SpanWriter out(ctx_);
    emit_sorted([&](const Entry& e) { out.line(text_of(e), (e.tag & kNewline) != 0); });
    out.flush();
    diag::debug("last keys " + seconds(t0, t1) + ", sort " + seconds(t1, t2) + ", write " +
                seconds(t2, Clock::now()));
    return;
  }
  apply_ranks();  // the merge reads entries
  spare_blocks_.clear();
  // Too many runs for one merge: merge groups into bigger runs first.
  const size_t fan_in = std::max<size_t>(2, opts_.merge_fan_in);
  size_t per_stream = std::max<size_t>(size_t{64} << 10, opts_.buffer_bytes / (fan_in + 2));
  per_stream = std::min<size_t>(per_stream, size_t{4} << 20);
  while (runs_.size() + 2 > fan_in) {
    std::vector<io::TempFile> merged;
    for (size_t g = 0; g < runs_.size(); g += fan_in) {
      std::vector<std::unique_ptr<MergeStream>> streams;
      size_t end = std::min(runs_.size(), g + fan_in);
      for (size_t i = g; i < end; ++i)
        streams.push_back(std::make_unique<RunStream>(runs_[i].path(), keyer_, per_stream));
      merged.emplace_back(opts_.temp_dir, "cdn-sort-run.");
      RunWriter w(merged.back());
      merge_streams(streams, keyer_, [&](std::string_view t) { w.line(t); });
      w.flush();
      merged.back().close();
    }
    runs_ = std::move(merged);
  }
  std::vector<std::unique_ptr<MergeStream>> streams;
  for (auto& r : runs_)
    streams.push_back(std::make_unique<RunStream>(r.path(), keyer_, per_stream));
  const Entry* base = entries_.data();
  streams.push_back(std::make_unique<MemoryStream>(*this, base, base + sorted_split_));
  streams.push_back(
      std::make_unique<MemoryStream>(*this, base + sorted_split_, base + entries_.size()));
  merge_streams(streams, keyer_, [&](std::string_view t) { ctx_.emit(t); });
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
