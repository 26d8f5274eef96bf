#include "common/schema/validator.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>

#include <unistd.h>
#include <cstdlib>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/whole_file.hpp"
#include "common/record/fields.hpp"
#include "common/record/json_text.hpp"

namespace cdn::schema {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct Validator::Document {
  std::string uri;  // without fragment
  simdjson::padded_string text;
  simdjson::dom::parser parser;
  element root;
};

// ---------------------------------------------------------------------------------------------
// URIs, only as far as $ref needs them

namespace {

std::pair<std::string, std::string> split_fragment(const std::string& uri) {
  size_t h = uri.find('#');
  if (h == std::string::npos) return {uri, ""};
  return {uri.substr(0, h), uri.substr(h + 1)};
}

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

// Removes "." and ".." segments of a path.
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

// RFC 3986 reference resolution, enough for schema identifiers.
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

void append_pointer_token(std::string& out, std::string_view token) {
  out += '/';
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
}

int draft_of(element root, const std::string& where) {
  std::string_view uri;
  simdjson::dom::object obj;
  if (root.get_object().get(obj) || obj["$schema"].get_string().get(uri)) return 7;
  if (uri.find("draft-04/schema") != std::string_view::npos) return 4;
  if (uri.find("draft-06/schema") != std::string_view::npos) return 6;
  if (uri.find("draft-07/schema") != std::string_view::npos) return 7;
  std::string msg = "the schema ";
  msg += where;
  msg += " declares $schema ";
  msg += diag::quoted(uri);
  msg += "; cdn validate supports drafts 4, 6 and 7 (http://json-schema.org/draft-07/schema#)";
  throw UsageError(msg);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Compiling

class Compiler {
 public:
  Compiler(Validator& v, std::string root_file_dir)
      : v_(v), root_file_dir_(std::move(root_file_dir)) {}

  Validator::Document& add_document(std::string uri, simdjson::padded_string text,
                                    const std::string& shown = {}) {
    auto doc = std::make_unique<Validator::Document>();
    doc->uri = std::move(uri);
    doc->text = std::move(text);
    auto err = doc->parser.parse(doc->text).get(doc->root);
    if (err) {
      std::string msg = "cannot read the schema ";
      msg += diag::quoted(shown.empty() ? doc->uri : shown);
      msg += ": not JSON (";
      msg += simdjson::error_message(err);
      msg += ")";
      throw UsageError(msg);
    }
    v_.docs_.push_back(std::move(doc));
    Validator::Document& d = *v_.docs_.back();
    docs_by_uri_[d.uri] = &d;
    return d;
  }

  const Node* compile_document(Validator::Document& d) {
    // A root $id names the document too.
    simdjson::dom::object obj;
    std::string base = d.uri;
    if (!d.root.get_object().get(obj)) {
      std::string_view id;
      if (!obj[id_keyword()].get_string().get(id) && !id.empty() && id[0] != '#') {
        std::string alias = split_fragment(resolve_uri(d.uri, std::string(id))).first;
        docs_by_uri_[alias] = &d;
        if (id_base_.empty() && &d == v_.docs_.front().get()) {
          // Files next to the root schema are reachable under its $id's directory.
          id_base_ = alias.substr(0, alias.rfind('/') + 1);
        }
      }
    }
    return compile(d.root, base, d.uri, "");
  }

  void resolve_all() {
    while (!pending_.empty()) {
      Node* n = pending_.back();
      pending_.pop_back();
      n->ref = lookup(n->ref_uri, n->location);
    }
  }

  void check_cycles(const Node* root) {
    std::unordered_map<const Node*, int> color;
    std::function<void(const Node*)> visit = [&](const Node* n) {
      if (!n) return;
      int& c = color[n];
      if (c == 2) return;
      if (c == 1) {
        throw UsageError("the schema refers to itself at " + diag::quoted(n->location) +
                         " without descending into the data, so no value could ever be checked; "
                         "break the cycle of $ref, allOf, anyOf, oneOf, not or if");
      }
      c = 1;
      visit(n->ref);
      for (const Node* s : n->all_of) visit(s);
      for (const Node* s : n->any_of) visit(s);
      for (const Node* s : n->one_of) visit(s);
      visit(n->not_schema);
      visit(n->if_schema);
      visit(n->then_schema);
      visit(n->else_schema);
      for (const auto& d : n->dependencies) visit(d.schema);
      color[n] = 2;
    };
    visit(root);
    for (const Node& n : v_.nodes_) visit(&n);
  }

  int draft = 7;

 private:
  const char* id_keyword() const { return draft == 4 ? "id" : "$id"; }

  [[noreturn]] void bad(const std::string& location, const std::string& what) {
    std::string msg = "invalid schema at ";
    msg += diag::quoted(location);
    msg += ": ";
    msg += what;
    throw UsageError(msg);
  }

  std::optional<uint64_t> count(element e, const std::string& loc, const char* kw) {
    uint64_t u;
    if (!e.get_uint64().get(u)) return u;
    double d;
    if (!e.get_double().get(d) && d >= 0 && d == std::floor(d) && d < 1.8e19) {
      return static_cast<uint64_t>(d);
    }
    bad(loc, std::string(kw) + " must be a non-negative integer");
  }

  std::optional<double> number(element e, const std::string& loc, const char* kw) {
    double d;
    if (!e.get_double().get(d)) return d;
    int64_t i;
    if (!e.get_int64().get(i)) return static_cast<double>(i);
    uint64_t u;
    if (!e.get_uint64().get(u)) return static_cast<double>(u);
    bad(loc, std::string(kw) + " must be a number");
  }

  std::unique_ptr<re2::RE2> regex(std::string_view pattern, const std::string& loc) {
    RE2::Options o;
    o.set_log_errors(false);
    o.set_encoding(RE2::Options::EncodingUTF8);
    o.set_max_mem(64 << 20);
    auto re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), o);
    if (!re->ok()) {
      bad(loc, "the pattern " + diag::quoted(pattern) + " cannot be compiled: " + re->error() +
                   " (patterns run on RE2, which has no lookaround or backreferences, so that "
                   "matching time stays linear; rewrite the pattern without them)");
    }
    return re;
  }

