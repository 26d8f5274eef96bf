// Splits a ByteReader into lines without copying them. Every line handed out is followed
// by at least kPadding readable bytes, so simdjson can parse it in place.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/io/byte_reader.hpp"

namespace cdn::io {

class LineReader {
 public:
  static constexpr size_t kPadding = 64;  // >= SIMDJSON_PADDING
  static constexpr size_t kMaxLine = size_t{1} << 30;

  explicit LineReader(ByteReader& in, size_t initial_buffer = size_t{1} << 22);

  // The next line without its '\n' (a trailing '\r' is kept; callers decide). The view is
  // valid until the next call. Returns false at end of input.
  bool next(std::string_view& line);

  // 1-based number of the line last returned.
  uint64_t line_number() const { return line_no_; }

 private:
  bool fill();

  ByteReader& in_;
  std::vector<char> buf_;
  size_t cap_;  // usable bytes; buf_.size() == cap_ + kPadding
  size_t begin_ = 0, end_ = 0, scan_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0;
};

}  // namespace cdn::io
