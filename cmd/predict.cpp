// cdn predict: apply a model bundle to a stream of records, one prediction record per input
// record, in input order; records are scored in batches on every core.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "cmd/commands.hpp"
#include "common/base/duration.hpp"
#include "common/cli/options.hpp"
#include "common/cli/service.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/metric.hpp"
#include "common/diag/service.hpp"
#include "common/io/signals.hpp"
#include "common/model/bundle.hpp"
#include "common/model/drift_watch.hpp"
#include "common/model/scorer.hpp"
#include "common/model/serve.hpp"
#ifdef CDN_WITH_KAFKA
#include <unistd.h>

#include "common/endpoint/endpoint.hpp"
#include "common/kafka/transaction.hpp"
#endif

namespace cdn::cmd {

namespace {
// The hot swap: a new bundle at the model path (a symlink flipped, a directory replaced by
// rename, files rewritten) or a SIGHUP has it loaded and checked on a thread of its own
// (hashes, the compiled trees against XGBoost), and it takes over between two batches
// (model::serve checks it fits the records read lately). A bundle that fails is refused with
// a warning and counted; the model in use keeps scoring.
class HotSwap : public model::ModelSource {
 public:
  HotSwap(std::string path, model::ScoreOptions so, model::Bundle first)
      : path_(std::move(path)), so_(std::move(so)) {
    auto m = std::make_unique<Loaded>();
    m->bundle = std::move(first);
    m->scorer = std::make_unique<model::Scorer>(m->bundle, so_);
    current_ = m.get();
    models_.push_back(std::move(m));
    signature_ = signature();
    watcher_ = std::thread([this] { watch(); });
  }
  ~HotSwap() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    watcher_.join();
  }
  HotSwap(const HotSwap&) = delete;
  HotSwap& operator=(const HotSwap&) = delete;

  const model::Scorer& first() const { return *models_.front()->scorer; }
  const model::Bundle& current() const { return current_.load()->bundle; }
  uint64_t swapped() const { return swapped_; }
  uint64_t refused() const { return refused_; }

  const model::Scorer* candidate() override {
    Loaded* r = ready_.load(std::memory_order_acquire);
    return r ? r->scorer.get() : nullptr;
  }
  void taken(bool ok, const std::string& why) override {
    Loaded* r = ready_.load(std::memory_order_acquire);
    if (ok) {
      current_ = r;
      ++swapped_;
      diag::notice("now scoring with the model " + r->bundle.model_hash + " from " +
                   diag::quoted(path_));
    } else {
      ++refused_;
      diag::warning("refused the model " + r->bundle.model_hash + " at " + diag::quoted(path_) +
                    ": " + why + "; still scoring with " + current().model_hash);
    }
    ready_.store(nullptr, std::memory_order_release);
  }

 private:
  struct Loaded {
    model::Bundle bundle;
    std::unique_ptr<model::Scorer> scorer;
  };

  // What says the bundle at the path changed: where the path leads, and its manifest's
  // inode, size and time.
  std::string signature() const {
    char* real = ::realpath(path_.c_str(), nullptr);
    std::string s = real ? real : path_;
    std::free(real);
    struct stat st {};
    if (::stat((path_ + "/manifest.json").c_str(), &st) == 0) {
      s += "|" + std::to_string(st.st_ino) + "|" + std::to_string(st.st_size) + "|" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    }
    return s;
  }

  void watch() {
    int ticks = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done_) {
      wake_.wait_for(lock, std::chrono::milliseconds(200));
      if (done_) break;
      bool asked = io::take_reload_request();
      if (!asked && ++ticks % 5 != 0) continue;  // the path is looked at once a second
      if (ready_.load() != nullptr) continue;    // one waits to take over already
      std::string sig = signature();
      if (!asked && sig == signature_) continue;
      signature_ = sig;
      lock.unlock();
      load(asked);
      lock.lock();
    }
  }

