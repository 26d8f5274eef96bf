#include "common/influx/curl_api.hpp"

#include "common/diag/dlopen.hpp"

namespace cdn::influx {

const CurlApi& libcurl() {
  // A failed load throws out of the initializer, and the next call tries again.
  static const CurlApi table = [] {
    static diag::DlopenLibrary lib("libcurl.so.4", "libcurl4");
    CurlApi a{};
#define CDN_CURL_LOAD(name) diag::load_symbol(lib, a.name, "curl_" #name);
    CDN_CURL_FUNCTIONS(CDN_CURL_LOAD)
#undef CDN_CURL_LOAD
    return a;
  }();
  return table;
}

std::string libcurl_version() {
  std::string v = libcurl().version();  // "libcurl/7.88.1 OpenSSL/3.0.15 ..."
  v = v.substr(0, v.find(' '));
  return v.substr(v.find('/') + 1);
}

}  // namespace cdn::influx
