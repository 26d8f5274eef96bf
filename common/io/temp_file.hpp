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

// What keeps `dir` from holding new files, said for a message: "the directory 'nodir' does not
// exist" or "'x' is not a directory"; "" when it is a directory (or the reason is another, such
// as permissions, which the failing call then says).
std::string directory_problem(const std::string& dir);
// What keeps `path` from being written as a file: "it is a directory", or its directory's
// problem (directory_problem); "" when none of these.
std::string output_path_problem(const std::string& path);
// Throws UsageError "cannot write WHAT'path': PROBLEM; HINT" when output_path_problem(path) says
// one. `what` is "" or ends with a space ("the state file ").
void check_output_path(const std::string& path, const std::string& what, const std::string& hint);

// The directory part of a path ("." when it has none).
std::string dir_of(const std::string& path);
std::string base_of(const std::string& path);

}  // namespace cdn::io
