// The config file's TOML reader (common/cli/config_toml.*): what it takes, as TOML says, and
// what it refuses, with the line.
#include "common/cli/config_toml.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/diag/errors.hpp"

using cdn::cli::ConfigEntry;
using cdn::cli::parse_config_toml;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config_toml(text, "c.toml");
  } catch (const cdn::UsageError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST(ConfigToml, ReadsSectionsKeysAndValuesAsTomlSays) {
  auto e = parse_config_toml(
      "top = 1 # comment\n"
      "[sort]\n"
      "key = \"a#b,c \\\"q\\\" \\u00e9\\t\"\n"
      "'quoted key' = 'C:\\dir'\n"
      "n = 1_000\n"
      "h = 0x1F\n"
      "f = -1.5e3\n"
      "t = 1979-05-27T07:32:00Z\n"
      "d = 1979-05-27 07:32:00\n"
      "list = [\n  \"x\", # one\n  'y',\n]\n"
      "m = \"\"\"\nline1\\\n   line2\"\"\"\n"
      "[default]\n"
      "quiet = true\n",
      "c.toml");
  ASSERT_EQ(e.size(), 11u);
  EXPECT_EQ(e[0].parents, std::vector<std::string>{});
  EXPECT_EQ(e[0].key, "top");
  EXPECT_EQ(e[0].values, std::vector<std::string>{"1"});
  EXPECT_EQ(e[1].parents, std::vector<std::string>{"sort"});
  EXPECT_EQ(e[1].values[0], "a#b,c \"q\" \xC3\xA9\t");
  EXPECT_EQ(e[2].key, "quoted key");
  EXPECT_EQ(e[2].values[0], "C:\\dir");
  EXPECT_EQ(e[3].values[0], "1000");
  EXPECT_EQ(e[4].values[0], "31");
  EXPECT_EQ(e[5].values[0], "-1.5e3");
  EXPECT_EQ(e[6].values[0], "1979-05-27T07:32:00Z");
  EXPECT_EQ(e[7].values[0], "1979-05-27 07:32:00");
  EXPECT_EQ(e[8].values, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(e[9].values[0], "line1line2");
  EXPECT_EQ(e[10].parents, std::vector<std::string>{});
  EXPECT_EQ(e[10].line, 18u);
}

TEST(ConfigToml, RefusesMalformedTextNamingTheFileAndTheLine) {
  EXPECT_EQ(error_of("[sort]\nkey = \"timestamp\n"),
            "bad config file 'c.toml', line 2: unterminated string; close it with '\"' on the "
            "same line");
  EXPECT_NE(error_of("a = \"\"\"x\n").find("line 1: unterminated multi-line string"),
            std::string::npos);
  EXPECT_NE(error_of("a = [1,\n2\n").find("line 1: unterminated array"), std::string::npos);
  EXPECT_NE(error_of("a = \"\\x\"").find("bad escape \\x"), std::string::npos);
  EXPECT_NE(error_of("a = \"\\uD800\"").find("not a Unicode scalar value"), std::string::npos);
  EXPECT_NE(error_of("\n\na\n").find("line 3: key 'a' has no value"), std::string::npos);
  EXPECT_NE(error_of("a = 1\na = 2\n").find("line 2: key 'a' is defined twice (first on line 1)"),
            std::string::npos);
  EXPECT_NE(error_of("[s]\n[s]\n").find("table [s] is defined twice"), std::string::npos);
  EXPECT_NE(error_of("a = 1\n[a]\n").find("reuses 'a'"), std::string::npos);
  EXPECT_NE(error_of("a.b = 1\na = 2\n").find("also the table"), std::string::npos);
  EXPECT_NE(error_of("a = 1 2\n").find("unexpected '2' after the value"), std::string::npos);
  EXPECT_NE(error_of("a = [[1]]\n").find("a nested array"), std::string::npos);
  EXPECT_NE(error_of("a = 01\n").find("leading zero"), std::string::npos);
  EXPECT_NE(error_of("a = 0x\n").find("bad value '0x'"), std::string::npos);
  EXPECT_NE(error_of("a = \"\x01\"\n").find("control character"), std::string::npos);
  EXPECT_NE(error_of("a = \"\xff\"\n").find("invalid UTF-8"), std::string::npos);
}
