// valijson on simdjson documents, with RE2 and cdn's format scanners in place of std::regex.
//
// valijson 1.0's ValidationVisitor matches `pattern` (visit(PatternConstraint)),
// `patternProperties` (inside visit(PropertiesConstraint)) and the formats date, time and
// date-time (visit(FormatConstraint)) with std::regex. Those three member functions are
// explicitly specialized below, for SimdjsonAdapter and for StdStringAdapter (the adapter
// valijson validates property names through, for propertyNames). The specializations are
// declared right after valijson's headers, before anything in this file can instantiate the
// visitor; their bodies copy valijson's logic, with RE2::PartialMatch where valijson calls
// std::regex_search and cdn::schema::check_format for the formats.
#include <stdexcept>  // before valijson/exceptions.hpp, which includes it inside its namespace

#include "common/schema/valijson_engine.hpp"

#include <re2/re2.h>
#include <simdjson.h>
#include <valijson/adapters/std_string_adapter.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/subschema.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validation_visitor.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/base/json_pointer.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/whole_file.hpp"
#include "common/schema/formats.hpp"
#include "common/schema/json_compare.hpp"
#include "common/schema/valijson_adapter.hpp"
#include "common/schema/valijson_messages.hpp"

// The specializations, declared before any use of the visitor.
#include "common/schema/valijson_visits.hpp"

namespace cdn::schema {
namespace {

using valijson::Subschema;
using valijson::ValidationResults;
using valijson::ValidationVisitor;
using valijson::constraints::FormatConstraint;
using valijson::constraints::PatternConstraint;
using valijson::constraints::PropertiesConstraint;
// The type of valijson's regex cache, which the visitor hands on to the visitors it creates.
// Nothing here puts a std::regex in it.
using RegexCache = std::unordered_map<std::string, std::regex>;

// --- Patterns --------------------------------------------------------------------------------

using PatternMap = std::unordered_map<std::string, std::unique_ptr<re2::RE2>>;

std::unique_ptr<re2::RE2> compile_pattern(const std::string& pattern) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_encoding(RE2::Options::EncodingUTF8);
  o.set_max_mem(64 << 20);
  return std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), o);
}

// The patterns of the schema being validated against on this thread (set by PatternScope).
thread_local const PatternMap* t_patterns = nullptr;

class PatternScope {
 public:
  explicit PatternScope(const PatternMap& m) : saved_(t_patterns) { t_patterns = &m; }
  ~PatternScope() { t_patterns = saved_; }
  PatternScope(const PatternScope&) = delete;
  PatternScope& operator=(const PatternScope&) = delete;

 private:
  const PatternMap* saved_;
};

// The compiled form of `pattern`: from the schema's table (every pattern of every schema
// document is compiled at load time), else compiled once on this thread.
const re2::RE2& pattern_regex(const std::string& pattern) {
  if (t_patterns) {
    if (auto it = t_patterns->find(pattern); it != t_patterns->end()) return *it->second;
  }
  thread_local PatternMap lazy;
  if (auto it = lazy.find(pattern); it != lazy.end()) return *it->second;
  auto re = compile_pattern(pattern);
  if (!re->ok()) {
    valijson::throwRuntimeError("the pattern " + diag::quoted(pattern) +
                                " cannot be compiled by RE2: " + re->error());
  }
  return *lazy.emplace(pattern, std::move(re)).first->second;
}

bool pattern_search(const std::string& pattern, const std::string& s) {
  return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), pattern_regex(pattern));
}

// --- The replaced visitor functions, for any adapter -----------------------------------------

// valijson's visit(const PatternConstraint&), with RE2.
template <typename AdapterType>
bool check_pattern(const PatternConstraint& constraint, const AdapterType& m_target,
                   const std::vector<std::string>& m_context, bool m_strictTypes,
                   ValidationResults* m_results) {
  if ((m_strictTypes && !m_target.isString()) || !m_target.maybeString()) {
    return true;
  }

  std::string pattern(constraint.getPattern<std::string::allocator_type>());
  if (!pattern_search(pattern, m_target.asString())) {
    if (m_results) {
      m_results->pushError(m_context, "Failed to match regex specified by 'pattern' constraint.");
    }
    return false;
  }

  return true;
}

