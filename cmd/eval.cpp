// cdn eval: judge a model bundle on labelled records (CSV, NDJSON or a Kafka topic), with the
// metrics of its objective, as a table or JSON.
#include "common/model/eval.hpp"
#include "cmd/commands.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/model/bundle.hpp"
#include "common/model/report.hpp"
#include "common/model/xgb.hpp"

namespace cdn::cmd {

namespace {
struct EvalArgs {
  cli::IoOptions io;
  std::string model;
  model::EvalOptions eval;
  bool json = false;
  std::string report;
};

int run_eval(EvalArgs& a) {
  if (a.io.inputs.empty()) a.io.inputs.push_back("-");
  model::xgb::route_logs();
  if (!a.report.empty()) model::check_report_target(a.report);
  a.eval.keep = !a.report.empty();
  model::Bundle bundle = model::read_bundle(a.model);
  pipeline::RunContext ctx("eval", endpoint::open_output("-"),
                           endpoint::open_rejects(a.io.rejects));
  cli::Inputs inputs(a.io, ctx);
  for (const auto& spec : a.io.inputs) {
    a.eval.inputs += (a.eval.inputs.empty() ? "" : ", ") + diag::quoted(spec);
  }
  model::EvalResult r = model::evaluate_records(bundle, inputs.records(), ctx, a.eval);
  std::string text = a.json ? r.to_json(bundle.contract) : r.to_table(bundle.contract);
  ctx.out().write_lines(text);
  if (!a.report.empty()) model::write_report(a.report, model::render_eval_report(bundle, r));
  return ctx.finish();
}
}  // namespace

Runner setup_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  app.add_option("-m,--model", a->model, "Model bundle directory written by cdn train")
      ->type_name("MODEL_DIR")
      ->required();
  cli::add_input_options(app, a->io);
  cli::add_rejects_option(app, a->io);
  app.add_flag("--json", a->json, "Write the metrics as one JSON object instead of a table");
  app.add_option("--threshold", a->eval.threshold,
                 "Probability at which a binary prediction counts as positive (accuracy, "
                 "precision, recall, F1, confusion)")
      ->type_name("T")
      ->check(cli::real_number("--threshold", 0, 1))
      ->capture_default_str();
  app.add_option("--report", a->report,
                 "Also write an HTML report of the judged records to PATH: the charts of cdn "
                 "train's report (ROC, precision-recall, calibration, thresholds; residuals for "
                 "regression) with the parameters and learning curves of the bundle's training")
      ->type_name("PATH");
  app.add_flag("--allow-missing", a->eval.allow_missing,
               "Score a record missing a feature the schema requires or training never saw "
               "missing, instead of rejecting it (as cdn predict --allow-missing)");
  cli::add_examples(app, {"cdn eval -m model train.csv", "cdn eval -m model --json day1.ndjson"});
  return [a] { return run_eval(*a); };
}

}  // namespace cdn::cmd
