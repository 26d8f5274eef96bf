#include "common/model/scorer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/metric.hpp"
#include "common/io/line_reader.hpp"
#include "common/record/fields.hpp"
#include "common/record/json_syntax.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::model {

void Batch::add(std::string_view record, uint64_t line, uint32_t source) {
  spans.emplace_back(text.size(), record.size());
  text.append(record);
  text.append(io::LineReader::kPadding, ' ');
  lines.push_back(line);
  sources.push_back(source);
}

void Batch::clear() {
  text.clear();
  spans.clear();
  lines.clear();
  sources.clear();
  keys.clear();
  scorer = nullptr;
  out.clear();
  out_count = 0;
  out_records.clear();
  rejects.clear();
  unknown.clear();
  missing.clear();
  read = fitting = 0;
  by_label.clear();
  std::fill(std::begin(scores), std::end(scores), 0);
  score_sum = 0;
  seconds = 0;
  shadowed = agreed = 0;
  drift.clear();
  window_end = false;
  shadow_diff_sum = shadow_score_sum = 0;
  std::fill(std::begin(shadow_scores), std::end(shadow_scores), 0);
}

Scorer::Scorer(const Bundle& bundle, ScoreOptions opts)
    : bundle_(bundle), opts_(std::move(opts)), builder_(bundle.contract, opts_.allow_missing) {
  const Contract& c = bundle.contract;
  if (opts_.threshold && !c.binary()) {
    throw UsageError("--threshold applies to binary classifiers; this model's objective is " +
                     c.objective);
  }
  if (opts_.explain && c.multiclass()) {
    throw UsageError(
        "--explain gives one contribution per feature, which a multi-class model "
        "does not have (it has one per class)");
  }
  for (const auto& f : c.features) {
    std::string k;
    base::append_json_string(k, f.name);
    k += ':';
    contribution_keys_.push_back(std::move(k));
  }
  contribution_keys_.emplace_back("\"bias\":");
  if (opts_.drift) {
    if (!bundle.reference) {
      throw UsageError("the model bundle " + diag::quoted(bundle.dir) +
                       " holds no reference distributions (reference.json) to measure drift "
                       "against; train it again with this cdn, or leave out --drift-window and "
                       "--drift-report");
    }
    drift_offsets_ = bundle.reference->offsets();
  }
  if (opts_.shadow != nullptr) {
    // Predictions compare only between models of one objective (and one number of classes).
    const Contract& theirs = opts_.shadow->bundle().contract;
    if (theirs.objective != c.objective || theirs.num_class != c.num_class) {
      throw UsageError(
          "the shadow model " + diag::quoted(opts_.shadow->bundle().dir) +
          " predicts something else: its objective is " + theirs.objective +
          (theirs.num_class ? " (" + std::to_string(theirs.num_class) + " classes)"
                            : std::string()) +
          ", the model's " + diag::quoted(bundle.dir) + " is " + c.objective +
          (c.num_class ? " (" + std::to_string(c.num_class) + " classes)" : std::string()) +
          "; train the candidate with the same --objective");
    }
    // A candidate trained on other data (new categories) or with other features builds its
    // own rows from each record; one with the model's features scores the model's rows.
    bool same = theirs.features.size() == c.features.size();
    for (size_t f = 0; same && f < c.features.size(); ++f) {
      same = theirs.features[f].field == c.features[f].field &&
             theirs.features[f].kind == c.features[f].kind &&
             theirs.features[f].categories == c.features[f].categories;
    }
    shadow_own_rows_ = !same;
  }
  model_key_ = ",\"model\":";
  base::append_json_string(model_key_, bundle.model_hash);
  compile_forest();
  if (c.multiclass()) {
    labels_ = static_cast<size_t>(std::max(c.num_class, 0));
  } else if (opts_.threshold) {
    labels_ = 2;
  }
  probability_ = c.objective == "binary:logistic" || c.objective == "multi:softprob" ||
                 c.objective == "reg:logistic" || c.objective == "binary:hinge";
  for (const auto& f : opts_.keep) {
    std::string k = ",";
    base::append_json_string(k, f);
    k += ':';
    keep_keys_.push_back(std::move(k));
  }
}

