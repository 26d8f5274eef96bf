// The prediction loop: records gathered into batches, batches scored by a pool of workers,
// results written in input order. A batch closes at --batch-size records; when a record
// arrives --flush-interval or more after the batch's first one (then everything read so far is
// written and flushed); and whenever the input has nothing new (a Kafka topic), so a live
// stream is not held back.
#pragma once

#include <cstdint>
#include <vector>

#include "common/model/scorer.hpp"
#include "common/pipeline/context.hpp"
#include "common/record/source.hpp"

namespace cdn::model {

// Where a new model comes from while the stream runs (cdn predict's hot swap): loaded and
// checked away from the stream, it takes over between two batches.
class ModelSource {
 public:
  virtual ~ModelSource() = default;
  // A scorer ready to take over, or null. Called for every record: cheap.
  virtual const Scorer* candidate() = 0;
  // The candidate took over (ok), or was refused for `why`; either way it is no longer one.
  virtual void taken(bool ok, const std::string& why) = 0;
};

struct ServeOptions {
  size_t batch_size = 4096;
  int linger_ms = 100;
  unsigned threads = 0;  // 0: one per core
  // Commit the output (and so the Kafka offsets of the input) whenever the input goes idle
  // and every commit_ms while it flows; for outputs that can be committed more than once.
  bool periodic_commit = false;
  int commit_ms = 1000;
  ModelSource* models = nullptr;      // a model may take over while the stream runs
  bool shadow = false;                // a --shadow model scores beside (its metrics)
  class DriftWatch* drift = nullptr;  // counts Batch::drift (ScoreOptions::drift)
};

// Per feature, over the whole run.
struct ServeTally {
  std::vector<uint64_t> unknown;  // values outside its learned vocabulary
  std::vector<uint64_t> missing;  // records without it
  // The contract of the model in use at the end: the counts are since it took over when its
  // features differ from the model's before it.
  const Contract* contract = nullptr;
};

// Throws UsageError when the first records the model reads do not fit it at all: fewer than
// half of them hold half its features (a model of other data).
ServeTally serve(const Scorer& scorer, record::Source& in, pipeline::RunContext& ctx,
                 const ServeOptions& opts);

// "N unknown categories (f 1, g 2) counted as missing[, M missing values (h 3)]", for the
// summary line.
std::string tally_text(const Contract& c, const ServeTally& t);

}  // namespace cdn::model
