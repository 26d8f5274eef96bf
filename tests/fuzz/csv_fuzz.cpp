// libFuzzer target for the CSV input path: CsvReader (quoted fields, doubled quotes, quoted
// newlines, CRLF, BOM, blank lines), split_csv_record, and CsvToJson turning rows into JSON
// objects, untyped, typed by schemas/cdn-data.json, and typed column by column with every
// type in turn (so that headers the fuzzer makes up are typed too). The input is the file.
// Invariants asserted (a broken one traps):
//   - every line is accounted for: each row's raw text is exactly its lines (CR removed)
//     joined by '\n', rows follow one another, and only blank lines lie between them;
//   - a row that splits re-encodes (RFC 4180 quoting) to text that splits to the same fields;
//   - through open_source: records in = records yielded + records rejected, and there is one
//     reject line per rejected row;
//   - whatever the bytes (invalid UTF-8, NUL and other control characters, a BOM or quotes
//     anywhere), a converted row is JSON that simdjson reads (valid UTF-8, no number beyond
//     its range), or it is rejected with a reason: an object whose members are the header's
//     columns with non-empty cells, in order, each holding the cell as its column's type
//     says (integer: that integer; number: a finite number; boolean: that boolean; string:
//     the cell; untyped: a number only when the cell is an unquoted JSON number, else the
//     cell; a quoted empty cell is an empty string in an untyped or string column);
//   - the records read, written back by the CSV writer (untyped, or typed column by column)
//     and read again, are the same text, but for those the writer refuses for a reason a
//     record read from CSV can have (a column its header lacks, a name twice, a blank row).
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/csv.hpp"
#include "common/record/csv_writer.hpp"
#include "common/record/source.hpp"
#include "common/schema/types.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using cdn::fuzz::MemFile;
using cdn::fuzz::split_lines;
using cdn::fuzz::StringSink;
using cdn::record::PropertyTypes;
using cdn::record::ValueType;

namespace {

std::string_view trim_line(std::string_view l, bool first) {
  if (first && l.substr(0, 3) == "\xEF\xBB\xBF") l.remove_prefix(3);
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  return l;
}

std::string csv_encode(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\n\r") == std::string::npos) {
      out += f;
      continue;
    }
    out += '"';
    for (char c : f) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out;
}

// The rows of the file read with CsvReader, checked against the file's lines.
void check_reader(const std::string& path, std::string_view in) {
  auto lines = split_lines(in);
  cdn::io::ByteReader bytes(path);
  cdn::io::LineReader reader(bytes, 1 + in.size() % 32);
  cdn::record::CsvReader csv(reader);
  cdn::record::CsvReader::Row row;
  size_t next = 0;  // index of the first line not yet in a row
  while (csv.next(row)) {
    CDN_FUZZ_REQUIRE(row.first_line >= next + 1 && row.first_line <= lines.size());
    for (size_t k = next; k + 1 < row.first_line; ++k) {
      CDN_FUZZ_REQUIRE(trim_line(lines[k], k == 0).empty());  // skipped: blank
    }
    // The raw text is its lines joined by '\n'.
    std::string joined;
    size_t k = row.first_line - 1;
    joined += trim_line(lines[k], k == 0);
    ++k;
    while (joined.size() < row.raw.size()) {
      CDN_FUZZ_REQUIRE(k < lines.size());
      joined += '\n';
      joined += trim_line(lines[k], false);
      ++k;
    }
    CDN_FUZZ_REQUIRE(joined == row.raw);
    next = k;
    if (row.ok) {
      CDN_FUZZ_REQUIRE(!row.fields.empty());
      std::vector<std::string> again;
      std::string error;
      CDN_FUZZ_REQUIRE(cdn::record::split_csv_record(csv_encode(row.fields), again, error));
      CDN_FUZZ_REQUIRE(again == row.fields);
    } else {
      CDN_FUZZ_REQUIRE(!row.error.empty());
    }
  }
  for (size_t k = next; k < lines.size(); ++k) {
    CDN_FUZZ_REQUIRE(trim_line(lines[k], k == 0).empty());
  }
}

