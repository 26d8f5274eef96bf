// libFuzzer target for the NDJSON input path: ByteReader (plain and gzip), LineReader (lines,
// a last line without '\n', buffer growth for long lines), the NDJSON sources behind
// open_source (read and memory-mapped: BOM, CRLF, blank lines) and the parse-or-reject step
// every command runs (simdjson on the padded record, describe_json_error for a reject).
// The input is the file's bytes. Invariants asserted (a broken one traps):
//   - LineReader, with a tiny starting buffer, yields exactly the lines an independent split
//     on '\n' gives, numbered 1..n, each followed by kPadding readable bytes;
//   - the read source, the mapped source and the read source over a gzip of the same bytes
//     yield the same records with the same line numbers, which are exactly the lines an
//     independent trim (BOM on line 1, one trailing CR) leaves non-blank; counts.in matches;
//   - every record is parsed or rejected: in = parsed + rejected; a parsed record is also
//     well-formed for the JSON syntax checker (the two checkers agree); a reject is one
//     NDJSON line (when the record is valid UTF-8) with the line number and a reason.
#include <simdjson.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/json_syntax.hpp"
#include "common/record/source.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using cdn::fuzz::MemFile;
using cdn::fuzz::split_lines;
using cdn::fuzz::StringSink;

namespace {

struct Rec {
  std::string text;
  uint64_t line;
  bool operator==(const Rec&) const = default;
};

// What an NDJSON source must yield for these lines.
std::vector<Rec> expected_records(const std::vector<std::string_view>& lines) {
  std::vector<Rec> out;
  for (size_t k = 0; k < lines.size(); ++k) {
    std::string_view l = lines[k];
    if (k == 0 && l.substr(0, 3) == "\xEF\xBB\xBF") l.remove_prefix(3);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    bool blank = true;
    for (char c : l) blank = blank && (c == ' ' || c == '\t' || c == '\r');
    if (!blank) out.push_back({std::string(l), k + 1});
  }
  return out;
}

std::string gzip(std::string_view in) {
  z_stream z{};
  CDN_FUZZ_REQUIRE(deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  CDN_FUZZ_REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Reads every record of `path` through open_source, then parses each as the commands do.
// Returns false when the source refused the input (a corrupt gzip stream).
bool read_all(const std::string& path, size_t map_limit, std::vector<Rec>& recs) {
  cdn::record::Counts counts;
  auto sink = std::make_unique<StringSink>();
  StringSink& rejected_lines = *sink;
  cdn::record::Rejects rejects("fuzz", std::move(sink), counts);
  cdn::record::SourceOptions opts;
  opts.format = cdn::record::Format::ndjson;
  opts.map_limit = map_limit;
  recs.clear();
  uint64_t parsed = 0;
  std::vector<uint64_t> reject_lines;
  try {
    auto src = cdn::record::open_file_source(path, opts, rejects, counts);
    cdn::record::Record r;
    simdjson::dom::parser parser;
    while (src->next(r)) {
      recs.push_back({std::string(r.text), r.line});
      // The record is padded in place: no copy, as the commands parse it.
      volatile char pad = r.text.data()[r.text.size() + cdn::io::LineReader::kPadding - 1];
      (void)pad;
      simdjson::dom::element doc;
      auto err = parser.parse(r.text.data(), r.text.size(), false).get(doc);
      if (!err) {
        ++parsed;
        // simdjson took it: the syntax checker that explains rejects must take it too.
        CDN_FUZZ_REQUIRE(!cdn::record::find_json_error(r.text));
        // ... and find no number out of simdjson's range in it
        CDN_FUZZ_REQUIRE(!cdn::record::find_number_out_of_range(r.text));
        continue;
      }
      std::string reason = cdn::record::describe_json_error(r.text, simdjson::error_message(err));
      // A number out of range is named only when that is what simdjson refused.
      bool number_error = err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE;
      CDN_FUZZ_REQUIRE((reason.rfind("not JSON: ", 0) == 0 && reason.size() > 10) ||
                       (number_error && reason.rfind("number out of range: ", 0) == 0));
      rejects.reject(src->name(), r.line, reason, r.text);
      reject_lines.push_back(r.line);
    }
  } catch (const cdn::RuntimeError&) {
    return false;
  }
  CDN_FUZZ_REQUIRE(counts.in == recs.size());
  CDN_FUZZ_REQUIRE(counts.in == parsed + counts.rejected);
  CDN_FUZZ_REQUIRE(counts.rejected == reject_lines.size());
  // Each reject is one line; when the record was valid UTF-8 it is JSON naming the line.
  rejected_lines.flush();
  auto lines = split_lines(rejected_lines.text);
  CDN_FUZZ_REQUIRE(lines.size() == reject_lines.size());
  simdjson::dom::parser p;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!cdn::fuzz::valid_utf8(lines[i])) continue;
    simdjson::padded_string padded(lines[i]);
    simdjson::dom::element doc;
    CDN_FUZZ_REQUIRE(!p.parse(padded).get(doc));
    uint64_t line = 0;
    std::string_view reason;
    CDN_FUZZ_REQUIRE(!doc["line"].get_uint64().get(line) && line == reject_lines[i]);
    CDN_FUZZ_REQUIRE(!doc["reason"].get_string().get(reason) && !reason.empty());
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  MemFile file(in);
  const bool gzip_magic = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;

  // LineReader alone, with a starting buffer of 1..64 bytes so that lines outgrow it.
  if (!gzip_magic) {
    auto expect = split_lines(in);
    cdn::io::ByteReader bytes(file.path());
    cdn::io::LineReader lines(bytes, 1 + size % 64);
    std::string_view line;
    size_t k = 0;
    while (lines.next(line)) {
      CDN_FUZZ_REQUIRE(k < expect.size() && line == expect[k]);
      CDN_FUZZ_REQUIRE(lines.line_number() == k + 1);
      volatile char pad = line.data()[line.size() + cdn::io::LineReader::kPadding - 1];
      (void)pad;
      ++k;
    }
    CDN_FUZZ_REQUIRE(k == expect.size());
  }

  // The read and the mapped NDJSON sources agree with each other and with the oracle.
  std::vector<Rec> read, mapped;
  bool read_ok = read_all(file.path(), 0, read);
  bool mapped_ok = read_all(file.path(), std::numeric_limits<size_t>::max(), mapped);
  CDN_FUZZ_REQUIRE(read_ok == mapped_ok);
  CDN_FUZZ_REQUIRE(read == mapped);
  if (gzip_magic) return 0;  // the bytes are a (possibly broken) gzip stream, not lines
  CDN_FUZZ_REQUIRE(read_ok);
  CDN_FUZZ_REQUIRE(read == expected_records(split_lines(in)));

  // The same bytes gzipped read back as the same records.
  if (size % 4 == 0) {
    MemFile gz(gzip(in));
    std::vector<Rec> unzipped;
    CDN_FUZZ_REQUIRE(read_all(gz.path(), 0, unzipped));
    CDN_FUZZ_REQUIRE(unzipped == read);
  }
  return 0;
}
