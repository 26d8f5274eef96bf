// Merging sorted streams (the runs a sort spilled, the inputs of `sort --merge`), writing
// runs, and `sort --check`.
#include <algorithm>
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
// Descriptors a merge leaves for others: the run a pass writes, a gzip or a log opened on
// the way, and one more.
constexpr size_t kSpareDescriptors = 4;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A spilled run: NDJSON lines already known to be good, each after its message key in a keyed
// run; keys are extracted again.
class RunStream : public MergeStream {
 public:
  RunStream(const SpilledRun& run, const Keyer& keyer, size_t buffer)
      : bytes_(run.file.path()), lines_(bytes_, buffer), keyer_(keyer), keyed_(run.keyed) {}
  bool next() override {
    std::string_view line;
    if (!lines_.next(line)) return false;
    text = line;
    if (keyed_ && !split_keyed_line(line, text, message_key, key_buf_)) {
      throw RuntimeError("spilled run " + diag::quoted(bytes_.name()) +
                         " was changed while sorting: a line without its message key");
    }
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
  const bool keyed_;
  std::string key_buf_;
  simdjson::dom::parser parser_;
  std::string reason_;
};

// An input of `--merge`: bad records go to rejects, the rest is taken as sorted.
class SourceStream : public MergeStream {
 public:
  SourceStream(std::unique_ptr<record::Source> src, const Keyer& keyer, SortRejects& rejects)
      : src_(std::move(src)), keyer_(keyer), rejects_(rejects) {}
  bool next() override {
    record::Record rec;
    while (src_->next(rec)) {
      if (!keyer_.key_of(parser_, rec.text, key, reason_)) {
        rejects_.reject(src_->name(), rec.line, reason_, rec.text, rec.key);
        continue;
      }
      text = rec.text;
      message_key = rec.key;
      own_key_string();
      return true;
    }
    return false;
  }

 private:
  std::unique_ptr<record::Source> src_;
  const Keyer& keyer_;
  SortRejects& rejects_;
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
    message_key = sorter_.message_key_of(*it_);
    ++it_;
    return true;
  }

 private:
  const ExternalSorter& sorter_;
  const Entry* it_;
  const Entry* end_;
};

}  // namespace

std::unique_ptr<MergeStream> run_stream(const SpilledRun& run, const Keyer& keyer, size_t buffer) {
  return std::make_unique<RunStream>(run, keyer, buffer);
}

bool split_keyed_line(std::string_view line, std::string_view& text,
                      std::optional<std::string_view>& key, std::string& buf) {
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return false;
  std::string_view hex = line.substr(0, space);
  text = line.substr(space + 1);
  if (hex == "-") {
    key = std::nullopt;
    return true;
  }
  if (hex.size() % 2 != 0) return false;
  buf.resize(hex.size() / 2);
  for (size_t i = 0; i < buf.size(); ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    buf[i] = static_cast<char>(hi << 4 | lo);
  }
  key = std::string_view(buf);
  return true;
}

std::unique_ptr<MergeStream> memory_stream(const ExternalSorter& sorter,
                                           const ExternalSorter::Entry* begin,
                                           const ExternalSorter::Entry* end) {
  return std::make_unique<MemoryStream>(sorter, begin, end);
}

void merge_streams(std::vector<std::unique_ptr<MergeStream>>& streams, const Keyer& keyer,
                   const EmitKeyed& emit) {
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
    emit(streams[i]->text, streams[i]->message_key);
    if (streams[i]->next()) heap.push(i);
    if ((++n & 0xffff) == 0) io::throw_if_stopped();
  }
}

size_t merge_fan_in(size_t wanted) {
  size_t free = base::descriptors_free();
  size_t room = free > kSpareDescriptors ? free - kSpareDescriptors : 0;
  return std::max<size_t>(2, std::min(wanted, room));
}

