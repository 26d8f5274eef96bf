// libcurl's functions, loaded on first use (see diag::DlopenLibrary): `libcurl().easy_init()`
// calls curl_easy_init. The fields drop the curl_ prefix, since curl.h makes some of the names
// macros; the prototypes are curl.h's.
#pragma once

#include <curl/curl.h>

#include <string>

namespace cdn::influx {

#define CDN_CURL_FUNCTIONS(X) \
  X(version)                  \
  X(global_init)              \
  X(easy_init)                \
  X(easy_cleanup)             \
  X(easy_setopt)              \
  X(easy_getinfo)             \
  X(easy_perform)             \
  X(easy_strerror)            \
  X(multi_init)               \
  X(multi_cleanup)            \
  X(multi_add_handle)         \
  X(multi_remove_handle)      \
  X(multi_perform)            \
  X(multi_poll)               \
  X(multi_info_read)          \
  X(multi_strerror)           \
  X(slist_append)             \
  X(slist_free_all)

struct CurlApi {
#define CDN_CURL_FIELD(name) decltype(&::curl_##name) name;
  CDN_CURL_FUNCTIONS(CDN_CURL_FIELD)
#undef CDN_CURL_FIELD
};

// The functions of libcurl, which is opened the first time; throws RuntimeError (naming the
// library and the Debian package to install) when it cannot be.
const CurlApi& libcurl();
// The version of the libcurl in use, "7.88.1" (opens it; throws as libcurl() does).
std::string libcurl_version();

}  // namespace cdn::influx
