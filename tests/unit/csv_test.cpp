#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/csv.hpp"
#include "common/record/source.hpp"
#include "common/schema/types.hpp"
#include "test_files.hpp"

using namespace cdn;
using namespace std::string_literals;

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

// Found by tests/cli/hostile.bats: a header naming a column twice gave records holding a
// member twice (NDJSON readers take the first, train's CSV loader took the last).
TEST(CsvReader, AHeaderNamingAColumnTwiceCannotBeRead) {
  EXPECT_EQ(record::duplicate_column({"a", "b", "c"}), "");
  EXPECT_EQ(record::duplicate_column({}), "");
  EXPECT_EQ(record::duplicate_column({"a", "b", "c", "b", "a"}),
            "column 'b' comes twice in the header (columns 2 and 4)");
  EXPECT_EQ(record::duplicate_column({"", "x", ""}),
            "column '' comes twice in the header (columns 1 and 3)");
  test::ScratchDir dir;
  try {
    read_csv(dir, "a,b,a\n1,2,3\n");
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("in.csv': column 'a' comes twice in the header "
                                         "(columns 1 and 3); give each column a name"),
              std::string::npos)
        << e.what();
  }
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

// Found by tests/fuzz/csv_fuzz.cpp (corpus/csv/regression-csv-invalid-json): a cell typed
// number holding a whole number past 64 bits was written as the double's plain digits
// (333333333333333311488), which JSON readers take for an integer and refuse.
TEST(CsvReader, WholeNumbersPastSixtyFourBitsAreWrittenAsDoublesThatReadBack) {
  test::ScratchDir dir;
  record::PropertyTypes types;
  types.by_name = {{"n", record::ValueType::number}};
  auto r = read_csv(dir, "n\n333333333333333333333\n-12345678901234567890\n12345678901234567890\n",
                    &types);
  ASSERT_EQ(r.texts.size(), 3u);
  EXPECT_EQ(r.texts[0], R"({"n":3.333333333333333e+20})");
  EXPECT_EQ(r.texts[1], R"({"n":-1.2345678901234567e+19})");
  EXPECT_EQ(r.texts[2], R"({"n":12345678901234567890})");  // fits in 64 bits: as it is
  simdjson::dom::parser parser;
  const double want[] = {333333333333333333333.0, -12345678901234567890.0};
  for (size_t i = 0; i < 2; ++i) {
    double d = 0;
    EXPECT_EQ(parser.parse(r.texts[i])["n"].get_double().get(d), simdjson::SUCCESS) << r.texts[i];
    EXPECT_EQ(d, want[i]);
  }
}

TEST(JsonText, DoublesAlwaysReadBackAsJsonNumbers) {
  simdjson::dom::parser parser;
  for (double v : {0x1p63, -0x1p63, 0x1p64, -0x1p64, 1e20, 123456789012345678901.0, 1.5e300,
                   -1.5e300, 5e-324, 0.1, 12.0, -0.0}) {
    std::string s;
    base::append_double(s, v);
    double d = 0;
    EXPECT_EQ(parser.parse(s).get_double().get(d), simdjson::SUCCESS) << s;
    EXPECT_EQ(d, v) << s;
  }
  std::string s;
  base::append_double(s, 12.0);
  EXPECT_EQ(s, "12");  // small whole numbers stay as they were written
}