  void load(bool asked) {
    auto m = std::make_unique<Loaded>();
    try {
      m->bundle = model::read_bundle(path_);
      if (m->bundle.model_hash == current().model_hash) {
        if (asked)
          diag::notice("SIGHUP: the bundle at " + diag::quoted(path_) + " is the model in use");
        return;
      }
      model::xgb::set_param(m->bundle.booster, "nthread", "1");
      m->scorer = std::make_unique<model::Scorer>(m->bundle, so_);
    } catch (const std::exception& e) {
      ++refused_;
      diag::warning("refused the model bundle at " + diag::quoted(path_) + ": " + e.what() +
                    "; still scoring with " + current().model_hash);
      return;
    }
    diag::notice("loaded the model " + m->bundle.model_hash + " from " + diag::quoted(path_) +
                 "; it takes over at the next record");
    Loaded* r = m.get();
    {
      std::lock_guard<std::mutex> keep(models_mutex_);
      models_.push_back(std::move(m));
    }
    ready_.store(r, std::memory_order_release);
  }

  std::string path_;
  model::ScoreOptions so_;
  std::mutex models_mutex_;
  std::vector<std::unique_ptr<Loaded>> models_;  // every model loaded: batches may still use one
  std::atomic<Loaded*> current_{nullptr};
  std::atomic<Loaded*> ready_{nullptr};
  std::atomic<uint64_t> swapped_{0}, refused_{0};
  std::string signature_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread watcher_;
};

struct PredictArgs {
  cli::IoOptions io;
  cli::ServiceOptions service;
  std::string model;
  double threshold = 0.5;
  bool threshold_given = false;
  std::vector<std::string> keep;
  std::string key_field;
  bool explain = false;
  bool allow_missing = false;
  std::string shadow;
  std::string drift_window, drift_report;
  double drift_threshold = 0.2;
  model::ServeOptions serve;
  bool exactly_once = false;
  std::string transactional_id;
};

// --drift-window N (records) or DURATION (30s, 10m), and --drift-threshold.
model::DriftOptions drift_options(const PredictArgs& a) {
  model::DriftOptions d;
  d.threshold = a.drift_threshold;
  const std::string& w = a.drift_window;
  if (w.empty()) {
    d.records = 10000;
  } else if (w.find_first_not_of("0123456789") == std::string::npos && w.size() < 19 &&
             std::stoull(w) > 0) {
    d.records = std::stoull(w);
  } else if (auto t = base::parse_duration(w); t && t->count() > 0) {
    d.time = *t;
  } else {
    throw UsageError("bad value " + diag::quoted(w) +
                     " for --drift-window; give a number of records (10000) or a duration "
                     "(30s, 10m, 1h)");
  }
  return d;
}

#ifdef CDN_WITH_KAFKA
// Consume, predict, produce and the input offsets in one Kafka transaction per commit.
int run_exactly_once(PredictArgs& a, const model::Bundle& bundle, const model::Scorer& scorer) {
  std::optional<std::string> in, out;
  if (a.io.inputs.size() == 1) in = endpoint::kafka_topic(a.io.inputs[0]);
  out = endpoint::kafka_topic(a.io.output);
  const std::string& group = kafka::settings().group;
  if (!in || !out || group.empty()) {
    throw UsageError(
        "--exactly-once reads one kafka:TOPIC in a consumer group (-G) and writes "
        "to -o kafka:TOPIC");
  }
  if (cli::output_format(a.io) == record::Format::csv ||
      endpoint::parse_compression(a.io.compress) == endpoint::Compression::gzip) {
    throw UsageError(
        "--exactly-once writes JSON records to a topic; leave out "
        "--output-format csv and --compress gzip");
  }
  std::string id = a.transactional_id;
  if (id.empty()) {
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    id = "cdn-predict-" + group + "-" + *in + "-" + host;
  }
  kafka::ConsumerOptions opts = kafka::consumer_options({*in});
  opts.properties = {{"isolation.level", "read_committed"}};
  record::Counts pending;  // records read before the run context exists: none
  auto source = std::make_unique<kafka::ConsumerSource>(std::move(opts), pending);
  auto sink = std::make_unique<kafka::TransactionalSink>(*out, source->consumer(), id);
  pipeline::RunContext ctx("predict", std::move(sink), endpoint::open_rejects(a.io.rejects));
  ctx.set_time_field(bundle.contract.time_field);
  source->count_into(ctx.counts());
  a.serve.periodic_commit = true;
  record::FieldWatch watch;
  watch.expect("--keep", a.keep);
  watch.expect("--key-field", {a.key_field}, true);
  record::WatchedSource watched(*source, watch);
  auto tally = model::serve(scorer, watched, ctx, a.serve);
  watch.report();
  return ctx.finish(model::tally_text(*tally.contract, tally) + ", exactly once");
}
#endif

