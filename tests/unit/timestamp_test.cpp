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

TEST(Rfc3339, LowerCaseAcceptedSpaceSeparatorRejected) {
  EXPECT_TRUE(parse_rfc3339("2026-11-22t10:15:30z"));
  // RFC 3339 allows a space only "for readability"; JSON Schema's date-time does not.
  EXPECT_FALSE(parse_rfc3339("2026-11-22 10:15:30Z"));
  EXPECT_FALSE(parse_rfc3339("2026-11-22_10:15:30Z"));
}

TEST(Rfc3339, LeapSecondOnlyAt2359Utc) {
  // As JSON-Schema-Test-Suite's draft2020-12 optional/format/date-time.json has it.
  for (const char* good : {"1998-12-31T23:59:60Z", "1998-12-31T15:59:60.123-08:00",
                           "1999-01-01T00:59:60+01:00", "1998-12-31t23:59:60z"}) {
    EXPECT_TRUE(parse_rfc3339(good)) << good;
    EXPECT_TRUE(cdn::record::is_rfc3339_full_time(std::string_view(good).substr(11))) << good;
  }
  for (const char* bad :
       {"1998-12-31T23:59:61Z", "1998-12-31T23:58:60Z", "1998-12-31T22:59:60Z",
        "1998-12-31T23:59:60+01:00", "1998-12-31T15:59:60-07:00", "2026-11-22T10:00:60Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
    EXPECT_FALSE(cdn::record::is_rfc3339_full_time(std::string_view(bad).substr(11))) << bad;
  }
}

TEST(Rfc3339, LeapSecondIsTheLastNanosecondOf235959Utc) {
  auto leap = parse_rfc3339("1998-12-31T23:59:60.5Z");
  auto before = parse_rfc3339("1998-12-31T23:59:59.999999998Z");
  auto after = parse_rfc3339("1999-01-01T00:00:00Z");
  ASSERT_TRUE(leap && before && after);
  EXPECT_EQ(*leap, (Instant{before->seconds, 999999999}));
  EXPECT_LT(*before, *leap);
  EXPECT_LT(*leap, *after);
  EXPECT_EQ(*parse_rfc3339("1998-12-31T15:59:60-08:00"), *leap);
  EXPECT_EQ(*parse_rfc3339("1999-01-01T00:59:60+01:00"), *leap);
  EXPECT_EQ(cdn::record::format_rfc3339_ms(*leap), "1998-12-31T23:59:59.999Z");
}

TEST(Rfc3339, FullDateAndFullTime) {
  EXPECT_TRUE(cdn::record::is_rfc3339_full_date("2024-02-29"));
  EXPECT_FALSE(cdn::record::is_rfc3339_full_date("2026-02-29"));
  EXPECT_FALSE(cdn::record::is_rfc3339_full_date("2026-2-28"));
  EXPECT_TRUE(cdn::record::is_rfc3339_full_time("10:15:30.5+01:00"));
  EXPECT_FALSE(cdn::record::is_rfc3339_full_time("10:15:30"));
}

TEST(Rfc3339, LeapDayOnlyInLeapYears) {
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2026-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("1900-02-29T00:00:00Z"));
}

TEST(Rfc3339, InvalidDatesAndTimesRejected) {
  for (const char* bad : {"2026-13-01T00:00:00Z",
                          "2026-00-10T00:00:00Z",
                          "2026-04-31T00:00:00Z",
                          "2026-11-22T24:00:00Z",
                          "2026-11-22T10:60:00Z",
                          "2026-11-22T10:15:61Z",
                          "2026-11-22T10:15:30",
                          "2026-11-22T10:15:30.Z",
                          "2026-11-22T10:15:30+0100",
                          "2026-11-22T10:15:30+24:00",
                          "2026-11-22",
                          "yesterday",
                          "",
                          "2026-11-22T10:15:30Zjunk",
                          "2026/11/22T10:15:30Z",
                          "20261122T101530Z",
                          "1963-06-19T08:30:06.28123+01:00Z",
                          "1963-6-19T08:30:06Z",
                          "1963-06-1T08:30:06Z",
                          "2013-350T01:01:01"}) {
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