void merge_runs_down(std::vector<SpilledRun>& runs, size_t fan_in, const Keyer& keyer,
                     const std::string& temp_dir, size_t buffer) {
  fan_in = std::max<size_t>(2, fan_in);
  while (runs.size() > fan_in) {
    std::vector<SpilledRun> merged;
    for (size_t g = 0; g < runs.size(); g += fan_in) {
      std::vector<std::unique_ptr<MergeStream>> streams;
      size_t end = std::min(runs.size(), g + fan_in);
      bool keyed = false;
      for (size_t i = g; i < end; ++i) {
        streams.push_back(run_stream(runs[i], keyer, buffer));
        keyed = keyed || runs[i].keyed;
      }
      merged.push_back(SpilledRun{io::TempFile(temp_dir, "cdn-sort-run."), keyed});
      RunWriter w(merged.back());
      merge_streams(streams, keyer,
                    [&](std::string_view t, std::optional<std::string_view> k) { w.line(t, k); });
      w.flush();
      merged.back().file.close();
      // The runs merged are of no more use: their room on disk goes back now.
      for (size_t i = g; i < end; ++i) runs[i].file.remove();
    }
    diag::debug("merged " + std::to_string(runs.size()) + " runs into " +
                std::to_string(merged.size()) + ", " + std::to_string(fan_in) + " at a time");
    runs = std::move(merged);
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
  SortRejects rejects(opts, ctx.rejects());
  std::vector<std::string> list = specs.empty() ? std::vector<std::string>{"-"} : specs;
  if (list.size() > kMaxMergeInputs) {
    throw UsageError("too many inputs to merge (" + std::to_string(list.size()) +
                     "); merge at most " + std::to_string(kMaxMergeInputs) + " at a time");
  }
  // More inputs than descriptors left: groups of them are merged into runs first, in input
  // order, so ties still go to the earlier input.
  const size_t fan_in = merge_fan_in(kMaxMergeInputs);
  const size_t buffer =
      std::clamp<size_t>(opts.buffer_bytes / (fan_in + 2), size_t{64} << 10, size_t{4} << 20);
  auto merge_inputs = [&](size_t first, size_t last, const EmitKeyed& emit) {
    std::vector<std::unique_ptr<MergeStream>> streams;
    for (size_t i = first; i < last; ++i) {
      streams.push_back(std::make_unique<SourceStream>(open(list[i]), keyer, rejects));
    }
    merge_streams(streams, keyer, emit);
    io::throw_if_stopped();
  };
  auto to_output = [&](std::string_view t, std::optional<std::string_view> k) { ctx.emit(t, k); };
  if (list.size() <= fan_in) {
    merge_inputs(0, list.size(), to_output);
    return;
  }
  // Which records have keys is known only as they come: the runs keep keys whenever the
  // output is a topic.
  const bool keyed = ctx.out().takes_keys();
  std::vector<SpilledRun> runs;
  for (size_t g = 0; g < list.size(); g += fan_in) {
    runs.push_back(SpilledRun{io::TempFile(opts.temp_dir, "cdn-sort-run."), keyed});
    RunWriter w(runs.back());
    merge_inputs(g, std::min(list.size(), g + fan_in),
                 [&](std::string_view t, std::optional<std::string_view> k) { w.line(t, k); });
    w.flush();
    runs.back().file.close();
  }
  merge_runs_down(runs, fan_in, keyer, opts.temp_dir, buffer);
  std::vector<std::unique_ptr<MergeStream>> streams;
  for (auto& r : runs) streams.push_back(run_stream(r, keyer, buffer));
  merge_streams(streams, keyer, to_output);
  io::throw_if_stopped();
}

bool check_sorted(record::Source& input, const SortOptions& opts, RunContext& ctx) {
  Keyer keyer(opts);
  SortRejects rejects(opts, ctx.rejects());
  simdjson::dom::parser parser;
  std::string reason;
  record::Record rec;
  SortKey prev, key;
  std::string prev_str;
  bool have_prev = false;
  while (input.next(rec)) {
    if (!keyer.key_of(parser, rec.text, key, reason)) {
      rejects.reject(input.name(), rec.line, reason, rec.text, rec.key);
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
