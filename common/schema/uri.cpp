#include "common/schema/uri.hpp"

#include <cctype>
#include <vector>

namespace cdn::schema {

namespace {

bool has_scheme(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::pair<std::string, std::string> split_fragment(const std::string& uri) {
  size_t h = uri.find('#');
  if (h == std::string::npos) return {uri, ""};
  return {uri.substr(0, h), uri.substr(h + 1)};
}

std::string normalize_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  bool absolute = !path.empty() && path[0] == '/';
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
    } else if (seg != "." && !(seg.empty() && j != path.size())) {
      out.push_back(seg);
    }
    i = j + 1;
  }
  std::string r = absolute ? "/" : "";
  for (size_t k = 0; k < out.size(); ++k) {
    if (k) r += '/';
    r += out[k];
  }
  return r;
}

std::string resolve_uri(const std::string& base, const std::string& ref) {
  if (ref.empty()) return split_fragment(base).first;
  if (has_scheme(ref)) return ref;
  std::string doc = split_fragment(base).first;
  if (ref[0] == '#') return doc + ref;
  size_t scheme_end = doc.find("://");
  size_t path_start =
      scheme_end == std::string::npos ? doc.find(':') + 1 : doc.find('/', scheme_end + 3);
  if (path_start == std::string::npos) path_start = doc.size();
  std::string prefix = doc.substr(0, path_start);
  if (ref.substr(0, 2) == "//") return doc.substr(0, doc.find(':') + 1) + ref;
  std::string ref_path = ref, tail;
  if (size_t q = ref_path.find_first_of("?#"); q != std::string::npos) {
    tail = ref_path.substr(q);
    ref_path = ref_path.substr(0, q);
  }
  std::string path;
  if (!ref_path.empty() && ref_path[0] == '/') {
    path = ref_path;
  } else {
    std::string base_path = doc.substr(path_start);
    size_t slash = base_path.rfind('/');
    path = (slash == std::string::npos ? std::string("/") : base_path.substr(0, slash + 1));
    path += ref_path;
  }
  return prefix + normalize_path(path) + tail;
}

std::string percent_decode(std::string_view s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      r += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      r += s[i];
    }
  }
  return r;
}

}  // namespace cdn::schema
