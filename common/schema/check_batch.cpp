#include "common/schema/check_batch.hpp"

#include <simdjson.h>

namespace cdn::schema {

void CheckBatch::add(std::string_view rec, uint64_t line, const std::string& source, bool stable) {
  if (sources.empty() || sources.back() != source) sources.push_back(source);
  auto src = static_cast<uint32_t>(sources.size() - 1);
  if (stable) {
    items.push_back({rec.data(), 0, rec.size(), line, src});
    bytes += rec.size();
  } else {
    items.push_back({nullptr, text.size(), rec.size(), line, src});
    text.append(rec);
    text += '\n';
  }
}

// The copied text is complete: padding for simdjson, and every item's pointer.
void CheckBatch::seal() {
  text.append(simdjson::SIMDJSON_PADDING, '\0');
  for (auto& it : items) {
    if (!it.data) it.data = text.data() + it.offset;
  }
}

void CheckBatch::check(RecordChecker& checker, bool summary) {
  seal();
  results.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    checker.check(items[i].text(), results[i], summary ? &failures : nullptr);
  }
}

// The results' buffers are kept for the next records.
void CheckBatch::clear() {
  text.clear();
  items.clear();
  sources.clear();
  keys.clear();
  seconds = 0;
  failures = FailureTable();
  bytes = 0;
}

}  // namespace cdn::schema
