#include "common/io/std_fds.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/diag/errors.hpp"

namespace cdn::io {

namespace {
bool closed_at_start[3] = {false, false, false};
}  // namespace

bool open_standard_fds() {
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    // The lowest free number: fd itself, as those below it are open by now. Not close-on-exec,
    // so that a child started later finds the same.
    int got = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (got < 0) return false;
    if (got != fd) {
      int err = 0;
      if (::dup2(got, fd) < 0) err = errno;
      ::close(got);
      if (err != 0) {
        errno = err;
        return false;
      }
    }
    closed_at_start[fd] = true;
  }
  return true;
}

bool was_closed(int fd) {
  return fd >= 0 && fd < 3 && closed_at_start[fd];
}

void require_stdout(const std::string& what, const std::string& change) {
  if (was_closed(STDOUT_FILENO)) {
    throw RuntimeError("cannot write " + what + " to stdout: it is closed; " + change);
  }
}

}  // namespace cdn::io
