#include "common/pipeline/external_sort.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "common/base/fd.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/record/source.hpp"
#include "test_files.hpp"

using namespace cdn;

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

size_t entries_in(const std::string& dir) {
  size_t n = 0;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  closedir(d);
  return n;
}

// Records with few distinct keys (many ties) and a sequence number to check stability.
std::vector<std::string> make_records(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> v;
  for (size_t i = 0; i < n; ++i) {
    int sec = static_cast<int>(rng() % 600);
    char ts[64];
    std::snprintf(ts, sizeof ts, "2026-11-22T10:%02d:%02d.%03dZ", sec / 60, sec % 60,
                  static_cast<int>(rng() % 3) * 100);
    v.push_back(std::string("{\"timestamp\":\"") + ts + "\",\"seq\":" + std::to_string(i) +
                ",\"pad\":\"" + std::string(rng() % 40, 'p') + "\"}");
  }
  return v;
}

struct Result {
  std::vector<std::string> out;
  size_t runs;
  record::Counts counts;
};

Result sort_lines(const test::ScratchDir& dir, const std::vector<std::string>& records,
                  pipeline::SortOptions opts) {
  std::string out = dir.path("out.ndjson");
  Result r;
  pipeline::RunContext ctx("sort", io::open_file_sink(out, io::SinkRole::output),
                           io::open_file_sink(dir.path("rejects.ndjson"), io::SinkRole::rejects));
  {
    pipeline::ExternalSorter sorter(opts, ctx);
    std::string padded;
    for (size_t i = 0; i < records.size(); ++i) {
      padded = records[i];
      padded.append(64, ' ');
      sorter.add(std::string_view(padded.data(), records[i].size()), "test", i + 1);
      ++ctx.counts().in;
    }
    sorter.finish();
    r.runs = sorter.spilled_runs();
  }
  ctx.commit();
  r.counts = ctx.counts();
  r.out = lines_of(test::ScratchDir::read(out));
  return r;
}

std::vector<std::string> reference_sort(std::vector<std::string> v, bool reverse) {
  auto key = [](const std::string& s) { return s.substr(14, 24); };  // the timestamp text
  std::stable_sort(v.begin(), v.end(), [&](const std::string& a, const std::string& b) {
    return reverse ? key(a) > key(b) : key(a) < key(b);
  });
  return v;
}

// The records of `text` in a file, read as cdn sort reads one: mapped, in chunks of about
// `chunk` bytes split on the worker threads. Rejects are kept in `rejects`.
Result sort_mapped(const test::ScratchDir& dir, const std::string& text, pipeline::SortOptions opts,
                   size_t chunk, std::string* rejects = nullptr) {
  std::string in = dir.file("in.ndjson", text);
  std::string out = dir.path("out.ndjson");
  Result r;
  pipeline::RunContext ctx(
      "sort", io::open_file_sink(out, io::SinkRole::output),
      io::open_file_sink(dir.path("mapped-rejects.ndjson"), io::SinkRole::rejects));
  {
    record::SourceOptions so;
    so.map_limit = size_t{1} << 30;
    endpoint::InputSet set({in}, so, ctx.rejects(), ctx.counts());
    pipeline::ExternalSorter sorter(opts, ctx);
    record::LineChunk c;
    record::Record rec;
    for (;;) {
      record::ChunkResult got = set.next_chunk(c, chunk);
      if (got == record::ChunkResult::end) break;
      if (got == record::ChunkResult::chunk) {
        sorter.add_chunk(c, "test");
        continue;
      }
      while (set.next_in_current(rec)) sorter.add(rec.text, "test", rec.line, set.stable());
    }
    sorter.finish();
    r.runs = sorter.spilled_runs();
  }
  ctx.commit();
  r.counts = ctx.counts();
  r.out = lines_of(test::ScratchDir::read(out));
  if (rejects) *rejects = test::ScratchDir::read(dir.path("mapped-rejects.ndjson"));
  return r;
}

// Records in time order but for a fraction of late ones, with ties.
std::vector<std::string> mostly_ordered(size_t n, double late, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> v;
  for (size_t i = 0; i < n; ++i) {
    int ms = static_cast<int>(i / 3) * 7;
    if (std::uniform_real_distribution<double>(0, 1)(rng) < late)
      ms -= static_cast<int>(rng() % 5000);
    if (ms < 0) ms = 0;
    char ts[64];
    std::snprintf(ts, sizeof ts, "2026-11-22T%02d:%02d:%02d.%03dZ", ms / 3600000, ms / 60000 % 60,
                  ms / 1000 % 60, ms % 1000);
    v.push_back(std::string("{\"timestamp\":\"") + ts + "\",\"seq\":" + std::to_string(i) + "}");
  }
  return v;
}

}  // namespace