// The member a cell must become, checked against the parsed value.
void check_cell(ValueType t, const std::string& cell, simdjson::dom::element v) {
  using simdjson::dom::element_type;
  switch (t) {
    case ValueType::integer: {
      int64_t x;
      CDN_FUZZ_REQUIRE(!v.get_int64().get(x));
      int64_t direct;
      auto r = std::from_chars(cell.data(), cell.data() + cell.size(), direct);
      if (r.ec == std::errc() && r.ptr == cell.data() + cell.size()) {
        CDN_FUZZ_REQUIRE(x == direct);
      } else {
        double d;
        auto rd = std::from_chars(cell.data(), cell.data() + cell.size(), d);
        CDN_FUZZ_REQUIRE(rd.ec == std::errc() && static_cast<double>(x) == std::trunc(d));
      }
      break;
    }
    case ValueType::number: {
      double d;
      CDN_FUZZ_REQUIRE(!v.get_double().get(d) && std::isfinite(d));
      break;
    }
    case ValueType::boolean: {
      bool b;
      CDN_FUZZ_REQUIRE(!v.get_bool().get(b));
      CDN_FUZZ_REQUIRE(b == (cell == "true" || cell == "TRUE" || cell == "True" || cell == "1"));
      break;
    }
    case ValueType::string: {
      std::string_view s;
      CDN_FUZZ_REQUIRE(!v.get_string().get(s) && s == cell);
      break;
    }
    case ValueType::any: {
      // A number when the cell is one (and reads back), else the cell as a string.
      std::string_view s;
      if (v.is_number()) {
        CDN_FUZZ_REQUIRE(cdn::base::is_json_number(cell));
      } else {
        CDN_FUZZ_REQUIRE(!v.get_string().get(s) && s == cell);
      }
      break;
    }
  }
}

// `records` (read from CSV typed by `types`) written by the CSV writer and read back.
void check_write_back(const std::vector<std::string>& records, const PropertyTypes* types) {
  cdn::record::CsvWriter writer(types);
  std::string csv, reason;
  std::vector<const std::string*> kept;
  for (const auto& r : records) {
    if (writer.write(r, csv, reason)) {
      kept.push_back(&r);
      continue;
    }
    CDN_FUZZ_REQUIRE(reason.find("is not a column") != std::string::npos ||
                     reason.find("twice") != std::string::npos ||
                     reason.find("blank row") != std::string::npos);
  }
  writer.finish(csv);
  MemFile out(csv);
  cdn::record::Counts counts;
  cdn::record::Rejects rejects("fuzz", std::make_unique<StringSink>(), counts);
  cdn::record::SourceOptions opts;
  opts.format = cdn::record::Format::csv;
  opts.csv_types = types;
  auto src = cdn::record::open_file_source(out.path(), opts, rejects, counts);
  cdn::record::Record r;
  size_t i = 0;
  while (src->next(r)) {
    CDN_FUZZ_REQUIRE(i < kept.size() && r.text == *kept[i]);
    ++i;
  }
  CDN_FUZZ_REQUIRE(i == kept.size() && counts.rejected == 0);
}

// Reads the file through open_source as CSV typed by `types`.
void check_source(const std::string& path, std::string_view in, const PropertyTypes* types) {
  cdn::record::Counts counts;
  auto sink = std::make_unique<StringSink>();
  StringSink& rejected_lines = *sink;
  cdn::record::Rejects rejects("fuzz", std::move(sink), counts);
  cdn::record::SourceOptions opts;
  opts.format = cdn::record::Format::csv;
  opts.csv_types = types;
  std::unique_ptr<cdn::record::Source> src;
  try {
    src = cdn::record::open_file_source(path, opts, rejects, counts);
  } catch (const cdn::RuntimeError&) {
    return;  // a malformed header (or a broken gzip stream) is refused cleanly
  }
  // The header, split again by hand: the first non-blank row.
  std::vector<std::string> header;
  {
    cdn::io::ByteReader bytes(path);
    cdn::io::LineReader reader(bytes, 64);
    cdn::record::CsvReader csv(reader);
    cdn::record::CsvReader::Row row;
    if (csv.next(row)) header = row.fields;
  }
  const bool gzip_magic = in.size() >= 2 && in[0] == '\x1f' && in[1] == '\x8b';
  uint64_t yielded = 0;
  cdn::record::Record r;
  simdjson::dom::parser parser;
  std::vector<std::string> records;
  try {
    while (src->next(r)) {
      ++yielded;
      if (gzip_magic) continue;
      records.emplace_back(r.text);
      simdjson::dom::element doc;
      auto err = parser.parse(r.text.data(), r.text.size(), false).get(doc);
      CDN_FUZZ_REQUIRE(!err);
      simdjson::dom::object obj;
      CDN_FUZZ_REQUIRE(!doc.get_object().get(obj));
      // Members in header order, one per non-empty cell: recover the cells from the row.
      size_t col = 0;
      for (auto m : obj) {
        while (col < header.size() && header[col] != m.key) ++col;
        CDN_FUZZ_REQUIRE(col < header.size());
        ++col;
      }
    }
  } catch (const cdn::RuntimeError&) {
    CDN_FUZZ_REQUIRE(gzip_magic);
    return;
  }
  CDN_FUZZ_REQUIRE(counts.in == yielded + counts.rejected);
  rejected_lines.flush();
  CDN_FUZZ_REQUIRE(split_lines(rejected_lines.text).size() == counts.rejected);
  // The schema's typing names its columns, in its order: the records would come back in
  // that order, not the file's.
  if (types == nullptr || types->order.empty()) check_write_back(records, types);
}