// valijson's visit(const FormatConstraint&), with cdn's format scanners. valijson 1.0 checks
// date, time and date-time only, and reads any value as a string; here formats apply to
// strings (as JSON Schema says: other types pass), and the formats cdn checks are the ones in
// common/schema/formats.hpp. Unknown formats pass, as in valijson.
template <typename AdapterType>
bool check_format_constraint(const FormatConstraint& constraint, const AdapterType& m_target,
                             const std::vector<std::string>& m_context, bool m_strictTypes,
                             ValidationResults* m_results) {
  if ((m_strictTypes && !m_target.isString()) || !m_target.maybeString()) {
    return true;
  }

  const Format f = format_of(constraint.getFormat());
  if (f == Format::none || check_format(f, m_target.asString())) {
    return true;
  }

  if (m_results) {
    m_results->pushError(m_context, std::string("String should be a valid ") + format_name(f));
  }
  return false;
}

// valijson's visit(const PropertiesConstraint&), with its ValidatePropertySubschemas and
// ValidatePatternPropertySubschemas functors written out as lambdas (same arguments: properties
// continue on success, on failure only when collecting results, and past unmatched names;
// pattern properties stop at the first failure), and RE2 for patternProperties.
template <typename AdapterType>
bool check_properties(const PropertiesConstraint& constraint, const AdapterType& m_target,
                      const std::vector<std::string>& m_context, bool m_strictTypes,
                      ValidationResults* m_results, RegexCache& m_regexesCache) {
  if ((m_strictTypes && !m_target.isObject()) || !m_target.maybeObject()) {
    return true;
  }

  bool validated = true;

  // Track which properties have already been validated
  std::set<std::string> propertiesMatched;

  // Validate properties against subschemas for matching 'properties' constraints
  const typename AdapterType::Object object = m_target.asObject();
  const bool continueOnFailure = m_results != nullptr;
  constraint.applyToProperties([&](const auto& propertyName, const Subschema* subschema) {
    const std::string propertyNameKey(propertyName.c_str());
    const typename AdapterType::Object::const_iterator itr = object.find(propertyNameKey);
    if (itr == object.end()) {
      return true;  // continue if unmatched
    }

    propertiesMatched.insert(propertyNameKey);

    // Update context
    std::vector<std::string> newContext = m_context;
    newContext.push_back("[" + propertyNameKey + "]");

    // Recursively validate property's value
    ValidationVisitor<AdapterType> validator((*itr).second, newContext, m_strictTypes, m_results,
                                             m_regexesCache);
    if (validator.validateSchema(*subschema)) {
      return true;  // continue on success
    }

    if (m_results) {
      m_results->pushError(m_context,
                           "Failed to validate against schema associated with property name '" +
                               propertyNameKey + "'.");
    }

    validated = false;
    return continueOnFailure;
  });

  // Exit early if validation failed, and we're not collecting exhaustive validation results
  if (!validated && !m_results) {
    return false;
  }

  // Validate properties against subschemas for matching patternProperties constraints
  constraint.applyToPatternProperties([&](const auto& patternProperty, const Subschema* subschema) {
    const std::string patternPropertyStr(patternProperty.c_str());
    const re2::RE2& r = pattern_regex(patternPropertyStr);

    // Recursively validate all matching properties
    using ObjectMember = const typename AdapterType::ObjectMember;
    for (const ObjectMember m : object) {
      if (RE2::PartialMatch(re2::StringPiece(m.first.data(), m.first.size()), r)) {
        propertiesMatched.insert(m.first);

        // Update context
        std::vector<std::string> newContext = m_context;
        newContext.push_back("[" + m.first + "]");

        // Recursively validate property's value
        ValidationVisitor<AdapterType> validator(m.second, newContext, m_strictTypes, m_results,
                                                 m_regexesCache);
        if (validator.validateSchema(*subschema)) {
          continue;
        }

        if (m_results) {
          m_results->pushError(m_context,
                               "Failed to validate against schema associated with pattern '" +
                                   patternPropertyStr + "'.");
        }

        validated = false;
        return false;  // valijson does not continue on failure here
      }
    }

    return true;  // continue on success, and past patterns no name matched
  });

  // Validate against additionalProperties subschema for any properties that have not yet been
  // matched
  const Subschema* additionalPropertiesSubschema = constraint.getAdditionalPropertiesSubschema();
  if (!additionalPropertiesSubschema) {
    if (propertiesMatched.size() != m_target.getObjectSize()) {
      if (m_results) {
        std::string unwanted;
        for (const typename AdapterType::ObjectMember m : object) {
          if (propertiesMatched.find(m.first) == propertiesMatched.end()) {
            unwanted = m.first;
            break;
          }
        }
        m_results->pushError(m_context,
                             "Object contains a property "
                             "that could not be validated using 'properties' "
                             "or 'additionalProperties' constraints: '" +
                                 unwanted + "'.");
      }

      return false;
    }

    return validated;
  }

  for (const typename AdapterType::ObjectMember m : object) {
    if (propertiesMatched.find(m.first) == propertiesMatched.end()) {
      // Update context
      std::vector<std::string> newContext = m_context;
      newContext.push_back("[" + m.first + "]");

      // Create a validator to validate the property's value
      ValidationVisitor<AdapterType> validator(m.second, newContext, m_strictTypes, m_results,
                                               m_regexesCache);
      if (!validator.validateSchema(*additionalPropertiesSubschema)) {
        if (m_results) {
          m_results->pushError(m_context,
                               "Failed to validate against additional properties schema");
        }

        validated = false;
      }
    }
  }

  return validated;
}

}  // namespace
}  // namespace cdn::schema

