// The sort's batches: records cut into batches on the reading thread, keyed on worker
// threads, and collected in input order into the in-memory run.
#include <algorithm>
#include <cstring>
#include <optional>
#include <thread>

#include "common/io/line_reader.hpp"
#include "common/pipeline/external_sort_internal.hpp"
#include "common/pipeline/ordered_batches.hpp"

namespace cdn::pipeline {

using record::KeyKind;
using record::SortKey;

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
}  // namespace

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

void ExternalSorter::add(std::string_view text, std::string_view source, uint64_t line, bool stable,
                         std::optional<std::string_view> message_key) {
  if (text.size() > UINT32_MAX) {
    rejects_.reject(source, line, "record longer than 4 GiB; split it", text.substr(0, 1024),
                    message_key);
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
  if (message_key && keep_keys_ && !keys_) keys_ = std::make_unique<MessageKeys>();
  if (keys_) keys_->set(seq_, message_key);
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
  size_t key_bytes = keys_ ? keys_->bytes() : 0;
  if (mapped_bytes_ + arena_bytes_ + entry_bytes + key_bytes > opts_.buffer_bytes ||
      seq_ >= kSeqMask) {
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
  for (auto& [i, reason] : b.failures) {
    std::optional<std::string_view> key;
    if (keys_) key = keys_->get(b.first_seq + i);
    rejects_.reject(b.source, b.lines[i], reason, b.texts[i], key);
  }
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

}  // namespace cdn::pipeline
