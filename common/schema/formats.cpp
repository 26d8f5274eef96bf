#include "common/schema/formats.hpp"

#include <cstdint>

#include "common/record/timestamp.hpp"

namespace cdn::schema {

namespace {

bool digit(char c) {
  return c >= '0' && c <= '9';
}
bool alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool hexdig(char c) {
  return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int v = 0;
    while (i < s.size() && digit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
    size_t n = i - start;
    if (n == 0 || v > 255 || (n > 1 && s[start] == '0')) return false;
    ++parts;
    if (parts == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

bool ipv6(std::string_view s) {
  if (s.empty()) return false;
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
    if (i == s.size()) return true;
  } else if (s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && hexdig(s[i]) && i - start < 5) ++i;
    size_t n = i - start;
    if (i < s.size() && s[i] == '.') {
      // An embedded IPv4 address ends the address and counts for two groups.
      if (!ipv4(s.substr(start))) return false;
      groups += 2;
      i = s.size();
      break;
    }
    if (n == 0 || n > 4) return false;
    ++groups;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;  // a single trailing colon
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, each 1-63
// bytes, 253 in all (a trailing dot allowed).
bool hostname(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (alpha(c) || digit(c) || c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

bool atext(char c) {
  if (alpha(c) || digit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// local-part "@" domain: a dot-atom or a quoted string, then a host name or an address
// literal ([IPv4] or [IPv6:...]).
bool email(std::string_view s) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64) return false;
  if (local.front() == '"') {
    if (local.size() < 2 || local.back() != '"') return false;
    for (size_t i = 1; i + 1 < local.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(local[i]);
      if (c == '\\') {
        if (++i + 1 >= local.size()) return false;
      } else if (c == '"' || c < 0x20) {
        return false;
      }
    }
  } else {
    char prev = '.';
    for (char c : local) {
      if (c == '.') {
        if (prev == '.') return false;
      } else if (!atext(c)) {
        return false;
      }
      prev = c;
    }
    if (prev == '.') return false;
  }
  if (domain.front() == '[') {
    if (domain.back() != ']') return false;
    std::string_view lit = domain.substr(1, domain.size() - 2);
    if (lit.substr(0, 5) == "IPv6:") return ipv6(lit.substr(5));
    return ipv4(lit);
  }
  return hostname(domain);
}

bool unreserved(char c) {
  return alpha(c) || digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool sub_delim(char c) {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

// Characters of a URI component, with `extra` allowed besides unreserved, sub-delims and
// percent-encoded bytes.
bool component(std::string_view s, std::string_view extra) {
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      if (!hexdig(s[i + 1]) || !hexdig(s[i + 2])) return false;
      i += 2;
    } else if (!unreserved(c) && !sub_delim(c) && extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// RFC 3986 absolute URI: scheme ":" hier-part [ "?" query ] [ "#" fragment ].
bool uri(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !alpha(s[0])) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!alpha(c) && !digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  std::string_view rest = s.substr(colon + 1);
  std::string_view fragment, query;
  if (size_t h = rest.find('#'); h != std::string_view::npos) {
    fragment = rest.substr(h + 1);
    rest = rest.substr(0, h);
    if (!component(fragment, ":@/?")) return false;
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    if (!component(query, ":@/?")) return false;
  }
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path =
        slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
      if (!component(authority.substr(0, at), ":")) return false;
      authority = authority.substr(at + 1);
    }
    std::string_view host = authority;
    if (!host.empty() && host.front() == '[') {
      size_t close = host.find(']');
      if (close == std::string_view::npos) return false;
      if (!ipv6(host.substr(1, close - 1))) return false;
      host = host.substr(close + 1);
      if (!host.empty() && host.front() != ':') return false;
      authority = host;
      host = {};
    } else if (size_t c = host.rfind(':'); c != std::string_view::npos) {
      authority = host.substr(c);
      host = host.substr(0, c);
    } else {
      authority = {};
    }
    if (!host.empty() && !component(host, "")) return false;
    if (!authority.empty()) {  // ":" port
      for (size_t i = 1; i < authority.size(); ++i) {
        if (!digit(authority[i])) return false;
      }
    }
    return component(path, ":@/");
  }
  return component(rest, ":@/");
}

}  // namespace

Format format_of(std::string_view name) {
  if (name == "date-time") return Format::date_time;
  if (name == "date") return Format::date;
  if (name == "time") return Format::time;
  if (name == "ipv4") return Format::ipv4;
  if (name == "ipv6") return Format::ipv6;
  if (name == "email") return Format::email;
  if (name == "hostname") return Format::hostname;
  if (name == "uri") return Format::uri;
  return Format::none;
}

const char* format_name(Format f) {
  switch (f) {
    case Format::date_time:
      return "date-time";
    case Format::date:
      return "date";
    case Format::time:
      return "time";
    case Format::ipv4:
      return "ipv4";
    case Format::ipv6:
      return "ipv6";
    case Format::email:
      return "email";
    case Format::hostname:
      return "hostname";
    case Format::uri:
      return "uri";
    case Format::none:
      break;
  }
  return "none";
}

bool check_format(Format f, std::string_view s) {
  switch (f) {
    // One grammar for every command: the parser of record/timestamp, which cdn sort,
    // load-influx, produce, train and predict read timestamps with.
    case Format::date_time:
      return record::parse_rfc3339(s).has_value();
    case Format::date:
      return record::is_rfc3339_full_date(s);
    case Format::time:
      return record::is_rfc3339_full_time(s);
    case Format::ipv4:
      return ipv4(s);
    case Format::ipv6:
      return ipv6(s);
    case Format::email:
      return email(s);
    case Format::hostname:
      return hostname(s);
    case Format::uri:
      return uri(s);
    case Format::none:
      break;
  }
  return true;
}

}  // namespace cdn::schema
