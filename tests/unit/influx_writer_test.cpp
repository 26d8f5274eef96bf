#include <gtest/gtest.h>

#include <zlib.h>

#include "common/diag/errors.hpp"
#include "common/influx/duplicates.hpp"
#include "common/influx/writer.hpp"

using namespace cdn::influx;

namespace {
Batch batch_of(const std::vector<std::string>& lines) {
  Batch b;
  uint64_t n = 0;
  for (const auto& l : lines) {
    ++n;
    b.add(l + "\n", 0, n, "{\"raw\":" + std::to_string(n) + "}");
  }
  return b;
}
}  // namespace

TEST(InfluxBatch, LinesAndRecordsAreKeptApart) {
  Batch b = batch_of({"m a=1i 1", "m a=2i 2"});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.line(1), "m a=2i 2");
  EXPECT_EQ(b.record(0), "{\"raw\":1}");
  auto s = b.subset({1});
  EXPECT_EQ(s->body, "m a=2i 2\n");
  EXPECT_EQ(s->record(0), "{\"raw\":2}");
  EXPECT_EQ(s->origins[0].line, 2u);
}

TEST(InfluxRefusals, NamedLinesGetTheirOwnReason) {
  Batch b = batch_of({"m a=1i 1", "m a=\"x': y\" 2", "m b=3i 3"});
  std::string msg =
      "partial write: unable to parse 'm a=\"x': y\" 2': bad timestamp\nunable to parse 'm b=3i "
      "3': invalid field format";
  Refusals r = parse_refusals(b, msg);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].first, 1u);
  EXPECT_EQ(r.lines[0].second, "bad timestamp");
  EXPECT_EQ(r.lines[1].first, 2u);
  EXPECT_EQ(r.lines[1].second, "invalid field format");
  EXPECT_FALSE(r.dropped);
}

TEST(InfluxRefusals, DroppedCountWithoutNames) {
  Batch b = batch_of({"m a=1i 1", "m a=1.5 2"});
  Refusals r = parse_refusals(
      b,
      "partial write: field type conflict: input field \"a\" on measurement \"m\" is type float, "
      "already exists as type integer dropped=1");
  EXPECT_TRUE(r.lines.empty());
  ASSERT_TRUE(r.dropped);
  EXPECT_EQ(*r.dropped, 1u);
}

TEST(InfluxErrors, MessageFromEitherApiVersion) {
  EXPECT_EQ(error_message("{\"error\":\"database not found: \\\"x\\\"\"}\n"),
            "database not found: \"x\"");
  EXPECT_EQ(error_message("{\"code\":\"invalid\",\"message\":\"no bucket\"}"), "no bucket");
  EXPECT_EQ(error_message("plain text\r\n"), "plain text");
}

TEST(InfluxDurations, UnitsAndPlainSeconds) {
  EXPECT_EQ(parse_duration("250ms", "--x").count(), 250);
  EXPECT_EQ(parse_duration("30s", "--x").count(), 30000);
  EXPECT_EQ(parse_duration("1.5", "--x").count(), 1500);
  EXPECT_EQ(parse_duration("2m", "--x").count(), 120000);
  EXPECT_EQ(parse_duration("1h", "--x").count(), 3600000);
  EXPECT_THROW(parse_duration("", "--x"), cdn::UsageError);
  EXPECT_THROW(parse_duration("5 parsecs", "--x"), cdn::UsageError);
  EXPECT_THROW(parse_duration("-1s", "--x"), cdn::UsageError);
}

TEST(InfluxGzip, RoundTrips) {
  std::string in(100000, 'a');
  in += "tail";
  std::string out;
  gzip(in, out);
  EXPECT_LT(out.size(), in.size() / 10);
  std::string back(in.size() + 16, '\0');
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(out.data());
  z.avail_in = static_cast<uInt>(out.size());
  z.next_out = reinterpret_cast<Bytef*>(back.data());
  z.avail_out = static_cast<uInt>(back.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  back.resize(z.total_out);
  inflateEnd(&z);
  EXPECT_EQ(back, in);
}

TEST(InfluxDuplicates, SeenOnlyForTheSameSeriesAndTime) {
  Duplicates d;
  EXPECT_FALSE(d.seen({1, 100}));
  EXPECT_TRUE(d.seen({1, 100}));
  EXPECT_FALSE(d.seen({2, 100}));
  EXPECT_FALSE(d.seen({1, 101}));
}

TEST(InfluxDuplicates, NudgeFindsTheNextFreeTime) {
  Duplicates d;
  PointKey k{7, 1000};
  EXPECT_EQ(d.nudge(k), 0);
  for (int i = 1; i <= 5; ++i) {
    PointKey again{7, 1000};
    EXPECT_EQ(d.nudge(again), i);
    EXPECT_EQ(again.time, 1000 + i);
  }
  PointKey later{7, 1003};  // taken by a nudged point
  EXPECT_EQ(d.nudge(later), 3);
  EXPECT_EQ(later.time, 1006);
}

TEST(InfluxDuplicates, RemembersAtLeastItsMemoryAcrossGenerations) {
  Duplicates d(1000);
  for (int64_t t = 0; t < 1500; ++t) EXPECT_FALSE(d.seen({1, t}));
  for (int64_t t = 500; t < 1500; ++t) EXPECT_TRUE(d.seen({1, t})) << t;
}

TEST(InfluxDuplicates, OnDuplicateModes) {
  EXPECT_EQ(parse_on_duplicate("nudge"), OnDuplicate::nudge);
  EXPECT_EQ(parse_on_duplicate("keep-last"), OnDuplicate::keep_last);
  EXPECT_THROW(parse_on_duplicate("drop"), cdn::UsageError);
}
