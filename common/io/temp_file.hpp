// Temporary files that are removed on every exit path that runs destructors (errors,
// SIGINT/SIGTERM, broken pipes), and atomic replacement of a final path.
#pragma once

#include <string>

namespace cdn::io {

class TempFile {
 public:
  // Creates a new file "<dir>/<prefix>XXXXXX" opened for reading and writing.
  TempFile(const std::string& dir, const std::string& prefix);
  ~TempFile();
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  void close();
  // Renames the file to `target` (same file system); afterwards it is no longer removed.
  void rename_to(const std::string& target);
  // Removes the file now.
  void remove();

 private:
  std::string path_;
  int fd_ = -1;
  bool live_ = false;
};

// The directory part of a path ("." when it has none).
std::string dir_of(const std::string& path);
std::string base_of(const std::string& path);

}  // namespace cdn::io
