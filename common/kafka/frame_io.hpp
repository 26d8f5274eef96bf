// Kafka messages over TCP on 127.0.0.1, as `cdn broker`'s proxy (txn_proxy.hpp) reads and
// writes them: size-prefixed frames, read whole or by their head, and passed on in pieces.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cdn::kafka {

inline constexpr size_t kPieceBytes = 256 * 1024;  // messages larger than this are spliced
// The largest message read, as Kafka's socket.request.max.bytes (100 MiB): a connection that
// declares a larger one is closed.
inline constexpr size_t kMaxFrameBytes = 100 * 1024 * 1024;

// Closes `fd` when open, and marks it closed (-1).
void close_fd(int& fd);

// Listens on 127.0.0.1:port, or on a free port when port is 0 (and sets it). Throws
// RuntimeError when it cannot.
int listen_local(int& port);

// A connection to 127.0.0.1:port (TCP_NODELAY), or -1.
int connect_local(int port);

// The size of the next size-prefixed Kafka message, and its first `peek` bytes (fewer when it
// is shorter) in `head`. False at the end of the connection, or on a size over `limit` (then
// `size` is that size).
bool read_head(int fd, size_t& size, std::string& head, size_t peek, size_t limit = kMaxFrameBytes);

// The rest of a message of `size` bytes whose head is in `frame`. `frame` grows with the
// bytes that arrive, not by the size declared, so a peer that declares much and sends little
// holds little memory.
bool read_rest(int fd, size_t size, std::string& frame);

// Reads more of a message of `size` bytes, up to `want` bytes of it in all.
bool read_more(int fd, size_t size, std::string& frame, size_t want);

// One whole size-prefixed Kafka message, without its size.
bool read_frame(int fd, std::string& frame);

// Writes `frame` with its size in front.
bool write_frame(int fd, const std::string& frame);

// Passes a message of `size` bytes whose head was read on as it arrives: the size and head,
// then the rest in pieces, so a large message is not held back until it is whole.
// `buf` is scratch space for the pieces.
bool pass_through(int from, int to, size_t size, std::string& head, std::vector<char>& buf);

}  // namespace cdn::kafka
