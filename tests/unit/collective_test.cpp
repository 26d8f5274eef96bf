// The options of distributed training (common/model/collective.hpp) and a group of one.
#include <gtest/gtest.h>

#include <cstdlib>

#include "common/diag/errors.hpp"
#include "common/model/collective.hpp"

namespace cdn::model::collective {
namespace {

TEST(Collective, SplitsHostAndPortIPv6InBrackets) {
  std::string host;
  int port = 0;
  split_address("tracker.cdn:9091", host, port);
  EXPECT_EQ(host, "tracker.cdn");
  EXPECT_EQ(port, 9091);
  split_address("[::1]:80", host, port);
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 80);
  for (const char* bad :
       {"host", ":9091", "host:", "host:0", "host:65536", "host:9x", "::1:80", "[::1]80:"}) {
    EXPECT_THROW(split_address(bad, host, port), UsageError) << bad;
  }
}

TEST(Collective, SettlesTheRankFromTheJobIndexOnlyWhenNoneIsGiven) {
  ::setenv("JOB_COMPLETION_INDEX", "2", 1);
  Options o;
  o.tracker = "127.0.0.1:9091";
  o.workers = 4;
  settle(o, false);
  EXPECT_EQ(o.rank, 2);
  Options given = o;
  given.rank = 1;
  settle(given, true);
  EXPECT_EQ(given.rank, 1);
  Options out = o;
  out.workers = 2;
  out.rank = -1;
  EXPECT_THROW(settle(out, false), UsageError);  // index 2 of 2 workers
  ::unsetenv("JOB_COMPLETION_INDEX");
  Options none = o;
  none.rank = -1;
  EXPECT_THROW(settle(none, false), UsageError);  // no rank at all
}

TEST(Collective, AloneWithoutATrackerAndRefusesHalfASetup) {
  Options alone;
  EXPECT_NO_THROW(settle(alone, false));
  Options half;
  half.workers = 2;
  EXPECT_THROW(settle(half, false), UsageError);
  Options no_workers;
  no_workers.tracker = "127.0.0.1:9091";
  no_workers.rank = 0;
  EXPECT_THROW(settle(no_workers, true), UsageError);
}

TEST(Collective, AGroupOfOneExchangesWithItself) {
  Communicator c(Options{});
  EXPECT_FALSE(c.distributed());
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  EXPECT_EQ(c.who(), "");
  EXPECT_EQ(c.allgather(std::string("abc")), std::vector<std::string>{"abc"});
  std::vector<float> f{1.5f, 2.5f};
  EXPECT_EQ(c.allgather(f), f);
  std::vector<int64_t> v{3, 4};
  c.allreduce(v, Op::sum);
  EXPECT_EQ(v, (std::vector<int64_t>{3, 4}));
}

}  // namespace
}  // namespace cdn::model::collective
