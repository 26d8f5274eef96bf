#include "common/influx/line_protocol.hpp"

#include <gtest/gtest.h>

#include "common/diag/errors.hpp"

using cdn::influx::append_key;
using cdn::influx::append_measurement;
using cdn::influx::append_string_value;
using cdn::influx::Encoder;
using cdn::influx::EncoderOptions;
using cdn::influx::PointKey;
using cdn::influx::Precision;
using cdn::influx::precision_name;
using cdn::influx::time_out_of_range;

namespace {

// The line for one JSON record, with its timestamp; or "REJECT: reason".
std::string line(Encoder& enc, const std::string& json, int64_t now = 0) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(json);
  std::string out;
  PointKey key;
  if (auto why = enc.encode(root, now, out, key)) return "REJECT: " + *why;
  Encoder::append_time(out, key.time);
  return out;
}

std::string key(std::string_view s) {
  std::string out;
  if (!append_key(out, s)) return "<cannot>";
  return out;
}

}  // namespace

TEST(LineProtocolEscaping, MeasurementEscapesCommasAndSpacesOnly) {
  std::string out;
  ASSERT_TRUE(append_measurement(out, "a,b c=d\"e"));
  EXPECT_EQ(out, "a\\,b\\ c=d\"e");
}

TEST(LineProtocolEscaping, KeysEscapeCommasEqualsSignsAndSpaces) {
  EXPECT_EQ(key("a,b=c d"), "a\\,b\\=c\\ d");
  EXPECT_EQ(key("plain"), "plain");
  EXPECT_EQ(key("quote\"s"), "quote\"s");
  EXPECT_EQ(key("tab\there"), "tab\there");
  EXPECT_EQ(key("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(LineProtocolEscaping, BackslashesPassUnlessTheyWouldReadAsEscapes) {
  EXPECT_EQ(key("a\\b"), "a\\b");
  EXPECT_EQ(key("a\\\\b"), "a\\\\b");
  EXPECT_EQ(key("ends\\"), "<cannot>");
  EXPECT_EQ(key("a\\,b"), "<cannot>");
  EXPECT_EQ(key("a\\ b"), "<cannot>");
  EXPECT_EQ(key("a\\=b"), "<cannot>");
  EXPECT_EQ(key("a\\\"b"), "<cannot>");
}

TEST(LineProtocolEscaping, NewlinesCannotBeKeys) {
  EXPECT_EQ(key("two\nlines"), "<cannot>");
  std::string out = "kept";
  EXPECT_FALSE(append_measurement(out, "a\nb"));
  EXPECT_EQ(out, "kept");
}

TEST(LineProtocolEscaping, StringValuesEscapeQuotesAndBackslashesKeepNewlines) {
  std::string out;
  append_string_value(out, "say \"hi\"\\ now,= \nnext");
  EXPECT_EQ(out, "\"say \\\"hi\\\"\\\\ now,= \nnext\"");
}

TEST(LineProtocolEncoder, TypesFollowJson) {
  Encoder enc({});
  EXPECT_EQ(line(enc, R"({"timestamp":"2026-11-22T10:15:30.123Z","i":42,"f":1.5,"g":2.0,)"
                      R"("s":"x","b":true,"n":-7,"e":1e300})"),
            "cdn i=42i,f=1.5,g=2,s=\"x\",b=true,n=-7i,e=1e+300 1795342530123000000\n");
}

TEST(LineProtocolEncoder, TagsAreSortedAndLeaveTheFields) {
  EncoderOptions o;
  o.tags = {"pop", "country"};
  o.precision = Precision::ms;
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"timestamp":"2026-11-22T10:15:30.123Z","pop":"FRA1","x":1,)"
                      R"("country":"DE"})"),
            "cdn,country=DE,pop=FRA1 x=1i 1795342530123\n");
}

TEST(LineProtocolEncoder, MissingNullAndEmptyTagsAreLeftOut) {
  EncoderOptions o;
  o.tags = {"a", "b", "c"};
  o.time_field = "";
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"a":null,"b":"","x":1})", 5), "cdn x=1i 5\n");
}

TEST(LineProtocolEncoder, NumbersAndBooleansAsTagsKeepTheirText) {
  EncoderOptions o;
  o.tags = {"n", "b"};
  o.time_field = "";
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"n":200,"b":false,"x":"y"})"), "cdn,b=false,n=200 x=\"y\" 0\n");
}

TEST(LineProtocolEncoder, NestedValuesAreFlattenedWithUnderscores) {
  EncoderOptions o;
  o.time_field = "";
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"a":{"b":1,"c":[true,"s"]},"z":null})"),
            "cdn a_b=1i,a_c_0=true,a_c_1=\"s\" 0\n");
}