  uint32_t key_index(Node& n, std::string_view name) {
    int i = n.find_key(name);
    if (i >= 0) return static_cast<uint32_t>(i);
    n.keys.push_back({std::string(name), nullptr});
    return static_cast<uint32_t>(n.keys.size() - 1);
  }

  const Node* sub(element e, const std::string& base, const std::string& doc,
                  const std::string& ptr, std::string_view token) {
    std::string p = ptr;
    append_pointer_token(p, token);
    return compile(e, base, doc, p);
  }
  const Node* sub(element e, const std::string& base, const std::string& doc,
                  const std::string& ptr, std::string_view token, size_t index) {
    std::string p = ptr;
    append_pointer_token(p, token);
    append_pointer_token(p, std::to_string(index));
    return compile(e, base, doc, p);
  }

  const Node* compile(element s, std::string base, const std::string& doc, const std::string& ptr) {
    std::string key = doc + "#" + ptr;
    if (auto it = by_uri_.find(key); it != by_uri_.end()) return it->second;
    Node& n = v_.nodes_.emplace_back();
    n.location = "#" + ptr;
    if (doc != v_.docs_.front()->uri) n.location = doc + n.location;
    by_uri_[key] = &n;

    bool b;
    if (!s.get_bool().get(b)) {
      // Draft 4 allows booleans only for additionalItems and additionalProperties; its
      // meta-schema has refused them anywhere else before this.
      n.kind = b ? Node::Kind::always_true : Node::Kind::always_false;
      return &n;
    }
    simdjson::dom::object obj;
    if (s.get_object().get(obj)) bad(n.location, "a schema must be an object or a boolean");

    std::string_view sv;
    if (!obj[id_keyword()].get_string().get(sv)) {
      std::string id(sv);
      std::string resolved = resolve_uri(base, id);
      if (!id.empty() && id[0] == '#') {
        by_uri_.emplace(resolved, &n);  // a plain-name anchor
      } else {
        base = split_fragment(resolved).first;
        by_uri_.emplace(base + "#", &n);
        docs_sub_[base] = {doc, ptr};
      }
    }
    if (!obj["$ref"].get_string().get(sv)) {
      n.ref_uri = resolve_uri(base, std::string(sv));
      pending_.push_back(&n);
      // Siblings of $ref are ignored, but definitions next to it can still be its target.
      element defs;
      if (!obj["definitions"].get(defs)) compile_definitions(defs, base, doc, ptr);
      return &n;
    }

    for (auto [k, val] : obj) {
      std::string_view kw = k;
      if (kw == "type") {
        auto add = [&](std::string_view t) {
          if (t == "null")
            n.types |= kNull;
          else if (t == "boolean")
            n.types |= kBoolean;
          else if (t == "integer")
            n.types |= kInteger;
          else if (t == "number")
            n.types |= kNumber | kInteger;
          else if (t == "string")
            n.types |= kString;
          else if (t == "array")
            n.types |= kArray;
          else if (t == "object")
            n.types |= kObject;
          else
            bad(n.location, "unknown type " + diag::quoted(t));
        };
        if (!val.get_string().get(sv)) {
          add(sv);
        } else {
          simdjson::dom::array arr;
          if (val.get_array().get(arr)) bad(n.location, "type must be a string or an array");
          for (element t : arr) {
            if (t.get_string().get(sv)) bad(n.location, "type names must be strings");
            add(sv);
          }
          if (n.types == 0) n.types = 0x80;  // "type": [] allows nothing
        }
      } else if (kw == "enum") {
        simdjson::dom::array arr;
        if (val.get_array().get(arr)) bad(n.location, "enum must be an array");
        n.has_enum = true;
        n.enum_all_strings = true;
        for (element e : arr) {
          n.enum_values.push_back(e);
          std::string_view str;
          if (e.get_string().get(str)) {
            n.enum_all_strings = false;
          } else {
            n.enum_strings.push_back(str);
          }
        }
      } else if (kw == "const" && draft >= 6) {
        n.const_value = val;
      } else if (kw == "minimum") {
        n.minimum = number(val, n.location, "minimum");
      } else if (kw == "maximum") {
        n.maximum = number(val, n.location, "maximum");
      } else if (kw == "exclusiveMinimum" || kw == "exclusiveMaximum") {
        if (draft == 4) continue;  // a boolean modifier, read below
        (kw == "exclusiveMinimum" ? n.exclusive_minimum : n.exclusive_maximum) = number(
            val, n.location, kw == "exclusiveMinimum" ? "exclusiveMinimum" : "exclusiveMaximum");
      } else if (kw == "multipleOf") {
        n.multiple_of = number(val, n.location, "multipleOf");
        if (*n.multiple_of <= 0) bad(n.location, "multipleOf must be greater than 0");
      } else if (kw == "minLength") {
        n.min_length = count(val, n.location, "minLength");
      } else if (kw == "maxLength") {
        n.max_length = count(val, n.location, "maxLength");
      } else if (kw == "pattern") {
        if (val.get_string().get(sv)) bad(n.location, "pattern must be a string");
        n.pattern = regex(sv, n.location);
      } else if (kw == "format") {
        if (!val.get_string().get(sv)) n.format = format_of(sv);
      } else if (kw == "items") {
        simdjson::dom::array arr;
        if (!val.get_array().get(arr)) {
          n.tuple_items = true;
          size_t i = 0;
          for (element e : arr) n.tuple.push_back(sub(e, base, doc, ptr, "items", i++));
        } else {
          n.items = sub(val, base, doc, ptr, "items");
        }
      } else if (kw == "additionalItems") {
        n.additional_items = sub(val, base, doc, ptr, "additionalItems");
      } else if (kw == "minItems") {
        n.min_items = count(val, n.location, "minItems");
      } else if (kw == "maxItems") {
        n.max_items = count(val, n.location, "maxItems");
      } else if (kw == "uniqueItems") {
        bool u;
        if (val.get_bool().get(u)) bad(n.location, "uniqueItems must be a boolean");
        n.unique_items = u;
      } else if (kw == "contains" && draft >= 6) {
        n.contains = sub(val, base, doc, ptr, "contains");
      } else if (kw == "properties") {
        simdjson::dom::object props;
        if (val.get_object().get(props)) bad(n.location, "properties must be an object");
        std::string pp = ptr;
        append_pointer_token(pp, "properties");
        for (auto [name, ps] : props) {
          uint32_t i = key_index(n, name);
          n.keys[i].schema = sub(ps, base, doc, pp, name);
        }
      } else if (kw == "patternProperties") {
        simdjson::dom::object props;
        if (val.get_object().get(props)) bad(n.location, "patternProperties must be an object");
        std::string pp = ptr;
        append_pointer_token(pp, "patternProperties");
        for (auto [pat, ps] : props) {
          Node::PatternProperty p;
          p.re = regex(pat, n.location);
          p.schema = sub(ps, base, doc, pp, pat);
          n.pattern_properties.push_back(std::move(p));
        }
      } else if (kw == "additionalProperties") {
        n.additional_properties = sub(val, base, doc, ptr, "additionalProperties");
      } else if (kw == "required") {
        simdjson::dom::array arr;
        if (val.get_array().get(arr)) {
          if (draft == 4 || !val.is_bool()) bad(n.location, "required must be an array");
          continue;
        }
        for (element e : arr) {
          if (e.get_string().get(sv)) bad(n.location, "required must list strings");
          uint32_t i = key_index(n, sv);
          if (std::find(n.required.begin(), n.required.end(), i) == n.required.end()) {
            n.required.push_back(i);
          }
        }
      } else if (kw == "minProperties") {
        n.min_properties = count(val, n.location, "minProperties");
      } else if (kw == "maxProperties") {
        n.max_properties = count(val, n.location, "maxProperties");
      } else if (kw == "dependencies") {
        simdjson::dom::object deps;
        if (val.get_object().get(deps)) bad(n.location, "dependencies must be an object");
        std::string dp = ptr;
        append_pointer_token(dp, "dependencies");
        for (auto [name, d] : deps) {
          Node::Dependency dep;
          dep.key = key_index(n, name);
          simdjson::dom::array arr;
          if (!d.get_array().get(arr)) {
            for (element e : arr) {
              if (e.get_string().get(sv)) bad(n.location, "dependencies must list strings");
              dep.required.push_back(key_index(n, sv));
            }
          } else {
            dep.schema = sub(d, base, doc, dp, name);
          }
          n.dependencies.push_back(std::move(dep));
        }
      } else if (kw == "propertyNames" && draft >= 6) {
        n.property_names = sub(val, base, doc, ptr, "propertyNames");
      } else if (kw == "allOf" || kw == "anyOf" || kw == "oneOf") {
        simdjson::dom::array arr;
        if (val.get_array().get(arr) || arr.size() == 0) {
          bad(n.location, std::string(kw) + " must be a non-empty array of schemas");
        }
        auto& list = kw == "allOf" ? n.all_of : kw == "anyOf" ? n.any_of : n.one_of;
        size_t i = 0;
        for (element e : arr) list.push_back(sub(e, base, doc, ptr, kw, i++));
      } else if (kw == "not") {
        n.not_schema = sub(val, base, doc, ptr, "not");
      } else if (kw == "if" && draft >= 7) {
        n.if_schema = sub(val, base, doc, ptr, "if");
      } else if (kw == "then" && draft >= 7) {
        n.then_schema = sub(val, base, doc, ptr, "then");
      } else if (kw == "else" && draft >= 7) {
        n.else_schema = sub(val, base, doc, ptr, "else");
      } else if (kw == "definitions") {
        compile_definitions(val, base, doc, ptr);
      } else if (kw == "default") {
        n.default_value = val;
      }
    }
    if (draft == 4) {
      bool ex = false;
      if (!obj["exclusiveMinimum"].get_bool().get(ex) && ex && n.minimum) {
        n.exclusive_minimum = n.minimum;
        n.minimum.reset();
      }
      if (!obj["exclusiveMaximum"].get_bool().get(ex) && ex && n.maximum) {
        n.exclusive_maximum = n.maximum;
        n.maximum.reset();
      }
    }
    if (!n.tuple_items) n.additional_items = nullptr;  // applies after a tuple only
    if (!n.if_schema) n.then_schema = n.else_schema = nullptr;
    return &n;
  }

