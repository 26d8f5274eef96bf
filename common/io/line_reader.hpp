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

  // The buffer starts at `initial_buffer` bytes and doubles while reads fill it, up to
  // `read_size`, so a small input costs little and a large one is read in big blocks; it
  // also doubles, up to kMaxLine, to hold a line longer than itself.
  explicit LineReader(ByteReader& in, size_t initial_buffer = size_t{1} << 16,
                      size_t read_size = size_t{1} << 22);

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
  size_t read_size_;
  bool full_read_ = false;  // the last read filled all the room it was given
  size_t begin_ = 0, end_ = 0, scan_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0;
};

}  // namespace cdn::io