// Found by tests/fuzz/line_protocol_fuzz.cpp: a member named "" was written as "=2i", a line
// InfluxDB refuses, while the record counted as written; with --time-field '' it was taken
// for the time field and dropped in silence.
TEST(LineProtocolEncoder, AFieldWithAnEmptyNameIsARejectNotABrokenLine) {
  Encoder enc{EncoderOptions{}};
  EXPECT_EQ(line(enc, R"({"timestamp":"2026-11-22T10:15:30Z","":2,"a":1})"),
            "REJECT: a field with an empty name cannot be written in line protocol; leave it "
            "out with --field");
  EncoderOptions o;
  o.time_field = "";
  Encoder loading_time(o);
  EXPECT_EQ(line(loading_time, R"({"":2,"a":1})", 5).rfind("REJECT: a field with an empty", 0), 0u);
  // Nested members with empty names keep a name: the parent's and '_'.
  EXPECT_EQ(line(loading_time, R"({"a":{"":1}})", 5), "cdn a_=1i 5\n");
}

// Found by tests/cli/hostile.bats: a record of 200,000 members took minutes (each member was
// looked for among those before it), deaf to SIGTERM. Past a few dozen names the encoder
// keeps them in hash sets: the same rules, a member named twice counting by its first.
TEST(LineProtocolEncoder, ManyMembersKeepTheRulesOfAFew) {
  EncoderOptions o;
  o.time_field = "";
  Encoder enc(o);
  for (int n : {10, 31, 32, 33, 100, 5000}) {
    std::string json = "{", want = "cdn ";
    for (int i = 0; i < n; ++i) {
      std::string name = "k_" + std::to_string(i);
      json += "\"" + name + "\":" + std::to_string(i) + ",";
      want += (i ? "," : "") + name + "=" + std::to_string(i) + "i";
    }
    // a member named again counts by its first
    std::string twice = json + "\"k_0\":-1,\"k_" + std::to_string(n - 1) + "\":-1}";
    EXPECT_EQ(line(enc, twice, 5), want + " 5\n") << n;
    // a nested member flattened to the name of another is refused
    std::string half = std::to_string(n / 2);
    EXPECT_EQ(line(enc, json + "\"k\":{\"" + half + "\":1}}", 5)
                  .rfind("REJECT: the field name 'k_" + half + "' comes twice in the point", 0),
              0u)
        << n;
    // and the next record starts afresh
    EXPECT_EQ(line(enc, R"({"k_0":1,"k_1":2})", 5), "cdn k_0=1i,k_1=2i 5\n") << n;
  }
}

TEST(LineProtocolEncoder, FieldListChoosesFieldsInOrder) {
  EncoderOptions o;
  o.fields = {"b", "a", "missing"};
  o.precision = Precision::s;
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"timestamp":"2026-11-22T10:15:30.9Z","a":1,"b":2,"c":3})"),
            "cdn b=2i,a=1i 1795342530\n");
}

TEST(LineProtocolEncoder, EpochTimesAreInPrecisionUnits) {
  EncoderOptions o;
  o.precision = Precision::ms;
  o.time_field = "t";
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"t":1795342530123,"x":1})"), "cdn x=1i 1795342530123\n");
  EXPECT_EQ(line(enc, R"({"t":"2026-11-22T11:15:30.1239+01:00","x":1})"),
            "cdn x=1i 1795342530123\n");
}

TEST(LineProtocolTimeRange, InfluxDBsRangeHoldsAtEachPrecision) {
  struct Edge {
    Precision p;
    int64_t max, min;
  };
  for (Edge e : {Edge{Precision::ns, 9223372036854775806, -9223372036854775806},
                 Edge{Precision::us, 9223372036854775, -9223372036854775},
                 Edge{Precision::ms, 9223372036854, -9223372036854},
                 Edge{Precision::s, 9223372036, -9223372036}}) {
    SCOPED_TRACE(precision_name(e.p));
    EXPECT_FALSE(time_out_of_range(e.max, e.p, "t"));
    EXPECT_FALSE(time_out_of_range(e.min, e.p, "t"));
    EXPECT_FALSE(time_out_of_range(0, e.p, "t"));
    EXPECT_EQ(
        time_out_of_range(e.max + 1, e.p, "t").value_or("").rfind("t is outside the times", 0), 0u);
    EXPECT_TRUE(time_out_of_range(e.min - 1, e.p, "t"));
  }
}

TEST(LineProtocolEncoder, TimesOutsideInfluxDBsRangeAreRejected) {
  EncoderOptions o;
  o.precision = Precision::s;
  Encoder s(o);
  EXPECT_EQ(line(s, R"({"timestamp":"9999-12-31T23:59:59Z","x":1})")
                .rfind("REJECT: the time '9999-12-31T23:59:59Z' is outside the times InfluxDB", 0),
            0u);
  EXPECT_EQ(line(s, R"({"timestamp":"2262-04-11T23:47:16Z","x":1})"), "cdn x=1i 9223372036\n");
  o.precision = Precision::ns;
  Encoder ns(o);
  EXPECT_EQ(line(ns, R"({"timestamp":"2262-04-11T23:47:16.854775806Z","x":1})"),
            "cdn x=1i 9223372036854775806\n");
  EXPECT_EQ(line(ns, R"({"timestamp":"1677-09-21T00:12:43.145224194Z","x":1})"),
            "cdn x=1i -9223372036854775806\n");
  EXPECT_NE(line(ns, R"({"timestamp":"1677-09-21T00:12:43.145224193Z","x":1})").find("outside"),
            std::string::npos);
  EXPECT_NE(line(ns, R"({"timestamp":9223372036854775807,"x":1})").find("outside"),
            std::string::npos);
}

