#include "common/record/ids.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "common/diag/errors.hpp"

using namespace cdn;
using namespace cdn::record;

namespace {

uint64_t time_of(const Uuid& u) {
  uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | u[i];
  return ms;
}

std::string text_of(const Uuid& u) {
  std::string s;
  append_uuid(s, u);
  return s;
}

// A fresh directory for one test, removed at the end.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/cdn-ids-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string path;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace

// ---- hash ---------------------------------------------------------------------------------

TEST(Xxh64, MatchesTheReferenceImplementation) {
  // Values from libxxhash 0.8.1 (XXH64, seed 0).
  EXPECT_EQ(xxh64(""), 0xef46db3751d8e999ULL);
  EXPECT_EQ(xxh64("a"), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(xxh64("abc"), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(xxh64("{\"a\":1}"), 0xca0b885a32fc8b48ULL);
  std::string bytes;
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  }
  EXPECT_EQ(xxh64(bytes), 0x8e03c838c596036fULL);  // 768 bytes: the 32-byte stripe loop
}

TEST(Xxh64, IsStableAndDependsOnEveryByte) {
  std::string rec = R"({"timestamp":"2026-11-22T10:15:30.123Z","client_ip":"10.0.0.1","asn":3320})";
  uint64_t h = xxh64(rec);
  EXPECT_EQ(xxh64(rec), h);
  EXPECT_EQ(xxh64(std::string(rec)), h);
  for (size_t i = 0; i < rec.size(); ++i) {
    std::string changed = rec;
    changed[i] ^= 1;
    EXPECT_NE(xxh64(changed), h) << "byte " << i;
  }
  EXPECT_NE(xxh64(rec, 1), h);
}

TEST(Xxh64, HexIsSixteenLowerCaseDigits) {
  std::string s;
  append_hex64(s, 0x00ab12cd34ef5600ULL);
  EXPECT_EQ(s, "00ab12cd34ef5600");
  s.clear();
  append_hex64(s, 0);
  EXPECT_EQ(s, "0000000000000000");
}

// ---- UUIDv7 -------------------------------------------------------------------------------

TEST(Uuid7, HasVersionSevenAndTheRfcVariant) {
  Uuid7Generator gen;
  for (int i = 0; i < 1000; ++i) {
    Uuid u = gen.next();
    EXPECT_EQ(u[6] >> 4, 7);
    EXPECT_EQ(u[8] >> 6, 0b10);
  }
}

TEST(Uuid7, CanonicalTextForm) {
  Uuid7Generator gen;
  std::string s = text_of(gen.next());
  ASSERT_EQ(s.size(), 36u);
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(s[i], '-');
    } else {
      EXPECT_TRUE((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) << s;
    }
  }
  EXPECT_EQ(s[14], '7');
  EXPECT_NE(std::string("89ab").find(s[19]), std::string::npos) << s;
}

TEST(Uuid7, StartsWithTheUnixTimeInMilliseconds) {
  Uuid7Generator gen;
  uint64_t before = unix_time_ms();
  Uuid u = gen.next();
  uint64_t after = unix_time_ms();
  EXPECT_GE(time_of(u), before);
  EXPECT_LE(time_of(u), after);

  Uuid7Generator fixed;
  Uuid v = fixed.next_at(0x0123456789abULL);
  EXPECT_EQ(time_of(v), 0x0123456789abULL);
  EXPECT_EQ(text_of(v).substr(0, 13), "01234567-89ab");
}

TEST(Uuid7, IsStrictlyIncreasingWithinOneMillisecond) {
  Uuid7Generator gen;
  Uuid prev = gen.next_at(1'700'000'000'000ULL);
  for (int i = 0; i < 100000; ++i) {
    Uuid u = gen.next_at(1'700'000'000'000ULL);
    ASSERT_LT(prev, u) << "at " << i;  // std::array compares bytewise: the UUID order
    EXPECT_EQ(time_of(u), 1'700'000'000'000ULL);
    prev = u;
  }
}

TEST(Uuid7, StaysIncreasingWhenTheClockStepsBack) {
  Uuid7Generator gen;
  Uuid a = gen.next_at(5000);
  Uuid b = gen.next_at(4000);
  Uuid c = gen.next_at(4999);
  Uuid d = gen.next_at(5001);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_EQ(time_of(d), 5001u);
}

TEST(Uuid7, IsIncreasingAndUniqueWithTheRealClock) {
  Uuid7Generator gen;
  std::set<Uuid> seen;
  Uuid prev = gen.next();
  seen.insert(prev);
  for (int i = 0; i < 200000; ++i) {
    Uuid u = gen.next();
    ASSERT_LT(prev, u);
    seen.insert(u);
    prev = u;
  }
  EXPECT_EQ(seen.size(), 200001u);
}

TEST(Uuid7, TwoGeneratorsDiffer) {
  Uuid7Generator a, b;
  EXPECT_NE(a.next_at(1000), b.next_at(1000));
}

// ---- IdWriter -----------------------------------------------------------------------------

namespace {
std::string id_of(IdWriter& w, std::string_view rec) {
  std::string out, reason;
  EXPECT_TRUE(w.append(rec, out, reason)) << reason;
  return out;
}
}  // namespace

TEST(IdWriter, SequenceIsIntegersFromStart) {
  IdOptions o;
  o.start = 41;
  IdWriter w(o);
  EXPECT_EQ(id_of(w, "{}"), "41");
  EXPECT_EQ(id_of(w, "{}"), "42");
  EXPECT_EQ(w.next(), 43u);
}

TEST(IdWriter, PrefixMakesAnEscapedString) {
  IdOptions o;
  o.prefix = "a\"b-";
  IdWriter w(o);
  EXPECT_EQ(id_of(w, "{}"), "\"a\\\"b-1\"");
}

TEST(IdWriter, SequenceEndsBeforeWrappingAround) {
  IdOptions o;
  o.start = ~uint64_t{0} - 1;
  IdWriter w(o);
  EXPECT_EQ(id_of(w, "{}"), "18446744073709551614");
  std::string out, reason;
  EXPECT_THROW(w.append("{}", out, reason), RuntimeError);
}

TEST(IdWriter, UuidIsAQuotedCanonicalUuid) {
  IdOptions o;
  o.mode = IdMode::uuid;
  o.prefix = "u-";
  IdWriter w(o);
  std::string id = id_of(w, "{}");
  ASSERT_EQ(id.size(), 2u + 2u + 36u);
  EXPECT_EQ(id.substr(0, 3), "\"u-");
  EXPECT_EQ(id[3 + 14], '7');
  EXPECT_EQ(id.back(), '"');
}

TEST(IdWriter, HashOfTheWholeRecordIsItsXxh64) {
  IdOptions o;
  o.mode = IdMode::hash;
  IdWriter w(o);
  EXPECT_EQ(id_of(w, "{\"a\":1}"), "\"ca0b885a32fc8b48\"");
  EXPECT_EQ(id_of(w, "{\"a\":1}"), "\"ca0b885a32fc8b48\"");
}

TEST(IdWriter, HashFieldsUseTheValuesAsWrittenInOrder) {
  IdOptions o;
  o.mode = IdMode::hash;
  o.hash_fields = {"ts", "ip"};
  IdWriter w(o);
  std::string expect;
  expect += '"';
  append_hex64(expect, xxh64("\"t1\"\x1f\"10.0.0.1\"\x1f"));
  expect += '"';
  EXPECT_EQ(id_of(w, R"({"ip":"10.0.0.1","x":1,"ts":"t1"})"), expect);
  EXPECT_EQ(id_of(w, R"({"ts" : "t1", "ip":"10.0.0.1"})"), expect);
  EXPECT_NE(id_of(w, R"({"ts":"t1","ip":"10.0.0.2"})"), expect);
  // a value that holds the other field's text does not collide with the pair
  EXPECT_NE(id_of(w, R"({"ts":"t1\u001f","ip":""})"), id_of(w, R"({"ts":"t1","ip":"\u001f"})"));
}

TEST(IdWriter, MissingHashFieldIsTheReason) {
  IdOptions o;
  o.mode = IdMode::hash;
  o.hash_fields = {"ts", "ip"};
  IdWriter w(o);
  std::string out, reason;
  EXPECT_FALSE(w.append(R"({"ts":"t1"})", out, reason));
  EXPECT_EQ(reason, "missing hash field 'ip'");
}

// ---- the state file -----------------------------------------------------------------------

TEST(SequenceState, FormatAndParseRoundTrip) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{1234567}, ~uint64_t{0}}) {
    EXPECT_EQ(parse_state(format_state(v), "s"), v);
  }
  EXPECT_EQ(format_state(42), "{\"next\":42}\n");
  EXPECT_EQ(parse_state("", "s"), std::nullopt);
  EXPECT_EQ(parse_state(" \n", "s"), std::nullopt);
  EXPECT_EQ(parse_state("{ \"next\" : 7, \"other\": true }", "s"), 7u);
}

