#include "common/influx/curl.hpp"

#include <mutex>

#include "common/diag/errors.hpp"

namespace cdn::influx {

void global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = libcurl().global_init(CURL_GLOBAL_DEFAULT); });
  check(result, "cannot initialize libcurl");
}

Easy make_easy() {
  global_init();
  Easy h(libcurl().easy_init());
  if (!h) throw RuntimeError("cannot create a libcurl handle (out of memory?)");
  return h;
}

Multi make_multi() {
  global_init();
  Multi m(libcurl().multi_init());
  if (!m) throw RuntimeError("cannot create a libcurl multi handle (out of memory?)");
  return m;
}

void append_header(Slist& list, const std::string& line) {
  curl_slist* l = libcurl().slist_append(list.get(), line.c_str());
  if (l == nullptr) throw RuntimeError("cannot add an HTTP header (out of memory?)");
  (void)list.release();
  list.reset(l);
}

void check(CURLcode code, std::string_view what) {
  if (code == CURLE_OK) return;
  std::string m(what);
  m += ": ";
  m += libcurl().easy_strerror(code);
  throw RuntimeError(m);
}

void check(CURLMcode code, std::string_view what) {
  if (code == CURLM_OK) return;
  std::string m(what);
  m += ": ";
  m += libcurl().multi_strerror(code);
  throw RuntimeError(m);
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace cdn::influx
