// Writing to a file descriptor with nothing above it to report to: diagnostics and side
// channels. io/ builds the writes that throw on failure on top of this. And how many more
// descriptors the process may open, for what opens many files at once (sort's merge).
#pragma once

#include <cstddef>

namespace cdn::base {

// Writes all of data to fd, retrying on EINTR and short writes. False (errno set) on failure.
bool try_write_all(int fd, const char* data, size_t n);

// How many more descriptors this process may open now: RLIMIT_NOFILE's soft limit less the
// descriptors open (counted in /proc/self/fd, or probed below the limit without it).
// SIZE_MAX when there is no limit.
size_t descriptors_free();

}  // namespace cdn::base
