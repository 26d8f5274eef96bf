#include "common/pipeline/external_sort.hpp"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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
  pipeline::Counts counts;
};

Result sort_lines(const test::ScratchDir& dir, const std::vector<std::string>& records,
                  pipeline::SortOptions opts) {
  std::string out = dir.path("out.ndjson");
  Result r;
  pipeline::RunContext ctx("sort", out, dir.path("rejects.ndjson"));
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

}  // namespace

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
