#include "common/io/whole_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::io {

std::string size_text(size_t bytes) {
  if (bytes >= (size_t{1} << 30) && bytes % (size_t{1} << 30) == 0) {
    return std::to_string(bytes >> 30) + " GiB";
  }
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0) {
    return std::to_string(bytes >> 20) + " MiB";
  }
  return std::to_string(bytes) + " bytes";
}

std::string read_whole_file(const std::string& path, const std::string& what,
                            const std::string& hint, size_t max_bytes, bool regular_only) {
  auto fail = [&](int err) {
    return UsageError("cannot read " + what + " " + diag::quoted(path) + ": " + errno_text(err) +
                      "; " + hint);
  };
  auto too_large = [&]() {
    return UsageError(what + " " + diag::quoted(path) + " is larger than " + size_text(max_bytes) +
                      ", the most it may be; " + hint);
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail(errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    throw fail(e);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    throw UsageError("cannot read " + what + " " + diag::quoted(path) + ": it is a directory; " +
                     hint);
  }
  if (regular_only && !S_ISREG(st.st_mode)) {
    close(fd);
    throw UsageError("cannot read " + what + " " + diag::quoted(path) +
                     ": not a regular file (a device, a pipe or a socket); " + hint);
  }
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes) {
    close(fd);
    throw too_large();
  }
  std::string raw;
  if (S_ISREG(st.st_mode)) raw.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      throw fail(e);
    }
    if (n == 0) break;
    if (raw.size() + static_cast<size_t>(n) > max_bytes) {
      close(fd);
      throw too_large();
    }
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return raw;
}

}  // namespace cdn::io
