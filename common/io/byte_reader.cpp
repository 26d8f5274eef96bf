#include "common/io/byte_reader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/service.hpp"
#include "common/io/signals.hpp"

namespace cdn::io {

namespace {
constexpr size_t kGzipChunk = 1 << 18;
}

ByteReader::ByteReader(const std::string& path) : name_(path == "-" ? "<stdin>" : path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    // A filter started without input waits on the terminal: say so once, as a hint.
    if (::isatty(fd_) == 1) {
      diag::notice(
          "reading records from the terminal (standard input); end with Ctrl-D, or name a "
          "file");
    }
  } else {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw RuntimeError("cannot open " + diag::quoted(path) + ": " + errno_text(errno));
    }
    owns_fd_ = true;
#ifdef POSIX_FADV_SEQUENTIAL
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  }
  // Sniff the gzip magic number (1f 8b); the bytes are served again by read_raw.
  char magic[2];
  size_t got = 0;
  while (got < 2) {
    size_t n = read_fd(magic + got, 2 - got);
    if (n == 0) break;
    got += n;
  }
  pending_.assign(magic, magic + got);
  if (got == 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
      static_cast<unsigned char>(magic[1]) == 0x8b) {
    gzip_ = true;
    z_ = std::make_unique<z_stream>();
    std::memset(z_.get(), 0, sizeof(z_stream));
    if (inflateInit2(z_.get(), 16 + MAX_WBITS) != Z_OK) {
      throw RuntimeError("cannot start gzip decoder for " + diag::quoted(name_));
    }
    zin_.resize(kGzipChunk);
  }
}

ByteReader::~ByteReader() {
  if (z_) inflateEnd(z_.get());
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

size_t ByteReader::read_raw(char* buf, size_t n) {
  if (pending_pos_ < pending_.size()) {
    size_t k = std::min(n, pending_.size() - pending_pos_);
    std::memcpy(buf, pending_.data() + pending_pos_, k);
    pending_pos_ += k;
    return k;
  }
  return read_fd(buf, n);
}

size_t ByteReader::read_fd(char* buf, size_t n) {
  if (eof_) return 0;
  for (;;) {
    if (stop_requested()) {
      eof_ = stopped_ = true;
      return 0;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) == 0) {
      // Nothing to read yet: waiting for input is alive (/healthz of --metrics-addr), and the
      // caller may flush, now and every 100 ms while the wait lasts.
      do {
        diag::Service::get().tick();
        if (idle_) idle_();
      } while (::poll(&p, 1, 100) == 0 && !stop_requested());
      if (stop_requested()) continue;
    }
    ssize_t r = ::read(fd_, buf, n);
    if (r > 0) return static_cast<size_t>(r);
    if (r == 0) {
      eof_ = true;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EISDIR) {
      throw UsageError("cannot read " + diag::quoted(name_) +
                       ": it is a directory; name a file or '-' for stdin");
    }
    throw RuntimeError("cannot read " + diag::quoted(name_) + ": " + errno_text(errno));
  }
}

size_t ByteReader::read(char* buf, size_t n) {
  if (n == 0) return 0;
  return gzip_ ? read_gzip(buf, n) : read_raw(buf, n);
}

size_t ByteReader::read_gzip(char* buf, size_t n) {
  z_stream& z = *z_;
  z.next_out = reinterpret_cast<Bytef*>(buf);
  z.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
  while (z.avail_out > 0) {
    if (z.avail_in == 0) {
      size_t got = read_raw(reinterpret_cast<char*>(zin_.data()), zin_.size());
      if (got == 0) {
        if (!z_end_ && !stop_requested()) {
          throw RuntimeError("truncated gzip data in " + diag::quoted(name_) +
                             ": the file ends inside a compressed member, after " +
                             std::to_string(z_read_) +
                             " bytes; it was cut short: copy it whole again (zcat reads what "
                             "it holds)");
        }
        break;
      }
      z.next_in = zin_.data();
      z.avail_in = static_cast<uInt>(got);
      z_read_ += got;
    }
    if (z_end_) {
      // Another gzip member follows (concatenated .gz files are one stream).
      inflateReset(&z);
      z_end_ = false;
    }
    int rc = inflate(&z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      z_end_ = true;
      z_end_at_ = z_read_ - z.avail_in;
      if (z.avail_in == 0) {
        // Check for trailing members on the next call.
        if (static_cast<size_t>(reinterpret_cast<char*>(z.next_out) - buf) > 0) break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) continue;
    if (rc != Z_OK) {
      uint64_t at = z_read_ - z.avail_in;
      std::string why = z.msg ? z.msg : "inflate failed";
      if (rc == Z_DATA_ERROR && z_end_at_ > 0 && z.total_out == 0 &&
          why == "incorrect header check") {
        // What follows a whole member is no gzip header: bytes appended to the file.
        throw RuntimeError("cannot read " + diag::quoted(name_) + ": its gzip data ends at byte " +
                           std::to_string(z_end_at_) + " and bytes that are not gzip follow (" +
                           why +
                           "); remove them, or decompress the file with gzip -d, which "
                           "warns of them and leaves them out");
      }
      throw RuntimeError("corrupt gzip data in " + diag::quoted(name_) + " near byte " +
                         std::to_string(at) + ": " + why +
                         "; the file is damaged: copy it again from where it came from "
                         "(gzip -t tests a copy)");
    }
  }
  return static_cast<size_t>(reinterpret_cast<char*>(z.next_out) - buf);
}

}  // namespace cdn::io
