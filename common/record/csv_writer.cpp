#include "common/record/csv_writer.hpp"

#include <simdjson.h>

#include <charconv>
#include <stdexcept>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/record/csv.hpp"
#include "common/record/json_syntax.hpp"

namespace cdn::record {

namespace {

// What to do with a record that CSV cannot give back as it is.
const char* kHint = "; write NDJSON (-o FILE.ndjson) to keep it";

std::string field_name(std::string_view key) {
  return diag::quoted(std::string(key));
}

// The numeric value of JSON number text, for numbers the reader gives back in another
// spelling (an integer column reads 2.0 as 2).
bool same_number(std::string_view a, std::string_view b) {
  double x = 0, y = 0;
  auto ra = std::from_chars(a.data(), a.data() + a.size(), x);
  auto rb = std::from_chars(b.data(), b.data() + b.size(), y);
  return ra.ec == std::errc() && rb.ec == std::errc() && ra.ptr == a.data() + a.size() &&
         rb.ptr == b.data() + b.size() && x == y;
}

}  // namespace

// One field of a record: its name, its cell and the JSON text the record gives for it.
struct Cell {
  std::string key;
  std::string text;  // the cell
  std::string json;  // the value as JSON text (a string's escaped canonically)
  bool number = false;
  bool quote = false;  // a string written quoted, to read back as one ("", "123")
};

struct CsvWriter::Parsed {
  simdjson::ondemand::parser parser;
  std::string padded;
  std::vector<Cell> cells;
  size_t used = 0;
  std::vector<const Cell*> row;  // by column
  std::string back;              // what a cell reads back as
};

CsvWriter::CsvWriter(const PropertyTypes* types) : parsed_(std::make_unique<Parsed>()) {
  if (types != nullptr) types_ = *types;
  // A schema without properties ({} lets any record through) leaves the header to the first
  // record.
  if (!types_.order.empty()) {
    from_schema_ = true;
    set_header(types_.order);
  }
}

CsvWriter::~CsvWriter() = default;

void CsvWriter::set_header(std::vector<std::string> names) {
  header_ = std::move(names);
  column_types_.clear();
  column_of_.clear();
  for (size_t c = 0; c < header_.size(); ++c) {
    column_types_.push_back(types_.of(header_[c]));
    column_of_.emplace(header_[c], c);
  }
  header_known_ = true;
}

void append_csv_field(std::string& out, std::string_view cell, bool quote) {
  if (!quote && cell.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += cell;
    return;
  }
  out += '"';
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void CsvWriter::append_header(std::string& out) {
  size_t start = out.size();
  for (size_t c = 0; c < header_.size(); ++c) {
    if (c > 0) out += ',';
    // The reader drops a BOM at the start of the file; quoted, a name keeps its own.
    append_csv_field(out, header_[c], c == 0 && header_[c].starts_with("\xEF\xBB\xBF"));
  }
  // A blank line is skipped by the reader: one empty name is written quoted.
  if (out.size() == start) out += "\"\"";
  out += '\n';
  header_written_ = true;
}

void CsvWriter::finish(std::string& out) {
  if (header_known_ && !header_written_) append_header(out);
}

bool CsvWriter::write(std::string_view record, std::string& out, std::string& reason) {
  namespace od = simdjson::ondemand;
  Parsed& p = *parsed_;
  p.padded.reserve(record.size() + simdjson::SIMDJSON_PADDING);
  p.padded.assign(record);
  p.used = 0;
  auto next_cell = [&p]() -> Cell& {
    if (p.used == p.cells.size()) p.cells.emplace_back();
    Cell& c = p.cells[p.used++];
    c.key.clear();
    c.text.clear();
    c.json.clear();
    c.number = false;
    c.quote = false;
    return c;
  };
  const std::string not_object = "not a JSON object, which a CSV row must come from";
  // simdjson's On Demand parser reads what it is asked for: the whole text is checked first
  // (trailing bytes, numbers it would skip).
  if (auto e = find_json_error(record)) {
    reason = "not JSON: " + e->message + " at column " + std::to_string(e->offset + 1);
    return false;
  }
  od::document doc;
  od::object obj;
  if (p.parser.iterate(p.padded.data(), p.padded.size(), p.padded.capacity()).get(doc) ||
      doc.get_object().get(obj)) {
    reason = not_object;
    return false;
  }
  for (auto member : obj) {
    od::field f;
    std::string_view key;
    od::json_type type;
    if (std::move(member).get(f) || f.unescaped_key().get(key) || f.value().type().get(type)) {
      reason = not_object;
      return false;
    }
    Cell& cell = next_cell();
    cell.key.assign(key);
    od::value v = f.value();
    switch (type) {
      case od::json_type::string: {
        std::string_view s;
        if (v.get_string().get(s)) {
          reason = not_object;
          return false;
        }
        cell.text.assign(s);
        base::append_json_string(cell.json, s);
        cell.quote = s.empty() || base::is_json_number(s);
        break;
      }
      case od::json_type::number: {
        std::string_view raw = v.raw_json_token();
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' ||
                                raw.back() == '\r')) {
          raw.remove_suffix(1);
        }
        if (!base::is_json_number(raw)) {
          reason = not_object;
          return false;
        }
        cell.text.assign(raw);
        cell.json.assign(raw);
        cell.number = true;
        break;
      }
      case od::json_type::boolean: {
        bool b = false;
        if (v.get_bool().get(b)) {
          reason = not_object;
          return false;
        }
        cell.text = b ? "true" : "false";
        cell.json = cell.text;
        break;
      }
      case od::json_type::null:
        reason = "field " + field_name(key) +
                 " is null, which CSV reads back as a missing field; leave the field out" + kHint;
        return false;
      case od::json_type::object:
      case od::json_type::array:
        reason = "field " + field_name(key) + " is " +
                 (type == od::json_type::object ? "an object" : "an array") +
                 ", which a CSV cell cannot hold" + kHint;
        return false;
    }
  }

