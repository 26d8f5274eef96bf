#include "common/pipeline/external_sort.hpp"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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
