// What a run counts (records in = records out + records rejected), and the rejects sink that
// every bad record goes to, with its reason.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/io/sink.hpp"

namespace cdn::record {

struct Counts {
  uint64_t in = 0;
  uint64_t out = 0;
  uint64_t rejected = 0;
};

// One NDJSON line per bad record: {"command","source","line","reason","record"}. Every line is
// UTF-8, as JSON text must be: a byte of the record (or of the source name, or the reason) that
// is not part of a well-formed UTF-8 sequence is written as U+FFFD, and a record with such
// bytes gets "record_base64", its exact bytes, as well.
class Rejects {
 public:
  Rejects(std::string command, std::unique_ptr<io::Sink> sink, Counts& counts)
      : command_(std::move(command)), sink_(std::move(sink)), counts_(counts) {}

  void reject(std::string_view source, uint64_t line, std::string_view reason,
              std::string_view raw);
  // The same with more members after "record": `members` is JSON text that starts with a
  // comma, e.g. `,"errors":[...]` (schemas/reject.json lists the members allowed).
  void reject(std::string_view source, uint64_t line, std::string_view reason, std::string_view raw,
              std::string_view members);
  io::Sink& sink() { return *sink_; }

 private:
  std::string command_;
  std::unique_ptr<io::Sink> sink_;
  Counts& counts_;
  std::string scratch_;
  std::string tmp_;
};

}  // namespace cdn::record
