#include "common/record/timestamp.hpp"

#include <gtest/gtest.h>

using cdn::record::Instant;
using cdn::record::parse_rfc3339;

TEST(Rfc3339, ParsesUtcWithMilliseconds) {
  auto t = parse_rfc3339("2026-11-22T10:15:30.123Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->seconds, 1795342530);
  EXPECT_EQ(t->nanos, 123000000u);
}

TEST(Rfc3339, OffsetsNameTheSameInstant) {
  auto z = parse_rfc3339("2026-11-22T10:15:30Z");
  auto plus = parse_rfc3339("2026-11-22T11:15:30+01:00");
  auto minus = parse_rfc3339("2026-11-22T04:45:30-05:30");
  ASSERT_TRUE(z && plus && minus);
  EXPECT_EQ(*z, *plus);
  EXPECT_EQ(*z, *minus);
}

TEST(Rfc3339, OffsetCanCrossMidnightAndYear) {
  auto a = parse_rfc3339("2027-01-01T00:30:00+01:00");
  auto b = parse_rfc3339("2026-12-31T23:30:00Z");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
}

TEST(Rfc3339, AnyFractionLength) {
  EXPECT_EQ(parse_rfc3339("2026-11-22T10:15:30.1Z")->nanos, 100000000u);
  EXPECT_EQ(parse_rfc3339("2026-11-22T10:15:30.123456789Z")->nanos, 123456789u);
  // Digits past nanoseconds are truncated.
  EXPECT_EQ(parse_rfc3339("2026-11-22T10:15:30.1234567891234Z")->nanos, 123456789u);
  EXPECT_LT(*parse_rfc3339("2026-11-22T10:15:30.5Z"), *parse_rfc3339("2026-11-22T10:15:30.50001Z"));
}

TEST(Rfc3339, LowerCaseAndSpaceSeparatorsAccepted) {
  EXPECT_TRUE(parse_rfc3339("2026-11-22t10:15:30z"));
  EXPECT_TRUE(parse_rfc3339("2026-11-22 10:15:30Z"));
}

TEST(Rfc3339, LeapDayOnlyInLeapYears) {
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("1900-02-29T00:00:00Z"));
}

TEST(Rfc3339, InvalidDatesAndTimesRejected) {
  for (const char* bad :
       {"2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-11-22T24:00:00Z", "2026-11-22T10:60:00Z", "2026-11-22T10:15:61Z",
        "2026-11-22T10:15:30", "2026-11-22T10:15:30.Z", "2026-11-22T10:15:30+0100",
        "2026-11-22T10:15:30+24:00", "2026-11-22", "yesterday", "", "2026-11-22T10:15:30Zjunk",
        "2026/11/22T10:15:30Z", "20261122T101530Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(Rfc3339, BeforeTheEpoch) {
  auto t = parse_rfc3339("1969-12-31T23:59:59.5Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->seconds, -1);
  EXPECT_EQ(t->nanos, 500000000u);
}

TEST(Rfc3339, FormatsMillisecondsUtc) {
  auto t = parse_rfc3339("2026-11-22T11:15:30.123456+01:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(cdn::record::format_rfc3339_ms(*t), "2026-11-22T10:15:30.123Z");
  EXPECT_EQ(cdn::record::format_rfc3339_ms(Instant{-1, 500000000}), "1969-12-31T23:59:59.500Z");
}
