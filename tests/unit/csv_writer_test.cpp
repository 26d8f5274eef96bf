// The CSV writer against the CSV reader: what it writes reads back as the records written, and
// what would not is refused with a reason. The gzip sink against the gzip reader.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/io/gzip_sink.hpp"
#include "common/io/sink.hpp"
#include "common/record/csv_writer.hpp"
#include "common/record/source.hpp"
#include "test_files.hpp"

using namespace cdn;

namespace {
// The records written to a CSV file and read back (each refused one leaves its reason in
// `refused`).
test::Read round_trip(const test::ScratchDir& dir, const std::vector<std::string>& records,
                      std::vector<std::string>& refused,
                      const record::PropertyTypes* types = nullptr) {
  record::CsvWriter w(types);
  std::string csv, reason;
  for (const auto& r : records) {
    if (!w.write(r, csv, reason)) refused.push_back(reason);
  }
  w.finish(csv);
  record::SourceOptions opts;
  opts.csv_types = types;
  return test::read_all(dir, dir.file("out.csv", csv), opts);
}
}  // namespace

TEST(CsvWriter, WhatItWritesReadsBackAsTheRecordsWritten) {
  test::ScratchDir dir;
  // In header order and canonical JSON, so the text read back is the text written.
  std::vector<std::string> in = {
      R"({"id":1,"a,b":"x,y","q\"k":"say \"hi\"","nl":"l1\nl2\n","u":"café ☕ 𝄞","big":18446744073709551615,"f":1.5e-7,"g":0.10})",
      R"({"id":2,"nl":"a\rb","u":" spaced ","big":-9223372036854775808,"f":-0.0})",
      R"({"id":3})",
  };
  std::vector<std::string> refused;
  auto r = round_trip(dir, in, refused);
  EXPECT_TRUE(refused.empty());
  EXPECT_EQ(r.texts, in);
  EXPECT_EQ(r.rejects, "");
}

TEST(CsvWriter, EmptyStringsAndStringsOfDigitsAreQuotedAndReadBackAsStrings) {
  test::ScratchDir dir;
  std::vector<std::string> in = {R"({"a":"","b":"123","c":123,"d":"1e5"})",
                                 R"({"a":"x","b":"-0.5","c":-0.5})"};
  std::vector<std::string> refused;
  auto r = round_trip(dir, in, refused);
  EXPECT_TRUE(refused.empty());
  EXPECT_EQ(r.texts, in);
}

TEST(CsvWriter, ARowThatWouldBeBlankIsRefused) {
  record::CsvWriter w(nullptr);
  std::string out, reason;
  EXPECT_FALSE(w.write("{}", out, reason));
  EXPECT_NE(reason.find("blank row"), std::string::npos);
  ASSERT_TRUE(w.write(R"({"a":"x"})", out, reason));
  EXPECT_FALSE(w.write("{}", out, reason));
  EXPECT_EQ(out, "a\nx\n");
}

TEST(CsvWriter, SchemaGivesTheColumnsTheirOrderAndTypes) {
  test::ScratchDir dir;
  record::PropertyTypes t;
  t.order = {"b", "flag", "code", "n"};
  t.by_name = {{"flag", record::ValueType::boolean},
               {"code", record::ValueType::string},
               {"n", record::ValueType::integer}};
  std::vector<std::string> refused;
  auto r = round_trip(dir, {R"({"code":"007","flag":true,"n":2})", R"({"b":"x","code":"12"})"},
                      refused, &t);
  EXPECT_TRUE(refused.empty());
  EXPECT_EQ(r.texts, (std::vector<std::string>{R"({"flag":true,"code":"007","n":2})",
                                               R"({"b":"x","code":"12"})"}));
}

TEST(CsvWriter, RefusesWhatWouldNotReadBackAsItIs) {
  record::CsvWriter w(nullptr);
  std::string out, reason;
  ASSERT_TRUE(w.write(R"({"a":"x","n":1})", out, reason));
  EXPECT_EQ(out, "a,n\nx,1\n");
  for (const char* bad :
       {R"({"a":null})", R"({"a":[1]})", R"({"a":{}})", R"({"a":true})", R"({"c":1})",
        R"({"a":"x","a":"y"})", R"({"a":"x\r\ny"})", "not json", "[1]", R"({"a":"x"} x)"}) {
    std::string before = out;
    EXPECT_FALSE(w.write(bad, out, reason)) << bad;
    EXPECT_EQ(out, before) << bad;
    EXPECT_FALSE(reason.empty()) << bad;
  }
}

TEST(CsvWriter, SchemaHeaderStandsInAFileWithNoRecords) {
  record::PropertyTypes t;
  t.order = {"a", "b,c"};
  record::CsvWriter w(&t);
  std::string out;
  w.finish(out);
  EXPECT_EQ(out, "a,\"b,c\"\n");
}

TEST(GzipSink, WritesGzipThatReadsBackAcrossCommits) {
  test::ScratchDir dir;
  std::string path = dir.path("out.ndjson.gz");
  {
    auto sink = io::gzip_sink(io::open_file_sink(path, io::SinkRole::output));
    sink->write_line(R"({"n":1})");
    sink->flush();
    sink->write_line(R"({"n":2})");
    sink->commit();
  }
  std::string bytes = test::ScratchDir::read(path);
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(bytes[1]), 0x8b);
  auto r = test::read_all(dir, path);
  EXPECT_EQ(r.texts, (std::vector<std::string>{R"({"n":1})", R"({"n":2})"}));
}

TEST(GzipSink, AnEmptyOutputIsAGzipFileWithNothingInIt) {
  test::ScratchDir dir;
  std::string path = dir.path("empty.ndjson.gz");
  io::gzip_sink(io::open_file_sink(path, io::SinkRole::output))->commit();
  std::string bytes = test::ScratchDir::read(path);
  ASSERT_GE(bytes.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(bytes[0]), 0x1f);
  EXPECT_TRUE(test::read_all(dir, path).texts.empty());
}
