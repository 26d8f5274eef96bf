// What `cdn broker` makes of the log start offsets in Produce answers (common/kafka/log_drops),
// on answers built here: no sockets, no mock cluster.
#include "common/kafka/log_drops.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/kafka/wire.hpp"

namespace cdn::kafka {
namespace {

const TopicPartition kT0{"t", 0};
const TopicPartition kT1{"t", 1};

// A Produce v7 answer for partitions 0 and 1 of "t": (error, log start offset) each.
std::string produce_v7(std::pair<int16_t, int64_t> p0, std::pair<int16_t, int64_t> p1) {
  wire::Writer w;
  w.i32(9);  // correlation id
  w.i32(1);
  w.str("t");
  w.i32(2);
  int32_t partition = 0;
  for (auto [error, log_start] : {p0, p1}) {
    w.i32(partition++);
    w.i16(error);
    w.i64(100);  // base offset
    w.i64(-1);   // log append time
    w.i64(log_start);
  }
  w.i32(0);  // throttle time
  return std::move(w.str());
}

TEST(LogDrops, ReadsTheLogStartOfEachPartitionWrittenFromAProduceAnswer) {
  auto starts = produce_log_starts(7, produce_v7({0, 40}, {6, -1}));
  ASSERT_EQ(starts.size(), 1u) << "a partition not written tells nothing";
  EXPECT_EQ(starts[0].first, kT0);
  EXPECT_EQ(starts[0].second, 40);
  EXPECT_TRUE(produce_log_starts(5, "not read before version 6").empty());
  EXPECT_THROW(produce_log_starts(7, produce_v7({0, 40}, {0, 1}).substr(0, 30)), wire::ParseError);
}

TEST(LogDrops, CountsEachAdvanceOfALogStartOnceAndReportsItAtMostEveryPeriod) {
  using namespace std::chrono_literals;
  LogDrops d;
  auto t0 = std::chrono::steady_clock::now();
  d.note(kT0, 0);
  EXPECT_TRUE(d.due(t0, 1s).empty()) << "a log that starts at 0 lost nothing";
  d.note(kT0, 40);
  d.note(kT0, 30);  // an answer older than the one before
  d.note(kT1, 5);
  EXPECT_EQ(d.total(), 45u);
  auto r = d.due(t0, 1s);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].tp, kT0);
  EXPECT_EQ(r[0].from, 0);
  EXPECT_EQ(r[0].to, 40);
  EXPECT_EQ(r[0].total, 40u);
  EXPECT_EQ(r[1].tp, kT1);

  d.note(kT0, 50);
  EXPECT_TRUE(d.due(t0 + 500ms, 1s).empty()) << "reported less than a second ago";
  r = d.due(t0 + 1s, 1s);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].from, 40);
  EXPECT_EQ(r[0].to, 50);
  EXPECT_EQ(r[0].total, 50u);
  EXPECT_TRUE(d.due(t0 + 5s, 0ms).empty()) << "nothing new";
  EXPECT_EQ(d.by_partition(), (std::map<TopicPartition, uint64_t>{{kT0, 50}, {kT1, 5}}));
}

}  // namespace
}  // namespace cdn::kafka
