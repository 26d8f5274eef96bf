// JSON Schema drafts 4, 6 and 7, compiled once and checked against simdjson documents.
//
// The schema is read with simdjson, checked against its draft's meta-schema, and compiled
// into a graph of nodes (common/schema/node.hpp) with every $ref resolved: references inside
// the document, to files next to it, and to the draft meta-schemas (which are built in).
// Patterns run on RE2, whose matching time is linear in the input, and formats on
// hand-written scanners, so no instance can make a check backtrack or recurse without bound.
// compiler.cpp reads and compiles schemas (resolving references with uri.hpp), checker.cpp
// checks values, find_schema.cpp finds cdn's own schema files.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/schema/node.hpp"

namespace cdn::schema {

struct ValidationError {
  std::string pointer;  // the instance location, a JSON Pointer ("" is the whole value)
  std::string keyword;  // the keyword that failed: "minimum", "required", ...
  std::string message;
  std::string property;  // required and dependencies: the missing property's name
};

class Validator {
 public:
  // Reads and compiles the schema file at `path`. Throws UsageError saying what is wrong
  // (unreadable, not JSON, not a valid schema of its draft, a pattern RE2 cannot run, an
  // unresolvable $ref).
  static std::unique_ptr<Validator> from_file(const std::string& path);
  // The same from schema text; relative references resolve against `base_uri`
  // (e.g. "file:///dir/schema.json"). `check_meta` = false skips the meta-schema check.
  static std::unique_ptr<Validator> from_text(std::string_view text, const std::string& base_uri,
                                              bool check_meta = true);

  ~Validator();
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  int draft() const { return draft_; }
  const Node& root() const { return *root_; }

  // True when `v` satisfies the schema. Thread-safe.
  //
  // Checking takes at most one visit per (subschema, value) pair however the combinators
  // reach it, and at most `max_steps` steps (0: no limit; see StepBudget in
  // json_compare.hpp): past them it throws StepLimitExceeded. A stop request (SIGINT,
  // SIGTERM) ends it within about a thousand steps with cdn::Interrupted.
  bool valid(simdjson::dom::element v, uint64_t max_steps = 0) const;
  // Collects up to max_errors errors (0 = all) in document order; true when there were none.
  // Limits and throws as valid() does.
  bool validate(simdjson::dom::element v, std::vector<ValidationError>& errors,
                size_t max_errors = 0, uint64_t max_steps = 0) const;

  struct Document;  // a schema document with its parser (schema values point into it)

 private:
  Validator();
  friend class Compiler;

  int draft_ = 7;
  const Node* root_ = nullptr;
  std::deque<Node> nodes_;
  std::vector<std::unique_ptr<Document>> docs_;
};

// JSON equality as JSON Schema defines it: numbers by exact value (1 equals 1.0), objects
// whatever the order of their members (json_compare.hpp).
bool json_equal(simdjson::dom::element a, simdjson::dom::element b);

// The built-in meta-schema of draft 4, 6 or 7 (schemas/meta/draft-0N.json).
std::string_view meta_schema_text(int draft);

}  // namespace cdn::schema

namespace cdn::schema {

// The path of one of cdn's own schemas (e.g. "cdn-data.json"): under $CDN_SCHEMA_DIR when
// set, else next to the binary (../share/cdn/schemas, as installed), else in the source tree
// it was built from, else the install prefix. Throws UsageError when none has it.
std::string find_schema(const std::string& file);

}  // namespace cdn::schema
