// RFC 4180 CSV: a header row, quoted fields, doubled quotes, embedded newlines, CRLF.
// Rows become JSON objects typed by a schema (or inferred: an unquoted JSON number stays a
// number, when it reads back as one; a quoted cell is a string). An empty cell is a missing
// field; "" is an empty string in a string or untyped column.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/line_reader.hpp"
#include "common/record/property_types.hpp"

namespace cdn::record {

class CsvReader {
 public:
  explicit CsvReader(io::LineReader& lines) : lines_(lines) {}

  // Reads the next row. `raw` is its text (lines joined by '\n'), `first_line` its first
  // line number. Returns false at end of input. A malformed row yields ok == false with
  // `error` set.
  struct Row {
    std::string raw;
    uint64_t first_line = 0;
    std::vector<std::string> fields;
    std::vector<char> quoted;  // per field: 1 when it was written in double quotes
    bool ok = true;
    std::string error;
  };
  bool next(Row& row);

 private:
  io::LineReader& lines_;
  bool first_ = true;
};

// Splits one complete CSV record (possibly holding quoted newlines) into fields, and into
// `quoted`, when given, whether each was quoted. Returns false with `error` set when it is
// malformed.
bool split_csv_record(std::string_view raw, std::vector<std::string>& fields, std::string& error,
                      std::vector<char>* quoted = nullptr);

// "column 'asn' comes twice in the header (columns 4 and 18)" for the first name the header
// gives two columns, or "" when every name is its own. Rows of such a header would be objects
// holding a member twice, one of them not read by any command: readers refuse the file.
std::string duplicate_column(const std::vector<std::string>& header);

// Appends one cell of column `column` as the JSON value it reads as, typed by `type` (any: an
// unquoted cell that is a JSON number that reads back as one stays a number, anything else,
// and every `quoted` cell, is a string); on a cell that does not fit its type, or is not
// valid UTF-8, returns false with `error` set. (An empty cell is a missing field unless it
// is quoted in a string or untyped column: the caller leaves those out.)
// The rules CsvToJson reads by, and that the CSV writer (csv_writer.hpp) checks each cell
// it writes against.
bool cell_to_json(std::string_view cell, ValueType type, std::string_view column, std::string& out,
                  std::string& error, bool quoted = false);

// Turns rows into JSON object text.
class CsvToJson {
 public:
  CsvToJson(std::vector<std::string> header, const record::PropertyTypes* types);

  // Appends the object to `out`; on a cell that does not fit its type, or that is not valid
  // UTF-8 (or whose column's name is not), returns false with `error` set: whatever the
  // bytes, what it appends is valid JSON.
  // `quoted` (CsvReader::Row::quoted): which cells were quoted; none when null.
  bool convert(const std::vector<std::string>& fields, std::string& out, std::string& error,
               const std::vector<char>* quoted = nullptr) const;

  const std::vector<std::string>& header() const { return header_; }

 private:
  std::vector<std::string> header_;
  std::vector<record::ValueType> types_;
  std::vector<std::string> keys_;  // header names already JSON-escaped with quotes and ':'
  std::vector<size_t> bad_names_;  // per column: where its name is not UTF-8, or npos
};

}  // namespace cdn::record
