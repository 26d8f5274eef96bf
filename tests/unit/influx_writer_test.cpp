#include <gtest/gtest.h>

#include <zlib.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "common/diag/errors.hpp"
#include "common/influx/duplicates.hpp"
#include "common/influx/writer.hpp"
#include "common/influx/written.hpp"

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

// The cumulative count of `h` at the bucket whose bound is `le` ("+Inf" for all).
static uint64_t cumulative(const cdn::diag::Histogram& h, const std::string& le) {
  std::string text;
  h.write(text, "f", "");
  std::string key = "f_bucket{le=\"" + le + "\"} ";
  size_t at = text.find(key);
  EXPECT_NE(at, std::string::npos) << le;
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
}

TEST(InfluxFreshness, EachPointFromItsTimesToTheAcknowledgement) {
  Batch b = batch_of({"m a=1i 1", "m a=2i 2", "m a=3i 3"});
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  b.base = now - 10;
  const float none = std::numeric_limits<float>::quiet_NaN();
  b.since = {{2.0f, 9.85f},  // event 8 s ago, produced 0.15 s ago
             {20.0f, 9.6f},  // event 10 s ahead of this clock, produced 0.4 s ago
             {5.5f, none}};  // event 4.5 s ago, no Kafka message
  Freshness produce, event;
  observe_freshness(b, nullptr, produce, event);
  EXPECT_EQ(event.seconds.count(), 3u);
  EXPECT_EQ(produce.seconds.count(), 2u);
  // a negative freshness is in the lowest bucket
  EXPECT_EQ(cumulative(event.seconds, "0.01"), 1u);
  EXPECT_EQ(cumulative(event.seconds, "3"), 1u);
  EXPECT_EQ(cumulative(event.seconds, "5"), 2u);
  EXPECT_EQ(cumulative(event.seconds, "10"), 3u);
  EXPECT_EQ(cumulative(produce.seconds, "0.1"), 0u);
  EXPECT_EQ(cumulative(produce.seconds, "0.2"), 1u);
  EXPECT_EQ(cumulative(produce.seconds, "0.5"), 2u);
  EXPECT_NEAR(event.max.load(), 8.0, 0.5);
  EXPECT_NEAR(produce.max.load(), 0.4, 0.2);

  // Only the lines named (a partial write), and a subset keeps each line's times.
  auto s = b.subset({0, 2});
  ASSERT_EQ(s->since.size(), 2u);
  EXPECT_EQ(s->base, b.base);
  Freshness p2, e2;
  observe_freshness(*s, nullptr, p2, e2);
  EXPECT_EQ(e2.seconds.count(), 2u);
  EXPECT_EQ(p2.seconds.count(), 1u);
  std::vector<size_t> second = {1};
  observe_freshness(b, &second, p2, e2);
  EXPECT_EQ(e2.seconds.count(), 3u);
  EXPECT_EQ(cumulative(e2.seconds, "0.01"), 1u);
  // the largest stays the largest
  EXPECT_NEAR(e2.max.load(), 8.0, 0.5);

  // A batch whose times were not kept counts nothing.
  Batch plain = batch_of({"m a=1i 1"});
  Freshness p3, e3;
  observe_freshness(plain, nullptr, p3, e3);
  EXPECT_EQ(e3.seconds.count(), 0u);
  EXPECT_TRUE(std::isnan(e3.max.load()));
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

TEST(InfluxDuplicates, SaysHowFarBackItHasForgotten) {
  Duplicates d(100);
  EXPECT_EQ(d.forgotten_through(), INT64_MIN);
  // Times out of order: the forgotten generation's newest time counts, not its last.
  for (int64_t t = 0; t < 200; ++t) d.add({1, t % 2 == 0 ? t + 1000 : t});
  EXPECT_EQ(d.forgotten_through(), INT64_MIN);  // two generations of 100 are still held
  d.add({1, 5000});
  EXPECT_EQ(d.forgotten_through(), 1098);  // the newest of the first 100 points
  for (int64_t t = 0; t < 100; ++t) d.add({1, 6000 + t});
  EXPECT_EQ(d.forgotten_through(), 1198);
}

namespace {
// A fake InfluxDB /query: answers every statement from `points` (series "m" without tags,
// times in ns) and records the requests.
struct FakeQuery {
  std::vector<std::pair<int64_t, std::string>> points;
  std::vector<std::string> requests;
  std::string operator()(const std::string& q) {
    requests.push_back(q);
    std::string out = "{\"results\":[";
    size_t statement = 0;
    for (size_t at = 0; at < q.size();) {
      size_t end = q.find(';', at);
      if (end == std::string::npos) end = q.size();
      std::string s = q.substr(at, end - at);
      at = end + 1;
      long long lo = std::stoll(s.substr(s.find("time >= ") + 8));
      long long hi = std::stoll(s.substr(s.find("time < ") + 7));
      if (statement > 0) out += ",";
      out += "{\"statement_id\":" + std::to_string(statement++) +
             ",\"series\":[{\"name\":\"m\",\"columns\":[\"time\",\"id\"],\"values\":[";
      bool first = true;
      for (const auto& [t, id] : points) {
        if (t < lo || t >= hi) continue;
        if (!first) out += ",";
        first = false;
        out += '[';
        out += std::to_string(t);
        out += ",\"";
        out += id;
        out += "\"]";
      }
      out += "]}]}";
    }
    return out + "]}";
  }
};
}  // namespace

TEST(InfluxWrittenPoints, ReadsEachWindowOnceAndTellsRecordsFromTwins) {
  FakeQuery fake;
  const int64_t s = 1000000000;  // one second in ns
  fake.points = {{10 * s, "a"}, {10 * s + 1000, "b"}, {11 * s, "c"}, {500 * s, "d"}};
  WrittenPoints w([&](const std::string& q, const std::string&) { return fake(q); }, "id",
                  Precision::us, 1000);
  uint64_t series = Encoder::series_of("m", {});
  w.prefetch("m", {10000000, 10000001, 11000000, 500000000});
  ASSERT_EQ(fake.requests.size(), 1u);
  EXPECT_EQ(w.at("m", {series, 10000000}), WrittenPoints::id_hash("a"));
  EXPECT_EQ(w.at("m", {series, 10000001}), WrittenPoints::id_hash("b"));
  EXPECT_EQ(w.at("m", {series, 10000002}), std::nullopt);
  EXPECT_EQ(w.at("m", {series + 1, 10000000}), std::nullopt);  // another series
  EXPECT_EQ(w.at("m", {series, 11000000}), WrittenPoints::id_hash("c"));
  EXPECT_EQ(w.at("m", {series, 500000000}), WrittenPoints::id_hash("d"));
  EXPECT_EQ(fake.requests.size(), 1u);  // all held since
  // A window not read yet is read when looked at.
  EXPECT_EQ(w.at("m", {series, 12000000}), std::nullopt);
  EXPECT_EQ(fake.requests.size(), 2u);
  // Forgotten windows are read again.
  w.forget_through(10999999);
  EXPECT_EQ(w.at("m", {series, 10000000}), WrittenPoints::id_hash("a"));
  EXPECT_EQ(fake.requests.size(), 3u);
  EXPECT_EQ(w.at("m", {series, 11000000}), WrittenPoints::id_hash("c"));
  EXPECT_EQ(fake.requests.size(), 3u);
}

TEST(InfluxWrittenPoints, WindowsFarApartTakeAFewStatementsNotOneEach) {
  FakeQuery fake;
  WrittenPoints w([&](const std::string& q, const std::string&) { return fake(q); }, "id",
                  Precision::s, 1000);
  std::vector<int64_t> times;
  for (int64_t i = 0; i < 100; ++i) times.push_back(i * i * 10);
  w.prefetch("m", times);
  ASSERT_EQ(fake.requests.size(), 1u);
  size_t statements = 1;
  for (char c : fake.requests[0]) statements += c == ';';
  EXPECT_LE(statements, 8u);
  // Every time asked for is held: looking at any reads nothing more.
  for (int64_t t : times) EXPECT_EQ(w.at("m", {1, t}), std::nullopt);
  EXPECT_EQ(fake.requests.size(), 1u);
}

TEST(InfluxWrittenPoints, KeepsAtMostItsCapacityDroppingTheLeastRecent) {
  FakeQuery fake;
  const int64_t s = 1000000000;
  for (int64_t i = 0; i < 10; ++i) {
    for (int64_t j = 0; j < 30; ++j) fake.points.emplace_back(i * s + j, "x");
  }
  WrittenPoints w([&](const std::string& q, const std::string&) { return fake(q); }, "id",
                  Precision::ns, 100);
  uint64_t series = Encoder::series_of("m", {});
  for (int64_t i = 0; i < 10; ++i) EXPECT_TRUE(w.at("m", {series, i * s}).has_value());
  EXPECT_EQ(fake.requests.size(), 10u);
  EXPECT_TRUE(w.at("m", {series, 9 * s}).has_value());  // the newest are held
  EXPECT_EQ(fake.requests.size(), 10u);
  EXPECT_TRUE(w.at("m", {series, 0}).has_value());  // the oldest was dropped: read again
  EXPECT_EQ(fake.requests.size(), 11u);
}

TEST(InfluxDuplicates, OnDuplicateModes) {
  EXPECT_EQ(parse_on_duplicate("nudge"), OnDuplicate::nudge);
  EXPECT_EQ(parse_on_duplicate("keep-last"), OnDuplicate::keep_last);
  EXPECT_THROW(parse_on_duplicate("drop"), cdn::UsageError);
}
