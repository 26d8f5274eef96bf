// libcurl under RAII owners, with every return code checked in one place.
#pragma once

#include "common/influx/curl_api.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace cdn::influx {

struct EasyDeleter {
  void operator()(CURL* h) const { libcurl().easy_cleanup(h); }
};
struct MultiDeleter {
  void operator()(CURLM* h) const { libcurl().multi_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { libcurl().slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Multi = std::unique_ptr<CURLM, MultiDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_global_init once per process; throws RuntimeError on failure.
void global_init();

// New handles; throw RuntimeError when libcurl cannot make one.
Easy make_easy();
Multi make_multi();
// Appends a header line to `list`; throws RuntimeError when libcurl cannot.
void append_header(Slist& list, const std::string& line);

// Throw RuntimeError "WHAT: <libcurl's text>" unless the code is OK.
void check(CURLcode code, std::string_view what);
void check(CURLMcode code, std::string_view what);

// Sets an option and checks the result.
template <typename T>
void setopt(CURL* h, CURLoption opt, T value) {
  check(libcurl().easy_setopt(h, opt, value), "cannot set a libcurl option");
}

// Percent-encodes a query parameter value.
std::string url_encode(std::string_view s);

}  // namespace cdn::influx
