#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/source.hpp"
#include "test_files.hpp"

using namespace cdn;

using test::read_all;

TEST(NdjsonReader, SkipsBlankLinesAndKeepsLineNumbers) {
  test::ScratchDir dir;
  auto r = read_all(dir, dir.file("a.ndjson", "{\"a\":1}\n\n   \n{\"a\":2}\n"));
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.texts[1], "{\"a\":2}");
  EXPECT_EQ(r.lines[0], 1u);
  EXPECT_EQ(r.lines[1], 4u);
  EXPECT_EQ(r.counts.in, 2u);
}

TEST(NdjsonReader, AcceptsCrlfAndBom) {
  test::ScratchDir dir;
  auto r = read_all(dir, dir.file("a.ndjson", "\xEF\xBB\xBF{\"a\":1}\r\n{\"a\":2}\r\n"));
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.texts[0], "{\"a\":1}");
  EXPECT_EQ(r.texts[1], "{\"a\":2}");
}

TEST(NdjsonReader, LastLineWithoutNewline) {
  test::ScratchDir dir;
  auto r = read_all(dir, dir.file("a.jsonl", "{\"a\":1}\n{\"a\":2}"));
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.texts[1], "{\"a\":2}");
}

TEST(NdjsonReader, LinesOfSeventeenMebibytes) {
  test::ScratchDir dir;
  std::string big = "{\"s\":\"" + std::string(17u << 20, 'x') + "\"}";
  auto r = read_all(dir, dir.file("big.ndjson", "{\"a\":1}\n" + big + "\n{\"a\":3}\n"));
  ASSERT_EQ(r.texts.size(), 3u);
  EXPECT_EQ(r.texts[1].size(), big.size());
  EXPECT_EQ(r.texts[1], big);
  EXPECT_EQ(r.texts[2], "{\"a\":3}");
}

TEST(NdjsonReader, RecordsArePaddedForSimdjson) {
  test::ScratchDir dir;
  std::string path = dir.file("a.ndjson", "{\"a\":1}");
  record::Counts counts;
  record::Rejects rejects("test", io::open_file_sink(dir.path("r"), io::SinkRole::rejects), counts);
  auto src = record::open_file_source(path, {}, rejects, counts);
  record::Record rec;
  ASSERT_TRUE(src->next(rec));
  // 64 bytes after the record must be readable (ASan checks this in the debug preset).
  unsigned sum = 0;
  for (size_t i = 0; i < 64; ++i)
    sum += static_cast<unsigned char>(rec.text.data()[rec.text.size() + i]);
  EXPECT_GE(sum, 0u);
}

TEST(GzipReader, ReadsGzippedNdjson) {
  test::ScratchDir dir;
  auto r = read_all(dir, dir.gzip_file("a.ndjson.gz", "{\"a\":1}\n{\"a\":2}\n"));
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.texts[0], "{\"a\":1}");
}

TEST(GzipReader, DetectsGzipByContentNotName) {
  test::ScratchDir dir;
  auto r = read_all(dir, dir.gzip_file("a.ndjson", "{\"a\":1}\n"));
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.texts[0], "{\"a\":1}");
}

TEST(GzipReader, ConcatenatedMembersAreOneStream) {
  test::ScratchDir dir;
  std::string a = test::ScratchDir::read(dir.gzip_file("1.gz", "{\"a\":1}\n"));
  std::string b = test::ScratchDir::read(dir.gzip_file("2.gz", "{\"a\":2}\n"));
  auto r = read_all(dir, dir.file("both.ndjson.gz", a + b));
  ASSERT_EQ(r.texts.size(), 2u);
  EXPECT_EQ(r.texts[1], "{\"a\":2}");
}