int run_predict(PredictArgs& a) {
  // --metrics-addr: up before the setup, so /readyz says "starting" meanwhile.
  auto server = cli::start_service(a.service, "predict");
  model::xgb::route_logs();
  if (server) diag::Service::get().build_label("xgboost", model::xgb::version());
  model::Bundle bundle = model::read_bundle(a.model);
  // Each worker predicts its own batch on one thread.
  model::xgb::set_param(bundle.booster, "nthread", "1");
  model::ScoreOptions so;
  if (a.threshold_given) so.threshold = a.threshold;
  so.keep = a.keep;
  so.explain = a.explain;
  so.measure = diag::Service::get().serving();
  so.allow_missing = a.allow_missing;
  so.key_field = record::KeyField(a.key_field);
  for (const auto& k : so.keep) {
    if (k.empty()) throw UsageError("--keep holds an empty field name");
  }
  // --shadow: a candidate scoring the same rows beside, one thread per batch as the model.
  std::optional<model::Bundle> shadow_bundle;
  std::optional<model::Scorer> shadow;
  if (!a.shadow.empty()) {
    shadow_bundle = model::read_bundle(a.shadow);
    model::xgb::set_param(shadow_bundle->booster, "nthread", "1");
    model::ScoreOptions sso;
    sso.allow_missing = true;  // the model's refusals decide; the shadow scores what it does
    shadow.emplace(*shadow_bundle, sso);
    so.shadow = &*shadow;
    a.serve.shadow = so.measure;
  }
  // Drift: on with --drift-window or --drift-report (a window of 10,000 records then).
  std::unique_ptr<model::DriftWatch> drift;
  if (!a.drift_window.empty() || !a.drift_report.empty()) {
    model::DriftOptions d = drift_options(a);
    so.drift = true;
    drift = std::make_unique<model::DriftWatch>(
        d, a.drift_report.empty() ? nullptr : model::open_drift_report(a.drift_report));
    a.serve.drift = drift.get();
  }
  io::install_reload_signal();
  HotSwap hot(a.model, so, std::move(bundle));
  a.serve.models = &hot;
  const model::Scorer& scorer = hot.first();
  auto info = diag::Service::get().add_metrics([&a, &hot](std::string& out) {
    const model::Bundle& b = hot.current();
    diag::metric_header(
        out, "cdn_model_info",
        "The model bundle predict scores with: its directory, the model's hash "
        "(the \"model\" of each prediction), objective and contract hash; always 1.",
        "gauge");
    out += "cdn_model_info{model=\"" + diag::metric_label(a.model) + "\",hash=\"" +
           diag::metric_label(b.model_hash) + "\",objective=\"" +
           diag::metric_label(b.contract.objective) + "\",contract_hash=\"" +
           diag::metric_label(b.contract_hash) + "\"} 1\n";
    diag::metric_header(out, "cdn_model_swaps_total",
                        "New model bundles that took over while the stream ran (swapped), and "
                        "those refused (refused).",
                        "counter");
    out += "cdn_model_swaps_total{result=\"swapped\"} " + std::to_string(hot.swapped()) + "\n";
    out += "cdn_model_swaps_total{result=\"refused\"} " + std::to_string(hot.refused()) + "\n";
  });
  const model::Bundle& first = scorer.bundle();
#ifdef CDN_WITH_KAFKA
  if (a.exactly_once) return run_exactly_once(a, first, scorer);
#endif

  pipeline::RunContext ctx("predict", cli::open_output(a.io, false),
                           endpoint::open_rejects(a.io.rejects));
  ctx.set_time_field(first.contract.time_field);
  cli::Inputs inputs(a.io, ctx);
  auto& in = inputs.records();
  in.field_watch().expect("--keep", a.keep);
  in.field_watch().expect("--key-field", {a.key_field}, true);
  // A file output or rejects file is renamed into place at the end, so only streams can be
  // committed on the way (and with them the offsets of a Kafka input in a group).
  a.serve.periodic_commit =
      !ctx.out().holds_until_commit() && !ctx.rejects().sink().holds_until_commit();
  auto tally = model::serve(scorer, in, ctx, a.serve);
  return ctx.finish(model::tally_text(*tally.contract, tally));
}
}  // namespace

