// Reading schema documents and compiling them into a Validator's graph of nodes: the draft
// each declares, the check against its draft's meta-schema, and every $ref resolved (inside
// the document, to files next to it, or to the built-in meta-schemas).
#include <cmath>
#include <functional>
#include <mutex>
#include <unordered_map>

#include <unistd.h>

#include "common/base/json_pointer.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/whole_file.hpp"
#include "common/schema/uri.hpp"
#include "common/schema/validator.hpp"

namespace cdn::schema {

using simdjson::dom::element;

struct Validator::Document {
  std::string uri;  // without fragment
  simdjson::padded_string text;
  simdjson::dom::parser parser;
  element root;
};

namespace {

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
      std::string_view id, ref;
      if (obj["$ref"].get_string().get(ref) && !obj[id_keyword()].get_string().get(id) &&
          !id.empty() && id[0] != '#') {
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

  // Marks the nodes that more than one edge leads to (the root has one from outside).
  void mark_shared(const Node* root) {
    std::unordered_map<const Node*, unsigned> in;
    in[root] = 1;
    auto edge = [&](const Node* n) {
      if (n && ++in[n] > 1) const_cast<Node*>(n)->shared = true;
    };
    for (const Node& n : v_.nodes_) {
      edge(n.ref);
      edge(n.items);
      for (const Node* s : n.tuple) edge(s);
      edge(n.additional_items);
      edge(n.contains);
      for (const auto& k : n.keys) edge(k.schema);
      for (const auto& p : n.pattern_properties) edge(p.schema);
      edge(n.additional_properties);
      for (const auto& d : n.dependencies) edge(d.schema);
      edge(n.property_names);
      for (const Node* s : n.all_of) edge(s);
      for (const Node* s : n.any_of) edge(s);
      for (const Node* s : n.one_of) edge(s);
      edge(n.not_schema);
      edge(n.if_schema);
      edge(n.then_schema);
      edge(n.else_schema);
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

  std::optional<Number> number(element e, const std::string& loc, const char* kw) {
    if (e.is_number()) return Number::of(e);
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
    base::append_pointer_token(p, token);
    return compile(e, base, doc, p);
  }
  const Node* sub(element e, const std::string& base, const std::string& doc,
                  const std::string& ptr, std::string_view token, size_t index) {
    std::string p = ptr;
    base::append_pointer_token(p, token);
    base::append_pointer_token(p, std::to_string(index));
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
    // In drafts 4 to 7 every keyword beside $ref is ignored, $id (id in draft 4) included: it
    // neither names this schema nor changes the base the $ref resolves against.
    const bool has_ref = !obj["$ref"].get_string().get(sv);
    if (!has_ref && !obj[id_keyword()].get_string().get(sv)) {
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
        if (compare(*n.multiple_of, Number{}) <= 0)
          bad(n.location, "multipleOf must be greater than 0");
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
        base::append_pointer_token(pp, "properties");
        for (auto [name, ps] : props) {
          uint32_t i = key_index(n, name);
          n.keys[i].schema = sub(ps, base, doc, pp, name);
        }
      } else if (kw == "patternProperties") {
        simdjson::dom::object props;
        if (val.get_object().get(props)) bad(n.location, "patternProperties must be an object");
        std::string pp = ptr;
        base::append_pointer_token(pp, "patternProperties");
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
        base::append_pointer_token(dp, "dependencies");
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
    base::append_pointer_token(dp, "definitions");
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
    simdjson::padded_string text(io::read_whole_file(
        path, "the schema referred to by $ref " + diag::quoted(uri) + " at " + diag::quoted(from),
        "refer to a JSON Schema file next to this one", io::kMaxSchemaBytes));
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
  c.mark_shared(v->root_);
  return v;
}

std::unique_ptr<Validator> Validator::from_file(const std::string& path) {
  std::string raw = io::read_whole_file(path, "the schema", "give a JSON Schema file with --schema",
                                        io::kMaxSchemaBytes);
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
  c.mark_shared(v->root_);
  return v;
}

}  // namespace cdn::schema