TEST(SequenceState, RejectsWhatIsNotAState) {
  EXPECT_THROW(parse_state("hello", "s"), UsageError);
  EXPECT_THROW(parse_state("{}", "s"), UsageError);
  EXPECT_THROW(parse_state("{\"next\":-1}", "s"), UsageError);
  EXPECT_THROW(parse_state("{\"next\":\"3\"}", "s"), UsageError);
  try {
    parse_state("[1]", "ids.state");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'ids.state'"), std::string::npos) << e.what();
  }
}

TEST(SequenceState, AbsentFileHasNoStateAndSaveRoundTrips) {
  TempDir dir;
  std::string path = dir.path + "/ids.state";
  {
    SequenceState st(path);
    EXPECT_EQ(st.next(), std::nullopt);
    st.save(101);
    EXPECT_EQ(st.next(), 101u);
  }
  EXPECT_EQ(slurp(path), "{\"next\":101}\n");
  {
    SequenceState st(path);
    EXPECT_EQ(st.next(), 101u);
    st.save(250);
  }
  SequenceState st(path);
  EXPECT_EQ(st.next(), 250u);
}

TEST(SequenceState, SaveLeavesNoTemporaryFileBehind) {
  TempDir dir;
  std::string path = dir.path + "/s";
  {
    SequenceState st(path);
    st.save(5);
  }
  std::string listing;
  FILE* p = ::popen(("ls -A '" + dir.path + "'").c_str(), "r");
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) listing += buf;
  ::pclose(p);
  EXPECT_EQ(listing, "s\n");
}

