#include "common/model/drift_watch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/metric.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::model {

namespace {
using Clock = std::chrono::steady_clock;

std::string now_rfc3339() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return record::format_rfc3339_ms({ns / 1000000000, static_cast<uint32_t>(ns % 1000000000)});
}

std::string short_number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}
class AppendSink : public io::Sink {
 public:
  AppendSink(const std::string& path, int fd) : io::Sink(path), fd_(fd) {}
  ~AppendSink() override { ::close(fd_); }
  AppendSink(const AppendSink&) = delete;
  AppendSink& operator=(const AppendSink&) = delete;

 protected:
  void write_out(const char* data, size_t n) override {
    io::write_all(fd_, data, n, name(), false);
  }

 private:
  int fd_;
};
}  // namespace

std::unique_ptr<io::Sink> open_drift_report(const std::string& spec) {
  if (spec == "-") {
    throw UsageError(
        "--drift-report takes a file (each window's line is appended) or kafka:TOPIC, not '-': "
        "standard output holds the predictions");
  }
  if (endpoint::kafka_topic(spec)) return endpoint::open_output(spec);
  int fd = ::open(spec.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    throw UsageError("cannot open the drift report " + diag::quoted(spec) + ": " + errno_text(err) +
                     "; give --drift-report a file in a writable directory");
  }
  return std::make_unique<AppendSink>(spec, fd);
}

DriftWatch::DriftWatch(DriftOptions o, std::unique_ptr<io::Sink> report)
    : o_(o), report_(std::move(report)) {
  registration_ =
      diag::Service::get().add_metrics([this](std::string& out) { write_metrics(out); });
}

void DriftWatch::add(const Bundle& bundle, const std::vector<uint64_t>& counts, bool window_end) {
  if (bundle_ != &bundle) {
    if (rows_ > 0) close(true);
    bundle_ = &bundle;
    offsets_ = bundle.reference->offsets();
    counts_.assign(offsets_.back(), 0);
    above_.assign(offsets_.size() - 1, false);
    std::lock_guard<std::mutex> lock(mutex_);
    names_.clear();
    for (const auto& d : bundle.reference->features) names_.push_back(d.name);
  }
  if (counts.size() == counts_.size()) {
    if (rows_ == 0) opened_ = Clock::now();
    for (size_t k = 0; k < counts.size(); ++k) counts_[k] += counts[k];
    // Each scored row has one score: the score's bins count the rows.
    for (size_t k = offsets_[offsets_.size() - 2]; k < counts.size(); ++k) rows_ += counts[k];
  }
  if (window_end && rows_ > 0) {
    close(false);
  } else {
    tick();
  }
}

void DriftWatch::tick() {
  if (o_.time.count() > 0 && rows_ > 0 && Clock::now() - opened_ >= o_.time) close(false);
}

void DriftWatch::finish() {
  if (rows_ > 0) close(true);
  if (report_) report_->commit();
}

void DriftWatch::close(bool partial) {
  const Reference& ref = *bundle_->reference;
  size_t n = offsets_.size() - 1;  // the features, then the score
  std::vector<double> value(n);
  for (size_t i = 0; i < n; ++i) {
    const Distribution& d = i + 1 < n ? ref.features[i] : ref.score;
    value[i] = psi(d.share, counts_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }
  std::string line = "{\"time\":\"" + now_rfc3339() + "\",\"model\":";
  base::append_json_string(line, bundle_->model_hash);
  line += ",\"records\":" + std::to_string(rows_) + ",\"partial\":" + (partial ? "true" : "false");
  line += ",\"threshold\":";
  base::append_double(line, o_.threshold);
  line += ",\"psi\":{";
  std::string above;
  for (size_t i = 0; i + 1 < n; ++i) {
    if (i) line += ',';
    base::append_json_string(line, ref.features[i].name);
    line += ':';
    base::append_double(line, value[i]);
  }
  line += "},\"score_psi\":";
  base::append_double(line, value[n - 1]);
  line += ",\"above\":[";
  bool first = true;
  for (size_t i = 0; i < n; ++i) {
    bool over = value[i] > o_.threshold;
    std::string name = i + 1 < n ? ref.features[i].name : std::string("score");
    if (over) {
      if (!first) line += ',';
      first = false;
      base::append_json_string(line, name);
    }
    // One warning when a feature passes the threshold; another only after it came back.
    if (over && !above_[i]) {
      diag::warning("drift: " + (i + 1 < n ? "feature " + diag::quoted(name) : "the score") +
                    " has a PSI of " + short_number(value[i]) + " over the last " +
                    std::to_string(rows_) + " records (threshold " + short_number(o_.threshold) +
                    "): live records no longer look like the data the model " +
                    bundle_->model_hash + " was trained on; retrain it, or look at the source");
    }
    above_[i] = over;
  }
  line += "]}";
  if (report_) {
    report_->write_line(line);
    report_->flush();
  }
  diag::info("drift: " + line);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last_ = std::move(value);
    ++windows_;
  }
  std::fill(counts_.begin(), counts_.end(), 0);
  rows_ = 0;
}

void DriftWatch::write_metrics(std::string& out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  diag::metric_header(out, "cdn_drift_windows_total",
                      "Drift windows closed (each compares the records of the window with the "
                      "model's training data).",
                      "counter");
  out += "cdn_drift_windows_total " + std::to_string(windows_) + "\n";
  if (last_.empty()) return;
  diag::metric_header(out, "cdn_feature_drift_psi",
                      "Population stability index of each feature over the last drift window "
                      "against the training data (above 0.2: drifted).",
                      "gauge");
  std::string v;
  for (size_t i = 0; i + 1 < last_.size() && i < names_.size(); ++i) {
    v.clear();
    base::append_double(v, last_[i]);
    out += "cdn_feature_drift_psi{feature=\"" + diag::metric_label(names_[i]) + "\"} " + v + "\n";
  }
  diag::metric_header(out, "cdn_score_drift_psi",
                      "Population stability index of the scores over the last drift window "
                      "against the scores of training.",
                      "gauge");
  v.clear();
  base::append_double(v, last_.back());
  out += "cdn_score_drift_psi " + v + "\n";
}

}  // namespace cdn::model
