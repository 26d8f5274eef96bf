// Records (JSON objects, one a line) written as CSV by the rules CsvReader and CsvToJson read
// CSV back by (csv.hpp), so that what is written reads back as the records given:
// - a header row names the columns: the properties of --schema in its order, or else (no
//   schema, or one without properties) the fields of the first record in theirs;
// - a field a record lacks is an empty cell (an empty cell reads back as a missing field);
// - a cell is quoted when it holds a comma, a double quote (doubled) or a line break, and a
//   string that is empty or reads as a JSON number is quoted too (a quoted cell is a string);
// - strings are their text, numbers their JSON text, booleans true and false.
// A record that CSV cannot give back as it is is refused, with the reason, for the rejects
// sink: a field outside the header, a value no cell holds (an object, an array, null), or
// one that would read back as another value (a boolean in a column the schema does not type
// boolean: an untyped column reads an unquoted JSON number as a number and anything else as
// a string; a string in a column typed as a number).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/io/sink.hpp"
#include "common/record/property_types.hpp"

namespace cdn::record {

class CsvWriter {
 public:
  // `types`: from --schema, or null. With them the header is their properties, each column
  // typed as the reader will type it; without, the header comes from the first record.
  explicit CsvWriter(const PropertyTypes* types);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  // Appends the row of one record to `out` (after the header row, before the first row), or
  // returns false with `reason` set and `out` as it was.
  bool write(std::string_view record, std::string& out, std::string& reason);
  // Appends the header row if it is known and not written yet: a CSV output with no records
  // still has the header of its schema.
  void finish(std::string& out);

 private:
  struct Parsed;
  std::unique_ptr<Parsed> parsed_;  // simdjson's parser and the cells of one record
  PropertyTypes types_;
  bool from_schema_ = false;
  bool header_known_ = false;
  bool header_written_ = false;
  std::vector<std::string> header_;
  std::vector<ValueType> column_types_;
  std::unordered_map<std::string, size_t> column_of_;
  void set_header(std::vector<std::string> names);
  void append_header(std::string& out);
};

// Appends `cell` as a CSV field: quoted when `quote` says so or it holds a comma, a double quote
// or a line break.
void append_csv_field(std::string& out, std::string_view cell, bool quote = false);

// A sink that takes NDJSON lines and writes them to `inner` as CSV (a CsvWriter): refused
// records go to the sink's on_refused handler, which must be set before the first line is
// written out (pipeline::RunContext sets it).
std::unique_ptr<io::Sink> csv_sink(std::unique_ptr<io::Sink> inner, const PropertyTypes* types);

}  // namespace cdn::record
