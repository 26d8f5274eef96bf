// cdn train: CSV or NDJSON records straight into a dense float matrix by the feature contract the
// schema gives, XGBoost boosting rounds with metrics on stderr, and a model bundle directory.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "cmd/commands.hpp"
#include "common/cli/completion.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/io/byte_reader.hpp"
#include "common/io/sink.hpp"
#include "common/io/temp_file.hpp"
#include "common/model/bundle.hpp"
#include "common/model/dataset.hpp"
#include "common/model/distributed.hpp"
#include "common/model/report.hpp"
#include "common/model/trainer.hpp"
#include "common/record/ids.hpp"
#include "common/record/source.hpp"
#include "common/record/timestamp.hpp"
#ifdef CDN_WITH_KAFKA
#include "common/kafka/client.hpp"
#endif

namespace cdn::cmd {

namespace {
struct TrainArgs {
  std::vector<std::string> inputs;
  std::string output;
  cli::IoOptions io;  // --rejects
  std::string schema;
  model::ContractOptions contract;
  std::string objective = "binary:logistic";
  model::TrainOptions train;
  std::vector<std::string> params;
  std::vector<std::string> valid;
  double valid_fraction = 0;
  std::string valid_after;
  std::string report;
  std::string input_format = "auto";
  std::string model_in;                     // --model-in: the bundle to continue
  bool in_memory = false;                   // --in-memory: a dense float matrix, read whole
  std::vector<std::string> contract_given;  // the contract options given (--schema, --label...)
  model::collective::Options collective;    // --tracker, --workers, --rank (distributed)
  bool rank_given = false;                  // by --rank, CDN_RANK or the config file
};

// Whether an input of cdn train is NDJSON: --input-format, else its name (.csv is CSV;
// .ndjson, .jsonl and .json are NDJSON, gzipped or not; a Kafka topic is NDJSON), else the
// first byte of a file ('{'). Standard input is CSV unless --input-format ndjson says not.
bool is_ndjson(const std::string& spec, const std::string& format) {
  if (format != "auto") return format == "ndjson";
  if (endpoint::is_kafka(spec)) return true;
  if (record::detect_format(spec) == record::Format::csv) return false;
  std::string s = spec;
  if (s.size() > 3 && s.compare(s.size() - 3, 3, ".gz") == 0) s.resize(s.size() - 3);
  for (const char* ext : {".ndjson", ".jsonl", ".json"}) {
    size_t n = std::strlen(ext);
    if (s.size() > n && s.compare(s.size() - n, n, ext) == 0) return true;
  }
  if (spec == "-") return false;
  try {
    io::ByteReader bytes(spec);
    char c = ' ';
    while (bytes.read(&c, 1) == 1) {
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c == '{';
    }
  } catch (const RuntimeError&) {
    // not readable: CsvLoader says so
  }
  return false;
}

void check_args(TrainArgs& a) {
  if (a.output.empty()) throw UsageError("-o/--output names the model bundle directory to write");
  int splits = !a.valid.empty() + (a.valid_fraction > 0) + !a.valid_after.empty();
  if (splits > 1) {
    throw UsageError(
        "--valid, --valid-fraction and --valid-after each choose the validation "
        "data; give one");
  }
  if (a.valid_fraction >= 1) {
    throw UsageError("bad value " + std::to_string(a.valid_fraction) +
                     " for --valid-fraction; give a fraction at least 0 and below 1");
  }
  if (a.in_memory && !a.train.external_memory.empty()) {
    throw UsageError(
        "--in-memory and --external-memory each choose where the training data is kept; give one");
  }
  if (!a.train.external_memory.empty()) {
    if (std::string why = io::directory_problem(a.train.external_memory); !why.empty()) {
      throw UsageError("bad --external-memory: " + why + "; name an existing directory");
    }
  }
  if (a.train.early_stopping > 0 && splits == 0) {
    throw UsageError(
        "--early-stopping watches validation data; give --valid, --valid-fraction "
        "or --valid-after");
  }
  for (const auto& kv : a.params) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("bad --param " + diag::quoted(kv) + "; write --param key=value");
    }
    a.train.params.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
#ifdef CDN_WITH_KAFKA
  for (const auto* list : {&a.inputs, &a.valid}) {
    for (const auto& spec : *list) {
      if (endpoint::is_kafka(spec) && !kafka::settings().exit_at_end) {
        throw UsageError("cdn train reads " + diag::quoted(spec) +
                         " to its end and then trains: add -e (--exit-at-end)");
      }
    }
  }
#endif
  if (!a.model_in.empty()) {
    if (!a.contract_given.empty()) {
      throw UsageError(
          "--model-in continues the bundle's model with the bundle's contract and "
          "objective; leave out " +
          a.contract_given.front());
    }
    return;
  }
  if (a.schema.empty()) a.schema = model::default_schema_path();
  if (a.schema.empty()) {
    throw UsageError("no schema found; name the JSON Schema of the records with --schema FILE");
  }
}

int run_train(TrainArgs& a) {
  check_args(a);
  model::collective::settle(a.collective, a.rank_given);
  model::xgb::route_logs();
  // Distributed: worker 0 alone writes the bundle and the report.
  if (a.collective.rank <= 0) {
    model::check_bundle_target(a.output);
    if (!a.report.empty()) model::check_report_target(a.report);
  }
  model::Contract contract;
  std::vector<int64_t> missing_before;  // --model-in: the rows its training missed each feature
  if (!a.model_in.empty()) {
    // Continued training: the bundle's contract (its vocabularies stay, so its codes do) and
    // its trees, to which this run's rounds are added.
    model::Bundle base = model::read_bundle(a.model_in);
    contract = base.contract;
    for (const auto& f : contract.features) missing_before.push_back(f.missing);
    a.train.model_in = model::xgb::save(base.booster, "ubj");
  } else {
    contract = model::derive_contract(a.schema, a.contract);
    contract.objective = a.objective;
  }
  for (const auto& kv : a.train.params) {
    if (kv.first == "num_class") contract.num_class = std::atoi(kv.second.c_str());
  }
  model::check_parameters(contract, a.train);
  // Distributed: the group forms, and agrees on the setup, before any data is read.
  model::collective::Communicator comm(a.collective);
  model::distributed::agree_setup(
      comm, model::distributed::setup_text(
                contract, a.train,
                !a.valid.empty()         ? "--valid"
                : a.valid_fraction > 0   ? "--valid-fraction " + std::to_string(a.valid_fraction)
                : !a.valid_after.empty() ? "--valid-after " + a.valid_after
                                         : "(none)"));
  pipeline::RunContext ctx("train", io::no_output(), endpoint::open_rejects(a.io.rejects));
  std::optional<record::Instant> after;
  if (!a.valid_after.empty()) {
    after = record::parse_rfc3339(a.valid_after);
    if (!after) throw UsageError("--valid-after wants an RFC 3339 time, e.g. 2026-11-22T12:00:00Z");
  }
  auto t0 = std::chrono::steady_clock::now();
  auto secs = [&t0] {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f s",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return std::string(b);
  };
  model::CsvLoader loader(contract, after.has_value(), ctx.rejects(), ctx.counts());
  if (!a.model_in.empty()) loader.freeze_vocabularies();
  model::Dataset train, valid;
  if (!a.model_in.empty() && a.train.external_memory.empty() && !a.in_memory) {
    // XGBoost 1.7 predicts a quantised matrix from its bins, not its values: the trees of the
    // model continued would start from approximate margins. Exact values are kept instead.
    diag::debug("--model-in: the training data is kept in memory (or give --external-memory)");
    a.in_memory = true;
  }
  if (!a.in_memory) {
    // The rows go to a file as they are read and to XGBoost a block at a time.
    std::string dir = a.train.external_memory;
    if (dir.empty()) {
      const char* t = std::getenv("TMPDIR");
      dir = t != nullptr && *t != '\0' ? t : "/tmp";
    }
    train.cols = valid.cols = contract.features.size();
    train.spool_to(dir);
    valid.spool_to(dir);
  }
  auto load = [&](const std::string& spec, model::Dataset& into, bool learn) {
    if (!is_ndjson(spec, a.input_format)) return loader.load(spec, into, learn);
    endpoint::InputSet in({spec}, record::SourceOptions{}, ctx.rejects(), ctx.counts());
    loader.load(in, into, learn);
  };
  for (const auto& in : a.inputs) load(in, train, true);
  model::distributed::agree_vocabularies(comm, contract, loader);  // the categories any saw
  loader.finish_vocabularies(train);
  for (const auto& in : a.valid) load(in, valid, false);
  if (a.valid_fraction > 0) {
    uint64_t cut = static_cast<uint64_t>(a.valid_fraction * 18446744073709551616.0);
    uint64_t seed = a.train.seed;
    train.split(valid, [&](size_t r) { return record::xxh64(&r, sizeof r, seed) < cut; });
  } else if (after) {
    train.split(valid, [&](size_t r) { return train.time[r] >= after->seconds; });
  }
  bool has_valid = !a.valid.empty() || a.valid_fraction > 0 || after;
  model::distributed::agree_rows(comm, train, has_valid ? &valid : nullptr);
  // The rejects say why each record was refused: they are kept, whole, before the error.
  auto none_left = [&](const std::string& what, const std::vector<std::string>& specs) {
    ctx.rejects().sink().commit();
    std::string where;
    for (const auto& spec : specs) where += (where.empty() ? "" : ", ") + diag::quoted(spec);
    uint64_t read = ctx.counts().in, rejected = ctx.counts().rejected;
    return UsageError(
        what + " in " + where + " (" + std::to_string(read) + " read, " + std::to_string(rejected) +
        " rejected" + (rejected > 0 ? ": the rejects say why)" : ")") +
        "; give records with the label " + diag::quoted(contract.label) + " and the features");
  };
  if (train.rows() == 0) throw none_left("no training rows left to train on", a.inputs);
  if (has_valid && valid.rows() == 0) {
    if (!a.valid.empty()) throw none_left("no validation rows left", a.valid);
    throw UsageError(
        "the validation data has no rows: --valid-fraction or --valid-after left "
        "none of the " +
        std::to_string(train.rows()) +
        " training rows to it; give more rows, or another fraction or time");
  }
  if (contract.multiclass() && contract.num_class == 0) {
    float hi = 0;
    for (float v : train.y) hi = std::max(hi, v);
    hi = model::distributed::max(comm, hi);
    contract.num_class = std::max(2, static_cast<int>(hi) + 1);
  }
  // The bundle says which features training saw missing: predict refuses a record missing
  // one that never was.
  std::vector<uint64_t> missing = model::distributed::sum(comm, loader.missing());
  for (size_t f = 0; f < contract.features.size(); ++f) {
    auto now = static_cast<int64_t>(missing[f]);
    int64_t before = f < missing_before.size() ? missing_before[f] : 0;
    // An older bundle that does not say keeps not saying: it cannot be known.
    contract.features[f].missing = before < 0 ? -1 : before + now;
  }
  for (size_t f = 0; f < contract.features.size(); ++f) {
    if (loader.unknown()[f] > 0) {
      diag::warning(std::to_string(loader.unknown()[f]) +
                    (a.model_in.empty() ? " validation values of " : " values of ") +
                    diag::quoted(contract.features[f].name) +
                    (a.model_in.empty() ? " were not seen in training"
                                        : " are outside the vocabulary of the model continued") +
                    "; they count as missing");
    }
  }
  diag::info("read " + std::to_string(train.rows()) + " training and " +
             std::to_string(valid.rows()) + " validation rows in " + secs());
  diag::notice(
      "training on " + std::to_string(train.rows()) + " rows, " +
      (a.in_memory ? "in memory (a dense float matrix)"
       : a.train.external_memory.empty()
           ? "quantised (XGBoost's quantile matrix, built a block at a time)"
           : "in external memory (pages in " + diag::quoted(a.train.external_memory) + ")"));
  a.train.progress_bar = isatty(2) && !diag::settings().quiet;
  a.train.quiet = diag::settings().quiet;
  model::TrainResult r =
      model::distributed::train(comm, contract, train, has_valid ? &valid : nullptr, a.train);
  diag::info("trained in " + secs() + " since the start");
  diag::summary(r.final_metrics.to_text());

  model::BundleFiles files;
  model::Validation v{a.valid, a.valid_fraction, after ? a.valid_after : std::string()};
  files.params = model::params_json(r, a.train, v);
  files.metrics = model::metrics_json(r);
  files.summary = model::summary_json(contract, train, has_valid ? &valid : nullptr);
  files.importance = model::importance_json(r.booster, contract);
  // Drift: the training rows' distributions, and the scores on the evaluated set.
  size_t scored = has_valid ? valid.rows() : train.rows();
  files.reference =
      model::build_reference(
          contract, train,
          model::row_scores(r.final_predictions, scored ? r.final_predictions.size() / scored : 1))
          .to_json();
  model::ReportInput report{contract, r, train, has_valid ? &valid : nullptr, {}, false, {}};
  for (const char* type : {"gain", "weight", "cover"}) {
    report.importance[type] = model::feature_importance(r.booster, contract, type);
  }
  files.report = model::render_report(report);
  model::distributed::write_once(comm, [&] {
    model::write_bundle(a.output, contract, r.booster, files);
    if (!a.report.empty()) model::write_report(a.report, files.report);
  });
  return ctx.finish(
      std::to_string(contract.features.size()) + " features, " + model::rounds_text(r) +
      (comm.rank() == 0 ? ", bundle " + diag::quoted(a.output)
                        : ", bundle written by worker 0 (this is " + comm.who() + ")"));
}
}  // namespace

