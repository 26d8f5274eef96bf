// A batch of records checked against a schema together, on one thread, apart from the
// thread that reads them: the records, where they came from, and each one's result.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/record/source.hpp"
#include "common/schema/record_check.hpp"

namespace cdn::schema {

// Records read but not yet written. The text of a memory-mapped file stays where it is (the
// input stays open until the output is committed); other text is copied, so that the reader
// can go on.
struct CheckBatch {
  struct Item {
    const char* data;  // null until the copied text stops moving (see seal)
    size_t offset, size;
    uint64_t line;
    uint32_t source;  // index into sources
    std::string_view text() const { return {data, size}; }
  };
  std::string text;
  std::vector<Item> items;
  std::vector<std::string> sources;
  record::Keys keys;                 // the Kafka message keys of the items, if any
  std::vector<CheckResult> results;  // one per item, once checked
  FailureTable failures;             // of this batch, when the checker is given a table
  double seconds = 0;                // time spent checking it (--metrics-addr)

  // `stable`: the text stays valid, with its padding, until the batch is written.
  void add(std::string_view rec, uint64_t line, const std::string& source, bool stable);
  size_t size_bytes() const { return text.size() + bytes; }
  // Checks every record (sealing the copied text first); failures counted when `summary`.
  void check(RecordChecker& checker, bool summary);
  void clear();

 private:
  void seal();
  size_t bytes = 0;  // of the records not copied
};

}  // namespace cdn::schema