// ---------------------------------------------------------------------------------------------
// The specializations' bodies.

namespace valijson {

template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::PatternConstraint& constraint) {
  return cdn::schema::check_pattern(constraint, m_target, m_context, m_strictTypes, m_results);
}

template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::PropertiesConstraint& constraint) {
  return cdn::schema::check_properties(constraint, m_target, m_context, m_strictTypes, m_results,
                                       m_regexesCache);
}

template <>
bool ValidationVisitor<cdn::schema::SimdjsonAdapter>::visit(
    const constraints::FormatConstraint& constraint) {
  return cdn::schema::check_format_constraint(constraint, m_target, m_context, m_strictTypes,
                                              m_results);
}

template <>
bool ValidationVisitor<adapters::StdStringAdapter>::visit(
    const constraints::PatternConstraint& constraint) {
  return cdn::schema::check_pattern(constraint, m_target, m_context, m_strictTypes, m_results);
}

template <>
bool ValidationVisitor<adapters::StdStringAdapter>::visit(
    const constraints::PropertiesConstraint& constraint) {
  return cdn::schema::check_properties(constraint, m_target, m_context, m_strictTypes, m_results,
                                       m_regexesCache);
}

template <>
bool ValidationVisitor<adapters::StdStringAdapter>::visit(
    const constraints::FormatConstraint& constraint) {
  return cdn::schema::check_format_constraint(constraint, m_target, m_context, m_strictTypes,
                                              m_results);
}

}  // namespace valijson

// ---------------------------------------------------------------------------------------------
// The engine.

namespace cdn::schema {

struct ValijsonEngine::State {
  valijson::Schema schema;
  PatternMap patterns;
};

namespace {

// Compiles every pattern of a schema document into `patterns`, refusing one RE2 cannot run.
// The walk follows the keywords that hold schemas; the values of enum, const, default and
// examples are data and are skipped; members of unknown keywords are walked as possible schemas
// (a $ref may point into them).
class PatternCollector {
 public:
  PatternCollector(PatternMap& patterns, std::string where)
      : patterns_(patterns), where_(std::move(where)) {}

  void schema(simdjson::dom::element s, const std::string& ptr) {
    simdjson::dom::object obj;
    if (s.get_object().get(obj)) return;
    for (auto [key, value] : obj) {
      std::string at = below(ptr, key);
      if (key == "enum" || key == "const" || key == "default" || key == "examples") continue;
      if (key == "pattern") {
        std::string_view p;
        if (!value.get_string().get(p)) add(std::string(p), at);
      } else if (key == "patternProperties") {
        simdjson::dom::object pp;
        if (value.get_object().get(pp)) continue;
        for (auto [name, sub] : pp) {
          std::string sub_at = below(at, name);
          add(std::string(name), sub_at);
          schema(sub, sub_at);
        }
      } else if (key == "properties" || key == "definitions" || key == "dependencies") {
        simdjson::dom::object m;
        if (value.get_object().get(m)) continue;
        for (auto [name, sub] : m) schema(sub, below(at, name));
      } else {
        each(value, at);
      }
    }
  }

