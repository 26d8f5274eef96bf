#include "common/pipeline/context.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/signals.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::pipeline {

namespace {
constexpr uint32_t kSampleEvery = 64;

double now_unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The string after `"key"` and a colon in a JSON record, without parsing the record.
std::optional<std::string_view> string_member(std::string_view rec, std::string_view key) {
  size_t at = rec.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = at + key.size();
  auto skip = [&] {
    while (i < rec.size() && (rec[i] == ' ' || rec[i] == '\t')) ++i;
  };
  skip();
  if (i >= rec.size() || rec[i] != ':') return std::nullopt;
  ++i;
  skip();
  if (i >= rec.size() || rec[i] != '"') return std::nullopt;
  size_t end = rec.find('"', ++i);
  if (end == std::string_view::npos) return std::nullopt;
  return rec.substr(i, end - i);
}
}  // namespace

struct RunContext::Measures {
  diag::LabeledCounter by_reason;
  diag::Histogram batch{diag::Histogram::seconds()};
  diag::Histogram event_age{diag::Histogram::age_seconds()};
  diag::Histogram message_age{diag::Histogram::age_seconds()};
};

RunContext::RunContext(std::string command, std::unique_ptr<io::Sink> output,
                       std::unique_ptr<io::Sink> rejects)
    : command_(std::move(command)),
      out_(std::move(output)),
      keyed_out_(out_->takes_keys()),
      rejects_(command_, std::move(rejects), counts_),
      start_(std::chrono::steady_clock::now()),
      uncaught_(std::uncaught_exceptions()) {
  // The output, renamed into place at the end, would replace the rejects, or the other way.
  if (io::same_file(*out_, rejects_.sink())) {
    throw UsageError("cannot write rejects to " + diag::quoted(rejects_.sink().name()) +
                     ": it is the same file as the output " + diag::quoted(out_->name()) +
                     "; name another file with --rejects or -o");
  }
  // A record the output refuses (one a CSV header has no column for) is rejected instead.
  out_->on_refused([this](uint64_t number, std::string_view record, std::string_view reason) {
    rejects_.reject(out_->name(), number, reason, record);
    --counts_.out;
  });
  auto& service = diag::Service::get();
  if (service.serving()) {
    measures_ = std::make_unique<Measures>();
    rejects_.count_reasons(&measures_->by_reason);
    until_sample_ = 1;
  }
  metrics_ = service.add_metrics([this](std::string& out) {
    std::string labels = "command=\"" + diag::metric_label(command_) + "\"";
    std::string label = "{" + labels + "} ";
    auto family = [&](const char* name, const char* help, uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
             label + std::to_string(v) + "\n";
    };
    family("cdn_records_in_total", "Records read from the inputs.", counts_.in);
    family("cdn_records_out_total", "Records written to the output.", counts_.out);
    family("cdn_records_rejected_total", "Records sent to the rejects sink with a reason.",
           counts_.rejected);
    if (!measures_) return;
    const Measures& m = *measures_;
    diag::metric_header(out, "cdn_rejects_total",
                        "Records rejected, by the first clause of their reason (quoted values "
                        "and numbers left out; past 32 reasons, \"other\").",
                        "counter");
    m.by_reason.write(out, "cdn_rejects_total", labels, "reason");
    if (m.batch.count() > 0) {  // commands that work in batches (predict)
      diag::metric_header(
          out, "cdn_batch_seconds",
          "Time a batch of records took to process (predict: to score it, validate: to "
          "check it).",
          "histogram");
      m.batch.write(out, "cdn_batch_seconds", labels);
    }
    diag::metric_header(out, "cdn_output_event_age_seconds",
                        "Now minus the event time of records at the output (sampled: one "
                        "record in 64, or one a batch).",
                        "histogram");
    m.event_age.write(out, "cdn_output_event_age_seconds", labels);
    diag::metric_header(out, "cdn_output_message_age_seconds",
                        "Now minus the Kafka timestamp of the message read last, when a "
                        "sampled record goes out (Kafka inputs).",
                        "histogram");
    m.message_age.write(out, "cdn_output_message_age_seconds", labels);
  });
  progress_ = service.add_progress([this] { return counts_.in + counts_.out + counts_.rejected; });
  // The command is set up (its model loaded, its inputs about to be read).
  service.started();
  if (diag::StatusLine::wanted()) {
    status_ = std::make_unique<diag::StatusLine>([this] { return status_text(); });
  }
}

void RunContext::sample_output(std::string_view record) {
  if (!measures_) return;
  until_sample_ = kSampleEvery;
  double now = now_unix_seconds();
  if (auto ts = string_member(record, time_field_)) {
    if (auto t = record::parse_rfc3339(*ts)) {
      measures_->event_age.observe(
          now - (static_cast<double>(t->seconds) + static_cast<double>(t->nanos) / 1e9));
    }
  }
  if (int64_t ms = diag::Service::get().message_time(); ms > 0) {
    measures_->message_age.observe(now - static_cast<double>(ms) / 1e3);
  }
}

void RunContext::set_time_field(std::string_view name) {
  time_field_.clear();
  base::append_json_string(time_field_, name);
}