TEST(ExternalSort, MostlyOrderedKeysSortStablyForwardAndReverse) {
  test::ScratchDir dir;
  // 1% late (merged in), 20% late (too many: an ordinary sort), in order, reversed input.
  for (double late : {0.01, 0.2, 0.0}) {
    auto records = mostly_ordered(150000, late, 3);
    for (bool reverse : {false, true}) {
      pipeline::SortOptions opts;
      opts.temp_dir = dir.path("");
      opts.reverse = reverse;
      auto r = sort_lines(dir, records, opts);
      EXPECT_EQ(r.out, reference_sort(records, reverse))
          << "late " << late << " reverse " << reverse;
      std::vector<std::string> backwards(records.rbegin(), records.rend());
      r = sort_lines(dir, backwards, opts);
      EXPECT_EQ(r.out, reference_sort(backwards, reverse)) << "backwards, reverse " << reverse;
    }
  }
}

TEST(ExternalSort, MappedChunksSortAndRejectAsRecordsDo) {
  test::ScratchDir dir;
  auto records = mostly_ordered(40000, 0.01, 5);
  // Bad lines among them, at known places, and the edges of NDJSON: a BOM, CRLF, blank lines,
  // no newline at the end.
  records[10] = "{\"timestamp\":\"2026-11-22T00:00:00Z\",\"x\":1} {\"y\":2}";
  records[20000] = "not json";
  records[30000] = "{\"timestamp\":\"2026-02-30T00:00:00Z\"}";
  std::string text = "\xEF\xBB\xBF";
  for (size_t i = 0; i < records.size(); ++i) {
    text += records[i];
    text += i % 7 == 0 ? "\r\n" : "\n";
    if (i % 1000 == 0) text += "  \n";
  }
  text.pop_back();
  auto reference = sort_mapped(dir, text, pipeline::SortOptions{}, size_t{1} << 40);
  // Record by record (as from a stream), the same lines sort the same.
  {
    std::vector<std::string> lines;
    for (auto& l : lines_of(text)) {
      if (!l.empty() && l.back() == '\r') l.pop_back();
      if (l.find_first_not_of(' ') != std::string::npos) lines.push_back(l);
    }
    lines[0] = lines[0].substr(3);
    pipeline::SortOptions opts;
    opts.temp_dir = dir.path("");
    EXPECT_EQ(sort_lines(dir, lines, opts).out, reference.out);
  }
  for (size_t chunk : {size_t{100}, size_t{4096}, size_t{1} << 20}) {
    for (bool strict : {false, true}) {
      pipeline::SortOptions opts;
      opts.temp_dir = dir.path("");
      opts.strict_json = strict;
      std::string rejects;
      auto r = sort_mapped(dir, text, opts, chunk, &rejects);
      EXPECT_EQ(r.counts.in, 40000u);
      EXPECT_EQ(r.counts.out, 39997u);
      EXPECT_EQ(r.counts.rejected, 3u);
      EXPECT_EQ(r.out, reference.out) << "chunk " << chunk;
      auto rl = lines_of(rejects);
      ASSERT_EQ(rl.size(), 3u);
      // Line numbers count the blank lines: one after records 0, 1000, 2000, ..., so record
      // i > 0 is on line i + 1 + (i - 1) / 1000 + 1.
      EXPECT_NE(rl[0].find("\"line\":12,"), std::string::npos) << rl[0];
      EXPECT_NE(rl[1].find("\"line\":20021,"), std::string::npos) << rl[1];
      EXPECT_NE(rl[2].find("\"line\":30031,"), std::string::npos) << rl[2];
    }
  }
}

TEST(ExternalSort, InMemorySortIsStable) {
  test::ScratchDir dir;
  auto records = make_records(5000, 1);
  pipeline::SortOptions opts;
  opts.temp_dir = dir.path("");
  auto r = sort_lines(dir, records, opts);
  EXPECT_EQ(r.runs, 0u);
  EXPECT_EQ(r.out, reference_sort(records, false));
}

TEST(ExternalSort, SpilledSortEqualsInMemorySortAndCleansUp) {
  test::ScratchDir dir;
  std::string tmp = dir.path("spill");
  ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
  auto records = make_records(60000, 2);
  pipeline::SortOptions opts;
  opts.temp_dir = tmp;
  opts.buffer_bytes = 1 << 20;
  auto r = sort_lines(dir, records, opts);
  EXPECT_GE(r.runs, 3u);
  EXPECT_EQ(r.out, reference_sort(records, false));
  EXPECT_EQ(entries_in(tmp), 0u);
}

