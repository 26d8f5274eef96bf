// record::FieldWatch: field names given by options, held against the records read.
#include "common/record/field_watch.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/diag/log.hpp"

namespace {

using cdn::record::FieldWatch;

// What one run of `f` warned on stderr.
template <typename F>
std::string warned(F f) {
  cdn::diag::settings().program = "cdn test";
  testing::internal::CaptureStderr();
  f();
  return testing::internal::GetCapturedStderr();
}

TEST(FieldWatch, NamesTheFieldsNoRecordHasWithTheNearestOnceAtTheEnd) {
  FieldWatch w;
  w.expect("--tag", {"pop", "contry", "nosuch"});
  EXPECT_TRUE(w.watching());
  std::string out = warned([&] {
    w.see(R"({"pop":"FRA1","country":"DE"})");
    w.see("not json");
    w.see(R"([1,2])");
    w.see(R"({"pop":"CDG1","asn":3})");
    w.report();
    w.report();
  });
  EXPECT_EQ(out,
            "cdn test: warning: none of the first 2 records read has the fields 'contry' named by "
            "--tag (did you mean 'country'?), or 'nosuch' named by --tag; their fields: pop, "
            "country, asn\n");
  EXPECT_FALSE(w.watching());
}

TEST(FieldWatch, AFieldSomeRecordsHaveIsNoMistake) {
  FieldWatch w;
  w.expect("--keep", {"extra"});
  std::string out = warned([&] {
    w.see(R"({"a":1})");
    w.see(R"({"a":2,"extra":true})");
    w.report();
  });
  EXPECT_EQ(out, "");
}

TEST(FieldWatch, NothingIsSaidWithoutRecordsOrNames) {
  FieldWatch none;
  none.expect("--keep", {""});
  EXPECT_FALSE(none.watching());
  FieldWatch empty;
  empty.expect("--keep", {"x"});
  EXPECT_EQ(warned([&] { empty.report(); }), "");
}

TEST(FieldWatch, DottedPathsAreFollowedAndHintedFromNestedFields) {
  FieldWatch w;
  w.expect("--key", {"meta.tme", "meta.id"}, true);
  std::string out = warned([&] {
    w.see(R"({"meta":{"time":1,"id":"a"},"v":2})");
    w.report();
  });
  EXPECT_EQ(out,
            "cdn test: warning: the first record read has no field 'meta.tme' named by --key (did "
            "you mean 'meta.time'?); its fields: meta, meta.time, meta.id, v\n");
}

TEST(FieldWatch, TheSampleEndsAtItsSizeAndLaterRecordsAreNotLookedAt) {
  FieldWatch w;
  w.expect("--keep", {"late"});
  std::string out = warned([&] {
    for (uint64_t i = 0; i < FieldWatch::kSample; ++i) w.see(R"({"a":1})");
  });
  EXPECT_NE(out.find("none of the first 1000 records read has the field 'late'"), std::string::npos)
      << out;
  EXPECT_FALSE(w.watching());
  EXPECT_EQ(warned([&] {
              w.see(R"({"late":1})");
              w.report();
            }),
            "");
}

TEST(FieldWatch, ChunksOfNdjsonLinesAreReadLineByLine) {
  FieldWatch w;
  w.expect("--key", {"key"}, true);
  std::string out = warned([&] {
    w.see_lines("\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}\n{\"c\":3}", true);
    w.report();
  });
  EXPECT_EQ(
      out,
      "cdn test: warning: none of the first 3 records read has the field 'key' named by --key; "
      "their fields: a, b, c\n");
}

TEST(FieldWatch, AnIdleInputReportsOnlyOnceItsFirstRecordIsASecondOld) {
  FieldWatch w;
  w.expect("--keep", {"x"});
  EXPECT_EQ(warned([&] { w.idle(); }), "");  // no record yet
  w.see(R"({"a":1})");
  EXPECT_EQ(warned([&] { w.idle(); }), "");  // too soon
  EXPECT_TRUE(w.watching());
}

}  // namespace
