// Options that name fields of the records (predict --keep, load-influx --tag, sort -k,
// produce --key-field, ...) held against the records a run reads. A name that none of the
// first records has is most likely mistyped, and the option naming it does nothing (or has
// every record rejected): one warning a run names it, the option, the nearest field the
// records have ("did you mean") and the fields they have. A field some records have and
// others lack is no mistake and is not reported.
//
// The owner of the input (endpoint::InputSet) shows it the records as they are read: the
// warning comes once kSample records are read, once the input pauses a second after its
// first record (a live stream), or at the end of the input, whichever is first. After it,
// records pass by at the cost of a test.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/record/source.hpp"

namespace cdn::record {

class FieldWatch {
 public:
  static constexpr uint64_t kSample = 1000;

  FieldWatch();
  ~FieldWatch();
  FieldWatch(const FieldWatch&) = delete;
  FieldWatch& operator=(const FieldWatch&) = delete;

  // The field names an option gave. `paths`: a name is a dotted path into nested objects
  // ("a.b"), as sort -k and produce --key-field read it; else a top-level member's name.
  // Empty names are left out (the option refuses them).
  void expect(std::string_view option, const std::vector<std::string>& names, bool paths = false);

  // True while records are wanted: names are expected and no warning was due yet.
  bool watching() const { return !done_ && !expected_.empty(); }
  // One record's JSON text (any padding; it is copied). Text that is not a JSON object is
  // left out. The kSample-th record reports.
  void see(std::string_view text);
  // The NDJSON lines of a chunk of a mapped file (record::LineChunk), as many as wanted.
  void see_lines(std::string_view bytes, bool starts_source);
  // The input waits for more: reports when its first record came a second ago or more.
  void idle();
  // Warns, once, about the names no record seen had. Nothing when no record was seen.
  void report();

 private:
  struct Name {
    std::string option, name;
    std::vector<std::string> path;  // empty: a top-level member
    bool seen = false;
  };
  std::vector<Name> expected_;
  bool paths_ = false;  // some name is a path of more than one step
  bool done_ = false;
  uint64_t records_ = 0;
  std::chrono::steady_clock::time_point first_;
  // The fields the records had (dotted paths when paths_), in the order first met.
  std::vector<std::string> fields_;
  std::unordered_set<std::string> known_;
  struct Parser;
  std::unique_ptr<Parser> parser_;
};

// A Source shown to a FieldWatch record by record; everything else passes through. For
// inputs read without an endpoint::InputSet (sort --merge, predict --exactly-once); the owner
// calls report() at the end.
class WatchedSource : public Source {
 public:
  WatchedSource(std::unique_ptr<Source> in, FieldWatch& watch)
      : owned_(std::move(in)), in_(*owned_), watch_(watch) {}
  // Not owning `in`, which must outlive this.
  WatchedSource(Source& in, FieldWatch& watch) : in_(in), watch_(watch) {}
  bool next(Record& rec) override {
    if (!in_.next(rec)) return false;
    if (watch_.watching()) watch_.see(rec.text);
    return true;
  }
  const std::string& name() const override { return in_.name(); }
  bool stable() const override { return in_.stable(); }
  size_t size_hint() const override { return in_.size_hint(); }
  bool acknowledges() const override { return in_.acknowledges(); }
  void acknowledge() override { in_.acknowledge(); }
  void on_idle(std::function<void()> f) override;
  ChunkResult next_chunk(LineChunk& c, size_t size) override {
    ChunkResult r = in_.next_chunk(c, size);
    if (r == ChunkResult::chunk && watch_.watching()) watch_.see_lines(c.bytes, c.starts_source);
    return r;
  }

 private:
  std::unique_ptr<Source> owned_;
  Source& in_;
  FieldWatch& watch_;
};

}  // namespace cdn::record