void RunContext::batch_done(double seconds) {
  if (measures_) measures_->batch.observe(seconds);
}

std::string RunContext::status_text() const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  uint64_t in = counts_.in;
  char buf[160];
  auto whole = static_cast<long long>(secs);
  std::snprintf(buf, sizeof buf, "%llu in, %llu out, %llu rejected, %.0f/s",
                static_cast<unsigned long long>(in),
                static_cast<unsigned long long>(counts_.out.get()),
                static_cast<unsigned long long>(counts_.rejected.get()),
                secs > 0 ? static_cast<double>(in) / secs : 0.0);
  std::string text = diag::settings().program + ": " + buf;
  // A Kafka input: the messages not read yet.
  if (auto lag = diag::Service::get().lag()) text += ", lag " + std::to_string(*lag);
  std::snprintf(buf, sizeof buf, ", %lld:%02lld", whole / 60, whole % 60);
  return text + buf;
}

RunContext::~RunContext() {
  status_.reset();
  if (finished_ || std::uncaught_exceptions() <= uncaught_) return;
  if (!out_->delivered() && !rejects_.sink().delivered()) return;
  try {
    count_lost();
    diag::summary(summary_line({}), summary_fields());
  } catch (const std::exception&) {  // the error under way is the one to report
  }
}

void RunContext::mark_undelivered(uint64_t records) {
  undelivered_ = true;
  counts_.out -= std::min(records, counts_.out.get());
}

void RunContext::count_lost() {
  // A sink's lines are the records counted (gen's CSV header aside, hence the min).
  if (auto d = out_->delivered()) mark_undelivered(counts_.out - std::min(*d, counts_.out.get()));
  if (auto d = rejects_.sink().delivered()) {
    undelivered_ = true;
    rejects_lost_ = counts_.rejected - std::min(*d, counts_.rejected.get());
  }
}

std::vector<diag::Field> RunContext::summary_fields() const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", secs);
  std::vector<diag::Field> f = {{"in", std::to_string(counts_.in)},
                                {"out", std::to_string(counts_.out)},
                                {"rejected", std::to_string(counts_.rejected)}};
  uint64_t done = counts_.out + counts_.rejected;
  if (undelivered_ && counts_.in > done) {
    f.push_back({"not_delivered", std::to_string(counts_.in - done)});
  }
  if (rejects_lost_ > 0) f.push_back({"rejects_not_delivered", std::to_string(rejects_lost_)});
  f.push_back({"seconds", buf});
  return f;
}

std::string RunContext::summary_line(std::string_view extra) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line = std::to_string(counts_.in) + " in, " + std::to_string(counts_.out) + " out, " +
                     std::to_string(counts_.rejected) + " rejected";
  uint64_t done = counts_.out + counts_.rejected;
  if (undelivered_ && counts_.in > done) {
    line += ", " + std::to_string(counts_.in - done) + " not delivered";
  }
  if (uint64_t lost = diag::lost_input(); lost > 0) {
    line += ", " + std::to_string(lost) + " lost before they were read";
  }
  if (rejects_lost_ > 0) {
    line += " (" + std::to_string(rejects_lost_) + " of their reject lines not delivered to " +
            diag::quoted(rejects_.sink().name()) + ")";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, " in %.2f s", secs);
  line += buf;
  if (!extra.empty()) {
    line += ", ";
    line += extra;
  }
  return line;
}

void RunContext::commit() {
  // Both written out, then the rejects put in place before the output: a run whose rejects
  // cannot be written (a full disk) leaves no output file, and an output file never stands
  // without the rejects of its records. (Streams show what they are given at once; the
  // output is written out first so that stdout and stderr interleave as they did.)
  io::Sink& rejects = rejects_.sink();
  out_->flush();
  rejects.flush();
  rejects.commit();
  out_->commit();
  if (!undelivered_) {
    for (auto& f : after_commit_) f();
  }
}

int RunContext::finish(std::string_view extra) {
  status_.reset();
  commit();
  finished_ = true;
  std::string line = summary_line(extra);
  int sig = io::stop_signal();
  if (sig) line += sig == 2 ? " (interrupted by SIGINT)" : " (interrupted by SIGTERM)";
  diag::summary(line, summary_fields());
  uint64_t done = counts_.out + counts_.rejected;
  if (undelivered_ ? counts_.in < done : counts_.in != done) {
    diag::error("internal error: counts do not balance (" + std::to_string(counts_.in) + " in, " +
                std::to_string(counts_.out) + " out, " + std::to_string(counts_.rejected) +
                " rejected); please report this");
    return kExitFailure;
  }
  if (uint64_t lost = diag::lost_input(); lost > 0) {
    diag::error(std::to_string(lost) + (lost == 1 ? " record" : " records") +
                " of the input were lost before they were read (see the errors above); the "
                "output lacks them");
  }
  if (sig) throw Interrupted(sig);
  if (undelivered_ && counts_.in > done) return kExitFailure;
  if (diag::lost_input() > 0) return kExitFailure;
  return counts_.rejected > 0 ? kExitRejected : kExitOk;
}

}  // namespace cdn::pipeline
