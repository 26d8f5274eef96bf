// Reading a small file whole (a schema, a password): whatever the file is, a pipe from
// <(...) or /dev/stdin too, which cannot be sized or mapped first.
#pragma once

#include <string>

namespace cdn::io {

// The bytes of `path`. Throws UsageError naming `what` and the path when it cannot be read:
// such files are given by options, and the fix is another option value.
std::string read_whole_file(const std::string& path, const std::string& what,
                            const std::string& hint);

}  // namespace cdn::io
