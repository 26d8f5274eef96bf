#include "common/base/printable.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

using namespace cdn;
using namespace std::string_literals;

TEST(ShellQuoted, PrintableNamesAreQuotedAsTheyAre) {
  EXPECT_EQ(base::shell_quoted("day1.ndjson"), "'day1.ndjson'");
  EXPECT_EQ(base::shell_quoted(""), "''");
  EXPECT_EQ(base::shell_quoted("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'");
}

TEST(ShellQuoted, BytesATerminalWouldActOnAreWrittenAsGnuDoes) {
  EXPECT_EQ(base::shell_quoted("a\nb"), "'a'$'\\n''b'");
  EXPECT_EQ(base::shell_quoted("\x1b[31mred"), "$'\\033''[31mred'");
  EXPECT_EQ(base::shell_quoted("x\r\n"), "'x'$'\\r\\n'");
  EXPECT_EQ(base::shell_quoted("a\0b"s), "'a'$'\\000''b'");
  EXPECT_EQ(base::shell_quoted("\x7f"), "$'\\177'");
  // a C1 control (U+009B, the one-byte CSI), bytes that are not UTF-8, a cut sequence
  EXPECT_EQ(base::shell_quoted("a\xc2\x9b"), "'a'$'\\302\\233'");
  EXPECT_EQ(base::shell_quoted("\xff\xfe"), "$'\\377\\376'");
  EXPECT_EQ(base::shell_quoted("ok\xe2\x82"), "'ok'$'\\342\\202'");
  // with such a byte, a quote in the name is written so that a shell reads it back
  EXPECT_EQ(base::shell_quoted("it's\n"), "'it'\\''s'$'\\n'");
}

TEST(EscapeControls, LeavesPrintableTextAndEscapesTheRest) {
  EXPECT_EQ(base::escape_controls("plain \xc3\xa9"), "plain \xc3\xa9");
  EXPECT_EQ(base::escape_controls("a\0b\x1b[2J\n"s), "a\\x00b\\x1b[2J\\n");
  EXPECT_EQ(base::escape_controls("a\tb\nc\x1b", "\n\t"), "a\tb\nc\\x1b");
  EXPECT_FALSE(base::has_controls("tab-free"));
  EXPECT_TRUE(base::has_controls("\t"));
}

TEST(Errors, AMessageIsWholeAndPrintableWhateverItQuotes) {
  // a value quoted by hand, holding a NUL and an escape sequence: what() keeps what follows
  UsageError e("bad size '\0\x1b[31m' for -S; write a number"s);
  EXPECT_STREQ(e.what(), "bad size '\\x00\\x1b[31m' for -S; write a number");
  RuntimeError r("cannot read " + diag::quoted("in\n.ndjson") + ": No such file or directory");
  EXPECT_STREQ(r.what(), "cannot read 'in'$'\\n''.ndjson': No such file or directory");
}