// Why a record is refused, in the order the checks were always made: the ID, the time,
// then the features (the reason fill() gave).
std::string Scorer::reject_reason(simdjson::dom::object obj, const std::string& fill_reason) const {
  const Contract& c = bundle_.contract;
  simdjson::dom::element id;
  if (obj.at_key(c.id_field).get(id)) {
    return "no " + diag::quoted(c.id_field) + " (cdn tag attaches one)";
  }
  if (!id.is_string() && !id.is_int64() && !id.is_uint64()) {
    return diag::quoted(c.id_field) + " is " + record::json_type_name(id.type()) +
           ", not a string or an integer";
  }
  simdjson::dom::element tsv;
  if (obj.at_key(c.time_field).get(tsv)) return "no " + diag::quoted(c.time_field);
  std::string_view ts;
  if (tsv.get_string().get(ts)) {
    return diag::quoted(c.time_field) + " is " + record::json_type_name(tsv.type()) +
           ", not a string";
  }
  if (!record::parse_rfc3339(ts)) {
    // The prediction carries it (schemas/prediction.json: an RFC 3339 date-time).
    return "field " + diag::quoted(c.time_field) + " is not an RFC 3339 time";
  }
  return fill_reason;
}

void Scorer::compile_forest() {
  std::vector<char> json = xgb::save(bundle_.booster, "json");
  std::string why;
  auto forest = Forest::from_json(std::string_view(json.data(), json.size()), why);
  if (!forest) {
    diag::debug("predicting with XGBoost: the compiled trees do not take this model (" + why + ")");
    return;
  }
  // The check set: rows on both sides of every split, through both.
  size_t width = builder_.width();
  size_t n = 4096;
  std::vector<float> rows = forest->probe_rows(width, n), ours(n), theirs;
  std::vector<uint64_t> shape;
  forest->predict(rows.data(), n, width, ours.data());
  xgb::predict_dense(bundle_.booster, rows.data(), n, width, theirs, shape);
  double worst = theirs.size() == n ? 0 : INFINITY;
  for (size_t i = 0; i < n && i < theirs.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::fabs(ours[i] - theirs[i])));
  }
  if (!(worst <= 1e-6)) {
    diag::warning("the compiled trees differ from XGBoost by " + std::to_string(worst) +
                  " on a check set; predicting with XGBoost (slower). Please report this model");
    return;
  }
  diag::debug("predicting with the compiled trees: " + std::to_string(forest->trees()) +
              " trees, equal to XGBoost on " + std::to_string(n) + " check rows");
  forest_ = std::move(forest);
}