TEST(JsonText, InvalidUtf8At) {
  EXPECT_EQ(base::invalid_utf8_at(""), std::string_view::npos);
  EXPECT_EQ(base::invalid_utf8_at("plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBB\xBF"),
            std::string_view::npos);
  EXPECT_EQ(base::invalid_utf8_at("\0\x01\x7f"s), std::string_view::npos);
  EXPECT_EQ(base::invalid_utf8_at("ab\xFF"), 2u);            // not a lead byte
  EXPECT_EQ(base::invalid_utf8_at("a\xC0\x80"), 1u);         // overlong NUL
  EXPECT_EQ(base::invalid_utf8_at("\xE0\x80\xAF"), 0u);      // overlong
  EXPECT_EQ(base::invalid_utf8_at("x\xED\xA0\x80"), 1u);     // a surrogate
  EXPECT_EQ(base::invalid_utf8_at("\xF4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(base::invalid_utf8_at("\xF5\x80\x80\x80"), 0u);
  EXPECT_EQ(base::invalid_utf8_at("ok\xE2\x82"), 2u);  // cut short
  EXPECT_EQ(base::invalid_utf8_at("\xC3("), 0u);       // a bad continuation
}

TEST(JsonText, Base64IsRfc4648WithPaddingInQuotes) {
  auto base64 = [](std::string_view bytes) {
    std::string out;
    base::append_json_base64(out, bytes);
    return out;
  };
  // the test vectors of RFC 4648, section 10
  EXPECT_EQ(base64(""), R"("")");
  EXPECT_EQ(base64("f"), R"("Zg==")");
  EXPECT_EQ(base64("fo"), R"("Zm8=")");
  EXPECT_EQ(base64("foo"), R"("Zm9v")");
  EXPECT_EQ(base64("foob"), R"("Zm9vYg==")");
  EXPECT_EQ(base64("fooba"), R"("Zm9vYmE=")");
  EXPECT_EQ(base64("foobar"), R"("Zm9vYmFy")");
  EXPECT_EQ(base64("\xff\xfe\x00\x80"s), R"("//4AgA==")");
  EXPECT_EQ(base64("\xfb\xff\xbf"), R"("+/+/")");
}

// Whatever the bytes of a cell, the record is JSON, or the row is rejected with a reason:
// cells that are not UTF-8 are rejected (JSON text must be UTF-8, and simdjson refuses
// anything else); NUL and other control characters are escaped; a BOM past the start of
// the file and quotes are kept as they are.
TEST(CsvReader, EveryRecordIsJsonWhateverTheBytes) {
  test::ScratchDir dir;
  record::PropertyTypes types;
  types.by_name = {{"s", record::ValueType::string}};
  const std::string csv =
      "s,a\n"
      "ok,\xC3\xA9\n"          // 2: valid UTF-8
      "\xFF,x\n"               // 3: not UTF-8, a string column
      "x,\xC0\x80\n"           // 4: an overlong NUL, an untyped column
      "x,\xED\xA0\x80\n"       // 5: a surrogate
      "x,\xE2\x82\n"           // 6: cut short
      "\0nul\x01\x1f,\x7f\n"s  // 7: control characters
      "\xEF\xBB\xBF"
      "bom,\"say \"\"hi\"\"\"\n"  // 8: a BOM mid-file, quotes
      "\xF4\x90\x80\x80,\n";      // 9: past U+10FFFF
  for (const record::PropertyTypes* t : {static_cast<const record::PropertyTypes*>(nullptr),
                                         static_cast<const record::PropertyTypes*>(&types)}) {
    auto r = read_csv(dir, csv, t);
    EXPECT_EQ(r.counts.in, 8u);
    EXPECT_EQ(r.counts.rejected, 5u);
    ASSERT_EQ(r.lines, (std::vector<uint64_t>{2, 7, 8}));
    EXPECT_EQ(r.texts[0], "{\"s\":\"ok\",\"a\":\"\xC3\xA9\"}");
    EXPECT_EQ(r.texts[1], R"({"s":"\u0000nul\u0001\u001f","a":")"
                          "\x7f"
                          R"("})");
    EXPECT_EQ(r.texts[2],
              "{\"s\":\"\xEF\xBB\xBF"
              R"(bom","a":"say \"hi\""})");
    simdjson::dom::parser parser;
    for (const auto& text : r.texts) {
      EXPECT_EQ(parser.parse(text).error(), simdjson::SUCCESS) << text;
    }
    EXPECT_NE(r.rejects.find("column 's': the cell is not valid UTF-8 (byte 1)"), std::string::npos)
        << r.rejects;
    EXPECT_NE(r.rejects.find("column 'a': the cell is not valid UTF-8 (byte 1)"),
              std::string::npos);
    EXPECT_NE(r.rejects.find("\"line\":9"), std::string::npos);
  }
}

TEST(CsvReader, ColumnNameThatIsNotUtf8RejectsTheRowsThatFillIt) {
  test::ScratchDir dir;
  auto r = read_csv(dir, "a,b\xFF\n1,2\n3,\n");
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.texts[0], R"({"a":3})");
  EXPECT_EQ(r.counts.rejected, 1u);
  EXPECT_NE(r.rejects.find("column 2: its name in the header is not valid UTF-8 (byte 2)"),
            std::string::npos);
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
