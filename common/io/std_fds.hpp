// The standard descriptors 0, 1 and 2 as the command found them. Started with one of them
// closed (`cdn tag in.ndjson >&-`), the next file opened would take its number, and the
// records meant for stdout would land in that file, rejects say. open_standard_fds() opens
// /dev/null on each closed one first, as GNU coreutils and git do, and remembers which were
// closed: a closed stdin reads as empty input, and what goes to a closed stderr is dropped.
#pragma once

#include <string>

namespace cdn::io {

// Run first, before anything opens a file. False (errno set) when /dev/null cannot be opened.
bool open_standard_fds();

// True when descriptor fd (0, 1 or 2) was closed at the start.
bool was_closed(int fd);

// For what must go to stdout (`what`: "records"): throws RuntimeError when stdout was closed,
// saying what to change (`change`), so the command stops before it does any work.
void require_stdout(const std::string& what, const std::string& change);

}  // namespace cdn::io