  const std::string blank =
      "the record has no field in the columns of the CSV output, and a blank row is skipped "
      "when read";
  if (!header_known_ && p.used == 0) {
    reason = blank;
    return false;
  }
  if (!header_known_) {
    std::vector<std::string> names;
    for (size_t i = 0; i < p.used; ++i) names.push_back(p.cells[i].key);
    set_header(std::move(names));
    if (column_of_.size() != header_.size()) {  // a name twice: no header from this record
      header_known_ = false;
      header_.clear();
      column_of_.clear();
      reason = "a field appears twice in the record, and a CSV header names each column once";
      return false;
    }
  }
  p.row.assign(header_.size(), nullptr);
  for (size_t i = 0; i < p.used; ++i) {
    const Cell& cell = p.cells[i];
    auto it = column_of_.find(cell.key);
    if (it == column_of_.end()) {
      reason = "field " + field_name(cell.key) +
               " is not a column of the CSV output, whose header " +
               (from_schema_ ? "lists the properties of --schema"
                             : "lists the fields of the first record") +
               "; name every field in a --schema" + kHint;
      return false;
    }
    if (p.row[it->second] != nullptr) {
      reason = "field " + field_name(cell.key) +
               " appears twice in the record, and a CSV row has one cell for it";
      return false;
    }
    p.row[it->second] = &cell;
    ValueType t = column_types_[it->second];
    if (cell.text.empty() && !(t == ValueType::any || t == ValueType::string)) {
      reason = "field " + field_name(cell.key) +
               " is an empty string, which CSV reads back as a missing field in a column typed " +
               (t == ValueType::boolean ? "boolean" : "as a number") + kHint;
      return false;
    }
    if (cell.text.find("\r\n") != std::string::npos) {
      reason = "field " + field_name(cell.key) +
               " holds a carriage return before a line feed, which CSV reading drops" + kHint;
      return false;
    }
    // The cell as the reader will read it.
    std::string error;
    p.back.clear();
    if (!cell_to_json(cell.text, t, cell.key, p.back, error, cell.quote)) {
      reason = "field " + field_name(cell.key) + " would not read back from CSV (" + error +
               "); fix the type of the column in --schema" + kHint;
      return false;
    }
    if (p.back != cell.json &&
        !(cell.number && (t == ValueType::integer || t == ValueType::number) &&
          same_number(p.back, cell.json))) {
      reason =
          "field " + field_name(cell.key) + " would read back from CSV as " + p.back + ", not " +
          cell.json +
          (from_schema_ ? "; type its column so in --schema" : "; type its column in a --schema") +
          kHint;
      return false;
    }
  }

  // One column and the record lacks it: a blank line, which the reader skips ("" would be an
  // empty string).
  if (header_.size() <= 1 && (header_.empty() || p.row[0] == nullptr)) {
    reason = blank;
    return false;
  }
  if (!header_written_) append_header(out);
  for (size_t c = 0; c < header_.size(); ++c) {
    if (c > 0) out += ',';
    if (p.row[c] != nullptr) append_csv_field(out, p.row[c]->text, p.row[c]->quote);
  }
  out += '\n';
  return true;
}

namespace {

class CsvSink : public io::Sink {
 public:
  CsvSink(std::unique_ptr<io::Sink> inner, const PropertyTypes* types)
      : Sink(inner->name()), inner_(std::move(inner)), writer_(types) {}

  void on_refused(Refused f) override { refused_ = std::move(f); }
  void flush() override {
    flush_buffer();
    inner_->flush();
  }
  void commit() override {
    flush_buffer();
    rows_.clear();
    writer_.finish(rows_);
    inner_->write_bytes(rows_);
    inner_->commit();
  }
  bool holds_until_commit() const override { return inner_->holds_until_commit(); }
  std::optional<io::FileId> file_id() const override { return inner_->file_id(); }

 protected:
  void write_out(const char* data, size_t n) override {
    std::string_view text(data, n);
    rows_.clear();
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      ++number_;
      size_t before = rows_.size();
      if (writer_.write(line, rows_, reason_)) continue;
      rows_.resize(before);
      if (!refused_) {
        throw std::logic_error(
            "internal error: a CSV output refused a record with nowhere to "
            "send it");
      }
      // The rows before it go out first, so that outputs and rejects keep their order.
      inner_->write_bytes(rows_);
      rows_.clear();
      refused_(number_, line, reason_);
    }
    inner_->write_bytes(rows_);
  }

 private:
  std::unique_ptr<io::Sink> inner_;
  CsvWriter writer_;
  Refused refused_;
  uint64_t number_ = 0;
  std::string rows_;
  std::string reason_;
};

}  // namespace

std::unique_ptr<io::Sink> csv_sink(std::unique_ptr<io::Sink> inner, const PropertyTypes* types) {
  return std::make_unique<CsvSink>(std::move(inner), types);
}

}  // namespace cdn::record
