#include "common/io/source.hpp"

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/record/csv.hpp"

namespace cdn::io {

Format parse_format(const std::string& name) {
  if (name == "auto" || name.empty()) return Format::automatic;
  if (name == "ndjson" || name == "jsonl" || name == "json") return Format::ndjson;
  if (name == "csv") return Format::csv;
  throw UsageError("unknown input format " + diag::quoted(name) + "; use auto, ndjson or csv");
}

Format detect_format(const std::string& spec) {
  std::string s = spec;
  if (s.size() > 3 && s.compare(s.size() - 3, 3, ".gz") == 0) s.resize(s.size() - 3);
  if (s.size() > 4 && s.compare(s.size() - 4, 4, ".csv") == 0) return Format::csv;
  return Format::ndjson;
}

namespace {

bool is_blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

class NdjsonSource : public Source {
 public:
  NdjsonSource(const std::string& spec, pipeline::Counts& counts)
      : bytes_(spec), lines_(bytes_), counts_(counts) {}

  bool next(Record& rec) override {
    std::string_view line;
    while (lines_.next(line)) {
      if (first_) {
        first_ = false;
        if (line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty() || (line.front() <= ' ' && is_blank(line))) continue;
      rec.text = line;
      rec.line = lines_.line_number();
      ++counts_.in;
      return true;
    }
    return false;
  }
  const std::string& name() const override { return bytes_.name(); }

 private:
  ByteReader bytes_;
  LineReader lines_;
  pipeline::Counts& counts_;
  bool first_ = true;
};

class CsvSource : public Source {
 public:
  CsvSource(const std::string& spec, const SourceOptions& opts, pipeline::Rejects& rejects,
            pipeline::Counts& counts)
      : bytes_(spec), lines_(bytes_), csv_(lines_), rejects_(rejects), counts_(counts) {
    record::CsvReader::Row header;
    if (!csv_.next(header)) return;  // empty input: no rows
    if (!header.ok) {
      throw RuntimeError("cannot read the CSV header of " + diag::quoted(bytes_.name()) + ": " +
                         header.error);
    }
    converter_.emplace(std::move(header.fields), opts.csv_types);
  }

  bool next(Record& rec) override {
    if (!converter_) return false;
    while (csv_.next(row_)) {
      ++counts_.in;
      if (!row_.ok) {
        rejects_.reject(bytes_.name(), row_.first_line, "malformed CSV: " + row_.error, row_.raw);
        continue;
      }
      json_.clear();
      if (!converter_->convert(row_.fields, json_, error_)) {
        rejects_.reject(bytes_.name(), row_.first_line, error_, row_.raw);
        continue;
      }
      size_t len = json_.size();
      json_.append(LineReader::kPadding, ' ');
      rec.text = std::string_view(json_.data(), len);
      rec.line = row_.first_line;
      return true;
    }
    return false;
  }
  const std::string& name() const override { return bytes_.name(); }

 private:
  ByteReader bytes_;
  LineReader lines_;
  record::CsvReader csv_;
  pipeline::Rejects& rejects_;
  pipeline::Counts& counts_;
  std::optional<record::CsvToJson> converter_;
  record::CsvReader::Row row_;
  std::string json_;
  std::string error_;
};

}  // namespace

std::unique_ptr<Source> open_source(const std::string& spec, const SourceOptions& opts,
                                    pipeline::Rejects& rejects, pipeline::Counts& counts) {
  if (spec.rfind("kafka:", 0) == 0) {
    throw UsageError("cannot read " + diag::quoted(spec) +
                     ": Kafka endpoints are not available in this build; read a file or '-'");
  }
  Format f = opts.format == Format::automatic ? detect_format(spec) : opts.format;
  if (f == Format::csv) return std::make_unique<CsvSource>(spec, opts, rejects, counts);
  return std::make_unique<NdjsonSource>(spec, counts);
}

InputSet::InputSet(std::vector<std::string> specs, SourceOptions opts, pipeline::Rejects& rejects,
                   pipeline::Counts& counts)
    : specs_(std::move(specs)), opts_(opts), rejects_(rejects), counts_(counts) {
  if (specs_.empty()) specs_.push_back("-");
}

bool InputSet::next(Record& rec) {
  for (;;) {
    if (!current_) {
      if (index_ >= specs_.size()) return false;
      current_ = open_source(specs_[index_++], opts_, rejects_, counts_);
    }
    if (current_->next(rec)) return true;
    current_.reset();
  }
}

const std::string& InputSet::name() const {
  static const std::string none = "<none>";
  return current_ ? current_->name() : none;
}

}  // namespace cdn::io
