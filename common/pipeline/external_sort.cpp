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
#include "common/pipeline/external_sort_internal.hpp"
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

SortRejects::SortRejects(const SortOptions& opts, record::Rejects& rejects)
    : rejects_(rejects), field_(rejects.sink().takes_keys() ? opts.key_field : std::string()) {}

void SortRejects::reject(std::string_view source, uint64_t line, std::string_view reason,
                         std::string_view text, std::optional<std::string_view> message_key) {
  std::optional<std::string_view> key = message_key;
  if (!field_.empty()) key = record::KeyField::chosen(field_.of_text(text, buf_, parser_), key);
  rejects_.reject(source, line, reason, text, {}, key);
}

namespace {
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
}  // namespace

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

ExternalSorter::ExternalSorter(const SortOptions& opts, RunContext& ctx)
    : opts_(opts),
      ctx_(ctx),
      keyer_(opts),
      rejects_(opts, ctx.rejects()),
      keep_keys_(ctx.out().takes_keys() || ctx.rejects().sink().takes_keys()) {
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

SortKey ExternalSorter::key_of(const Entry& e) const {
  unsigned kind = kind_of(e);
  if (kind == static_cast<unsigned>(KeyKind::string)) return record::string_key(strings_[e.b]);
  SortKey k;
  k.kind = static_cast<uint8_t>(kind);
  k.a = e.a;
  k.b = e.b;
  return k;
}

std::optional<std::string_view> ExternalSorter::message_key_of(const Entry& e) const {
  if (!keys_) return std::nullopt;
  return keys_->get(e.tag & kSeqMask);
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

// After a spill: the next run reuses the arena blocks and the entries' room (while it leaves
// room for records); finish() gives them back before merging.
void ExternalSorter::reset_memory() {
  entries_.clear();
  // The entries' room counts against the budget (check_budget): room that alone takes more
  // than half of it would spill the next run after a record or two, so it is given back.
  if (entries_.capacity() * sizeof(Entry) > opts_.buffer_bytes / 2) {
    std::vector<Entry>().swap(entries_);
  }
  std::vector<Rank>().swap(ranks_);
  strings_.clear();
  keys_.reset();
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
  // The run keeps its records' message keys when there are any and the output takes them.
  const bool keyed = keys_ && ctx_.out().takes_keys();
  runs_.push_back(SpilledRun{io::TempFile(opts_.temp_dir, "cdn-sort-run."), keyed});
  ++spilled_;
  io::TempFile& run = runs_.back().file;
  RunWriter w(runs_.back());
  if (keyed) {
    emit_sorted([&](const Entry& e) { w.line(text_of(e), message_key_of(e)); });
  } else {
    emit_sorted([&](const Entry& e) { w.line(text_of(e)); });
  }
  w.flush();
  run.close();
  std::string what = "spilled run " + std::to_string(spilled_) + " (" +
                     std::to_string(entries_.size()) + " records) to " + run.path();
  // The first spill is a step worth knowing (-v); the others are detail (-vv).
  if (spilled_ == 1) {
    diag::info(what + ": the records outgrew -S/--buffer-size, sorted runs go to disk");
  } else {
    diag::debug(what);
  }
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
    if (keys_ && ctx_.out().takes_keys()) {
      // Kafka messages one by one, each with its record's key.
      emit_sorted([&](const Entry& e) { ctx_.emit(text_of(e), message_key_of(e)); });
    } else {
      SpanWriter out(ctx_);
      emit_sorted([&](const Entry& e) { out.line(text_of(e), (e.tag & kNewline) != 0); });
      out.flush();
    }
    diag::debug("last keys " + seconds(t0, t1) + ", sort " + seconds(t1, t2) + ", write " +
                seconds(t2, Clock::now()));
    return;
  }
  apply_ranks();  // the merge reads entries
  spare_blocks_.clear();
  // Too many runs for one merge (--merge fan-in, or the descriptors left): merge groups into
  // bigger runs first. The last merge also reads the two sorted halves in memory.
  const size_t fan_in = merge_fan_in(std::max<size_t>(4, opts_.merge_fan_in) - 2);
  size_t per_stream = std::max<size_t>(size_t{64} << 10, opts_.buffer_bytes / (fan_in + 2));
  per_stream = std::min<size_t>(per_stream, size_t{4} << 20);
  merge_runs_down(runs_, fan_in, keyer_, opts_.temp_dir, per_stream);
  std::vector<std::unique_ptr<MergeStream>> streams;
  for (auto& r : runs_) streams.push_back(run_stream(r, keyer_, per_stream));
  const Entry* base = entries_.data();
  streams.push_back(memory_stream(*this, base, base + sorted_split_));
  streams.push_back(memory_stream(*this, base + sorted_split_, base + entries_.size()));
  merge_streams(streams, keyer_,
                [&](std::string_view t, std::optional<std::string_view> k) { ctx_.emit(t, k); });
}

}  // namespace cdn::pipeline