// Rows converted directly, each cell checked against its column's type.
void check_convert(std::string_view in, const PropertyTypes* types) {
  auto lines = split_lines(in);
  std::vector<std::string> fields;
  std::string error;
  std::vector<std::string> header;
  size_t k = 0;
  for (; k < lines.size(); ++k) {
    auto l = trim_line(lines[k], k == 0);
    if (l.empty()) continue;
    if (!cdn::record::split_csv_record(l, header, error)) return;
    ++k;
    break;
  }
  if (header.empty()) return;
  cdn::record::CsvToJson conv(header, types);
  simdjson::dom::parser parser;
  for (; k < lines.size(); ++k) {
    auto l = trim_line(lines[k], false);
    if (l.empty() || !cdn::record::split_csv_record(l, fields, error)) continue;
    std::string out;
    if (!conv.convert(fields, out, error)) {
      CDN_FUZZ_REQUIRE(!error.empty());
      continue;
    }
    simdjson::padded_string padded(out);
    simdjson::dom::element doc;
    CDN_FUZZ_REQUIRE(!parser.parse(padded).get(doc));
    simdjson::dom::object obj;
    CDN_FUZZ_REQUIRE(!doc.get_object().get(obj));
    auto it = obj.begin();
    for (size_t c = 0; c < fields.size(); ++c) {
      if (fields[c].empty()) continue;
      CDN_FUZZ_REQUIRE(it != obj.end() && it.key() == header[c]);
      check_cell(types ? types->of(header[c]) : ValueType::any, fields[c], it.value());
      ++it;
    }
    CDN_FUZZ_REQUIRE(it == obj.end());
  }
}

const PropertyTypes& schema_types() {
  static PropertyTypes t =
      cdn::schema::load_property_types(std::string(CDN_SOURCE_SCHEMA_DIR) + "/cdn-data.json");
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  MemFile file(in);
  const bool gzip_magic = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (!gzip_magic) check_reader(file.path(), in);

  // Types by column position: every type in turn over the header's names.
  PropertyTypes cyclic;
  {
    auto lines = split_lines(in);
    std::vector<std::string> header;
    std::string error;
    for (size_t k = 0; k < lines.size(); ++k) {
      auto l = trim_line(lines[k], k == 0);
      if (l.empty()) continue;
      if (cdn::record::split_csv_record(l, header, error)) {
        static const ValueType kTypes[] = {ValueType::integer, ValueType::number,
                                           ValueType::boolean, ValueType::string, ValueType::any};
        for (size_t c = 0; c < header.size(); ++c) {
          cyclic.by_name.emplace(header[c], kTypes[(c + size) % 5]);
        }
      }
      break;
    }
  }
  const PropertyTypes* all_types[] = {nullptr, &schema_types(), &cyclic};
  for (const PropertyTypes* types : all_types) {
    if (!gzip_magic) check_convert(in, types);
  }
  // The source, with one of the three typings: each opens a 4 MiB line buffer, which costs
  // more than everything else here.
  check_source(file.path(), in, all_types[size % 3]);
  return 0;
}
