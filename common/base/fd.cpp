#include "common/base/fd.hpp"

#include <unistd.h>

#include <cerrno>

namespace cdn::base {

bool try_write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace cdn::base