TEST(ExternalSort, ManyRunsMergeInSeveralPasses) {
  test::ScratchDir dir;
  std::string tmp = dir.path("spill");
  ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
  // Many runs merged 4 at a time: several merge passes.
  auto records = make_records(150000, 3);
  pipeline::SortOptions opts;
  opts.temp_dir = tmp;
  opts.buffer_bytes = 1 << 20;
  opts.merge_fan_in = 4;
  auto r = sort_lines(dir, records, opts);
  EXPECT_GE(r.runs, 10u);  // 10 runs merged 4 at a time need more than one pass
  EXPECT_EQ(r.out, reference_sort(records, false));
  EXPECT_EQ(entries_in(tmp), 0u);
}

TEST(ExternalSort, ReverseKeepsTiesInInputOrder) {
  test::ScratchDir dir;
  auto records = make_records(20000, 4);
  pipeline::SortOptions opts;
  opts.temp_dir = dir.path("");
  opts.reverse = true;
  opts.buffer_bytes = 1 << 20;
  auto r = sort_lines(dir, records, opts);
  EXPECT_GT(r.runs, 0u);
  EXPECT_EQ(r.out, reference_sort(records, true));
}

TEST(ExternalSort, MissingKeysRejectedOrPlaced) {
  test::ScratchDir dir;
  std::vector<std::string> records = {R"({"timestamp":"2026-11-22T10:00:02Z"})", R"({"x":1})",
                                      R"({"timestamp":"2026-11-22T10:00:01Z"})",
                                      R"({"timestamp":"not-a-date-2026"})", R"({"x":2})"};
  pipeline::SortOptions opts;
  opts.temp_dir = dir.path("");
  auto r = sort_lines(dir, records, opts);
  EXPECT_EQ(r.out.size(), 3u);  // "not-a-date-2026" is a plain string: sorts after times
  EXPECT_EQ(r.counts.rejected, 2u);
  opts.missing = pipeline::MissingPolicy::first;
  r = sort_lines(dir, records, opts);
  ASSERT_EQ(r.out.size(), 5u);
  EXPECT_EQ(r.out[0], R"({"x":1})");
  EXPECT_EQ(r.out[1], R"({"x":2})");
  EXPECT_EQ(r.out[2], R"({"timestamp":"2026-11-22T10:00:01Z"})");
  opts.missing = pipeline::MissingPolicy::last;
  r = sort_lines(dir, records, opts);
  ASSERT_EQ(r.out.size(), 5u);
  EXPECT_EQ(r.out[3], R"({"x":1})");
  EXPECT_EQ(r.out[4], R"({"x":2})");
}

TEST(ExternalSort, NumbersNumericallyStringsBytewiseNestedPaths) {
  test::ScratchDir dir;
  std::vector<std::string> records = {R"({"m":{"n":10}})",  R"({"m":{"n":9.5}})",
                                      R"({"m":{"n":-3}})",  R"({"m":{"n":"b"}})",
                                      R"({"m":{"n":"a"}})", R"({"m":{"n":1e2}})"};
  pipeline::SortOptions opts;
  opts.temp_dir = dir.path("");
  opts.key = "m.n";
  auto r = sort_lines(dir, records, opts);
  std::vector<std::string> want = {R"({"m":{"n":-3}})",  R"({"m":{"n":9.5}})",
                                   R"({"m":{"n":10}})",  R"({"m":{"n":1e2}})",
                                   R"({"m":{"n":"a"}})", R"({"m":{"n":"b"}})"};
  EXPECT_EQ(r.out, want);
}

TEST(ExternalSort, TimestampsCompareAsInstants) {
  test::ScratchDir dir;
  std::vector<std::string> records = {R"({"timestamp":"2026-11-22T11:00:00+02:00"})",
                                      R"({"timestamp":"2026-11-22T09:30:00.5Z"})",
                                      R"({"timestamp":"2026-11-22T09:30:00.25Z"})"};
  pipeline::SortOptions opts;
  opts.temp_dir = dir.path("");
  auto r = sort_lines(dir, records, opts);
  std::vector<std::string> want = {records[0], records[2], records[1]};
  EXPECT_EQ(r.out, want);
}

