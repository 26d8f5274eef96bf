#include "common/model/distributed.hpp"

#include <algorithm>
#include <exception>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/signals.hpp"
#include "common/model/metrics.hpp"

namespace cdn::model::distributed {

namespace {
std::string num_text(double v) {
  std::string s;
  base::append_double(s, v);
  return s;
}

std::vector<std::pair<std::string, std::string>> lines_of(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(at, nl - at);
    size_t eq = line.find('=');
    out.emplace_back(line.substr(0, eq), eq == std::string::npos ? "" : line.substr(eq + 1));
    at = nl + 1;
  }
  return out;
}

// Length-prefixed strings ("3:FRA" ...), which any byte may be in.
void put(std::string& out, const std::string& s) {
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

bool take(const std::string& in, size_t& at, std::string& s) {
  size_t colon = in.find(':', at);
  if (colon == std::string::npos) return false;
  size_t n = std::stoul(in.substr(at, colon - at));
  if (colon + 1 + n > in.size()) return false;
  s = in.substr(colon + 1, n);
  at = colon + 1 + n;
  return true;
}

// Whether a failure in XGBoost came from the collective (a worker gone or silent).
bool collective_failure(const std::string& what) {
  for (const char* w : {"Allreduce", "Broadcast", "allreduce", "broadcast", "imeout", "ocket",
                        "onnection", "Poll", "ReConnectLink", "link"}) {
    if (what.find(w) != std::string::npos) return true;
  }
  return false;
}
}  // namespace

std::string setup_text(const Contract& c, const TrainOptions& o, const std::string& validation) {
  std::string s;
  auto line = [&s](const std::string& what, const std::string& value) {
    s += what + "=" + value + "\n";
  };
  line("--objective", c.objective);
  line("--label", c.label);
  line("the schema (its XXH64)", c.schema_hash);
  line("the features (--schema, --drop, --time-features, --model-in; XXH64)",
       hash_hex(c.to_json()));
  line("--rounds", std::to_string(o.rounds));
  line("--max-depth", std::to_string(o.max_depth));
  line("--eta", num_text(o.eta));
  line("--subsample", num_text(o.subsample));
  line("--colsample", num_text(o.colsample));
  line("--scale-pos-weight", num_text(o.scale_pos_weight));
  line("--seed", std::to_string(o.seed));
  std::string params;
  for (const auto& [k, v] : o.params) params += (params.empty() ? "" : ",") + k + "=" + v;
  line("--param", params.empty() ? "(none)" : params);
  line("--early-stopping", std::to_string(o.early_stopping));
  line("--threshold", num_text(o.threshold));
  line("the validation data", validation);
  line("--model-in (its model's XXH64)",
       o.model_in.empty() ? "(none)" : hash_hex({o.model_in.data(), o.model_in.size()}));
  return s;
}

void agree_setup(collective::Communicator& comm, const std::string& setup) {
  if (!comm.distributed()) return;
  comm.set_step("the agreement on the setup");
  std::vector<std::string> all = comm.allgather(setup);
  auto first = lines_of(all[0]);
  std::string diffs;
  int shown = 0;
  for (size_t r = 1; r < all.size(); ++r) {
    auto mine = lines_of(all[r]);
    for (size_t k = 0; k < std::max(first.size(), mine.size()); ++k) {
      const std::string what = k < first.size() ? first[k].first : mine[k].first;
      const std::string a = k < first.size() ? first[k].second : "(nothing)";
      const std::string b = k < mine.size() ? mine[k].second : "(nothing)";
      if (a == b) continue;
      if (shown++ < 3) {
        diffs += (diffs.empty() ? "" : "; ") + std::string("worker ") + std::to_string(r) +
                 " has " + what + " " + b + " where worker 0 has " + a;
      }
    }
  }
  if (diffs.empty()) return;
  if (shown > 3) diffs += "; and " + std::to_string(shown - 3) + " more";
  throw UsageError(comm.who() + ": the workers disagree on the setup: " + diffs +
                   "; give every worker the same options and schema (only the inputs, --rank "
                   "and --threads may differ)");
}

void agree_vocabularies(collective::Communicator& comm, const Contract& c, CsvLoader& loader) {
  if (!comm.distributed()) return;
  comm.set_step("the agreement on the categories");
  std::string mine;
  for (const auto& f : c.features) {
    if (!f.learned) continue;
    mine += std::to_string(f.categories.size()) + ";";
    for (const auto& cat : f.categories) put(mine, cat);
  }
  std::vector<std::string> all = comm.allgather(mine);
  size_t added = 0;
  for (size_t r = 0; r < all.size(); ++r) {
    if (static_cast<int>(r) == comm.rank()) continue;
    size_t at = 0;
    for (size_t f = 0; f < c.features.size(); ++f) {
      if (!c.features[f].learned) continue;
      size_t semi = all[r].find(';', at);
      if (semi == std::string::npos)
        throw RuntimeError(comm.who() + ": a worker sent categories cdn cannot read");
      size_t n = std::stoul(all[r].substr(at, semi - at));
      at = semi + 1;
      std::vector<std::string> cats(n);
      for (auto& cat : cats) {
        if (!take(all[r], at, cat))
          throw RuntimeError(comm.who() + ": a worker sent categories cdn cannot read");
      }
      size_t before = c.features[f].categories.size();
      loader.learn_categories(f, cats);
      added += c.features[f].categories.size() - before;
    }
  }
  diag::debug(comm.who() + ": " + std::to_string(added) +
              " categories learned from the other workers' data");
}

void agree_rows(collective::Communicator& comm, const Dataset& train, const Dataset* valid) {
  if (!comm.distributed()) return;
  comm.set_step("the count of rows");
  auto n = static_cast<size_t>(comm.size());
  std::vector<int64_t> rows(2 * n, 0);
  rows[2 * static_cast<size_t>(comm.rank())] = static_cast<int64_t>(train.rows());
  rows[2 * static_cast<size_t>(comm.rank()) + 1] = valid ? static_cast<int64_t>(valid->rows()) : 0;
  comm.allreduce(rows, collective::Op::sum);
  std::string without;
  int64_t train_total = 0, valid_total = 0;
  for (size_t r = 0; r < n; ++r) {
    train_total += rows[2 * r];
    valid_total += rows[2 * r + 1];
    if (rows[2 * r] == 0 || (valid != nullptr && rows[2 * r + 1] == 0)) {
      without += (without.empty() ? "" : ", ") + std::to_string(r);
    }
  }
  if (!without.empty()) {
    throw UsageError(comm.who() + ": worker(s) " + without + " hold no training rows" +
                     (valid ? " or no validation rows" : "") +
                     "; give every worker a share of the data");
  }
  diag::summary(comm.who() + ": the group holds " + std::to_string(train_total) + " training and " +
                std::to_string(valid_total) + " validation rows on " + std::to_string(n) +
                " workers");
}

std::vector<uint64_t> sum(collective::Communicator& comm, const std::vector<uint64_t>& mine) {
  if (!comm.distributed()) return mine;
  std::vector<int64_t> v(mine.begin(), mine.end());
  comm.allreduce(v, collective::Op::sum);
  return {v.begin(), v.end()};
}

float max(collective::Communicator& comm, float mine) {
  if (!comm.distributed()) return mine;
  std::vector<double> v{mine};
  comm.allreduce(v, collective::Op::max);
  return static_cast<float>(v[0]);
}

TrainResult train(collective::Communicator& comm, const Contract& contract, const Dataset& train,
                  const Dataset* valid, TrainOptions o) {
  if (!comm.distributed()) return model::train(contract, train, valid, o);
  o.xgboost_metrics = true;
  comm.set_step("the boosting rounds");
  const std::string interrupted =
      comm.who() +
      ": interrupted; the workers train one model together, so the run stops as a whole: no "
      "bundle written";
  TrainResult r;
  try {
    r = model::train(contract, train, valid, o);
  } catch (const RuntimeError& e) {
    // A signal interrupts XGBoost's wait for the others too.
    if (io::stop_requested()) throw RuntimeError(interrupted);
    if (!collective_failure(e.what())) throw RuntimeError(comm.who() + ": " + e.what());
    throw RuntimeError(comm.lost_message(e.what()) + "; no bundle written");
  }
  if (io::stop_requested()) throw RuntimeError(interrupted);
  comm.set_step("the final metrics");
  const Dataset& eval = valid != nullptr ? *valid : train;
  std::vector<float> p = comm.allgather(r.final_predictions);
  std::vector<float> y = comm.allgather(eval.y);
  std::string on = r.final_metrics.evaluated_on;
  r.final_metrics = evaluate(label_kind(contract.objective), p, y, contract.num_class, o.threshold);
  r.final_metrics.evaluated_on = on;
  r.workers = comm.size();
  return r;
}

void write_once(collective::Communicator& comm, const std::function<void()>& write) {
  if (!comm.distributed()) return write();
  std::exception_ptr failed;
  std::string message;
  if (comm.rank() == 0) {
    try {
      write();
    } catch (const std::exception& e) {
      failed = std::current_exception();
      message = e.what();
      if (message.empty()) message = "failed";
    }
  }
  comm.set_step("the writing of the bundle");
  std::vector<std::string> said = comm.allgather(message);
  if (failed) std::rethrow_exception(failed);
  if (!said[0].empty()) {
    throw RuntimeError(comm.who() + ": worker 0 could not write the bundle: " + said[0]);
  }
}

}  // namespace cdn::model::distributed