TEST(LineProtocolEncoder, AwkwardNamesAndValuesAreEscaped) {
  EncoderOptions o;
  o.tags = {"t g"};
  o.measurement_field = "m";
  o.time_field = "";
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"m":"my m,x","t g":"a=b, c","f,k=":"q\"\\\n"})"),
            "my\\ m\\,x,t\\ g=a\\=b\\,\\ c f\\,k\\==\"q\\\"\\\\\n\" 0\n");
}

TEST(LineProtocolEncoder, PredictionRecordsHaveTheirMeasurementAndModelTag) {
  EncoderOptions o;
  o.fields = {"bytes_sent"};
  o.precision = Precision::ms;
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"sampleID":7,"timestamp":"2026-11-22T10:15:30.123Z",)"
                      R"("prediction":0.25,"label":0,"model":"v1"})"),
            "prediction,model=v1 sampleID=7i,prediction=0.25,label=0i 1795342530123\n");
  EXPECT_EQ(line(enc, R"({"sampleID":"s-1","timestamp":"2026-11-22T10:15:30.123Z",)"
                      R"("prediction":[0.1,0.9]})"),
            "prediction sampleID=\"s-1\",prediction_0=0.1,prediction_1=0.9 1795342530123\n");
  EXPECT_EQ(enc.predictions(), 2u);
}

TEST(LineProtocolEncoder, DeclaredTypesWin) {
  cdn::record::PropertyTypes types;
  types.by_name["rate"] = cdn::record::ValueType::number;
  types.by_name["count"] = cdn::record::ValueType::integer;
  EncoderOptions o;
  o.time_field = "";
  o.types = &types;
  Encoder enc(o);
  EXPECT_EQ(line(enc, R"({"rate":3,"count":4.0})"), "cdn rate=3,count=4i 0\n");
}

TEST(LineProtocolEncoder, RecordsThatCannotBeWrittenAreRejectedWithAReason) {
  EncoderOptions o;
  o.tags = {"t"};
  Encoder enc(o);
  std::string ts = R"("timestamp":"2026-11-22T10:15:30Z")";
  EXPECT_EQ(line(enc, "[1]"), "REJECT: not a JSON object but an array");
  EXPECT_NE(line(enc, R"({"x":1})").find("no 'timestamp' field"), std::string::npos);
  EXPECT_NE(line(enc, R"({"timestamp":"yesterday","x":1})").find("not an RFC 3339 time"),
            std::string::npos);
  EXPECT_NE(line(enc, "{" + ts + "}").find("no field to write"), std::string::npos);
  EXPECT_NE(line(enc, "{" + ts + R"(,"t":"a\nb","x":1})").find("cannot be written"),
            std::string::npos);
  EXPECT_NE(line(enc, "{" + ts + R"(,"t":[1],"x":1})").find("the tag 't' is an array"),
            std::string::npos);
  EXPECT_NE(line(enc, "{" + ts + R"(,"x":18446744073709551615})").find("beyond InfluxDB"),
            std::string::npos);
  EXPECT_NE(line(enc, "{" + ts + R"(,"time":1})").find("'time'"), std::string::npos);
}

TEST(LineProtocolEncoder, BadMeasurementOrTagNamesAreUsageErrors) {
  EncoderOptions o;
  o.measurement = "#comment";
  EXPECT_THROW(Encoder{o}, cdn::UsageError);
  o.measurement = "";
  EXPECT_THROW(Encoder{o}, cdn::UsageError);
  o.measurement = "ok";
  o.tags = {"time"};
  EXPECT_THROW(Encoder{o}, cdn::UsageError);
}

TEST(LineProtocolEncoder, SeriesKeyIgnoresFieldsButNotTags) {
  EncoderOptions o;
  o.tags = {"t"};
  o.time_field = "";
  Encoder enc(o);
  simdjson::dom::parser parser;
  std::string out;
  PointKey a, b, c;
  ASSERT_FALSE(enc.encode(parser.parse(std::string(R"({"t":"x","v":1})")), 0, out, a));
  ASSERT_FALSE(enc.encode(parser.parse(std::string(R"({"t":"x","v":2})")), 0, out, b));
  ASSERT_FALSE(enc.encode(parser.parse(std::string(R"({"t":"y","v":1})")), 0, out, c));
  EXPECT_EQ(a.series, b.series);
  EXPECT_NE(a.series, c.series);
}
