#include "common/record/source.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/line_reader.hpp"
#include "common/record/csv.hpp"

namespace cdn::record {

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

}  // namespace

bool trim_ndjson_line(std::string_view& line, bool first_line) {
  if (first_line && line.size() >= 3 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return !(line.empty() || (line.front() <= ' ' && is_blank(line)));
}

namespace {

class NdjsonSource : public Source {
 public:
  NdjsonSource(const std::string& spec, Counts& counts)
      : bytes_(spec), lines_(bytes_), counts_(counts) {}

  bool next(Record& rec) override {
    std::string_view line;
    while (lines_.next(line)) {
      bool first = first_;
      first_ = false;
      if (!trim_ndjson_line(line, first)) continue;
      rec.text = line;
      rec.line = lines_.line_number();
      ++counts_.in;
      return true;
    }
    return false;
  }
  const std::string& name() const override { return bytes_.name(); }
  void on_idle(std::function<void()> f) override { bytes_.on_idle(std::move(f)); }

 private:
  io::ByteReader bytes_;
  io::LineReader lines_;
  Counts& counts_;
  bool first_ = true;
};

// A regular NDJSON file mapped into memory: records are views into the mapping, valid as
// long as the source lives. The last lines, too close to the end of the mapping for
// simdjson's padding, are copied.
class MappedNdjsonSource : public Source {
 public:
  MappedNdjsonSource(const std::string& path, int fd, size_t size, Counts& counts)
      : name_(path), size_(size), counts_(counts) {
    // Not MAP_POPULATE: faulting pages in as the lines are split overlaps with parsing.
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) {
      throw RuntimeError("cannot map " + diag::quoted(path) + ": " + errno_text(err));
    }
    data_ = static_cast<const char*>(p);
  }
  ~MappedNdjsonSource() override { ::munmap(const_cast<char*>(data_), size_); }

  bool next(Record& rec) override {
    while (pos_ < size_) {
      const char* start = data_ + pos_;
      const void* nl = std::memchr(start, '\n', size_ - pos_);
      size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - data_) : size_;
      std::string_view line(start, end - pos_);
      pos_ = nl ? end + 1 : size_;
      ++line_no_;
      if (!trim_ndjson_line(line, line_no_ == 1)) continue;
      size_t line_end = static_cast<size_t>(line.data() + line.size() - data_);
      if (line_end + io::LineReader::kPadding > size_) {
        std::string& copy = tails_.emplace_back(line);
        copy.append(io::LineReader::kPadding, ' ');
        line = std::string_view(copy.data(), line.size());
      }
      rec.text = line;
      rec.line = line_no_;
      ++counts_.in;
      return true;
    }
    return false;
  }
  ChunkResult next_chunk(LineChunk& c, size_t size) override {
    if (line_no_ > 0) return ChunkResult::records;  // already read by next()
    if (pos_ >= size_) return ChunkResult::end;
    size_t end = size_;
    if (size_ - pos_ > size) {
      // Up to the last newline in the chunk, or to the next one after it for a longer line.
      const char* from = data_ + pos_;
      const char* nl = static_cast<const char*>(::memrchr(from, '\n', size));
      if (!nl) nl = static_cast<const char*>(std::memchr(from + size, '\n', size_ - pos_ - size));
      if (nl) end = static_cast<size_t>(nl - data_) + 1;
    }
    c.bytes = std::string_view(data_ + pos_, end - pos_);
    c.readable = size_ - pos_;
    c.starts_source = pos_ == 0;
    pos_ = end;
    return ChunkResult::chunk;
  }
  const std::string& name() const override { return name_; }
  bool stable() const override { return true; }
  size_t size_hint() const override { return size_; }

 private:
  std::string name_;
  const char* data_ = nullptr;
  size_t size_;
  size_t pos_ = 0;
  uint64_t line_no_ = 0;
  std::deque<std::string> tails_;
  Counts& counts_;
};

// Opens `path` for mapping when it is a regular, non-empty, uncompressed file no bigger
// than `limit`; returns the descriptor or -1.
int mappable(const std::string& path, size_t limit, size_t& size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st {};
  unsigned char magic[2] = {0, 0};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
      static_cast<size_t>(st.st_size) > limit || ::pread(fd, magic, 2, 0) < 0 ||
      (magic[0] == 0x1f && magic[1] == 0x8b)) {
    ::close(fd);
    return -1;
  }
  size = static_cast<size_t>(st.st_size);
  return fd;
}

class CsvSource : public Source {
 public:
  CsvSource(const std::string& spec, const SourceOptions& opts, Rejects& rejects, Counts& counts)
      : bytes_(spec), lines_(bytes_), csv_(lines_), rejects_(rejects), counts_(counts) {
    CsvReader::Row header;
    if (!csv_.next(header)) return;  // empty input: no rows
    if (!header.ok) {
      throw RuntimeError("cannot read the CSV header of " + diag::quoted(bytes_.name()) + ": " +
                         header.error);
    }
    if (std::string dup = duplicate_column(header.fields); !dup.empty()) {
      throw RuntimeError("cannot read the CSV header of " + diag::quoted(bytes_.name()) + ": " +
                         dup + "; give each column a name of its own");
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
      if (!converter_->convert(row_.fields, json_, error_, &row_.quoted)) {
        rejects_.reject(bytes_.name(), row_.first_line, error_, row_.raw);
        continue;
      }
      size_t len = json_.size();
      json_.append(io::LineReader::kPadding, ' ');
      rec.text = std::string_view(json_.data(), len);
      rec.line = row_.first_line;
      return true;
    }
    return false;
  }
  const std::string& name() const override { return bytes_.name(); }
  void on_idle(std::function<void()> f) override { bytes_.on_idle(std::move(f)); }

 private:
  io::ByteReader bytes_;
  io::LineReader lines_;
  CsvReader csv_;
  Rejects& rejects_;
  Counts& counts_;
  std::optional<CsvToJson> converter_;
  CsvReader::Row row_;
  std::string json_;
  std::string error_;
};

}  // namespace

std::unique_ptr<Source> open_file_source(const std::string& spec, const SourceOptions& opts,
                                         Rejects& rejects, Counts& counts) {
  Format f = opts.format == Format::automatic ? detect_format(spec) : opts.format;
  if (f == Format::csv) return std::make_unique<CsvSource>(spec, opts, rejects, counts);
  if (opts.map_limit > 0 && spec != "-") {
    size_t size = 0;
    int fd = mappable(spec, opts.map_limit, size);
    if (fd >= 0) return std::make_unique<MappedNdjsonSource>(spec, fd, size, counts);
  }
  return std::make_unique<NdjsonSource>(spec, counts);
}

}  // namespace cdn::record