TEST(GzipReader, LargeInputAcrossManyChunks) {
  test::ScratchDir dir;
  std::string content;
  for (int i = 0; i < 200000; ++i) content += "{\"i\":" + std::to_string(i) + "}\n";
  auto r = read_all(dir, dir.gzip_file("many.ndjson.gz", content));
  ASSERT_EQ(r.texts.size(), 200000u);
  EXPECT_EQ(r.texts.back(), "{\"i\":199999}");
}

TEST(GzipReader, TruncatedFileIsAnError) {
  test::ScratchDir dir;
  std::string content;
  for (int i = 0; i < 10000; ++i) content += "{\"i\":" + std::to_string(i) + "}\n";
  std::string gz = test::ScratchDir::read(dir.gzip_file("full.gz", content));
  std::string path = dir.file("cut.ndjson.gz", gz.substr(0, gz.size() / 2));
  EXPECT_THROW(read_all(dir, path), RuntimeError);
}

// The message of the error reading `path` throws.
std::string read_error(test::ScratchDir& dir, const std::string& path) {
  try {
    read_all(dir, path);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

TEST(GzipReader, EachDamagedFileSaysWhatWhereAndWhatToDo) {
  test::ScratchDir dir;
  std::string content;
  for (int i = 0; i < 10000; ++i) content += "{\"i\":" + std::to_string(i) + "}\n";
  std::string gz = test::ScratchDir::read(dir.gzip_file("full.gz", content));

  std::string cut = dir.file("cut.ndjson.gz", gz.substr(0, 1000));
  EXPECT_EQ(read_error(dir, cut),
            "truncated gzip data in '" + cut +
                "': the file ends inside a compressed member, after 1000 bytes; it was cut "
                "short: copy it whole again (zcat reads what it holds)");

  std::string bad = gz;
  for (size_t k = 300; k < 340; ++k) bad[k] = static_cast<char>(0xff);
  std::string corrupt = dir.file("corrupt.ndjson.gz", bad);
  std::string msg = read_error(dir, corrupt);
  EXPECT_EQ(msg.rfind("corrupt gzip data in '" + corrupt + "' near byte ", 0), 0u) << msg;
  EXPECT_NE(msg.find("; the file is damaged: copy it again from where it came from (gzip -t "
                     "tests a copy)"),
            std::string::npos)
      << msg;

  // Bytes after the last member that are no gzip member (appended text, zero padding): the
  // file says where its gzip data ends; gzip -d warns of them.
  for (std::string tail : {std::string("garbage\n"), std::string(512, '\0')}) {
    std::string trailing = dir.file("trailing.ndjson.gz", gz + gz + tail);
    EXPECT_EQ(read_error(dir, trailing),
              "cannot read '" + trailing + "': its gzip data ends at byte " +
                  std::to_string(2 * gz.size()) +
                  " and bytes that are not gzip follow (incorrect header check); remove them, "
                  "or decompress the file with gzip -d, which warns of them and leaves them out");
  }
}

TEST(Inputs, MissingFileSaysWhichAndWhy) {
  test::ScratchDir dir;
  try {
    read_all(dir, dir.path("nope.ndjson"));
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos);
  }
}

TEST(LineReader, GrowsFromATinyBufferThroughLongAndShortLines) {
  test::ScratchDir dir;
  std::string text;
  std::vector<std::string> want;
  for (size_t i = 0; i < 2000; ++i) {
    // Lengths from 0 to a few hundred bytes, with one line far longer than read_size.
    std::string line(i == 1000 ? 5000 : (i * 37) % 300, static_cast<char>('a' + i % 26));
    text += line + "\n";
    want.push_back(line);
  }
  io::ByteReader bytes(dir.file("lines.txt", text));
  io::LineReader lines(bytes, 8, 256);
  std::string_view line;
  size_t n = 0;
  while (lines.next(line)) {
    ASSERT_LT(n, want.size());
    EXPECT_EQ(line, want[n]) << "line " << n + 1;
    EXPECT_EQ(lines.line_number(), n + 1);
    ++n;
  }
  EXPECT_EQ(n, want.size());
}
