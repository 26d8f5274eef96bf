#include "common/io/temp_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::io {

TempFile::TempFile(const std::string& dir, const std::string& prefix) {
  std::string tmpl = (dir.empty() ? std::string(".") : dir) + "/" + prefix + "XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd_ < 0) {
    int err = errno;
    std::string problem = directory_problem(dir.empty() ? "." : dir);
    if (!problem.empty()) {
      throw UsageError("cannot create a temporary file: " + problem +
                       "; create it or choose an existing directory");
    }
    throw RuntimeError("cannot create a temporary file in " + diag::quoted(dir) + ": " +
                       errno_text(err) + "; choose a writable directory");
  }
  path_ = name.data();
  live_ = true;
}

TempFile::TempFile(TempFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), live_(other.live_) {
  other.fd_ = -1;
  other.live_ = false;
}

TempFile::~TempFile() {
  remove();
}

void TempFile::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void TempFile::remove() {
  close();
  if (live_) {
    ::unlink(path_.c_str());
    live_ = false;
  }
}

void TempFile::rename_to(const std::string& target) {
  close();
  if (::rename(path_.c_str(), target.c_str()) != 0) {
    throw RuntimeError("cannot rename " + diag::quoted(path_) + " to " + diag::quoted(target) +
                       ": " + errno_text(errno));
  }
  live_ = false;
}

std::string directory_problem(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? "" : diag::quoted(dir) + " is not a directory";
  }
  if (errno == ENOENT) return "the directory " + diag::quoted(dir) + " does not exist";
  if (errno == ENOTDIR) return "a part of " + diag::quoted(dir) + " is not a directory";
  return "";
}

std::string output_path_problem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return "it is a directory";
  return directory_problem(dir_of(path));
}

void check_output_path(const std::string& path, const std::string& what, const std::string& hint) {
  std::string problem = output_path_problem(path);
  if (!problem.empty()) {
    throw UsageError("cannot write " + what + diag::quoted(path) + ": " + problem + "; " + hint);
  }
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace cdn::io
