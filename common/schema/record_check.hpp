// One record against a compiled schema: parse it, coerce it when asked, check it, and say
// why it fails. One RecordChecker per thread (it owns its parsers); the Validator is shared.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/record/message_key.hpp"
#include "common/schema/coerce.hpp"
#include "common/schema/validator.hpp"
#include "common/schema/valijson_engine.hpp"

namespace cdn::schema {

struct CheckOptions {
  size_t max_errors = 20;  // per record; 0 = all
  bool coerce = false;
  CoerceOptions coerce_opts;
  bool keep_changes = false;  // fill CheckResult::changes
  // --key-field: CheckResult::key from this field of the record (as written out).
  const record::KeyField* key_field = nullptr;
};

struct CheckResult {
  enum class Kind : uint8_t { valid, coerced, invalid };
  Kind kind = Kind::valid;
  std::string text;     // coerced: the record as written out
  std::string reason;   // invalid: one line for the rejects sink
  std::string members;  // invalid: `,"errors":[...]` for the rejects line
  std::vector<Change> changes;
  bool keyed = false;  // with CheckOptions::key_field: the record gave `key`
  std::string key;
};

// The steps (see StepBudget) checking one record may take: kStepsPerRecord, and
// kStepsPerByte more for each byte of its text. A record past them is rejected with a reason
// that says so; no schema that visits each value a few times comes near.
constexpr uint64_t kStepsPerRecord = 1000000;
constexpr uint64_t kStepsPerByte = 1000;
inline uint64_t step_limit(size_t bytes) {
  return kStepsPerRecord + kStepsPerByte * static_cast<uint64_t>(bytes);
}

// How often which keyword failed at which instance location.
class FailureTable {
 public:
  void add(const std::string& keyword, const std::string& pointer) {
    ++counts_[{keyword, pointer}];
  }
  void merge(const FailureTable& other);
  bool empty() const { return counts_.empty(); }
  // "  count  keyword  path" rows, most frequent first, at most `rows` of them.
  std::string table(size_t rows = 50) const;

 private:
  std::map<std::pair<std::string, std::string>, uint64_t> counts_;
};

class RecordChecker {
 public:
  // Records are checked by `v`, or by `valijson` when given (the reference engine); the
  // coercion always follows `v`'s compiled schema.
  RecordChecker(const Validator& v, const CheckOptions& opts,
                const ValijsonEngine* valijson = nullptr)
      : v_(v), opts_(opts), valijson_(valijson) {}

  // `text` must be followed by simdjson::SIMDJSON_PADDING readable bytes.
  void check(std::string_view text, CheckResult& r, FailureTable* failures);

 private:
  const Validator& v_;
  const CheckOptions& opts_;
  const ValijsonEngine* valijson_;
  simdjson::dom::parser parser_, coerced_parser_;
  std::vector<ValidationError> errors_;
};

}  // namespace cdn::schema
