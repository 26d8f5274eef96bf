// Shared libraries opened on first use (dlopen) rather than at every start: the commands that
// need XGBoost or libcurl load them; every other command starts without them (together they
// cost about 10 ms at each start, most of it in their dependencies).
#pragma once

#include <string>

namespace cdn::diag {

class DlopenLibrary {
 public:
  // `soname`: the file to open ("libxgboost.so.0"); `package`: the Debian package that
  // holds it, named in the error when it cannot be opened.
  DlopenLibrary(std::string soname, std::string package);
  ~DlopenLibrary();
  DlopenLibrary(const DlopenLibrary&) = delete;
  DlopenLibrary& operator=(const DlopenLibrary&) = delete;

  // The address of `name`; throws RuntimeError when the library cannot be opened or does not
  // have it.
  void* symbol(const char* name);

 private:
  std::string soname_, package_;
  void* handle_ = nullptr;
};

// Sets one function pointer of an API table to the library's function `name`; throws as
// symbol() does.
template <typename Fn>
void load_symbol(DlopenLibrary& lib, Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(lib.symbol(name));
}

}  // namespace cdn::diag
