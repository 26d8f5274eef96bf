#include "common/base/fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

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

size_t descriptors_free() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  const auto limit = static_cast<uint64_t>(rl.rlim_cur);
  // A new descriptor takes the lowest free number, and must be below the limit.
  uint64_t open = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      uint64_t fd = std::strtoull(e->d_name, nullptr, 10);
      if (fd < limit && static_cast<int>(fd) != own) ++open;
    }
    ::closedir(d);
  } else {
    const uint64_t probe = limit < 65536 ? limit : 65536;
    for (uint64_t fd = 0; fd < probe; ++fd) {
      if (::fcntl(static_cast<int>(fd), F_GETFD) != -1) ++open;
    }
  }
  return open >= limit ? 0 : static_cast<size_t>(limit - open);
}

}  // namespace cdn::base