namespace {

// A sink that takes message keys, as a Kafka topic does: each line with its key.
struct KeyedLines {
  std::vector<std::pair<std::string, std::optional<std::string>>> lines;
};

class KeyedSink : public io::Sink {
 public:
  explicit KeyedSink(KeyedLines& to) : io::Sink("keyed"), to_(to) {}
  bool takes_keys() const override { return true; }
  void write_keyed(std::string_view line, std::optional<std::string_view> key) override {
    flush_buffer();
    to_.lines.emplace_back(std::string(line),
                           key ? std::optional<std::string>(*key) : std::nullopt);
  }

 protected:
  void write_out(const char* data, size_t n) override {
    for (auto& l : lines_of(std::string(data, n))) to_.lines.emplace_back(l, std::nullopt);
  }

 private:
  KeyedLines& to_;
};

// The message key of record i: none for every 7th, empty for every 11th, bytes a line or a
// run would trip on (newline, space, NUL, a byte that is not UTF-8, "-") for some others.
std::optional<std::string> key_of_record(size_t i) {
  if (i % 7 == 0) return std::nullopt;
  if (i % 11 == 0) return std::string();
  if (i % 13 == 0) return std::string("a\nb \0\xff-", 7) + std::to_string(i);
  if (i % 17 == 0) return "-";
  return "k" + std::to_string(i);
}

struct KeyedResult {
  KeyedLines out, rejects;
  size_t runs = 0;
};

// Sorts `records`, each with key_of_record(i), to keyed sinks.
KeyedResult sort_keyed(const std::vector<std::string>& records, const pipeline::SortOptions& opts) {
  KeyedResult r;
  pipeline::RunContext ctx("sort", std::make_unique<KeyedSink>(r.out),
                           std::make_unique<KeyedSink>(r.rejects));
  {
    pipeline::ExternalSorter sorter(opts, ctx);
    std::string padded;
    for (size_t i = 0; i < records.size(); ++i) {
      padded = records[i];
      padded.append(64, ' ');
      auto key = key_of_record(i);
      sorter.add(std::string_view(padded.data(), records[i].size()), "test", i + 1, false,
                 key ? std::optional<std::string_view>(*key) : std::nullopt);
      ++ctx.counts().in;
    }
    sorter.finish();
    r.runs = sorter.spilled_runs();
  }
  ctx.commit();
  return r;
}

// Every record of `got` with the key of its input record (found by its text, all distinct).
void expect_keys_kept(const KeyedLines& got, const std::vector<std::string>& records,
                      const std::string& what) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < records.size(); ++i) index[records[i]] = i;
  for (auto& [line, key] : got.lines) {
    auto it = index.find(line);
    ASSERT_NE(it, index.end()) << what << ": " << line;
    EXPECT_EQ(key, key_of_record(it->second)) << what << ": " << line;
  }
}

std::vector<std::string> texts_of(const KeyedLines& k) {
  std::vector<std::string> v;
  for (auto& l : k.lines) v.push_back(l.first);
  return v;
}

// Records of a --merge input, with keys.
class KeyedSource : public record::Source {
 public:
  KeyedSource(std::string name, std::vector<std::pair<std::string, std::optional<std::string>>> r)
      : name_(std::move(name)), records_(std::move(r)) {}
  bool next(record::Record& rec) override {
    if (at_ == records_.size()) return false;
    buf_ = records_[at_].first;
    buf_.append(64, ' ');
    rec.text = std::string_view(buf_.data(), records_[at_].first.size());
    rec.key = records_[at_].second;
    rec.line = ++at_;
    return true;
  }
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
  std::vector<std::pair<std::string, std::optional<std::string>>> records_;
  size_t at_ = 0;
  std::string buf_;
};

}  // namespace

