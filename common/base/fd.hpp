// Writing to a file descriptor with nothing above it to report to: diagnostics and side
// channels. io/ builds the writes that throw on failure on top of this.
#pragma once

#include <cstddef>

namespace cdn::base {

// Writes all of data to fd, retrying on EINTR and short writes. False (errno set) on failure.
bool try_write_all(int fd, const char* data, size_t n);

}  // namespace cdn::base
