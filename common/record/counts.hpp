// What a run counts (records in = records out + records rejected), and the rejects sink that
// every bad record goes to, with its reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/diag/metric.hpp"
#include "common/io/sink.hpp"

namespace cdn::record {

// A count one thread writes and any may read (the --metrics-addr server): relaxed atomic
// loads and stores, which cost what plain ones do; not for two writers.
class Tally {
 public:
  Tally() = default;
  Tally(uint64_t v) : v_(v) {}  // NOLINT(google-explicit-constructor): a count as a number
  Tally(const Tally& o) : v_(o.get()) {}
  Tally& operator=(const Tally& o) {
    set(o.get());
    return *this;
  }
  Tally& operator=(uint64_t v) {
    set(v);
    return *this;
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const { return get(); }  // NOLINT(google-explicit-constructor)
  Tally& operator++() {
    set(get() + 1);
    return *this;
  }
  uint64_t operator++(int) {
    uint64_t old = get();
    set(old + 1);
    return old;
  }
  Tally& operator--() {
    set(get() - 1);
    return *this;
  }
  Tally& operator+=(uint64_t n) {
    set(get() + n);
    return *this;
  }
  Tally& operator-=(uint64_t n) {
    set(get() - n);
    return *this;
  }

 private:
  void set(uint64_t v) { v_.store(v, std::memory_order_relaxed); }
  std::atomic<uint64_t> v_{0};
};

struct Counts {
  Tally in = 0;
  Tally out = 0;
  Tally rejected = 0;
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
  // The same with more members after "record" (`key`: the Kafka message key of the record,
  // kept on a rejects topic): `members` is JSON text that starts with a
  // comma, e.g. `,"errors":[...]` (schemas/reject.json lists the members allowed).
  void reject(std::string_view source, uint64_t line, std::string_view reason, std::string_view raw,
              std::string_view members, std::optional<std::string_view> key = std::nullopt);
  io::Sink& sink() { return *sink_; }
  // Counts each reject by diag::reason_label of its reason too (--metrics-addr).
  void count_reasons(diag::LabeledCounter* by_reason) { by_reason_ = by_reason; }

 private:
  std::string command_;
  std::unique_ptr<io::Sink> sink_;
  Counts& counts_;
  std::string scratch_;
  std::string tmp_;
  diag::LabeledCounter* by_reason_ = nullptr;
};

}  // namespace cdn::record