 private:
  // A schema, or an array of schemas (items, allOf, anyOf, oneOf, unknown keywords).
  void each(simdjson::dom::element v, const std::string& at) {
    simdjson::dom::array arr;
    if (!v.get_array().get(arr)) {
      size_t i = 0;
      for (auto e : arr) schema(e, at + "/" + std::to_string(i++));
    } else {
      schema(v, at);
    }
  }

  void add(const std::string& pattern, const std::string& at) {
    if (patterns_.count(pattern)) return;
    auto re = compile_pattern(pattern);
    if (!re->ok()) {
      throw UsageError("the schema " + where_ + " has a pattern RE2 cannot compile at " +
                       diag::quoted(at.empty() ? "/" : at) + ": " + diag::quoted(pattern) + ": " +
                       re->error() +
                       " (patterns run on RE2, which has no lookaround or backreferences, so "
                       "that matching time stays linear; rewrite the pattern without them)");
    }
    patterns_.emplace(pattern, std::move(re));
  }

  static std::string below(const std::string& ptr, std::string_view token) {
    std::string out = ptr;
    base::append_pointer_token(out, token);
    return out;
  }

  PatternMap& patterns_;
  std::string where_;
};

// valijson 1.0 follows a chain of references that ends in another reference by recursing,
// with no check for a loop ({"$ref": "#"}, or two definitions referring to each other), and
// resolves a $ref at the root of a schema to another file as a reference into the schema
// itself (so {"$ref": "other.json"} at the root is a loop too): either would overflow the
// stack. Both are refused here, before valijson sees the schema.
class RefChecker {
 public:
  RefChecker(simdjson::dom::element root, std::string where)
      : root_(root), where_(std::move(where)) {}

  void check(bool is_root_document) {
    if (is_root_document) check_root_ref();
    walk(root_);
  }

 private:
  static bool is_absolute(std::string_view uri) {
    return uri.find("://") != std::string_view::npos || uri.rfind("urn:", 0) == 0 ||
           uri.rfind("URN:", 0) == 0;
  }

  void check_root_ref() {
    simdjson::dom::object obj;
    std::string_view ref;
    if (root_.get_object().get(obj) || obj["$ref"].get_string().get(ref)) return;
    std::string_view doc = ref.substr(0, std::min(ref.find('#'), ref.size()));
    if (!doc.empty() && !is_absolute(doc)) {
      throw UsageError("the schema " + where_ + " is a $ref to " + diag::quoted(ref) +
                       ", which valijson 1.0 misreads at the root of a schema (as a reference "
                       "into the schema itself); wrap it: {\"allOf\": [{\"$ref\": " +
                       diag::quoted(ref) + "}]}");
    }
  }

  void walk(simdjson::dom::element v) {
    simdjson::dom::object obj;
    simdjson::dom::array arr;
    if (!v.get_object().get(obj)) {
      std::string_view ref;
      if (!obj["$ref"].get_string().get(ref)) {
        check_length("$ref", ref);
        follow(ref);
      }
      std::string_view id;
      if (!obj["id"].get_string().get(id)) check_length("id", id);
      for (auto [key, value] : obj) walk(value);
    } else if (!v.get_array().get(arr)) {
      for (auto e : arr) walk(e);
    }
  }

  // valijson's schema parser tells URNs from other URIs in $ref and id with a std::regex, whose
  // recursion grows with the length of the string: long ones are refused.
  void check_length(const char* keyword, std::string_view uri) const {
    constexpr size_t kMaxUri = 2000;
    if (uri.size() > kMaxUri) {
      throw UsageError("the schema " + where_ + " has a " + keyword + " of " +
                       std::to_string(uri.size()) + " characters; the valijson engine takes " +
                       std::to_string(kMaxUri) + " at most");
    }
  }

