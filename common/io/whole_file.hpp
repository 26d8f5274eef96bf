// Reading a small file whole (a schema, a password, a part of a model bundle): whatever the
// file is, a pipe from <(...) or /dev/stdin too, which cannot be sized or mapped first. Every
// read has a cap, so that a file pointed at /dev/zero, or a huge one, is refused with a
// message instead of growing until the kernel kills the command.
#pragma once

#include <cstddef>
#include <string>

namespace cdn::io {

// Caps, generous for real files.
inline constexpr size_t kMaxSecretBytes = size_t{1} << 20;     // a password or token file
inline constexpr size_t kMaxSchemaBytes = size_t{64} << 20;    // a JSON Schema
inline constexpr size_t kMaxJsonPartBytes = size_t{64} << 20;  // manifest.json, contract.json
inline constexpr size_t kMaxModelBytes = size_t{4} << 30;      // model.ubj of a model bundle

// "1 MiB", "64 MiB", "4 GiB": a cap for messages.
std::string size_text(size_t bytes);

// The bytes of `path`, at most `max_bytes`. Throws UsageError naming `what` and the path when
// it cannot be read or holds more (a regular file is checked by its size before reading, other
// files as they are read); with `regular_only`, anything but a regular file (a device such as
// /dev/zero, a pipe, a directory) is refused before reading. Such files are given by options,
// and the fix is another option value, said by `hint`.
std::string read_whole_file(const std::string& path, const std::string& what,
                            const std::string& hint, size_t max_bytes, bool regular_only = false);

}  // namespace cdn::io
