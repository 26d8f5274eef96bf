// Helpers shared by the fuzz targets in tests/fuzz: a broken invariant traps (so libFuzzer
// and the replay driver both stop on it), an input placed in an in-memory file that the
// readers open by path, and a sink that keeps what a Rejects writes.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/io/sink.hpp"

namespace cdn::fuzz {

// Stops the run on a broken invariant: libFuzzer keeps the input as a crash.
#define CDN_FUZZ_REQUIRE(cond)                                                          \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                                 \
    }                                                                                   \
  } while (0)

// The bytes in an anonymous in-memory file, reachable as /proc/self/fd/N.
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) {
    fd_ = ::memfd_create("cdn-fuzz", MFD_CLOEXEC);
    CDN_FUZZ_REQUIRE(fd_ >= 0);
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      CDN_FUZZ_REQUIRE(n > 0);
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// A sink that keeps its lines in memory.
class StringSink : public io::Sink {
 public:
  StringSink() : io::Sink("<fuzz>") {}
  std::string text;

 protected:
  void write_out(const char* data, size_t n) override { text.append(data, n); }
};

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
inline bool valid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += len;
  }
  return true;
}

// The lines of `in` split on '\n', the last one kept when it has no '\n'.
inline std::vector<std::string_view> split_lines(std::string_view in) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < in.size()) {
    size_t nl = in.find('\n', start);
    if (nl == std::string_view::npos) {
      out.push_back(in.substr(start));
      break;
    }
    out.push_back(in.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace cdn::fuzz