  void compile_definitions(element defs, const std::string& base, const std::string& doc,
                           const std::string& ptr) {
    simdjson::dom::object obj;
    if (defs.get_object().get(obj)) return;
    std::string dp = ptr;
    append_pointer_token(dp, "definitions");
    for (auto [name, d] : obj) sub(d, base, doc, dp, name);
  }

  const Node* lookup(const std::string& uri, const std::string& from) {
    auto [doc_uri, fragment] = split_fragment(uri);
    std::string key = doc_uri + "#" + percent_decode(fragment);
    if (auto it = by_uri_.find(key); it != by_uri_.end()) return it->second;
    if (auto it = by_uri_.find(uri); it != by_uri_.end()) return it->second;
    if (!fragment.empty() && fragment[0] != '/') {
      throw UsageError("cannot resolve $ref " + diag::quoted(uri) + " at " + diag::quoted(from) +
                       ": no subschema has that $id");
    }
    // A document: one already read, a subschema with that $id, or one to load.
    std::string doc_name;
    std::string base_ptr;
    if (auto it = docs_sub_.find(doc_uri); it != docs_sub_.end()) {
      doc_name = it->second.first;
      base_ptr = it->second.second;
    } else {
      Validator::Document* d = find_document(doc_uri, uri, from);
      doc_name = d->uri;
    }
    Validator::Document* d = docs_by_uri_.at(doc_name);
    std::string pointer = base_ptr + percent_decode(fragment);
    element target;
    if (pointer.empty()) {
      target = d->root;
    } else if (d->root.at_pointer(pointer).get(target)) {
      throw UsageError("cannot resolve $ref " + diag::quoted(uri) + " at " + diag::quoted(from) +
                       ": " + diag::quoted(doc_name) + " has nothing at " + diag::quoted(pointer));
    }
    const Node* n = compile(target, doc_uri, d->uri, pointer);
    by_uri_.emplace(key, n);
    return n;
  }

