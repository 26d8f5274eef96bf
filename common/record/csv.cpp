#include "common/record/csv.hpp"

#include <charconv>
#include <cmath>
#include <unordered_map>

#include "common/base/json_text.hpp"

namespace cdn::record {

namespace {
// True when the quotes in s leave us inside a quoted field.
bool ends_inside_quotes(std::string_view s) {
  bool in = false;
  for (char c : s) {
    if (c == '"') in = !in;
  }
  return in;
}

// Appends cell `v` of column `name` as a JSON string, or returns false with `error` set when
// it is not valid UTF-8 (which JSON text must be).
bool append_utf8_string(std::string& out, std::string_view v, std::string_view name,
                        std::string& error) {
  size_t bad = base::invalid_utf8_at(v);
  if (bad != std::string_view::npos) {
    error = "column '" + std::string(name) + "': the cell is not valid UTF-8 (byte " +
            std::to_string(bad + 1) + ")";
    return false;
  }
  base::append_json_string(out, v);
  return true;
}
}  // namespace

bool CsvReader::next(Row& row) {
  std::string_view line;
  row.raw.clear();
  row.fields.clear();
  row.ok = true;
  row.error.clear();
  for (;;) {
    if (!lines_.next(line)) return false;
    if (first_) {
      first_ = false;
      if (line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) break;  // blank lines between records are skipped
  }
  row.first_line = lines_.line_number();
  row.raw.assign(line);
  while (ends_inside_quotes(row.raw)) {
    if (!lines_.next(line)) {
      row.ok = false;
      row.error = "unterminated quoted field at end of input";
      return true;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    row.raw += '\n';
    row.raw.append(line);
  }
  row.ok = split_csv_record(row.raw, row.fields, row.error, &row.quoted);
  return true;
}

bool split_csv_record(std::string_view raw, std::vector<std::string>& fields, std::string& error,
                      std::vector<char>* quoted) {
  fields.clear();
  if (quoted != nullptr) quoted->clear();
  size_t i = 0, n = raw.size();
  for (;;) {
    std::string field;
    bool in_quotes = i < n && raw[i] == '"';
    if (quoted != nullptr) quoted->push_back(in_quotes ? 1 : 0);
    if (in_quotes) {
      ++i;
      for (;;) {
        if (i >= n) {
          error = "unterminated quoted field " + std::to_string(fields.size() + 1);
          return false;
        }
        char c = raw[i++];
        if (c == '"') {
          if (i < n && raw[i] == '"') {
            field += '"';
            ++i;
          } else {
            break;
          }
        } else {
          field += c;
        }
      }
      if (i < n && raw[i] != ',') {
        error = "unexpected character after the closing quote of field " +
                std::to_string(fields.size() + 1);
        return false;
      }
    } else {
      size_t start = i;
      while (i < n && raw[i] != ',') ++i;
      field.assign(raw.substr(start, i - start));
    }
    fields.push_back(std::move(field));
    if (i >= n) return true;
    ++i;  // the comma
  }
}

std::string duplicate_column(const std::vector<std::string>& header) {
  std::unordered_map<std::string_view, size_t> first;
  first.reserve(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    auto [it, fresh] = first.emplace(header[c], c);
    if (!fresh) {
      return "column '" + header[c] + "' comes twice in the header (columns " +
             std::to_string(it->second + 1) + " and " + std::to_string(c + 1) + ")";
    }
  }
  return {};
}

bool cell_to_json(std::string_view v, ValueType type, std::string_view column, std::string& out,
                  std::string& error, bool quoted) {
  // A quoted cell of an untyped column is a string, whatever it holds ("123", "").
  if (quoted && type == record::ValueType::any) type = record::ValueType::string;
  switch (type) {
    case record::ValueType::integer: {
      int64_t x;
      auto r = std::from_chars(v.data(), v.data() + v.size(), x);
      if (r.ec != std::errc() || r.ptr != v.data() + v.size()) {
        double d;
        auto rd = std::from_chars(v.data(), v.data() + v.size(), d);
        if (rd.ec == std::errc() && rd.ptr == v.data() + v.size() && std::isfinite(d) &&
            d == std::trunc(d) && std::fabs(d) < 9.2e18) {
          x = static_cast<int64_t>(d);
        } else {
          error =
              "column '" + std::string(column) + "': '" + std::string(v) + "' is not an integer";
          return false;
        }
      }
      base::append_int(out, x);
      break;
    }
    case record::ValueType::number: {
      if (base::is_json_number(v) && base::json_number_fits(v)) {
        out += v;
        break;
      }
      double d;
      auto r = std::from_chars(v.data(), v.data() + v.size(), d);
      if (r.ec != std::errc() || r.ptr != v.data() + v.size() || !std::isfinite(d)) {
        error = "column '" + std::string(column) + "': '" + std::string(v) + "' is not a number";
        return false;
      }
      base::append_double(out, d);
      break;
    }
    case record::ValueType::boolean: {
      if (v == "true" || v == "TRUE" || v == "True" || v == "1") {
        out += "true";
      } else if (v == "false" || v == "FALSE" || v == "False" || v == "0") {
        out += "false";
      } else {
        error = "column '" + std::string(column) + "': '" + std::string(v) + "' is not a boolean";
        return false;
      }
      break;
    }
    case record::ValueType::string:
      if (!append_utf8_string(out, v, column, error)) return false;
      break;
    case record::ValueType::any:
      // A number that would not read back (beyond 64-bit integers or a double's range)
      // stays the text it is.
      if (base::is_json_number(v) && base::json_number_fits(v)) {
        out += v;
      } else if (!append_utf8_string(out, v, column, error)) {
        return false;
      }
      break;
  }
  return true;
}

CsvToJson::CsvToJson(std::vector<std::string> header, const record::PropertyTypes* types)
    : header_(std::move(header)) {
  for (const auto& h : header_) {
    types_.push_back(types ? types->of(h) : record::ValueType::any);
    std::string k;
    base::append_json_string(k, h);
    k += ':';
    keys_.push_back(std::move(k));
    bad_names_.push_back(base::invalid_utf8_at(h));
  }
}

bool CsvToJson::convert(const std::vector<std::string>& fields, std::string& out,
                        std::string& error, const std::vector<char>* quoted) const {
  if (fields.size() != header_.size()) {
    error = "row has " + std::to_string(fields.size()) + " fields but the header has " +
            std::to_string(header_.size());
    return false;
  }
  out += '{';
  bool first = true;
  for (size_t c = 0; c < fields.size(); ++c) {
    const std::string& v = fields[c];
    bool q = quoted != nullptr && c < quoted->size() && (*quoted)[c] != 0;
    // An empty cell leaves the field out; "" is an empty string where a string may stand.
    if (v.empty() && !(q && (types_[c] == ValueType::any || types_[c] == ValueType::string))) {
      continue;
    }
    if (bad_names_[c] != std::string_view::npos) {
      error = "column " + std::to_string(c + 1) +
              ": its name in the header is not valid UTF-8 (byte " +
              std::to_string(bad_names_[c] + 1) + ")";
      return false;
    }
    if (!first) out += ',';
    first = false;
    out += keys_[c];
    if (!cell_to_json(v, types_[c], header_[c], out, error, q)) return false;
  }
  out += '}';
  return true;
}

}  // namespace cdn::record
