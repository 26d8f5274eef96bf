// A second, reference engine for cdn validate: valijson (Debian's libvalijson-dev 1.0) run on
// simdjson documents through common/schema/valijson_adapter.hpp.
//
// valijson 1.0 runs `pattern`, `patternProperties` and the formats date, time and date-time on
// std::regex, which backtracks and can exhaust the stack on a long string. This engine replaces
// those checks (valijson_engine.cpp specializes the visitor's member functions) with RE2, whose
// matching time is linear in the input, and with cdn's own format scanners
// (common/schema/formats.hpp: date-time, date, time, ipv4, ipv6, email, hostname, uri), so no
// std::regex runs while an instance is validated. Patterns are compiled when the schema is
// loaded; one RE2 cannot run (lookaround, backreferences) refuses the schema.
//
// valijson's headers (validator, schema parser) are included by valijson_engine.cpp only: its
// explicit specializations must be seen wherever valijson's visitor is instantiated for
// SimdjsonAdapter, so no other file may instantiate it.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/schema/validator.hpp"

namespace cdn::schema {

class ValijsonEngine {
 public:
  // Reads the schema file at `path` and parses it with valijson. The draft comes from
  // "$schema" (draft 4, or draft 7 when absent; draft 6 is parsed as draft 7). $ref may point
  // inside the schema, to files next to it, and to the draft meta-schemas (built in). Throws
  // UsageError saying what is wrong (unreadable, not JSON, refused by valijson, a pattern RE2
  // cannot run, an unresolvable $ref).
  static std::unique_ptr<ValijsonEngine> from_file(const std::string& path);
  // The same from schema text; relative references resolve against the directory of
  // `base_path_or_uri`, a file path or a file:// URI ("" for the working directory).
  static std::unique_ptr<ValijsonEngine> from_text(std::string_view text,
                                                   const std::string& base_path_or_uri);

  ~ValijsonEngine();
  ValijsonEngine(const ValijsonEngine&) = delete;
  ValijsonEngine& operator=(const ValijsonEngine&) = delete;

  // The draft valijson parsed the schema as: 4 or 7.
  int draft() const { return draft_; }

  // True when `v` satisfies the schema. Thread-safe: the schema and the compiled patterns are
  // only read, and each call has its own valijson validator.
  //
  // Each type query valijson makes of a value costs a step of a StepBudget of `max_steps`
  // (0: no limit): past them this throws StepLimitExceeded, and a stop request (SIGINT,
  // SIGTERM) throws cdn::Interrupted, so that no value keeps valijson busy for long.
  bool valid(simdjson::dom::element v, uint64_t max_steps = 0) const;
  // Collects up to max_errors errors (0 = all), innermost first as valijson reports them; true
  // when there were none. pointer is the instance location as a JSON Pointer; keyword is the
  // keyword when valijson's message names it (else ""); message is valijson's description.
  bool validate(simdjson::dom::element v, std::vector<ValidationError>& errors,
                size_t max_errors = 0, uint64_t max_steps = 0) const;

  struct State;  // valijson's schema and the compiled patterns

 private:
  ValijsonEngine();

  int draft_ = 7;
  std::unique_ptr<State> state_;
};

// valijson's context path as a JSON Pointer: {"<root>", "[3]", "[a/b]"} is "/3/a~1b".
// valijson 1.0 writes array indexes and property names alike in brackets, unquoted; a pointer
// does not tell them apart either. "~" and "/" are escaped as "~0" and "~1".
std::string valijson_context_pointer(const std::vector<std::string>& context);

}  // namespace cdn::schema
