// The model bundle: one directory holding the model (UBJSON and JSON), the feature contract
// with its category maps, parameters, metrics, a data summary and the feature importance,
// tied together by hashes that cdn predict checks before it trusts the parts.
//
//   manifest.json    format, version, and the hashes of model.ubj, contract.json, the schema
//   model.ubj        the booster (XGBoost's UBJSON); model.json the same as JSON
//   contract.json    features, their kinds and category maps, the label, the objective
//   params.json      the XGBoost parameters and the training options
//   metrics.json     the metrics of every round and the final ones
//   summary.json     rows, label balance, per-feature min/max/missing
//   importance.json  gain, weight and cover per feature
//   report.html      the training report (common/model/report.hpp); not hashed, since
//                    nothing reads it back
// The contract's hash is also an attribute of the model (cdn_contract_hash).
#pragma once

#include <optional>
#include <string>

#include "common/model/contract.hpp"
#include "common/model/drift.hpp"
#include "common/model/xgb.hpp"

namespace cdn::model {

struct BundleFiles {
  std::string params, metrics, summary, importance;  // JSON texts
  std::string report;                                // HTML; no report.html when empty
  std::string reference;                             // reference.json (drift); none when empty
};

// Throws UsageError when `dir` is neither new, nor empty, nor a bundle (checked before
// training, and again by write_bundle).
void check_bundle_target(const std::string& dir);

// Writes the bundle into a fresh directory beside `dir`, then puts it in place: an existing
// bundle there is replaced; any other existing directory or file is refused (UsageError).
void write_bundle(const std::string& dir, const Contract& contract, xgb::Booster& booster,
                  const BundleFiles& files);

struct Bundle {
  std::string dir;  // where it was read from
  Contract contract;
  xgb::Booster booster;
  std::string contract_hash;
  std::string model_hash;  // XXH64 of model.ubj: the model's name in predictions ("model")
  // The training data's distributions (reference.json), for drift; bundles of cdn before it
  // have none.
  std::optional<Reference> reference;
};

// Reads and checks a bundle; throws UsageError when a part is missing or the parts do not
// belong together.
Bundle read_bundle(const std::string& dir);

}  // namespace cdn::model
