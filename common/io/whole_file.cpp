#include "common/io/whole_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::io {

std::string read_whole_file(const std::string& path, const std::string& what,
                            const std::string& hint) {
  auto fail = [&](int err) {
    return UsageError("cannot read " + what + " " + diag::quoted(path) + ": " + errno_text(err) +
                      "; " + hint);
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail(errno);
  std::string raw;
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
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return raw;
}

}  // namespace cdn::io
