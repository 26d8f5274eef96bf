#include "common/diag/dlopen.hpp"

#include <dlfcn.h>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::diag {

DlopenLibrary::DlopenLibrary(std::string soname, std::string package)
    : soname_(std::move(soname)), package_(std::move(package)) {}

// Kept open for the life of the process: functions of it may run until exit.
DlopenLibrary::~DlopenLibrary() = default;

void* DlopenLibrary::symbol(const char* name) {
  if (!handle_) {
    handle_ = ::dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* e = ::dlerror();
      throw RuntimeError("cannot load " + quoted(soname_) + ": " + (e ? e : "unknown error") +
                         "; install the Debian package " + package_);
    }
  }
  ::dlerror();
  void* p = ::dlsym(handle_, name);
  if (!p) {
    throw RuntimeError(quoted(soname_) + " has no function " + quoted(name) +
                       "; install the version of " + package_ + " that cdn was built with");
  }
  return p;
}

}  // namespace cdn::diag