Runner setup_predict(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  app.add_option("-m,--model", a->model, "Model bundle directory written by cdn train")
      ->type_name("MODEL_DIR")
      ->required();
  cli::add_input_options(app, a->io);
  cli::add_output_options(app, a->io);
  CLI::Option* threshold =
      app.add_option("--threshold", a->threshold,
                     "Add a \"label\": 1 when the probability is at least T, else 0 (binary "
                     "classifiers)")
          ->type_name("T")
          ->check(cli::real_number("--threshold", 0, 1));
  app.add_option("--keep", a->keep, "Copy these input fields into each prediction, comma-separated")
      ->type_name("FIELDS")
      ->delimiter(',')
      ->allow_extra_args(false);
  cli::add_key_field_option(app, a->key_field,
                            "each prediction (and reject) is its input record's");
  app.add_flag("--explain", a->explain,
               "Add \"contributions\": each feature's SHAP value and the bias, which sum to the "
               "margin");
  app.add_option("--shadow", a->shadow,
                 "A candidate bundle that scores each record beside the model: its prediction "
                 "goes out as \"shadow\", with metrics of agreement")
      ->type_name("MODEL_DIR");
  app.add_option("--drift-window", a->drift_window,
                 "Measure drift over windows of N records, or of a DURATION (30s, 10m): the "
                 "population stability index of each feature and of the score against the "
                 "training data, as metrics, --drift-report lines and a warning")
      ->type_name("N|DURATION");
  app.add_option("--drift-report", a->drift_report,
                 "Append one NDJSON line per drift window to PATH, or produce it to kafka:TOPIC "
                 "(windows of 10000 records unless --drift-window)")
      ->type_name("PATH");
  app.add_option("--drift-threshold", a->drift_threshold,
                 "The index above which a feature has drifted: warned about once, listed in the "
                 "report's \"above\"")
      ->type_name("PSI")
      ->check(cli::real_number("--drift-threshold", 0, 100))
      ->capture_default_str();
  app.add_flag("--allow-missing", a->allow_missing,
               "Score a record missing a feature the schema requires or training never saw "
               "missing (as XGBoost's missing value), instead of rejecting it");
  cli::add_whole_number(app, "--batch-size", a->serve.batch_size,
                        "Records scored together; smaller batches lower the latency", 1, 1 << 20)
      ->type_name("N")
      ->capture_default_str();
  cli::add_duration(app, "--flush-interval", a->serve.linger_ms,
                    "How long a batch waits for more records: a record arriving later than "
                    "this after the batch's first one closes it and sends what was read",
                    0, 3600000, cli::PlainUnit::kSeconds)
      ->default_str("100ms");
  cli::deprecated(cli::add_duration(app, "--linger-ms", a->serve.linger_ms, "", 0, 3600000,
                                    cli::PlainUnit::kMilliseconds),
                  "--flush-interval");
  cli::add_whole_number(app, "--threads", a->serve.threads,
                        "Threads scoring batches (0: one per core)", 0, 1024)
      ->type_name("N")
      ->capture_default_str();
#ifdef CDN_WITH_KAFKA
  app.add_flag("--exactly-once", a->exactly_once,
               "Kafka in and out: commit the predictions and the input offsets in one "
               "transaction, so read_committed readers see each prediction once, crash or not");
  app.add_option("--transactional-id", a->transactional_id,
                 "Transactional id of --exactly-once, stable across restarts and unique per "
                 "instance (default: cdn-predict-GROUP-TOPIC-HOSTNAME)")
      ->type_name("ID");
#endif
  cli::add_service_options(app, a->service);
  cli::add_examples(app,
                    {"cdn predict -m model tagged.ndjson -o predictions.ndjson",
                     "cdn predict -m model -G predictors -e -o kafka:cdnresult kafka:cdndata"});
  return [a, threshold] {
    a->threshold_given = threshold->count() > 0;
    return run_predict(*a);
  };
}

}  // namespace cdn::cmd