  // Follows references inside this document from `ref` while they lead to another reference.
  void follow(std::string_view ref) {
    std::set<std::string> seen;
    for (;;) {
      if (ref.empty() || ref[0] != '#') return;  // another document: not followed here
      std::string pointer(ref.substr(1));
      pointer.erase(pointer.find_last_not_of('/') + 1);  // as valijson trims it
      if (!seen.insert(pointer).second) {
        throw UsageError("the schema " + where_ +
                         " has references that only lead to each "
                         "other (through " +
                         diag::quoted("#" + pointer) +
                         "), which would make valijson "
                         "recurse without end");
      }
      simdjson::dom::element target;
      if (root_.at_pointer(pointer).get(target)) return;  // valijson will say it is missing
      simdjson::dom::object obj;
      if (target.get_object().get(obj) || obj["$ref"].get_string().get(ref)) return;
    }
  }

  simdjson::dom::element root_;
  std::string where_;
};

std::unique_ptr<simdjson::dom::document> parse_document(std::string_view text,
                                                        const std::string& what) {
  auto doc = std::make_unique<simdjson::dom::document>();
  simdjson::padded_string padded(text);
  simdjson::dom::parser parser;
  auto err = parser.parse_into_document(*doc, padded.data(), padded.size()).error();
  if (err) {
    throw UsageError(what + " is not valid JSON: " + simdjson::error_message(err));
  }
  return doc;
}

std::string read_file(const std::string& path, const std::string& what) {
  return io::read_whole_file(path, what, "give a JSON Schema file with --schema",
                             io::kMaxSchemaBytes);
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// The draft meta-schema a URI names (4, 6 or 7), else 0.
int meta_schema_draft(std::string_view uri) {
  if (!uri.empty() && uri.back() == '#') uri.remove_suffix(1);
  for (int d : {4, 6, 7}) {
    std::string tail = "json-schema.org/draft-0" + std::to_string(d) + "/schema";
    if (uri == "http://" + tail || uri == "https://" + tail) return d;
  }
  return 0;
}

// valijson's parser version for the root's "$schema". valijson 1.0 has no draft 6 parser; draft
// 6 is a subset of draft 7 (draft 7 adds if/then/else and a few formats), so draft 6 schemas
// are parsed as draft 7.
valijson::SchemaParser::Version parser_version(simdjson::dom::element root,
                                               const std::string& where, int& draft) {
  std::string_view uri;
  simdjson::dom::object obj;
  draft = 7;
  if (root.get_object().get(obj) || obj["$schema"].get_string().get(uri)) {
    return valijson::SchemaParser::kDraft7;
  }
  if (uri.find("draft-04/schema") != std::string_view::npos) {
    draft = 4;
    return valijson::SchemaParser::kDraft4;
  }
  if (uri.find("draft-06/schema") != std::string_view::npos ||
      uri.find("draft-07/schema") != std::string_view::npos) {
    return valijson::SchemaParser::kDraft7;
  }
  throw UsageError("the schema " + where + " declares $schema " + diag::quoted(uri) +
                   "; the valijson engine supports drafts 4, 6 and 7 "
                   "(http://json-schema.org/draft-07/schema#)");
}

}  // namespace

ValijsonEngine::ValijsonEngine() : state_(std::make_unique<State>()) {}
ValijsonEngine::~ValijsonEngine() = default;

namespace {

// Parses the schema `text` into `state`; `dir` is where files it refers to are.
void load(ValijsonEngine::State& state, int& draft, std::string_view text, const std::string& dir,
          const std::string& where) {
  auto root = parse_document(text, "the schema " + where);
  PatternCollector(state.patterns, where).schema(root->root(), "");
  RefChecker(root->root(), where).check(true);
  auto version = parser_version(root->root(), where, draft);

  // $ref to other documents: the draft meta-schemas (built in) and files next to the schema.
  // valijson frees what this returns once the schema is parsed (the schema keeps its own copies
  // of values, see SimdjsonFrozenValue).
  auto fetch = [&](const std::string& uri) -> const simdjson::dom::document* {
    if (int d = meta_schema_draft(uri)) {
      return parse_document(meta_schema_text(d), "the draft-0" + std::to_string(d) + " meta-schema")
          .release();
    }
    std::string path;
    if (uri.rfind("file://", 0) == 0) {
      path = uri.substr(7);
    } else if (uri.find("://") == std::string::npos && uri.rfind("urn:", 0) != 0) {
      path = !uri.empty() && uri[0] == '/' ? uri : dir + uri;
    } else {
      throw UsageError("cannot resolve $ref " + diag::quoted(uri) + " in the schema " + where +
                       ": the valijson engine follows references inside the schema, to files "
                       "next to it and to the draft meta-schemas, never over the network");
    }
    std::string shown = "the schema " + diag::quoted(path) + " (a $ref of " + where + ")";
    auto doc = parse_document(read_file(path, "the schema (a $ref of " + where + ")"), shown);
    PatternCollector(state.patterns, shown).schema(doc->root(), "");
    RefChecker(doc->root(), shown).check(false);
    return doc.release();
  };
  auto free_doc = [](const simdjson::dom::document* doc) { delete doc; };

  try {
    valijson::SchemaParser parser(version);
    parser.populateSchema<SimdjsonAdapter>(SimdjsonAdapter(*root), state.schema, fetch, free_doc);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw UsageError("valijson refuses the schema " + where + ": " + e.what());
  }
}

}  // namespace

std::unique_ptr<ValijsonEngine> ValijsonEngine::from_text(std::string_view text,
                                                          const std::string& base_path_or_uri) {
  std::string base = base_path_or_uri;
  if (base.rfind("file://", 0) == 0) base = base.substr(7);
  std::unique_ptr<ValijsonEngine> e(new ValijsonEngine());
  std::string where =
      diag::quoted(base_path_or_uri.empty() ? std::string("(text)") : base_path_or_uri);
  load(*e->state_, e->draft_, text, directory_of(base), where);
  return e;
}

std::unique_ptr<ValijsonEngine> ValijsonEngine::from_file(const std::string& path) {
  std::string text = read_file(path, "the schema");
  std::unique_ptr<ValijsonEngine> e(new ValijsonEngine());
  load(*e->state_, e->draft_, text, directory_of(path), diag::quoted(path));
  return e;
}

namespace {

// The budget of a check on this thread, for as long as it runs.
class BudgetScope {
 public:
  explicit BudgetScope(StepBudget& b) : saved_(detail::t_budget) { detail::t_budget = &b; }
  ~BudgetScope() { detail::t_budget = saved_; }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;

