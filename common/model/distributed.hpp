// Distributed training: what the workers of cdn train agree on over the collective
// (collective.hpp) so that they train one model: the setup (options, schema, contract) before
// any data is read, the categories any worker saw, the counts over all the data, and the
// final metrics over every worker's rows. Every check ends alike on every worker: each sees
// what all the others sent, and throws the same error. With a group of one, each function
// does what one process would.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/model/collective.hpp"
#include "common/model/contract.hpp"
#include "common/model/dataset.hpp"
#include "common/model/trainer.hpp"

namespace cdn::model::distributed {

// The setup as "what=value" lines: the options that shape the model (objective, label,
// rounds, depth, rates, seed, --param, early stopping, threshold), the validation choice, the
// schema and the features, and the model continued. Not the inputs, the output, the threads.
std::string setup_text(const Contract& c, const TrainOptions& o, const std::string& validation);

// Every worker's setup is worker 0's, else UsageError on every worker naming what differs on
// which worker.
void agree_setup(collective::Communicator& comm, const std::string& setup);

// After the training data is read and before loader.finish_vocabularies(): every learned
// vocabulary gets the categories that any worker saw, so that sorted they are one list, in one
// order, on every worker.
void agree_vocabularies(collective::Communicator& comm, const Contract& c, CsvLoader& loader);

// Every worker holds training rows (and validation rows when `valid` is not null), else
// UsageError on every worker naming the ones without. Logs the totals.
void agree_rows(collective::Communicator& comm, const Dataset& train, const Dataset* valid);

// Sums over the workers (rows missing each feature).
std::vector<uint64_t> sum(collective::Communicator& comm, const std::vector<uint64_t>& mine);
// The largest over the workers (the highest class label).
float max(collective::Communicator& comm, float mine);

// model::train over the group: XGBoost's evaluation for the per-round metrics (it sums over
// the workers, so early stopping stops every worker at one round), then the final metrics over
// every worker's evaluated rows (`eval`: the validation set, else the training set). A worker
// lost or a stop request is a RuntimeError saying so.
TrainResult train(collective::Communicator& comm, const Contract& contract, const Dataset& train,
                  const Dataset* valid, TrainOptions o);

// Runs `write` on worker 0 only (the bundle and the report are written once), then every
// worker learns whether it succeeded: a failure there is an error on every worker.
void write_once(collective::Communicator& comm, const std::function<void()>& write);

}  // namespace cdn::model::distributed
