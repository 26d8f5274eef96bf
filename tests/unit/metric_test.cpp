// diag::Histogram, diag::LabeledCounter and diag::reason_label: the text format and the bounds.
#include <gtest/gtest.h>

#include <string>

#include "common/diag/metric.hpp"

namespace cdn::diag {
namespace {

TEST(Metric, HistogramWritesCumulativeBucketsSumAndCount) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.1);  // le="0.1" holds its bound
  h.observe(0.5);
  h.observe(7);
  std::string out;
  h.write(out, "x_seconds", "command=\"p\"");
  EXPECT_EQ(out,
            "x_seconds_bucket{command=\"p\",le=\"0.1\"} 2\n"
            "x_seconds_bucket{command=\"p\",le=\"1\"} 3\n"
            "x_seconds_bucket{command=\"p\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{command=\"p\"} 7.650000\n"
            "x_seconds_count{command=\"p\"} 4\n");
}

TEST(Metric, HistogramMergesCountsMadeElsewhere) {
  Histogram h(Histogram::tenths());
  uint64_t counts[11] = {};
  counts[h.bucket(0.25)] += 2;
  counts[h.bucket(1.5)] += 1;
  h.merge(counts, 2.0);
  EXPECT_EQ(h.count(), 3u);
  std::string out;
  h.write(out, "s", "");
  EXPECT_NE(out.find("s_bucket{le=\"0.2\"} 0\ns_bucket{le=\"0.3\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("s_bucket{le=\"+Inf\"} 3\ns_sum 2.000000\ns_count 3\n"), std::string::npos);
}

TEST(Metric, LabeledCounterKeepsAtMostItsLimitOfValues) {
  LabeledCounter c(3);
  for (int i = 0; i < 100; ++i) c.add("reason " + std::to_string(i % 10));
  std::string out;
  c.write(out, "r_total", "command=\"v\"", "reason");
  EXPECT_EQ(out,
            "r_total{command=\"v\",reason=\"other\"} 70\n"
            "r_total{command=\"v\",reason=\"reason 0\"} 10\n"
            "r_total{command=\"v\",reason=\"reason 1\"} 10\n"
            "r_total{command=\"v\",reason=\"reason 2\"} 10\n");
}

TEST(Metric, ReasonLabelKeepsTheKindOfReasonNotItsValues) {
  EXPECT_EQ(reason_label("invalid JSON: A string is opened, but never closed."), "invalid JSON");
  EXPECT_EQ(reason_label("field \"bytes\" is 12.5, above the maximum 10"),
            "field \"…\" is N, above the maximum N");
  EXPECT_EQ(reason_label("field \"rtt\" is 3, above the maximum 1"),
            reason_label("field \"ttfb\" is 99, above the maximum 7"));
  EXPECT_EQ(reason_label(""), "unstated");
  EXPECT_EQ(reason_label("bad \"unterminated"), "bad \"…\"");
  EXPECT_EQ(reason_label("caf\xc3\xa9 \xff"), "caf?? ?");
  std::string long_reason(500, 'a');
  EXPECT_LE(reason_label(long_reason).size(), 64u);
}

}  // namespace
}  // namespace cdn::diag