 private:
  StepBudget* saved_;
};

}  // namespace

bool ValijsonEngine::valid(simdjson::dom::element v, uint64_t max_steps) const {
  PatternScope scope(state_->patterns);
  StepBudget budget(max_steps);
  BudgetScope budget_scope(budget);
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  try {
    return validator.validate(state_->schema, SimdjsonAdapter(v), nullptr);
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception&) {
    return false;  // valijson could not read the value (see validate() for the reason)
  }
}

bool ValijsonEngine::validate(simdjson::dom::element v, std::vector<ValidationError>& errors,
                              size_t max_errors, uint64_t max_steps) const {
  PatternScope scope(state_->patterns);
  StepBudget budget(max_steps);
  BudgetScope budget_scope(budget);
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  ValidationResults results;
  bool ok;
  try {
    ok = validator.validate(state_->schema, SimdjsonAdapter(v), &results);
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    errors.push_back({"", "", std::string("valijson failed on this value: ") + e.what(), ""});
    return false;
  }
  if (ok) return true;

  std::vector<const ValidationResults::Error*> chosen;
  for (const auto& err : results) {
    if (!propagation_only(err.description)) chosen.push_back(&err);
  }
  if (chosen.empty()) {
    for (const auto& err : results) chosen.push_back(&err);
  }
  if (chosen.empty()) {
    // A false schema, or propertyNames: valijson 1.0 fails those without a message.
    errors.push_back(
        {"", "", "the value does not satisfy the schema (valijson gives no reason)", ""});
    return false;
  }
  size_t added = 0;
  for (const auto* err : chosen) {
    if (max_errors && added == max_errors) break;
    ValidationError out;
    out.pointer = valijson_context_pointer(err->context);
    out.keyword = keyword_of(err->description, draft_, out.property);
    out.message = err->description;
    errors.push_back(std::move(out));
    ++added;
  }
  return false;
}

}  // namespace cdn::schema