Runner setup_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  app.add_option("inputs", a->inputs,
                 "Training data: CSV files with a header row or NDJSON files (gzip allowed), "
                 "'-' for stdin (CSV unless --input-format ndjson), or kafka:TOPIC with -e")
      ->type_name("TRAIN")
      ->check(cli::complete_files(cli::record_extensions()))
      ->required();
  app.add_option("--input-format", a->input_format,
                 "Input format: auto (from the file name, else the first byte), ndjson or csv")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"auto", "ndjson", "csv"}))
      ->capture_default_str();
  cli::add_kafka_options(app, true);
  app.add_option("-o,--output", a->output, "Directory to write the model bundle into")
      ->type_name("MODEL_DIR")
      ->required();
  cli::add_rejects_option(app, a->io);
  app.add_option("--schema", a->schema,
                 "JSON Schema of the records: the features come from its properties (default: "
                 "the installed cdn-data.json)")
      ->type_name("FILE")
      ->check(cli::complete_files({"json"}));
  app.add_option("--label", a->contract.label, "Field holding the label")
      ->type_name("FIELD")
      ->capture_default_str();
  CLI::Option* drop =
      app.add_option("--drop", a->contract.drop,
                     "Fields that are not features, comma-separated (default: sampleID and the "
                     "schema's date-time, IP address and UUID fields)")
          ->type_name("FIELDS")
          ->delimiter(',')
          ->allow_extra_args(false);
  app.add_flag("--time-features", a->contract.time_features,
               "Add the hour of day (UTC) and the day of week of the timestamp as features");
  app.add_option("--objective", a->objective,
                 "XGBoost objective: binary:logistic, reg:squarederror, multi:softprob, ...")
      ->type_name("NAME")
      ->check(cli::complete_values({"binary:logistic", "binary:hinge", "reg:squarederror",
                                    "reg:logistic", "multi:softprob", "multi:softmax"}))
      ->capture_default_str();
  cli::add_whole_number(app, "--rounds", a->train.rounds, "Boosting rounds", 1, 1000000)
      ->type_name("N")
      ->capture_default_str();
  cli::add_whole_number(app, "--max-depth", a->train.max_depth, "Maximum depth of a tree", 0, 64)
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--eta", a->train.eta, "Learning rate")
      ->type_name("X")
      ->check(cli::real_number("--eta", 0, 1))
      ->capture_default_str();
  app.add_option("--subsample", a->train.subsample, "Fraction of rows sampled for each tree")
      ->type_name("X")
      ->check(cli::real_number("--subsample", 0, 1))
      ->capture_default_str();
  app.add_option("--colsample", a->train.colsample, "Fraction of features sampled for each tree")
      ->type_name("X")
      ->check(cli::real_number("--colsample", 0, 1))
      ->capture_default_str();
  app.add_option("--scale-pos-weight", a->train.scale_pos_weight,
                 "Weight of positive examples (binary objectives)")
      ->type_name("X")
      ->check(cli::real_number("--scale-pos-weight", 0, 1e9))
      ->capture_default_str();
  // XGBoost reads its seed as a signed 64-bit number.
  cli::add_whole_number(app, "--seed", a->train.seed,
                        "Random seed (row sampling, --valid-fraction)", 0,
                        std::numeric_limits<int64_t>::max())
      ->type_name("N")
      ->capture_default_str();
  cli::add_whole_number(app, "--threads", a->train.threads, "Threads to train with (0: every core)",
                        0, 1024)
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--param", a->params,
                 "Any other XGBoost parameter as key=value (repeatable), e.g. "
                 "--param eval_metric=aucpr or --param num_class=3")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("--valid", a->valid,
                 "Validation data: CSV or NDJSON files, or kafka:TOPIC (repeatable); their "
                 "categories outside the training vocabulary count as missing")
      ->type_name("FILE")
      ->check(cli::complete_files(cli::record_extensions()))
      ->allow_extra_args(false);
  app.add_option("--valid-fraction", a->valid_fraction,
                 "Hold out this fraction of the training rows for validation, drawn by --seed")
      ->type_name("FRACTION")
      ->check(cli::real_number("--valid-fraction", 0, 1));
  app.add_option("--valid-after", a->valid_after,
                 "Validate on the rows whose timestamp is at or after TIME (a time split)")
      ->type_name("TIME");
  cli::add_whole_number(app, "--early-stopping", a->train.early_stopping,
                        "Stop when the last validation metric has not improved for N rounds, "
                        "and keep the best round",
                        0, 1000000)
      ->type_name("N");
  app.add_option("--threshold", a->train.threshold,
                 "Probability at which a binary prediction counts as positive in the final "
                 "metrics")
      ->type_name("T")
      ->check(cli::real_number("--threshold", 0, 1))
      ->capture_default_str();
  app.add_option("--report", a->report,
                 "Also write the HTML report (always in the bundle as report.html) to this "
                 "path: learning curves, parameters, data summary, feature importance, ROC, "
                 "precision-recall and calibration or residuals")
      ->type_name("FILE.html");
  app.add_flag("--eval-train", a->train.eval_train,
               "Also compute the per-round metrics on the training data (they are computed on "
               "the validation data when there is some, else not at all)");
  app.add_flag("--in-memory", a->in_memory,
               "Keep the training data whole in memory as a float matrix (the default streams "
               "it into XGBoost's quantised matrix a block at a time)");
  app.add_option("--external-memory", a->train.external_memory,
                 "Train from external memory: the rows and XGBoost's pages are kept in files in "
                 "DIR and read back every round, for data that does not fit in memory even "
                 "quantised")
      ->type_name("DIR");
  app.add_option("--model-in", a->model_in,
                 "Continue training this bundle's model (its contract, objective and trees): "
                 "the rounds are added after its own")
      ->type_name("MODEL_DIR");
  // Distributed training (common/model/collective.hpp).
  app.add_option("--tracker", a->collective.tracker,
                 "Train one model together with other workers over XGBoost's collective: the "
                 "tracker's address (scripts/train-tracker.sh starts one)")
      ->envname("CDN_TRACKER")
      ->type_name("HOST:PORT");
  cli::add_whole_number(app, "--workers", a->collective.workers,
                        "With --tracker: how many workers train together", 1, 65536)
      ->envname("CDN_WORKERS")
      ->type_name("N");
  cli::add_whole_number(app, "--rank", a->collective.rank,
                        "With --tracker: this worker's rank, 0 to N-1 (worker 0 writes the "
                        "bundle); from --rank, else CDN_RANK, else the config file, else "
                        "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)",
                        0, 65535)
      ->envname("CDN_RANK")
      ->type_name("I");
  cli::add_duration(app, "--join-timeout", a->collective.join_ms,
                    "With --tracker: how long to wait for the tracker to answer and for every "
                    "worker to join",
                    100, 86400000, cli::PlainUnit::kSeconds)
      ->default_str("2m");
  cli::add_duration(app, "--worker-timeout", a->collective.wait_ms,
                    "With --tracker: how long a worker waits for the others at one step (reading "
                    "their data, a boosting round) before the run fails",
                    100, 86400000, cli::PlainUnit::kSeconds)
      ->default_str("30m");
  cli::add_examples(
      app, {"cdn train train.csv -o model",
            "cdn train --rounds 50 --valid-fraction 0.2 --report report.html train.csv -o model"});
  return [a, drop, &app] {
    a->contract.drop_given = drop->count() > 0;
    a->rank_given = app.get_option("--rank")->count() > 0;
    for (const char* name : {"--schema", "--label", "--drop", "--time-features", "--objective"}) {
      if (app.get_option(name)->count() > 0) a->contract_given.emplace_back(name);
    }
    return run_train(*a);
  };
}

}  // namespace cdn::cmd