  Validator::Document* find_document(const std::string& doc_uri, const std::string& uri,
                                     const std::string& from) {
    if (auto it = docs_by_uri_.find(doc_uri); it != docs_by_uri_.end()) return it->second;
    for (int dr : {4, 6, 7}) {
      std::string meta = dr == 4
                             ? "http://json-schema.org/draft-04/schema"
                             : "http://json-schema.org/draft-0" + std::to_string(dr) + "/schema";
      if (doc_uri == meta) {
        auto& d = add_document(doc_uri, simdjson::padded_string(meta_schema_text(dr)));
        int saved = draft;
        draft = dr;
        compile_document(d);
        draft = saved;
        return &d;
      }
    }
    std::string path;
    if (doc_uri.rfind("file://", 0) == 0) {
      path = percent_decode(doc_uri.substr(7));
    } else if (!id_base_.empty() && doc_uri.rfind(id_base_, 0) == 0 && !root_file_dir_.empty()) {
      path = root_file_dir_ + percent_decode(doc_uri.substr(id_base_.size()));
    } else {
      throw UsageError("cannot resolve $ref " + diag::quoted(uri) + " at " + diag::quoted(from) +
                       ": cdn validate follows references inside the schema, to files next to "
                       "it and to the draft meta-schemas, never over the network; save the "
                       "schema next to this one and refer to it by file name");
    }
    simdjson::padded_string text;
    if (auto err = simdjson::padded_string::load(path).get(text)) {
      throw UsageError("cannot resolve $ref " + diag::quoted(uri) + " at " + diag::quoted(from) +
                       ": cannot read " + diag::quoted(path) + " (" + simdjson::error_message(err) +
                       ")");
    }
    auto& d = add_document(doc_uri, std::move(text));
    compile_document(d);
    return &d;
  }

  Validator& v_;
  std::string root_file_dir_;  // with a trailing slash
  std::string id_base_;        // the root's $id up to its last slash
  std::unordered_map<std::string, const Node*> by_uri_;
  std::unordered_map<std::string, Validator::Document*> docs_by_uri_;
  // A subschema's own $id: the document and pointer where it lives.
  std::unordered_map<std::string, std::pair<std::string, std::string>> docs_sub_;
  std::vector<Node*> pending_;
};

// ---------------------------------------------------------------------------------------------
// Checking

namespace {

struct Segment {
  std::string_view key;
  uint64_t index = 0;
  bool is_index = false;
};

struct Walk {
  std::vector<ValidationError>* errors = nullptr;  // null: stop at the first failure
  size_t max_errors = 0;
  std::vector<Segment> path;
  unsigned depth = 0;

  bool full() const { return errors && max_errors && errors->size() >= max_errors; }
};

constexpr unsigned kMaxDepth = 4000;

std::string pointer_of(const std::vector<Segment>& path) {
  std::string p;
  for (const auto& s : path) {
    if (s.is_index) {
      p += '/';
      p += std::to_string(s.index);
    } else {
      append_pointer_token(p, s.key);
    }
  }
  return p;
}

// A short rendering of a value for messages.
std::string describe(element v) {
  std::string s;
  switch (v.type()) {
    case element_type::STRING: {
      std::string_view t = v.get_string().value_unsafe();
      if (t.size() > 60) {
        size_t cut = 57;
        while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;
        std::string shown(t.substr(0, cut));
        shown += "...";
        record::append_json_string(s, shown);
      } else {
        record::append_json_string(s, t);
      }
      return s;
    }
    case element_type::INT64:
      record::append_int(s, v.get_int64().value_unsafe());
      return s;
    case element_type::UINT64:
      record::append_uint(s, v.get_uint64().value_unsafe());
      return s;
    case element_type::DOUBLE:
      record::append_double(s, v.get_double().value_unsafe());
      return s;
    case element_type::BOOL:
      return v.get_bool().value_unsafe() ? "true" : "false";
    case element_type::NULL_VALUE:
      return "null";
    case element_type::ARRAY:
      return "an array of " + std::to_string(v.get_array().value_unsafe().size()) + " items";
    case element_type::OBJECT:
      return "an object";
  }
  return "a value";
}

std::string num(double d) {
  std::string s;
  if (d == std::floor(d) && std::fabs(d) < 9e15) {
    record::append_int(s, static_cast<int64_t>(d));
  } else {
    record::append_double(s, d);
  }
  return s;
}

std::string type_names(uint8_t types) {
  static const std::pair<uint8_t, const char*> kNames[] = {
      {kNull, "null"},     {kBoolean, "boolean"}, {kObject, "object"},  {kArray, "array"},
      {kNumber, "number"}, {kString, "string"},   {kInteger, "integer"}};
  std::vector<std::string> names;
  for (auto [bit, name] : kNames) {
    if (!(types & bit)) continue;
    if (bit == kInteger && (types & kNumber)) continue;
    names.push_back(name);
  }
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += i + 1 == names.size() ? " or " : ", ";
    s += names[i];
  }
  return s.empty() ? "no type" : s;
}

uint8_t type_bits(element v) {
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return kNull;
    case element_type::BOOL:
      return kBoolean;
    case element_type::INT64:
    case element_type::UINT64:
      return kInteger | kNumber;
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      return (std::isfinite(d) && d == std::floor(d)) ? (kInteger | kNumber) : kNumber;
    }
    case element_type::STRING:
      return kString;
    case element_type::ARRAY:
      return kArray;
    case element_type::OBJECT:
      return kObject;
  }
  return 0;
}