TEST(ExternalSort, MessageKeysStayWithTheirRecordsInMemorySpilledAndMergedInPasses) {
  test::ScratchDir dir;
  std::string tmp = dir.path("spill");
  ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
  auto records = make_records(60000, 7);
  records[100] = "not json";         // rejected, with its key (k100)
  records[700] = "not json either";  // rejected, without one (700 % 7 == 0)
  std::vector<std::string> good;
  for (size_t i = 0; i < records.size(); ++i) {
    if (i != 100 && i != 700) good.push_back(records[i]);
  }
  pipeline::SortOptions in_memory;
  in_memory.temp_dir = tmp;
  pipeline::SortOptions spilled = in_memory;
  spilled.buffer_bytes = 1 << 20;
  pipeline::SortOptions passes =
      spilled;  // runs merged in passes (fan-in 4: two runs and the two halves in memory)
  passes.merge_fan_in = 4;
  for (auto& [what, opts, runs] :
       {std::tuple{"in memory", in_memory, 0}, std::tuple{"spilled", spilled, 3},
        std::tuple{"merged in passes", passes, 3}}) {
    auto r = sort_keyed(records, opts);
    if (runs == 0) {
      EXPECT_EQ(r.runs, 0u) << what;
    } else {
      EXPECT_GE(r.runs, static_cast<size_t>(runs)) << what;
    }
    EXPECT_EQ(texts_of(r.out), reference_sort(good, false)) << what;
    expect_keys_kept(r.out, records, what);
    ASSERT_EQ(r.rejects.lines.size(), 2u) << what;
    EXPECT_EQ(r.rejects.lines[0].second, std::optional<std::string>("k100")) << what;
    EXPECT_EQ(r.rejects.lines[1].second, std::nullopt) << what;
    EXPECT_EQ(entries_in(tmp), 0u) << what;
  }
  // Keys or not, a file gets the same lines.
  auto plain = sort_lines(dir, good, spilled);
  EXPECT_EQ(plain.out, reference_sort(good, false));
}

TEST(ExternalSort, KeyFieldKeysRejectsElseTheirMessageKey) {
  std::vector<std::string> records = {R"({"timestamp":"2026-11-22T10:00:02Z","pop":"FRA1"})",
                                      R"({"pop":"AMS1"})", R"({"x":1})"};
  pipeline::SortOptions opts;
  opts.key_field = "pop";
  auto r = sort_keyed(records, opts);  // keys: none, k1, k2
  ASSERT_EQ(r.rejects.lines.size(), 2u);
  EXPECT_EQ(r.rejects.lines[0].second, std::optional<std::string>("AMS1"));
  EXPECT_EQ(r.rejects.lines[1].second, std::optional<std::string>("k2"));
}

TEST(ExternalSort, MergeOfSortedInputsKeepsKeysAlsoThroughRuns) {
  test::ScratchDir dir;
  // Inputs each in time order; record j of input i has key "i.j", none when j % 3 == 0.
  const size_t inputs = 9;
  std::vector<std::vector<std::pair<std::string, std::optional<std::string>>>> data(inputs);
  std::map<std::string, std::optional<std::string>> want_key;
  for (size_t i = 0; i < inputs; ++i) {
    for (size_t j = 0; j < 200; ++j) {
      char ts[64];
      std::snprintf(ts, sizeof ts, "2026-11-22T10:%02zu:%02zu.000Z", j / 60, j % 60);
      std::string text = std::string("{\"timestamp\":\"") + ts + "\",\"in\":" + std::to_string(i) +
                         ",\"j\":" + std::to_string(j) + "}";
      std::optional<std::string> key;
      if (j % 3 != 0) key = std::to_string(i) + "." + std::to_string(j);
      data[i].emplace_back(text, key);
      want_key[text] = key;
    }
  }
  data[4][10].first = R"({"no":"time"})";  // rejected with its key 4.10
  want_key.erase(R"({"timestamp":"2026-11-22T10:00:10.000Z","in":4,"j":10})");
  // Free descriptors as such: all inputs merged at once; few: merged in groups into runs first.
  for (size_t spare : {size_t{0}, size_t{10}}) {
    KeyedResult r;
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
    {
      pipeline::RunContext ctx("sort", std::make_unique<KeyedSink>(r.out),
                               std::make_unique<KeyedSink>(r.rejects));
      std::vector<std::string> specs;
      for (size_t i = 0; i < inputs; ++i) specs.push_back(std::to_string(i));
      pipeline::SortOptions opts;
      opts.temp_dir = dir.path("");
      if (spare > 0) {
        rlimit low = old;
        low.rlim_cur = old.rlim_cur - base::descriptors_free() + spare;  // `spare` free
        ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
      }
      pipeline::merge_sorted_inputs(
          specs,
          [&](const std::string& spec) {
            return std::make_unique<KeyedSource>(spec, data[std::stoul(spec)]);
          },
          opts, ctx);
      ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
      ctx.commit();
    }
    ASSERT_EQ(r.out.lines.size(), inputs * 200 - 1) << "spare " << spare;
    for (auto& [line, key] : r.out.lines) {
      ASSERT_TRUE(want_key.count(line)) << line;
      EXPECT_EQ(key, want_key[line]) << line;
    }
    ASSERT_EQ(r.rejects.lines.size(), 1u);
    EXPECT_EQ(r.rejects.lines[0].second, std::optional<std::string>("4.10"));
  }
}