namespace {
void append_float(std::string& out, float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Per thread: reused between batches.
struct Scratch {
  simdjson::dom::parser parser;
  std::vector<float> rows;
  std::vector<std::string> heads;  // `{"sampleID":..,"timestamp":".."`
  std::vector<std::string> tails;  // kept fields
  std::vector<size_t> accepted;
  std::vector<float> pred, contrib, shadow;
  std::vector<uint64_t> shape;
  RowBuilder::FieldOrder order;
  std::vector<uint64_t> unknown;  // of the record at hand, counted once it is accepted
  std::string key;                // --key-field's key of the record at hand
  // A shadow with features of its own: its rows, and for each accepted record the index of
  // its row there (-1: the record does not fit the shadow's contract, which then skips it).
  std::vector<float> shadow_rows;
  std::vector<int64_t> shadow_at;
  size_t shadow_count = 0;
  std::vector<uint64_t> shadow_unknown, shadow_missing;
  RowBuilder::FieldOrder shadow_order;
  std::string shadow_reason;
};
}  // namespace

void Scorer::score(Batch& b) const {
  thread_local Scratch s;
  const Contract& c = bundle_.contract;
  size_t width = builder_.width();
  b.unknown.assign(width, 0);
  b.missing.assign(width, 0);
  s.unknown.resize(width, 0);
  s.rows.resize(b.size() * width);
  if (s.heads.size() < b.size()) {
    s.heads.resize(b.size());
    s.tails.resize(b.size());
  }
  s.accepted.clear();
  const RowBuilder* shadow_builder = shadow_own_rows_ ? &opts_.shadow->builder() : nullptr;
  if (shadow_builder) {
    s.shadow_rows.resize(b.size() * shadow_builder->width());
    s.shadow_at.clear();
    s.shadow_count = 0;
    s.shadow_unknown.assign(shadow_builder->width(), 0);
    s.shadow_missing.assign(shadow_builder->width(), 0);
  }
  const Reference* ref = opts_.drift ? &*bundle_.reference : nullptr;
  if (ref) b.drift.assign(drift_offsets_.back(), 0);
  std::string reason;
  const bool keyed = !opts_.key_field.empty();
  for (size_t i = 0; i < b.size(); ++i) {
    std::string_view text = b.record(i);
    simdjson::dom::element root;
    if (auto err = s.parser.parse(text.data(), text.size(), false).get(root)) {
      b.rejects.push_back({i, record::invalid_json_reason(text, simdjson::error_message(err))});
      continue;
    }
    simdjson::dom::object obj;
    if (root.get_object().get(obj)) {
      b.rejects.push_back(
          {i, std::string("not a JSON object but ") + record::json_type_name(root.type())});
      continue;
    }
    // One pass over the record fills the row and finds the ID and the time; the reasons
    // keep their order (the ID, the time, then the features) through reject_reason.
    float* row = s.rows.data() + s.accepted.size() * width;
    RowBuilder::Capture cap;
    cap.names[0] = c.id_field;
    cap.names[1] = c.time_field;
    if (keyed) {
      cap.names[2] = opts_.key_field.path().front();
      cap.count = 3;
    }
    bool filled = builder_.fill(obj, row, reason, s.unknown, b.missing, s.order, &cap);
    if (keyed) {
      // The record's key, for its prediction or its reject; fill() stops at a field that
      // breaks the contract, so a refused record's may lie beyond where it stopped.
      std::optional<std::string_view> key;
      if (cap.found[2]) {
        key = opts_.key_field.of_member(cap.values[2], s.key);
      } else if (!filled) {
        key = opts_.key_field.of(root, s.key);
      }
      if (key) b.keys.set(i, key);
    }
    if (s.order.read_all) {
      ++b.read;
      b.fitting += 2 * s.order.held >= width;
    }
    simdjson::dom::element id = cap.values[0], tsv = cap.values[1];
    std::string_view ts;
    bool id_ok = cap.found[0] && (id.is_string() || id.is_int64() || id.is_uint64());
    bool ts_ok = cap.found[1] && !tsv.get_string().get(ts) && record::parse_rfc3339(ts);
    if (!filled || !id_ok || !ts_ok) {
      b.rejects.push_back({i, reject_reason(obj, reason)});
      std::fill(s.unknown.begin(), s.unknown.end(), 0);
      continue;
    }
    if (ref) {
      for (size_t f = 0; f < width; ++f) {
        ++b.drift[drift_offsets_[f] + ref->features[f].bin(row[f], s.unknown[f] > 0)];
      }
    }
    for (size_t f = 0; f < width; ++f) {
      b.unknown[f] += s.unknown[f];
      s.unknown[f] = 0;
    }
    std::string& head = s.heads[s.accepted.size()];
    head.clear();
    head += "{";
    base::append_json_string(head, c.id_field);
    head += ':';
    if (id.is_string()) {
      base::append_json_string(head, id.get_string().value_unsafe());
    } else if (id.is_int64()) {
      base::append_int(head, id.get_int64().value_unsafe());
    } else {
      base::append_uint(head, id.get_uint64().value_unsafe());
    }
    head += ",";
    base::append_json_string(head, c.time_field);
    head += ':';
    base::append_json_string(head, ts);
    std::string& tail = s.tails[s.accepted.size()];
    tail.clear();
    for (size_t k = 0; k < opts_.keep.size(); ++k) {
      simdjson::dom::element v;
      if (obj.at_key(opts_.keep[k]).get(v)) continue;
      tail += keep_keys_[k];
      tail += simdjson::minify(v);
    }
    if (shadow_builder) {
      float* srow = s.shadow_rows.data() + s.shadow_count * shadow_builder->width();
      bool fits = shadow_builder->fill(obj, srow, s.shadow_reason, s.shadow_unknown,
                                       s.shadow_missing, s.shadow_order, nullptr);
      s.shadow_at.push_back(fits ? static_cast<int64_t>(s.shadow_count++) : -1);
    }
    s.accepted.push_back(i);
  }
  size_t n = s.accepted.size();
  if (n == 0) return;
  size_t per = 1;  // classes of multi:softprob, else 1
  predict_rows(s.rows.data(), n, s.pred, per);
  if (ref) {
    uint64_t* scores = b.drift.data() + drift_offsets_[width];
    for (size_t r = 0; r < n; ++r) {
      const float* p = s.pred.data() + r * per;
      ++scores[ref->score.bin(per == 1 ? p[0] : *std::max_element(p, p + per), false)];
    }
  }
  size_t shadow_per = 0;
  if (shadow_builder) {
    if (s.shadow_count > 0) {
      opts_.shadow->predict_rows(s.shadow_rows.data(), s.shadow_count, s.shadow, shadow_per);
    }
  } else if (opts_.shadow != nullptr) {
    opts_.shadow->predict_rows(s.rows.data(), n, s.shadow, shadow_per);
  }
  size_t contrib_per = 0;
  if (opts_.explain) {
    xgb::DMatrix m = xgb::dense_matrix(s.rows.data(), n, width, 1);
    xgb::predict_matrix(bundle_.booster, m, 2, s.contrib, s.shape);
    contrib_per = s.contrib.size() / n;
  }
  for (size_t r = 0; r < n; ++r) {
    std::string& o = b.out;
    o += s.heads[r];
    o += ",\"prediction\":";
    const float* p = s.pred.data() + r * per;
    // The shadow's row of this record (-1: none).
    const int64_t sr = shadow_builder ? s.shadow_at[r] : static_cast<int64_t>(r);
    if (per == 1) {
      append_float(o, p[0]);
      if (opts_.threshold) o += p[0] >= *opts_.threshold ? ",\"label\":1" : ",\"label\":0";
      if (shadow_per == 1 && sr >= 0) {
        float q = s.shadow[static_cast<size_t>(sr)];
        o += ",\"shadow\":";
        append_float(o, q);
        ++b.shadowed;
        double t = opts_.threshold.value_or(0.5);
        b.agreed += (p[0] >= t) == (q >= t);
        b.shadow_diff_sum += std::fabs(static_cast<double>(p[0]) - q);
        auto i = static_cast<size_t>(std::lower_bound(kTenthsOf().begin(), kTenthsOf().end(), q) -
                                     kTenthsOf().begin());
        ++b.shadow_scores[i];
        b.shadow_score_sum += q;
      }
    } else {
      o += '[';
      for (size_t k = 0; k < per; ++k) {
        if (k) o += ',';
        append_float(o, p[k]);
      }
      o += "],\"label\":";
      auto label = std::max_element(p, p + per) - p;
      base::append_uint(o, static_cast<uint64_t>(label));
      if (shadow_per == per && sr >= 0) {
        const float* q = s.shadow.data() + static_cast<size_t>(sr) * per;
        auto theirs = std::max_element(q, q + per) - q;
        o += ",\"shadow\":[";
        for (size_t k = 0; k < per; ++k) {
          if (k) o += ',';
          append_float(o, q[k]);
        }
        o += ']';
        ++b.shadowed;
        b.agreed += label == theirs;
        b.shadow_diff_sum += std::fabs(static_cast<double>(p[label]) - q[label]);
        auto i = static_cast<size_t>(
            std::lower_bound(kTenthsOf().begin(), kTenthsOf().end(), q[theirs]) -
            kTenthsOf().begin());
        ++b.shadow_scores[i];
        b.shadow_score_sum += q[theirs];
      }
    }
    o += model_key_;
    if (opts_.explain) {
      o += ",\"contributions\":{";
      const float* cv = s.contrib.data() + r * contrib_per;
      for (size_t k = 0; k < contrib_per && k < contribution_keys_.size(); ++k) {
        if (k) o += ',';
        o += contribution_keys_[k];
        append_float(o, cv[k]);
      }
      o += '}';
    }
    o += s.tails[r];
    o += "}\n";
  }
  b.out_count = n;
  if (!b.keys.empty()) b.out_records.assign(s.accepted.begin(), s.accepted.begin() + n);
  if (opts_.measure) {
    b.by_label.assign(labels_ + 1, 0);
    for (size_t r = 0; r < n; ++r) count(b, s.pred.data() + r * per, per);
  }
}

namespace {
const std::vector<double> kTenths = diag::Histogram::tenths();
}  // namespace

const std::vector<double>& Scorer::kTenthsOf() {
  return kTenths;
}

void Scorer::predict_rows(const float* rows, size_t n, std::vector<float>& out, size_t& per) const {
  size_t width = builder_.width();
  if (forest_) {
    out.resize(n);
    forest_->predict(rows, n, width, out.data());
  } else {
    std::vector<uint64_t> shape;
    xgb::predict_dense(bundle_.booster, rows, n, width, out, shape);
  }
  per = n > 0 ? out.size() / n : 1;
}

void Scorer::count(Batch& b, const float* p, size_t per) const {
  float score = p[0];
  size_t label = labels_;  // none
  if (per > 1) {
    label = static_cast<size_t>(std::max_element(p, p + per) - p);
    score = p[label];
  } else if (opts_.threshold) {
    label = p[0] >= *opts_.threshold ? 1 : 0;
  } else if (bundle_.contract.objective == "multi:softmax" && p[0] >= 0 &&
             p[0] < static_cast<float>(labels_)) {
    label = static_cast<size_t>(p[0]);
  }
  ++b.by_label[std::min(label, labels_)];
  if (!probability_) return;
  // The bucket of the histogram the batch is merged into (diag::Histogram::tenths()).
  auto i = static_cast<size_t>(std::lower_bound(kTenths.begin(), kTenths.end(), score) -
                               kTenths.begin());
  ++b.scores[i];
  b.score_sum += score;
}

}  // namespace cdn::model