double as_double(element v) {
  switch (v.type()) {
    case element_type::INT64:
      return static_cast<double>(v.get_int64().value_unsafe());
    case element_type::UINT64:
      return static_cast<double>(v.get_uint64().value_unsafe());
    default:
      return v.get_double().value_unsafe();
  }
}

uint64_t code_points(std::string_view s) {
  uint64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool numbers_equal(element a, element b) {
  element_type ta = a.type(), tb = b.type();
  if (ta == element_type::INT64 && tb == element_type::INT64) {
    return a.get_int64().value_unsafe() == b.get_int64().value_unsafe();
  }
  if (ta == element_type::UINT64 && tb == element_type::UINT64) {
    return a.get_uint64().value_unsafe() == b.get_uint64().value_unsafe();
  }
  return as_double(a) == as_double(b);
}

bool is_number(element_type t) {
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

uint64_t json_hash(element v) {
  auto mix = [](uint64_t h, uint64_t x) {
    x *= 0x9E3779B97F4A7C15ull;
    return (h ^ (x >> 29) ^ x) * 0xBF58476D1CE4E5B9ull;
  };
  switch (v.type()) {
    case element_type::NULL_VALUE:
      return 1;
    case element_type::BOOL:
      return v.get_bool().value_unsafe() ? 2 : 3;
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: {
      double d = as_double(v);
      if (d == 0) d = 0;  // -0 equals 0
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      return mix(4, bits);
    }
    case element_type::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      return mix(5, std::hash<std::string_view>{}(s));
    }
    case element_type::ARRAY: {
      uint64_t h = 6;
      simdjson::dom::array arr = v.get_array().value_unsafe();
      for (element e : arr) h = mix(h, json_hash(e));
      return h;
    }
    case element_type::OBJECT: {
      uint64_t h = 7;  // order-independent: a sum of member hashes
      simdjson::dom::object obj = v.get_object().value_unsafe();
      for (auto [k, e] : obj) {
        h += mix(std::hash<std::string_view>{}(k), json_hash(e));
      }
      return h;
    }
  }
  return 0;
}

class Checker {
 public:
  explicit Checker(Walk& w) : w_(w) {}

  bool check(const Node& n, element v) {
    if (++w_.depth > kMaxDepth) {
      --w_.depth;
      return fail("$ref", [] { return std::string("the schema nests too deep for this value"); });
    }
    bool ok = check_node(n, v);
    --w_.depth;
    return ok;
  }

 private:
  template <class Message>
  bool fail(const char* keyword, Message&& message, std::string_view property = {}) {
    if (w_.errors && !w_.full()) {
      w_.errors->push_back({pointer_of(w_.path), keyword, message(), std::string(property)});
    }
    return false;
  }

  // Runs `f` without collecting errors: for anyOf, oneOf, not, if and contains.
  template <class F>
  bool quietly(F&& f) {
    auto* saved = w_.errors;
    w_.errors = nullptr;
    bool ok = f();
    w_.errors = saved;
    return ok;
  }

  bool done(bool ok) const { return !ok && (!w_.errors || w_.full()); }

  bool check_node(const Node& n, element v) {
    if (n.kind == Node::Kind::always_true) return true;
    if (n.kind == Node::Kind::always_false) {
      return fail("false", [] { return std::string("no value is allowed here"); });
    }
    if (n.ref) return check(*n.ref, v);

    bool ok = true;
    uint8_t bits = type_bits(v);
    if (n.types && !(n.types & bits)) {
      ok = fail("type", [&] { return describe(v) + " is not of type " + type_names(n.types); });
      if (done(ok)) return false;
    }
    if (n.has_enum) {
      bool found = false;
      if (n.enum_all_strings) {
        std::string_view str;
        if (!v.get_string().get(str)) {
          for (std::string_view e : n.enum_strings) {
            if (e == str) {
              found = true;
              break;
            }
          }
        }
      } else {
        for (element e : n.enum_values) {
          if (json_equal(v, e)) {
            found = true;
            break;
          }
        }
      }
      if (!found) {
        ok = fail("enum", [&] {
          std::string m = describe(v) + " is not one of ";
          for (size_t i = 0; i < n.enum_values.size() && i < 12; ++i) {
            if (i) m += ", ";
            m += describe(n.enum_values[i]);
          }
          if (n.enum_values.size() > 12) m += ", ...";
          return m;
        });
        if (done(ok)) return false;
      }
    }
    if (n.const_value && !json_equal(v, *n.const_value)) {
      ok = fail("const", [&] { return describe(v) + " is not " + describe(*n.const_value); });
      if (done(ok)) return false;
    }

    switch (v.type()) {
      case element_type::INT64:
      case element_type::UINT64:
      case element_type::DOUBLE:
        ok = check_number(n, v) && ok;
        break;
      case element_type::STRING:
        ok = check_string(n, v.get_string().value_unsafe(), v) && ok;
        break;
      case element_type::ARRAY:
        ok = check_array(n, v.get_array().value_unsafe()) && ok;
        break;
      case element_type::OBJECT:
        ok = check_object(n, v, v.get_object().value_unsafe()) && ok;
        break;
      default:
        break;
    }
    if (done(ok)) return false;

    for (const Node* s : n.all_of) {
      ok = check(*s, v) && ok;
      if (done(ok)) return false;
    }
    if (!n.any_of.empty()) {
      bool any = quietly([&] {
        for (const Node* s : n.any_of) {
          if (check(*s, v)) return true;
        }
        return false;
      });
      if (!any) {
        ok = fail("anyOf", [&] {
          return describe(v) + " matches none of the " + std::to_string(n.any_of.size()) +
                 " schemas of anyOf";
        });
        if (done(ok)) return false;
      }
    }
    if (!n.one_of.empty()) {
      std::vector<size_t> matched;
      quietly([&] {
        for (size_t i = 0; i < n.one_of.size() && matched.size() < 2; ++i) {
          if (check(*n.one_of[i], v)) matched.push_back(i);
        }
        return true;
      });
      if (matched.size() != 1) {
        ok = fail("oneOf", [&] {
          if (matched.empty()) {
            return describe(v) + " matches none of the " + std::to_string(n.one_of.size()) +
                   " schemas of oneOf";
          }
          return describe(v) + " matches more than one schema of oneOf (" +
                 std::to_string(matched[0]) + " and " + std::to_string(matched[1]) + ")";
        });
        if (done(ok)) return false;
      }
    }
    if (n.not_schema) {
      if (quietly([&] { return check(*n.not_schema, v); })) {
        ok = fail("not", [&] { return describe(v) + " matches the schema of not"; });
        if (done(ok)) return false;
      }
    }
    if (n.if_schema) {
      bool cond = quietly([&] { return check(*n.if_schema, v); });
      const Node* branch = cond ? n.then_schema : n.else_schema;
      if (branch) ok = check(*branch, v) && ok;
    }
    return ok;
  }

  bool check_number(const Node& n, element v) {
    bool ok = true;
    double d = as_double(v);
    if (n.minimum && d < *n.minimum) {
      ok = fail("minimum",
                [&] { return describe(v) + " is less than the minimum " + num(*n.minimum); });
      if (done(ok)) return false;
    }
    if (n.maximum && d > *n.maximum) {
      ok = fail("maximum",
                [&] { return describe(v) + " is greater than the maximum " + num(*n.maximum); });
      if (done(ok)) return false;
    }
    if (n.exclusive_minimum && d <= *n.exclusive_minimum) {
      ok = fail("exclusiveMinimum", [&] {
        return describe(v) + " is not greater than the exclusive minimum " +
               num(*n.exclusive_minimum);
      });
      if (done(ok)) return false;
    }
    if (n.exclusive_maximum && d >= *n.exclusive_maximum) {
      ok = fail("exclusiveMaximum", [&] {
        return describe(v) + " is not less than the exclusive maximum " + num(*n.exclusive_maximum);
      });
      if (done(ok)) return false;
    }
    if (n.multiple_of) {
      double m = *n.multiple_of;
      bool multiple;
      if (v.type() != element_type::DOUBLE && m == std::floor(m) && m < 9e15) {
        auto im = static_cast<int64_t>(m);
        multiple = v.type() == element_type::INT64
                       ? v.get_int64().value_unsafe() % im == 0
                       : v.get_uint64().value_unsafe() % static_cast<uint64_t>(im) == 0;
      } else {
        // Decimal fractions are not exact in binary (19.99 / 0.01 = 1998.9999999999998), so
        // a quotient within a relative 1e-9 of an integer counts as one.
        double q = d / m;
        multiple = std::isfinite(q) &&
                   std::fabs(q - std::nearbyint(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
      }
      if (!multiple) {
        ok = fail("multipleOf", [&] { return describe(v) + " is not a multiple of " + num(m); });
      }
    }
    return ok;
  }

  bool check_string(const Node& n, std::string_view s, element v) {
    bool ok = true;
    if (n.min_length || n.max_length) {
      uint64_t len = code_points(s);
      if (n.min_length && len < *n.min_length) {
        ok = fail("minLength", [&] {
          return describe(v) + " is shorter than " + std::to_string(*n.min_length) + " characters";
        });
        if (done(ok)) return false;
      }
      if (n.max_length && len > *n.max_length) {
        ok = fail("maxLength", [&] {
          return describe(v) + " is longer than " + std::to_string(*n.max_length) + " characters";
        });
        if (done(ok)) return false;
      }
    }
    if (n.pattern && !RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *n.pattern)) {
      ok = fail("pattern", [&] {
        return describe(v) + " does not match the pattern " + n.pattern->pattern();
      });
      if (done(ok)) return false;
    }
    if (n.format != Format::none && !check_format(n.format, s)) {
      ok = fail("format", [&] { return describe(v) + " is not a valid " + format_name(n.format); });
    }
    return ok;
  }

  bool check_array(const Node& n, simdjson::dom::array a) {
    bool ok = true;
    size_t size = a.size();
    if (n.min_items && size < *n.min_items) {
      ok = fail("minItems", [&] {
        return "an array of " + std::to_string(size) + " items is shorter than " +
               std::to_string(*n.min_items);
      });
      if (done(ok)) return false;
    }
    if (n.max_items && size > *n.max_items) {
      ok = fail("maxItems", [&] {
        return "an array of " + std::to_string(size) + " items is longer than " +
               std::to_string(*n.max_items);
      });
      if (done(ok)) return false;
    }
    if (n.items || n.tuple_items) {
      size_t i = 0;
      for (element e : a) {
        const Node* s = !n.tuple_items       ? n.items
                        : i < n.tuple.size() ? n.tuple[i]
                                             : n.additional_items;
        if (s) {
          w_.path.push_back({{}, i, true});
          ok = check(*s, e) && ok;
          w_.path.pop_back();
          if (done(ok)) return false;
        } else if (n.tuple_items) {
          break;
        }
        ++i;
      }
    }
    if (n.contains) {
      bool any = quietly([&] {
        for (element e : a) {
          if (check(*n.contains, e)) return true;
        }
        return false;
      });
      if (!any) {
        ok = fail("contains", [&] {
          return "no item of an array of " + std::to_string(size) +
                 " matches the schema of contains";
        });
        if (done(ok)) return false;
      }
    }
    if (n.unique_items && size > 1) {
      std::vector<std::pair<uint64_t, size_t>> hashes;
      std::vector<element> items;
      hashes.reserve(size);
      items.reserve(size);
      for (element e : a) {
        hashes.push_back({json_hash(e), items.size()});
        items.push_back(e);
      }
      std::sort(hashes.begin(), hashes.end());
      for (size_t i = 0; i + 1 < hashes.size(); ++i) {
        for (size_t j = i + 1; j < hashes.size() && hashes[j].first == hashes[i].first; ++j) {
          if (json_equal(items[hashes[i].second], items[hashes[j].second])) {
            size_t x = std::min(hashes[i].second, hashes[j].second);
            size_t y = std::max(hashes[i].second, hashes[j].second);
            return fail("uniqueItems", [&] {
              return "items " + std::to_string(x) + " and " + std::to_string(y) + " are equal";
            });
          }
        }
      }
    }
    return ok;
  }

  bool check_object(const Node& n, element v, simdjson::dom::object o) {
    bool ok = true;
    const size_t nkeys = n.keys.size();
    uint64_t small_seen = 0;
    std::vector<bool> big_seen;
    if (nkeys > 64) big_seen.assign(nkeys, false);
    auto seen = [&](size_t i) {
      return nkeys > 64 ? bool(big_seen[i]) : bool(small_seen >> i & 1);
    };

    if (n.min_properties || n.max_properties) {
      size_t size = o.size();
      if (n.min_properties && size < *n.min_properties) {
        ok = fail("minProperties", [&] {
          return "an object of " + std::to_string(size) + " properties has fewer than " +
                 std::to_string(*n.min_properties);
        });
        if (done(ok)) return false;
      }
      if (n.max_properties && size > *n.max_properties) {
        ok = fail("maxProperties", [&] {
          return "an object of " + std::to_string(size) + " properties has more than " +
                 std::to_string(*n.max_properties);
        });
        if (done(ok)) return false;
      }
    }

    const bool per_member =
        nkeys > 0 || !n.pattern_properties.empty() || n.additional_properties || n.property_names;
    if (per_member) {
      size_t hint = 0;
      for (auto member : o) {
        const std::string_view k = member.key;  // a plain variable: lambdas capture it
        const element e = member.value;
        bool matched = false;
        int i = nkeys ? n.find_key(k, hint) : -1;
        if (i >= 0) hint = static_cast<size_t>(i) + 1;
        w_.path.push_back({k, 0, false});
        if (i >= 0) {
          if (nkeys > 64) {
            big_seen[i] = true;
          } else {
            small_seen |= uint64_t{1} << i;
          }
          if (const Node* s = n.keys[i].schema) {
            matched = true;
            ok = check(*s, e) && ok;
          }
        }
        for (const auto& pp : n.pattern_properties) {
          if (done(ok)) break;
          if (RE2::PartialMatch(re2::StringPiece(k.data(), k.size()), *pp.re)) {
            matched = true;
            ok = check(*pp.schema, e) && ok;
          }
        }
        if (!matched && n.additional_properties && !done(ok)) {
          if (n.additional_properties->kind == Node::Kind::always_false) {
            ok = fail("additionalProperties",
                      [&] { return "the property " + diag::quoted(k) + " is not allowed"; });
          } else {
            ok = check(*n.additional_properties, e) && ok;
          }
        }
        w_.path.pop_back();
        if (done(ok)) return false;
        if (n.property_names && !check_name(*n.property_names, k)) {
          ok = fail("propertyNames", [&] {
            return "the property name " + diag::quoted(k) +
                   " does not match the schema of propertyNames";
          });
          if (done(ok)) return false;
        }
      }
    }
    for (uint32_t r : n.required) {
      if (!seen(r)) {
        ok = fail(
            "required",
            [&] { return "the required property " + diag::quoted(n.keys[r].name) + " is missing"; },
            n.keys[r].name);
        if (done(ok)) return false;
      }
    }
    for (const auto& d : n.dependencies) {
      if (!seen(d.key)) continue;
      for (uint32_t r : d.required) {
        if (!seen(r)) {
          ok = fail(
              "dependencies",
              [&] {
                return "the property " + diag::quoted(n.keys[d.key].name) +
                       " requires the property " + diag::quoted(n.keys[r].name);
              },
              n.keys[r].name);
          if (done(ok)) return false;
        }
      }
      if (d.schema) {
        ok = check(*d.schema, v) && ok;
        if (done(ok)) return false;
      }
    }
    return ok;
  }

  // propertyNames: the name as a JSON string value of its own.
  bool check_name(const Node& s, std::string_view name) {
    thread_local simdjson::dom::parser parser;
    std::string text;
    record::append_json_string(text, name);
    element e;
    if (parser.parse(text).get(e)) return false;
    return quietly([&] {
      std::vector<Segment> saved;
      saved.swap(w_.path);
      bool ok = check(s, e);
      saved.swap(w_.path);
      return ok;
    });
  }

  Walk& w_;
};

}  // namespace

bool json_equal(element a, element b) {
  element_type ta = a.type(), tb = b.type();
  if (is_number(ta) && is_number(tb)) return numbers_equal(a, b);
  if (ta != tb) return false;
  switch (ta) {
    case element_type::NULL_VALUE:
      return true;
    case element_type::BOOL:
      return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    case element_type::STRING:
      return a.get_string().value_unsafe() == b.get_string().value_unsafe();
    case element_type::ARRAY: {
      auto x = a.get_array().value_unsafe(), y = b.get_array().value_unsafe();
      if (x.size() != y.size()) return false;
      auto i = x.begin(), j = y.begin();
      for (; i != x.end(); ++i, ++j) {
        if (!json_equal(*i, *j)) return false;
      }
      return true;
    }
    case element_type::OBJECT: {
      auto x = a.get_object().value_unsafe(), y = b.get_object().value_unsafe();
      if (x.size() != y.size()) return false;
      for (auto [k, e] : x) {
        element other;
        if (y.at_key(k).get(other) || !json_equal(e, other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

Validator::Validator() = default;
Validator::~Validator() = default;

namespace {

// The meta-schema of each draft, compiled once.
const Validator& meta_validator(int draft) {
  static std::once_flag once[3];
  static std::unique_ptr<Validator> metas[3];
  int i = draft == 4 ? 0 : draft == 6 ? 1 : 2;
  std::call_once(once[i], [&] {
    std::string uri = draft == 4
                          ? "http://json-schema.org/draft-04/schema"
                          : "http://json-schema.org/draft-0" + std::to_string(draft) + "/schema";
    metas[i] = Validator::from_text(meta_schema_text(draft), uri, false);
  });
  return *metas[i];
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string("./") : path.substr(0, slash + 1);
}

std::string absolute_path(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char buf[4096];
  if (!getcwd(buf, sizeof buf)) return path;
  std::string r = buf;
  r += '/';
  r += path;
  return normalize_path(r);
}

void check_against_meta(int draft, element root, const std::string& name) {
  std::vector<ValidationError> errors;
  if (meta_validator(draft).validate(root, errors, 5)) return;
  std::string msg =
      "the schema " + name + " is not a valid draft-0" + std::to_string(draft) + " schema: ";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i) msg += "; ";
    msg += errors[i].pointer.empty() ? std::string("/") : errors[i].pointer;
    msg += ": ";
    msg += errors[i].keyword;
    msg += ": ";
    msg += errors[i].message;
  }
  throw UsageError(msg);
}

}  // namespace

std::unique_ptr<Validator> Validator::from_text(std::string_view text, const std::string& base_uri,
                                                bool check_meta) {
  std::unique_ptr<Validator> v(new Validator());
  std::string dir;
  if (base_uri.rfind("file://", 0) == 0) dir = directory_of(percent_decode(base_uri.substr(7)));
  Compiler c(*v, dir);
  auto& doc = c.add_document(split_fragment(base_uri).first, simdjson::padded_string(text));
  c.draft = draft_of(doc.root, diag::quoted(base_uri));
  if (check_meta) check_against_meta(c.draft, doc.root, diag::quoted(base_uri));
  v->draft_ = c.draft;
  v->root_ = c.compile_document(doc);
  c.resolve_all();
  c.check_cycles(v->root_);
  return v;
}

std::unique_ptr<Validator> Validator::from_file(const std::string& path) {
  std::string raw =
      io::read_whole_file(path, "the schema", "give a JSON Schema file with --schema");
  simdjson::padded_string text(raw);
  std::string abs = absolute_path(path);
  std::unique_ptr<Validator> v(new Validator());
  Compiler c(*v, directory_of(abs));
  auto& doc = c.add_document("file://" + abs, std::move(text), path);
  c.draft = draft_of(doc.root, diag::quoted(path));
  check_against_meta(c.draft, doc.root, diag::quoted(path));
  v->draft_ = c.draft;
  v->root_ = c.compile_document(doc);
  c.resolve_all();
  c.check_cycles(v->root_);
  return v;
}

bool Validator::valid(element v) const {
  Walk w;
  Checker c(w);
  return c.check(*root_, v);
}

bool Validator::validate(element v, std::vector<ValidationError>& errors, size_t max_errors) const {
  Walk w;
  w.errors = &errors;
  w.max_errors = max_errors;
  Checker c(w);
  size_t before = errors.size();
  bool ok = c.check(*root_, v);
  return ok && errors.size() == before;
}

}  // namespace cdn::schema

namespace cdn::schema {

std::string find_schema(const std::string& file) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CDN_SCHEMA_DIR"); env && *env) dirs.emplace_back(env);
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    dirs.push_back(dir + "/../share/cdn/schemas");
  }
#ifdef CDN_SOURCE_SCHEMA_DIR
  dirs.emplace_back(CDN_SOURCE_SCHEMA_DIR);
#endif
  dirs.emplace_back(CDN_SCHEMA_DIR);
  for (const auto& d : dirs) {
    std::string p = d + "/" + file;
    if (access(p.c_str(), R_OK) == 0) return p;
  }
  std::string tried;
  for (const auto& d : dirs) {
    if (!tried.empty()) tried += ", ";
    tried += d;
  }
  throw UsageError("cannot find the schema " + diag::quoted(file) + " (looked in " + tried +
                   "); give one with --schema or set CDN_SCHEMA_DIR");
}

}  // namespace cdn::schema