TEST(SequenceState, ReadsAStateWrittenByHand) {
  TempDir dir;
  std::string path = dir.path + "/s";
  write_file(path, "{\"next\": 9000}\n");
  SequenceState st(path);
  EXPECT_EQ(st.next(), 9000u);
}

TEST(SequenceState, CorruptFileIsAUsageError) {
  TempDir dir;
  std::string path = dir.path + "/s";
  write_file(path, "not a state");
  EXPECT_THROW(SequenceState{path}, UsageError);
}

TEST(SequenceState, MissingDirectoryIsAUsageError) {
  TempDir dir;
  EXPECT_THROW(SequenceState{dir.path + "/no/such/dir/s"}, UsageError);
}

TEST(SequenceState, ASecondRunWaitsForTheFirstAndSeesItsState) {
  TempDir dir;
  std::string path = dir.path + "/s";
  { SequenceState(path).save(10); }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    SequenceState st(path);  // holds the lock
    (void)!::write(ready[1], "x", 1);
    ::usleep(300 * 1000);
    st.save(*st.next() + 5);
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  SequenceState st(path);  // blocks until the child has saved and let go
  EXPECT_EQ(st.next(), 15u);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// ---- IdSplicer ------------------------------------------------------------------------------

namespace {

// The line `tag` writes for `text`: the ID from a sequence that starts at 7.
std::string spliced(std::string_view text, bool present, std::string_view field = "sampleID") {
  IdSplicer splicer(field);
  IdOptions opts;
  opts.start = 7;
  IdWriter ids(std::move(opts));
  std::string out, reason;
  auto tail = splicer.head(text, present, out);
  if (!tail) return "(escaped)";
  EXPECT_TRUE(ids.append(text, out, reason)) << reason;
  out.append(text.substr(*tail));
  return out;
}

}  // namespace

TEST(IdSplicer, AddsTheMemberToAnEmptyObjectWithoutAComma) {
  EXPECT_EQ(spliced("{}", false), R"({"sampleID":7})");
  EXPECT_EQ(spliced("{ }", false), R"({ "sampleID":7})");
  EXPECT_EQ(spliced(" {\t\n} ", false), " {\t\n\"sampleID\":7} ");
}

TEST(IdSplicer, AddsTheMemberAfterTheLastOneKeepingWhitespace) {
  EXPECT_EQ(spliced(R"({"a":1})", false), R"({"a":1,"sampleID":7})");
  EXPECT_EQ(spliced(R"({ "a" : 1 , "b" : [1, 2] })", false),
            R"({ "a" : 1 , "b" : [1, 2] ,"sampleID":7})");
  EXPECT_EQ(spliced(R"({"a":{"sampleID":1}})", false), R"({"a":{"sampleID":1},"sampleID":7})");
}

TEST(IdSplicer, OverwritesAnExistingValueInPlace) {
  EXPECT_EQ(spliced(R"({"sampleID":"old","a":1})", true), R"({"sampleID":7,"a":1})");
  EXPECT_EQ(spliced(R"({"a":1, "sampleID" :  {"x":[1]} ,"b":2})", true),
            R"({"a":1, "sampleID" :  7 ,"b":2})");
  EXPECT_EQ(spliced(R"({"a":"sampleID","sampleID":null})", true),
            R"({"a":"sampleID","sampleID":7})");
}

TEST(IdSplicer, FindsNoMemberWrittenWithEscapes) {
  EXPECT_EQ(spliced(R"({"sample\u0049D":1})", true), "(escaped)");
}

TEST(IdSplicer, OverwritesTheFirstOfTwoMembersOfTheName) {
  EXPECT_EQ(spliced(R"({"sampleID":1,"a":0,"sampleID":2})", true),
            R"({"sampleID":7,"a":0,"sampleID":2})");
  // The first is written with escapes: what at_key finds cannot be replaced in place, and the
  // second is not replaced instead.
  EXPECT_EQ(spliced(R"({"sample\u0049D":1,"sampleID":2})", true), "(escaped)");
}

TEST(IdSplicer, WritesTheFieldNameAsAJsonString) {
  EXPECT_EQ(spliced("{}", false, "id"), R"({"id":7})");
}
