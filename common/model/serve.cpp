#include "common/model/serve.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include <simdjson.h>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/metric.hpp"
#include "common/diag/service.hpp"
#include "common/io/signals.hpp"
#include "common/model/drift_watch.hpp"
#include "common/pipeline/ordered_batches.hpp"

namespace cdn::model {

namespace {
using Clock = std::chrono::steady_clock;

// One entry per source: a Kafka input switches between its partitions all the time.
uint32_t source_index(std::vector<std::string>& names, uint32_t last, const std::string& name) {
  if (!names.empty() && names[last] == name) return last;
  auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) it = names.insert(names.end(), name);
  return static_cast<uint32_t>(it - names.begin());
}

// --metrics-addr: predictions by label and the probabilities they carry.
class PredictionMetrics {
 public:
  PredictionMetrics(const Scorer& scorer, bool shadow)
      : by_label_(scorer.labels() + 1), probability_(scorer.probability()), shadow_(shadow) {
    registration_ = diag::Service::get().add_metrics([this](std::string& out) { write(out); });
  }
  void add(const Batch& b) {
    for (size_t k = 0; k < b.by_label.size() && k < by_label_.size(); ++k) {
      if (b.by_label[k]) by_label_[k] += b.by_label[k];
    }
    if (probability_) scores_.merge(b.scores, b.score_sum);
    if (shadow_) {
      std::lock_guard<std::mutex> lock(mutex_);
      shadowed_ += b.shadowed;
      agreed_ += b.agreed;
      shadow_diff_ += b.shadow_diff_sum;
      if (probability_) shadow_scores_.merge(b.shadow_scores, b.shadow_score_sum);
    }
  }

 private:
  void write(std::string& out) const {
    diag::metric_header(out, "cdn_predictions_total",
                        "Predictions written, by the label they carry (none: no label, a "
                        "regression or a binary model without --threshold).",
                        "counter");
    for (size_t k = 0; k < by_label_.size(); ++k) {
      out += "cdn_predictions_total{label=\"";
      out += k + 1 == by_label_.size() ? "none" : std::to_string(k);
      out += "\"} " + std::to_string(by_label_[k]) + "\n";
    }
    if (!probability_) return;
    diag::metric_header(out, "cdn_prediction_score",
                        "The probability each prediction gives (the most likely class's for a "
                        "multi-class model).",
                        "histogram");
    scores_.write(out, "cdn_prediction_score", "");
    if (!shadow_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    diag::metric_header(out, "cdn_shadow_predictions_total",
                        "Records the --shadow model scored beside the model.", "counter");
    out += "cdn_shadow_predictions_total " + std::to_string(shadowed_) + "\n";
    diag::metric_header(out, "cdn_shadow_agreements_total",
                        "Of them, those where the shadow gives the model's label (at the "
                        "threshold, 0.5 without one; the same class for a multi-class model).",
                        "counter");
    out += "cdn_shadow_agreements_total " + std::to_string(agreed_) + "\n";
    diag::metric_header(out, "cdn_shadow_abs_difference_total",
                        "The sum of |prediction - shadow| (of the model's class for a multi-class "
                        "model): divided by cdn_shadow_predictions_total, the mean difference.",
                        "counter");
    std::string v;
    base::append_double(v, shadow_diff_);
    out += "cdn_shadow_abs_difference_total " + v + "\n";
    if (!probability_) return;
    diag::metric_header(out, "cdn_shadow_score", "The probability each shadow prediction gives.",
                        "histogram");
    shadow_scores_.write(out, "cdn_shadow_score", "");
  }
  std::vector<record::Tally> by_label_;
  bool probability_;
  diag::Histogram scores_{diag::Histogram::tenths()};
  bool shadow_;
  mutable std::mutex mutex_;
  uint64_t shadowed_ = 0, agreed_ = 0;
  double shadow_diff_ = 0;
  diag::Histogram shadow_scores_{diag::Histogram::tenths()};
  diag::Service::Registration registration_;
};
}  // namespace

std::string tally_text(const Contract& c, const ServeTally& t) {
  auto per_feature = [&c](const std::vector<uint64_t>& counts, uint64_t& total) {
    total = 0;
    std::string per;
    for (size_t f = 0; f < counts.size() && f < c.features.size(); ++f) {
      if (counts[f] == 0) continue;
      total += counts[f];
      if (!per.empty()) per += ", ";
      per += c.features[f].name + " " + std::to_string(counts[f]);
    }
    return per;
  };
  uint64_t total;
  std::string per = per_feature(t.unknown, total);
  std::string text = std::to_string(total) + " unknown categories";
  if (total > 0) text += " (" + per + ") counted as missing";
  per = per_feature(t.missing, total);
  if (total > 0) text += ", " + std::to_string(total) + " missing values (" + per + ")";
  return text;
}

namespace {
// The error when the first records do not fit the model: the fields it wants and those the
// records hold.
// Of up to 100 records, how many hold at least half of the scorer's features (fit), and
// how many were read whole.
std::pair<uint64_t, uint64_t> fit_of(const Scorer& scorer, const std::vector<std::string>& recs) {
  const RowBuilder& builder = scorer.builder();
  std::vector<float> row(builder.width());
  std::vector<uint64_t> unknown(builder.width()), missing(builder.width());
  RowBuilder::FieldOrder order;
  simdjson::dom::parser parser;
  std::string reason;
  uint64_t read = 0, fit = 0;
  for (const auto& text : recs) {
    simdjson::dom::object obj;
    if (parser.parse(text).get_object().get(obj)) continue;
    builder.fill(obj, row.data(), reason, unknown, missing, order, nullptr);
    if (!order.read_all) continue;
    ++read;
    fit += 2 * order.held >= builder.width();
  }
  return {fit, read};
}

UsageError misfit_error(const Scorer& scorer, const Batch& b) {
  std::vector<std::string> seen;          // in the order first met
  std::unordered_set<std::string> known;  // the same (a record may have 200,000 members)
  simdjson::dom::parser parser;
  for (size_t i = 0; i < b.size() && i < 100; ++i) {
    simdjson::dom::object obj;
    if (parser.parse(b.record(i).data(), b.record(i).size(), false).get_object().get(obj)) {
      continue;
    }
    for (auto m : obj) {
      if (known.emplace(m.key).second) seen.emplace_back(m.key);
    }
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 20; ++i) s += (i ? ", " : "") + v[i];
    if (v.size() > 20) s += ", … (" + std::to_string(v.size()) + " in all)";
    return s.empty() ? std::string("none") : s;
  };
  return UsageError("the records do not fit the model " + diag::quoted(scorer.bundle().dir) + ": " +
                    std::to_string(b.read - b.fitting) + " of the first " + std::to_string(b.read) +
                    " hold fewer than half of its features. It wants the fields " +
                    list(scorer.builder().fields()) + "; they hold " + list(seen) +
                    ". Is it the model for these records?");
}
}  // namespace

