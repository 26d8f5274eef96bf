#include "common/schema/record_check.hpp"

#include <algorithm>

#include "common/base/json_pointer.hpp"
#include "common/base/json_text.hpp"
#include "common/base/printable.hpp"
#include "common/diag/errors.hpp"
#include "common/record/json_syntax.hpp"

namespace cdn::schema {

void FailureTable::merge(const FailureTable& other) {
  for (const auto& [k, n] : other.counts_) counts_[k] += n;
}

std::string FailureTable::table(size_t rows) const {
  // Paths name members of the records: nothing in them acts on a terminal.
  std::vector<std::pair<uint64_t, std::pair<std::string, std::string>>> v;
  for (const auto& [k, n] : counts_) {
    v.push_back({n, {base::escape_controls(k.first), base::escape_controls(k.second)}});
  }
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t kw_width = 7;
  for (const auto& [n, k] : v) kw_width = std::max(kw_width, k.first.size());
  std::string out = "    count  keyword";
  out.append(kw_width - 7 + 2, ' ');
  out += "path\n";
  for (size_t i = 0; i < v.size() && i < rows; ++i) {
    std::string count = std::to_string(v[i].first);
    out.append(count.size() < 9 ? 9 - count.size() : 0, ' ');
    out += count;
    out += "  ";
    out += v[i].second.first;
    out.append(kw_width - v[i].second.first.size() + 2, ' ');
    out += v[i].second.second.empty() ? "(the record)" : v[i].second.second;
    out += '\n';
  }
  if (v.size() > rows) out += "  ... and " + std::to_string(v.size() - rows) + " more rows\n";
  return out;
}

void RecordChecker::check(std::string_view text, CheckResult& r, FailureTable* failures) {
  r.kind = CheckResult::Kind::valid;
  r.changes.clear();
  r.keyed = false;
  simdjson::dom::element doc;
  if (auto err = parser_.parse(text.data(), text.size(), false).get(doc)) {
    r.kind = CheckResult::Kind::invalid;
    r.reason = record::describe_json_error(text, simdjson::error_message(err));
    r.members.clear();
    if (failures) {
      failures->add(r.reason.starts_with("not JSON") ? "(not JSON)" : "(number out of range)", "");
    }
    return;
  }
  if (opts_.coerce && coerce(v_.root(), doc, opts_.coerce_opts, r.text,
                             opts_.keep_changes ? &r.changes : nullptr)) {
    r.kind = CheckResult::Kind::coerced;
    if (coerced_parser_.parse(r.text).get(doc)) {
      r.kind = CheckResult::Kind::invalid;  // cannot happen: the coercion writes JSON
      r.reason = "the coerced record is not JSON; please report this";
      r.members.clear();
      return;
    }
  }
  if (opts_.key_field) r.keyed = opts_.key_field->of(doc, r.key).has_value();
  const uint64_t limit = step_limit(text.size());
  errors_.clear();
  try {
    if (valijson_ ? valijson_->valid(doc, limit) : v_.valid(doc, limit)) return;
    if (valijson_) {
      valijson_->validate(doc, errors_, opts_.max_errors, limit);
    } else {
      v_.validate(doc, errors_, opts_.max_errors, limit);
    }
  } catch (const StepLimitExceeded& e) {
    r.kind = CheckResult::Kind::invalid;
    r.reason = "checking this record took more than " + std::to_string(e.limit) + " steps (" +
               std::to_string(kStepsPerRecord) + " and " + std::to_string(kStepsPerByte) +
               " a byte of the record), so it was stopped: the schema applies its subschemas "
               "to these values too many times over; simplify the schema, or split the record";
    r.members.clear();
    if (failures) failures->add("(step limit)", "");
    return;
  } catch (const Interrupted& e) {
    // The record is not dropped: it goes to the rejects, whose reason says it was not checked.
    r.kind = CheckResult::Kind::invalid;
    r.reason = std::string("not checked: the run was stopped by ") +
               (e.signal == 2 ? "SIGINT" : "SIGTERM") + " while this record was being checked";
    r.members.clear();
    if (failures) failures->add("(interrupted)", "");
    return;
  }
  r.kind = CheckResult::Kind::invalid;
  r.reason.clear();
  if (errors_.size() > 1) {
    r.reason += std::to_string(errors_.size());
    r.reason +=
        opts_.max_errors && errors_.size() >= opts_.max_errors ? " or more errors: " : " errors: ";
  }
  r.members = ",\"errors\":[";
  for (size_t i = 0; i < errors_.size(); ++i) {
    const auto& e = errors_[i];
    if (i) {
      r.reason += "; ";
      r.members += ',';
    }
    if (!e.pointer.empty()) {
      r.reason += e.pointer;
      r.reason += ' ';
    }
    if (!e.keyword.empty()) {
      r.reason += e.keyword;
      r.reason += ": ";
    }
    r.reason += e.message;
    r.members += "{\"pointer\":";
    base::append_json_string(r.members, e.pointer);
    r.members += ",\"keyword\":";
    base::append_json_string(r.members, e.keyword);
    r.members += ",\"message\":";
    base::append_json_string(r.members, e.message);
    r.members += '}';
    if (failures) {
      if (e.property.empty()) {
        failures->add(e.keyword, e.pointer);
      } else {
        std::string p = e.pointer;
        base::append_pointer_token(p, e.property);
        failures->add(e.keyword, p);
      }
    }
  }
  r.members += ']';
  if (errors_.empty()) {  // cannot happen: valid() and validate() agree
    r.reason = "the record does not satisfy the schema";
  }
}

}  // namespace cdn::schema
