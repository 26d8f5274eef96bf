#include "common/io/line_reader.hpp"

#include <cstring>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::io {

LineReader::LineReader(ByteReader& in, size_t initial_buffer, size_t read_size)
    : in_(in), buf_(initial_buffer + kPadding), cap_(initial_buffer), read_size_(read_size) {}

bool LineReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    scan_ -= begin_;
    begin_ = 0;
  }
  if (end_ == cap_) {
    if (cap_ >= kMaxLine) {
      throw RuntimeError("line " + std::to_string(line_no_ + 1) + " of " +
                         diag::quoted(in_.name()) + " is longer than 1 GiB; split the input");
    }
    cap_ *= 2;
    buf_.resize(cap_ + kPadding);
  } else if (full_read_ && cap_ < read_size_) {
    cap_ *= 2;
    buf_.resize(cap_ + kPadding);
  }
  size_t room = cap_ - end_;
  size_t n = in_.read(buf_.data() + end_, room);
  full_read_ = n == room;
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ += n;
  return true;
}

bool LineReader::next(std::string_view& line) {
  for (;;) {
    const char* base = buf_.data();
    if (scan_ < end_) {
      const void* nl = std::memchr(base + scan_, '\n', end_ - scan_);
      if (nl) {
        size_t pos = static_cast<const char*>(nl) - base;
        line = std::string_view(base + begin_, pos - begin_);
        begin_ = scan_ = pos + 1;
        ++line_no_;
        return true;
      }
      scan_ = end_;
    }
    if (!fill()) {
      if (begin_ < end_ && in_.stopped()) {
        // Cut by the signal, not by the input: not a record, and not a bad one.
        diag::warning("stopped by a signal inside line " + std::to_string(line_no_ + 1) + " of " +
                      diag::quoted(in_.name()) + ": its " + std::to_string(end_ - begin_) +
                      " bytes read so far are left unread, with the rest of the input");
        begin_ = scan_ = end_;
        return false;
      }
      if (begin_ < end_) {
        // Last line without a newline.
        line = std::string_view(buf_.data() + begin_, end_ - begin_);
        begin_ = scan_ = end_;
        ++line_no_;
        return true;
      }
      return false;
    }
  }
}

}  // namespace cdn::io
