#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/pipeline/context.hpp"
#include "common/record/csv.hpp"
#include "common/record/source.hpp"
#include "common/schema/types.hpp"
#include "test_files.hpp"

using namespace cdn;

namespace {
test::Read read_csv(const test::ScratchDir& dir, const std::string& content,
                    const record::PropertyTypes* types = nullptr) {
  record::SourceOptions opts;
  opts.csv_types = types;
  return test::read_all(dir, dir.file("in.csv", content), opts);
}
}  // namespace

TEST(CsvReader, HeaderNamesTheFields) {
  test::ScratchDir dir;
  auto r = read_csv(dir, "a,b\nx,y\n");
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.texts[0], R"({"a":"x","b":"y"})");
}

TEST(CsvReader, QuotedFieldsWithCommasAndDoubledQuotes) {
  test::ScratchDir dir;
  auto r = read_csv(dir, "a,b\n\"x,1\",\"say \"\"hi\"\"\"\n");
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.texts[0], R"({"a":"x,1","b":"say \"hi\""})");
}

TEST(CsvReader, EmbeddedNewlinesKeepTheRowTogether) {
  test::ScratchDir dir;
  auto r = read_csv(dir, "a,b\n\"line1\nline2\",z\nq,w\n");
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.texts[0], R"({"a":"line1\nline2","b":"z"})");
  EXPECT_EQ(r.lines[0], 2u);
  EXPECT_EQ(r.lines[1], 4u);
}

TEST(CsvReader, CrlfLineEndingsAndBom) {
  test::ScratchDir dir;
  auto r = read_csv(dir,
                    "\xEF\xBB\xBF"
                    "a,b\r\n1,x\r\n2,y\r\n");
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.texts[0], R"({"a":1,"b":"x"})");
  EXPECT_EQ(r.texts[1], R"({"a":2,"b":"y"})");
}

TEST(CsvReader, EmptyCellLeavesTheFieldOut) {
  test::ScratchDir dir;
  auto r = read_csv(dir, "a,b,c\n1,,3\n");
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.texts[0], R"({"a":1,"c":3})");
}

TEST(CsvReader, WithoutSchemaOnlyJsonNumbersBecomeNumbers) {
  test::ScratchDir dir;
  auto r = read_csv(dir, "a,b,c,d\n-1.5e3,00123,true,+5\n");
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.texts[0], R"({"a":-1.5e3,"b":"00123","c":"true","d":"+5"})");
}

TEST(CsvReader, SchemaTypesTheCells) {
  test::ScratchDir dir;
  record::PropertyTypes types;
  types.by_name = {{"i", record::ValueType::integer},
                   {"n", record::ValueType::number},
                   {"b", record::ValueType::boolean},
                   {"s", record::ValueType::string}};
  auto r = read_csv(dir, "i,n,b,s\n42,2.50,true,007\n7.0,.5,false,x\n", &types);
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.texts[0], R"({"i":42,"n":2.50,"b":true,"s":"007"})");
  EXPECT_EQ(r.texts[1], R"({"i":7,"n":0.5,"b":false,"s":"x"})");
}

// Found by tests/fuzz/csv_fuzz.cpp: JSON numbers beyond 64-bit integers or a double's range
// were copied into the record, which then failed to parse downstream ("invalid JSON") instead
// of reading as what the CSV holds.
TEST(CsvReader, NumbersThatWouldNotReadBackStayTextOrAreRejected) {
  test::ScratchDir dir;
  auto untyped =
      read_csv(dir, "a,b,c,d\n99999999999999999999,1e999,-1e-400,18446744073709551615\n");
  ASSERT_EQ(untyped.texts.size(), 1u);
  EXPECT_EQ(untyped.texts[0],
            R"({"a":"99999999999999999999","b":"1e999","c":-1e-400,"d":18446744073709551615})");
  record::PropertyTypes types;
  types.by_name = {{"n", record::ValueType::number}};
  auto typed = read_csv(dir, "n\n99999999999999999999\n1e999\n", &types);
  ASSERT_EQ(typed.texts.size(), 1u);
  EXPECT_EQ(typed.texts[0], R"({"n":1e+20})");
  EXPECT_EQ(typed.counts.rejected, 1u);
  EXPECT_NE(typed.rejects.find("'1e999' is not a number"), std::string::npos);
}

TEST(CsvReader, SchemaFileGivesTheTypes) {
  test::ScratchDir dir;
  std::string schema = dir.file("s.json", R"({"properties":{"a":{"type":"integer"},
      "b":{"type":["null","number"]},"c":{"type":"string"}}})");
  auto types = cdn::schema::load_property_types(schema);
  EXPECT_EQ(types.of("a"), record::ValueType::integer);
  EXPECT_EQ(types.of("b"), record::ValueType::number);
  EXPECT_EQ(types.of("c"), record::ValueType::string);
  EXPECT_EQ(types.of("zzz"), record::ValueType::any);
}

TEST(CsvReader, CellThatDoesNotFitItsTypeIsRejectedWithReason) {
  test::ScratchDir dir;
  record::PropertyTypes types;
  types.by_name = {{"i", record::ValueType::integer}};
  auto r = read_csv(dir, "i\n1\nabc\n3\n", &types);
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.counts.in, 3u);
  EXPECT_EQ(r.counts.rejected, 1u);
  EXPECT_NE(r.rejects.find("'abc' is not an integer"), std::string::npos);
  EXPECT_NE(r.rejects.find("\"line\":3"), std::string::npos);
  EXPECT_NE(r.rejects.find("\"record\":\"abc\""), std::string::npos);
}

TEST(CsvReader, WrongFieldCountIsRejected) {
  test::ScratchDir dir;
  auto r = read_csv(dir, "a,b\n1,2,3\n4,5\n");
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.counts.rejected, 1u);
  EXPECT_NE(r.rejects.find("row has 3 fields but the header has 2"), std::string::npos);
}

TEST(CsvReader, UnterminatedQuoteAtEndIsRejected) {
  test::ScratchDir dir;
  auto r = read_csv(dir, "a\n1\n\"open\n");
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.counts.rejected, 1u);
  EXPECT_NE(r.rejects.find("unterminated"), std::string::npos);
}

TEST(CsvSplit, GarbageAfterClosingQuote) {
  std::vector<std::string> f;
  std::string err;
  EXPECT_FALSE(record::split_csv_record("\"a\"b,c", f, err));
  EXPECT_NE(err.find("after the closing quote"), std::string::npos);
  EXPECT_TRUE(record::split_csv_record("a,,\"\"", f, err));
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[1], "");
  EXPECT_EQ(f[2], "");
}

TEST(CsvReader, GzippedCsv) {
  test::ScratchDir dir;
  std::string path = dir.gzip_file("in.csv.gz", "a\n1\n2\n");
  record::Counts counts;
  record::Rejects rejects("test", io::open_file_sink(dir.path("r"), io::SinkRole::rejects), counts);
  auto src = record::open_file_source(path, {}, rejects, counts);
  record::Record rec;
  int n = 0;
  while (src->next(rec)) ++n;
  EXPECT_EQ(n, 2);
}
