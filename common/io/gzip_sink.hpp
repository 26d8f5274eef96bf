// A sink that gzip-compresses what it is given into another sink: an output named FILE.gz,
// or stdout with --compress gzip. What it writes is one gzip member, ended by commit();
// every reader of this program (and zcat) reads it.
#pragma once

#include <memory>

#include "common/io/sink.hpp"

namespace cdn::io {

// Wraps `inner`: flush() writes what was given so far as far as a reader can then decompress
// it (a live stream is not held back), commit() ends the gzip member and commits `inner`. An
// output never committed (a failed run) is left as `inner` leaves it: a file under a
// temporary name is removed. Throws RuntimeError when zlib fails.
std::unique_ptr<Sink> gzip_sink(std::unique_ptr<Sink> inner);

}  // namespace cdn::io
