// cdn predict: apply a model bundle to a stream of records, one prediction record per input
// record, in input order; records are scored in batches on every core.
#include <memory>
#include <optional>

#include "cmd/commands.hpp"
#include "common/cli/options.hpp"
#include "common/cli/service.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/metric.hpp"
#include "common/diag/service.hpp"
#include "common/model/bundle.hpp"
#include "common/model/scorer.hpp"
#include "common/model/serve.hpp"
#ifdef CDN_WITH_KAFKA
#include <unistd.h>

#include "common/endpoint/endpoint.hpp"
#include "common/kafka/transaction.hpp"
#endif

namespace cdn::cmd {

namespace {
struct PredictArgs {
  cli::IoOptions io;
  cli::ServiceOptions service;
  std::string model;
  double threshold = 0.5;
  bool threshold_given = false;
  std::vector<std::string> keep;
  bool explain = false;
  bool allow_missing = false;
  model::ServeOptions serve;
  bool exactly_once = false;
  std::string transactional_id;
};

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
  auto tally = model::serve(scorer, *source, ctx, a.serve);
  return ctx.finish(model::tally_text(bundle.contract, tally) + ", exactly once");
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
  for (const auto& k : so.keep) {
    if (k.empty()) throw UsageError("--keep holds an empty field name");
  }
  model::Scorer scorer(bundle, so);
  auto info = diag::Service::get().add_metrics([&a, &bundle](std::string& out) {
    diag::metric_header(out, "cdn_model_info",
                        "The model bundle predict scores with: its directory, objective and "
                        "contract hash; always 1.",
                        "gauge");
    out += "cdn_model_info{model=\"" + diag::metric_label(a.model) + "\",objective=\"" +
           diag::metric_label(bundle.contract.objective) + "\",contract_hash=\"" +
           diag::metric_label(bundle.contract_hash) + "\"} 1\n";
  });
#ifdef CDN_WITH_KAFKA
  if (a.exactly_once) return run_exactly_once(a, bundle, scorer);
#endif

  pipeline::RunContext ctx("predict", endpoint::open_output(a.io.output),
                           endpoint::open_rejects(a.io.rejects));
  ctx.set_time_field(bundle.contract.time_field);
  cli::Inputs inputs(a.io, ctx);
  auto& in = inputs.records();
  // A file output or rejects file is renamed into place at the end, so only streams can be
  // committed on the way (and with them the offsets of a Kafka input in a group).
  a.serve.periodic_commit =
      !ctx.out().holds_until_commit() && !ctx.rejects().sink().holds_until_commit();
  auto tally = model::serve(scorer, in, ctx, a.serve);
  return ctx.finish(model::tally_text(bundle.contract, tally));
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
  app.add_flag("--explain", a->explain,
               "Add \"contributions\": each feature's SHAP value and the bias, which sum to the "
               "margin");
  app.add_flag("--allow-missing", a->allow_missing,
               "Score a record missing a feature the schema requires or training never saw "
               "missing (as XGBoost's missing value), instead of rejecting it");
  cli::add_whole_number(app, "--batch-size", a->serve.batch_size,
                        "Records scored together; smaller batches lower the latency", 1, 1 << 20)
      ->type_name("N")
      ->capture_default_str();
  cli::add_whole_number(
      app, "--linger-ms", a->serve.linger_ms,
      "How long a batch waits for more records: a record arriving later than MS after the "
      "batch's first one closes it and sends what was read",
      0, 3600000)
      ->type_name("MS")
      ->capture_default_str();
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
  return [a, threshold] {
    a->threshold_given = threshold->count() > 0;
    return run_predict(*a);
  };
}

}  // namespace cdn::cmd