ServeTally serve(const Scorer& scorer, record::Source& in, pipeline::RunContext& ctx,
                 const ServeOptions& o) {
  std::vector<std::string> names;  // source names, indexed by Batch::sources
  ServeTally tally{std::vector<uint64_t>(scorer.features(), 0),
                   std::vector<uint64_t>(scorer.features(), 0), &scorer.bundle().contract};
  bool judged = false;  // the first records read were found to fit the model
  const Scorer* current = &scorer;
  std::vector<std::string> recent;  // a few records of the last batch written: a new model
                                    // must fit them to take over
  std::unique_ptr<PredictionMetrics> metrics;
  if (ctx.measuring()) metrics = std::make_unique<PredictionMetrics>(scorer, o.shadow);
  bool keyed = ctx.out().takes_keys();
  auto write = [&](std::unique_ptr<Batch>& spent) {
    const Batch& b = *spent;
    if (!judged && b.read > 0) {
      if (2 * b.fitting < b.read) throw misfit_error(*b.scorer, b);
      judged = true;
    }
    if (o.models != nullptr && b.size() > 0) {
      recent.clear();
      for (size_t i = 0; i < b.size() && i < 32; ++i) recent.emplace_back(b.record(i));
    }
    if (keyed && !b.keys.empty()) {
      // A Kafka output: each prediction keeps the key of its record's message.
      std::string_view rest = b.out;
      for (size_t j = 0; !rest.empty(); ++j) {
        size_t nl = rest.find('\n');
        ctx.out().write_keyed(rest.substr(0, nl), b.keys.get(b.out_records[j]));
        rest.remove_prefix(nl + 1);
      }
    } else {
      ctx.out().write_lines(b.out);
    }
    ctx.counts().out += b.out_count;
    if (metrics) {
      metrics->add(b);
      ctx.batch_done(b.seconds);
      if (!b.out.empty()) ctx.sample_output(std::string_view(b.out).substr(0, b.out.find('\n')));
    }
    for (const auto& r : b.rejects) {
      ctx.rejects().reject(names[b.sources[r.index]], b.lines[r.index], r.reason, b.record(r.index),
                           {}, b.keys.get(r.index));
    }
    if (o.drift != nullptr && (!b.drift.empty() || b.window_end)) {
      o.drift->add(b.scorer->bundle(), b.drift, b.window_end);
    }
    for (size_t k = 0; k < b.unknown.size() && k < tally.unknown.size(); ++k) {
      tally.unknown[k] += b.unknown[k];
    }
    for (size_t k = 0; k < b.missing.size() && k < tally.missing.size(); ++k) {
      tally.missing[k] += b.missing[k];
    }
  };
  bool timed = ctx.measuring();
  pipeline::OrderedBatches<Batch> batches(
      o.threads,
      [timed](Batch& b) {
        if (!timed) return b.scorer->score(b);
        auto t0 = Clock::now();
        b.scorer->score(b);
        b.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      },
      write);
  Clock::time_point opened;  // when the open batch got its first record
  Clock::time_point last_commit = Clock::now();
  auto commit = [&] {
    ctx.commit();
    last_commit = Clock::now();
  };
  // Waiting for records: what was read goes out now, and is committed.
  in.on_idle([&] {
    batches.drain();
    ctx.out().flush();
    ctx.rejects().sink().flush();
    if (o.periodic_commit) commit();
    if (o.drift != nullptr) o.drift->tick();
  });
  record::Record rec;
  uint64_t n = 0;
  uint32_t source = 0;
  uint64_t window_records = o.drift != nullptr ? o.drift->window_records() : 0, window_read = 0;
  // A new model takes over between two batches: the open one is scored by the model it was
  // opened with, and the next record opens one for the new model. It must fit the records
  // read lately, and score as the model in use does (same objective and label).
  auto take_over = [&](const Scorer* next) {
    const Contract& now = current->bundle().contract;
    const Contract& c = next->bundle().contract;
    std::string why;
    if (c.objective != now.objective || c.label != now.label || c.num_class != now.num_class) {
      why = "its objective or label (" + c.objective + ", " + diag::quoted(c.label) +
            ") is not the one in use (" + now.objective + ", " + diag::quoted(now.label) + ")";
    } else if (auto [fit, read] = fit_of(*next, recent); 2 * fit < read) {
      why = "the records read lately do not fit it: " + std::to_string(read - fit) + " of " +
            std::to_string(read) + " hold fewer than half of its features";
    }
    if (!why.empty()) return o.models->taken(false, why);
    batches.submit();
    if (next->features() != current->features()) {
      std::fill(tally.unknown.begin(), tally.unknown.end(), 0);
      std::fill(tally.missing.begin(), tally.missing.end(), 0);
      tally.unknown.resize(next->features(), 0);
      tally.missing.resize(next->features(), 0);
    }
    current = next;
    tally.contract = &c;
    window_read = 0;  // the new model's first drift window starts here
    o.models->taken(true, "");
  };
  while (in.next(rec)) {
    source = source_index(names, source, in.name());
    if (o.models != nullptr) {
      if (const Scorer* next = o.models->candidate()) take_over(next);
    }
    if (!batches.current()) opened = Clock::now();
    Batch& b = batches.open();
    if (b.scorer == nullptr) b.scorer = current;
    b.add(rec.text, rec.line, source);
    b.keys.set(b.size() - 1, rec.key);
    // A drift window of N records ends with a batch.
    bool window_full = window_records > 0 && ++window_read == window_records;
    if (window_full) {
      b.window_end = true;
      window_read = 0;
    }
    if (b.size() >= o.batch_size || window_full) {
      batches.submit();
    } else if (Clock::now() - opened >= std::chrono::milliseconds(o.linger_ms)) {
      // A slow stream: the batch has waited --flush-interval, its predictions go out now.
      batches.drain();
      ctx.out().flush();
      ctx.rejects().sink().flush();
    }
    if ((++n & 15) == 0) {
      if (o.periodic_commit &&
          Clock::now() - last_commit >= std::chrono::milliseconds(o.commit_ms)) {
        batches.drain();
        commit();
      }
    }
  }
  batches.drain();
  if (o.drift != nullptr) o.drift->finish();
  return tally;
}

}  // namespace cdn::model
