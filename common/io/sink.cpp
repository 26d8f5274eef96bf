#include "common/io/sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "common/base/fd.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/std_fds.hpp"
#include "common/io/temp_file.hpp"

namespace cdn::io {

std::string no_room_hint(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return "; free space on its file system or write to another one";
    case EFBIG:
      return "; the file reached the size limit of this process (ulimit -f) or of its file "
             "system: raise the limit or write to another file system";
    default:
      return "";
  }
}

void write_all(int fd, const char* data, size_t n, const std::string& name,
               bool broken_pipe_is_quiet) {
  if (base::try_write_all(fd, data, n)) return;
  int err = errno;
  if (err == EPIPE && broken_pipe_is_quiet) throw BrokenPipe();
  throw RuntimeError("cannot write " + diag::quoted(name) + ": " + errno_text(err) +
                     no_room_hint(err));
}

void Sink::write_spans(iovec* iov, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += iov[i].iov_len;
  // Small amounts are cheaper copied than written by themselves.
  if (total >= 64 * 1024) {
    flush_buffer();
    if (write_out_spans(iov, n)) return;
  }
  for (size_t i = 0; i < n; ++i)
    write_lines({static_cast<const char*>(iov[i].iov_base), iov[i].iov_len});
}

namespace {

// writev of all of iov, retrying on EINTR and short writes; errors as write_all.
void writev_all(int fd, iovec* iov, size_t n, const std::string& name, bool broken_pipe_is_quiet) {
  while (n > 0) {
    int count = static_cast<int>(std::min<size_t>(n, IOV_MAX));
    ssize_t w = ::writev(fd, iov, count);
    if (w < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      if (err == EPIPE && broken_pipe_is_quiet) throw BrokenPipe();
      throw RuntimeError("cannot write " + diag::quoted(name) + ": " + errno_text(err) +
                         no_room_hint(err));
    }
    auto left = static_cast<size_t>(w);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
}

// The file a descriptor or path names now: its device and inode when it is a regular file.
std::optional<FileId> regular_file(int fd, const std::string& path) {
  struct stat st {};
  int r = fd >= 0 ? ::fstat(fd, &st) : ::stat(path.c_str(), &st);
  if (r != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileId{st.st_dev, st.st_ino, {}, fd >= 0};
}

class FdSink : public Sink {
 public:
  FdSink(int fd, std::string name, bool quiet_epipe)
      : Sink(std::move(name)), fd_(fd), quiet_epipe_(quiet_epipe) {}
  ~FdSink() override {
    try {
      flush();
    } catch (...) {
    }
  }
  std::optional<FileId> file_id() const override { return regular_file(fd_, {}); }

 protected:
  void write_out(const char* data, size_t n) override {
    write_all(fd_, data, n, name(), quiet_epipe_);
  }
  bool write_out_spans(iovec* iov, size_t n) override {
    writev_all(fd_, iov, n, name(), quiet_epipe_);
    return true;
  }

 private:
  int fd_;
  bool quiet_epipe_;
};

// A path: written to a temporary file beside it and renamed on commit. Special files
// (/dev/null, a FIFO, a terminal) are written directly: renaming over them would be wrong.
class FileSink : public Sink {
 public:
  explicit FileSink(const std::string& path) : Sink(path), path_(path) {
    struct stat st {};
    bool exists = ::stat(path.c_str(), &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
      if (S_ISDIR(st.st_mode)) check_output_path(path, "", "name a file");
      fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) {
        throw RuntimeError("cannot open " + diag::quoted(path) + ": " + errno_text(errno));
      }
      return;
    }
    check_output_path(path, "", "name a file in an existing directory");
    std::string prefix = ".";
    prefix.append(base_of(path)).append(".tmp.");
    temp_.emplace(dir_of(path), prefix);
    fd_ = temp_->fd();
    // A file replaced keeps its permissions; a new one gets those the umask leaves.
    ::fchmod(fd_, exists ? st.st_mode & 07777 : 0666 & ~current_umask());
    id_ = regular_file(-1, path);
    if (!id_) id_ = FileId{0, 0, resolved_path(path), false};
  }
  ~FileSink() override {
    if (!temp_ && fd_ >= 0) {
      try {
        flush();
      } catch (...) {
      }
      ::close(fd_);
    }
    // An uncommitted temporary file is removed by ~TempFile.
  }
  bool holds_until_commit() const override { return temp_.has_value(); }
  std::optional<FileId> file_id() const override { return id_; }
  void commit() override {
    flush();
    if (temp_) {
      temp_->rename_to(path_);
      temp_.reset();
      fd_ = -1;
    }
  }

 protected:
  void write_out(const char* data, size_t n) override {
    if (fd_ < 0) throw RuntimeError("cannot write " + diag::quoted(path_) + ": already closed");
    write_all(fd_, data, n, path_, false);
  }
  bool write_out_spans(iovec* iov, size_t n) override {
    if (fd_ < 0) throw RuntimeError("cannot write " + diag::quoted(path_) + ": already closed");
    writev_all(fd_, iov, n, path_, false);
    return true;
  }

 private:
  static mode_t current_umask() {
    mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }
  // The absolute path without symbolic links of a file that does not exist yet: its
  // directory resolved, then its name.
  static std::string resolved_path(const std::string& path) {
    char* dir = ::realpath(dir_of(path).c_str(), nullptr);
    if (dir == nullptr) return path;
    std::string resolved = dir;
    ::free(dir);
    return resolved + "/" + base_of(path);
  }
  std::string path_;
  std::optional<TempFile> temp_;
  std::optional<FileId> id_;  // none for special files: /dev/null may take any number of sinks
  int fd_ = -1;
};

// For commands that write no records (their output goes elsewhere, or nowhere): nothing may
// be written to it.
class NoSink : public Sink {
 public:
  NoSink() : Sink("<none>") {}

 protected:
  void write_out(const char*, size_t) override {
    throw std::logic_error("internal error: a command without an output wrote records");
  }
};

}  // namespace

std::unique_ptr<Sink> open_file_sink(const std::string& spec, SinkRole role) {
  if (spec == "-" || spec.empty()) {
    if (role == SinkRole::output) {
      require_stdout("records", "name a file with -o or redirect stdout (> FILE)");
      return std::make_unique<FdSink>(STDOUT_FILENO, "<stdout>", true);
    }
    // A stderr closed at the start is /dev/null now: rejects sent there are dropped, as
    // with 2>/dev/null, and the exit status still says there were some.
    return std::make_unique<FdSink>(STDERR_FILENO, "<stderr>", false);
  }
  return std::make_unique<FileSink>(spec);
}

std::unique_ptr<Sink> no_output() {
  return std::make_unique<NoSink>();
}

bool same_file(const Sink& a, const Sink& b) {
  std::optional<FileId> x = a.file_id(), y = b.file_id();
  // Two standard streams on one file (>log 2>&1) interleave and lose nothing.
  if (!x || !y || (x->stream && y->stream)) return false;
  return x->dev == y->dev && x->ino == y->ino && x->path == y->path;
}

}  // namespace cdn::io
