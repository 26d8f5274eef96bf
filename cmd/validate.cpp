// cdn validate: check every record against a JSON Schema (drafts 4, 6 and 7). Valid records
// go to the output byte for byte; invalid ones to the rejects sink with every error. Records
// are checked in batches on every core, and written in input order.
#include <chrono>
#include <memory>

#include "cmd/commands.hpp"
#include "common/base/fd.hpp"
#include "common/base/json_text.hpp"
#include "common/base/printable.hpp"
#include "common/cli/options.hpp"
#include "common/cli/service.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/io/sink.hpp"
#include "common/pipeline/ordered_batches.hpp"
#include "common/schema/check_batch.hpp"

namespace cdn::cmd {

namespace {

struct ValidateArgs {
  cli::IoOptions io;
  cli::ServiceOptions service;
  size_t max_errors = 20;
  bool coerce = false;
  bool drop_unknown = false;
  bool report_changes = false;
  bool summary = false;
  unsigned threads = 0;
  std::string engine = "compiled";
  std::string key_field;
};

constexpr size_t kBatchRecords = 2048;
constexpr size_t kBatchBytes = 1 << 20;

// Each change --coerce made, on stderr.
void report(const schema::CheckResult& r, const std::string& source, uint64_t line) {
  for (const auto& c : r.changes) {
    std::string m = source;
    m += ':';
    m += std::to_string(line);
    m += ": ";
    m += c.pointer.empty() ? std::string("(the record)") : c.pointer;
    m += ": ";
    m += c.kind;
    m += ": ";
    m += c.from.empty() ? std::string("(missing)") : c.from;
    m += " -> ";
    m += c.to.empty() ? std::string("(removed)") : c.to;
    // The file name and member names come from outside: nothing in them acts on a terminal.
    m = base::escape_controls(m);
    m += '\n';
    base::try_write_all(2, m.data(), m.size());
  }
}

int run_validate(ValidateArgs& a) {
  // --metrics-addr: up before the setup, so /readyz says "starting" meanwhile.
  auto server = cli::start_service(a.service, "validate");
  if (a.drop_unknown && !a.coerce) {
    throw UsageError("--drop-unknown changes records, so it needs --coerce; add --coerce");
  }
  if (a.report_changes && !a.coerce) {
    throw UsageError("--report-changes lists what --coerce changed; add --coerce");
  }
  if (a.io.schema.empty()) a.io.schema = schema::find_schema("cdn-data.json");
  auto validator = schema::Validator::from_file(a.io.schema);
  diag::info("checking records against the schema " + diag::quoted(a.io.schema) + " (" + a.engine +
             " engine" + (a.coerce ? ", coercing" : "") + ")");
  std::unique_ptr<schema::ValijsonEngine> valijson;
  if (a.engine == "valijson") valijson = schema::ValijsonEngine::from_file(a.io.schema);

  pipeline::RunContext ctx("validate", cli::open_output(a.io),
                           endpoint::open_rejects(a.io.rejects));
  // Regular NDJSON files are mapped, not read: their records are checked where they are.
  cli::Inputs inputs(a.io, ctx, size_t{1} << 40);
  auto& in = inputs.records();

  schema::CheckOptions opts;
  opts.max_errors = a.max_errors;
  opts.coerce = a.coerce;
  opts.coerce_opts.drop_unknown = a.drop_unknown;
  opts.keep_changes = a.report_changes;
  record::KeyField key_field(a.key_field);
  if (!key_field.empty()) opts.key_field = &key_field;
  in.field_watch().expect("--key-field", {a.key_field}, true);
  schema::FailureTable failures;
  uint64_t coerced = 0;
  bool timed = ctx.measuring();  // --metrics-addr: cdn_batch_seconds
  auto check = [&](schema::CheckBatch& b) {
    // One checker per worker thread (it owns its parsers), for this run's options.
    thread_local std::unique_ptr<schema::RecordChecker> checker;
    thread_local const schema::CheckOptions* owner = nullptr;
    if (owner != &opts) {
      checker = std::make_unique<schema::RecordChecker>(*validator, opts, valijson.get());
      owner = &opts;
    }
    if (!timed) return b.check(*checker, a.summary);
    auto t0 = std::chrono::steady_clock::now();
    b.check(*checker, a.summary);
    b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto write = [&](std::unique_ptr<schema::CheckBatch>& spent) {
    const schema::CheckBatch& b = *spent;
    if (timed) ctx.batch_done(b.seconds);
    for (size_t i = 0; i < b.items.size(); ++i) {
      const auto& it = b.items[i];
      const auto& r = b.results[i];
      const std::string& source = b.sources[it.source];
      auto key = r.keyed ? std::optional<std::string_view>(r.key) : b.keys.get(i);
      switch (r.kind) {
        case schema::CheckResult::Kind::valid:
          ctx.emit(it.text(), key);
          break;
        case schema::CheckResult::Kind::coerced:
          ++coerced;
          report(r, source, it.line);
          ctx.emit(r.text, key);
          break;
        case schema::CheckResult::Kind::invalid:
          report(r, source, it.line);
          ctx.rejects().reject(source, it.line, r.reason, it.text(), r.members, key);
          break;
      }
    }
    if (a.summary) failures.merge(b.failures);
  };
  pipeline::OrderedBatches<schema::CheckBatch> batches(a.threads, check, write);
  // A live stream (a Kafka topic) is written out whenever the input waits for more.
  in.on_idle([&] {
    batches.drain();
    ctx.out().flush();
    ctx.rejects().sink().flush();
  });
  record::Record rec;
  while (in.next(rec)) {
    auto& b = batches.open();
    b.add(rec.text, rec.line, in.name(), in.stable());
    b.keys.set(b.items.size() - 1, rec.key);
    if (b.items.size() >= kBatchRecords || b.size_bytes() >= kBatchBytes) batches.submit();
  }
  batches.drain();

  if (a.summary) {
    // Asked for, so written whatever -q says.
    std::string t =
        failures.empty() ? std::string("cdn validate: no record failed\n") : failures.table();
    base::try_write_all(2, t.data(), t.size());
  }
  std::string extra;
  if (a.coerce) extra = std::to_string(coerced) + " coerced";
  extra += extra.empty() ? "" : ", ";
  extra += "schema ";
  extra += diag::quoted(a.io.schema);
  extra += " (draft ";
  extra += std::to_string(validator->draft());
  extra += valijson ? ", valijson)" : ")";
  return ctx.finish(extra);
}

}  // namespace

Runner setup_validate(CLI::App& app) {
  auto a = std::make_shared<ValidateArgs>();
  cli::add_input_options(app, a->io);
  cli::add_output_options(app, a->io);
  app.get_option("--schema")
      ->description(
          "JSON Schema (draft 4, 6 or 7, by its $schema; 7 when it names none) that records "
          "must satisfy, and that types CSV cells (default: cdn-data.json of cdn's schemas)");
  cli::add_whole_number(app, "--max-errors", a->max_errors,
                        "Errors listed per rejected record, at most (0: all of them)", 0)
      ->type_name("N")
      ->capture_default_str();
  app.add_flag("--coerce", a->coerce,
               "Make records fit the schema before checking them: numeric strings to numbers, "
               "\"true\"/\"false\" to booleans, strings trimmed, date-times (RFC 3339 or "
               "epoch seconds or milliseconds) to RFC 3339 UTC with milliseconds, defaults "
               "filled in; changed records are re-serialized, others pass byte for byte");
  app.add_flag("--drop-unknown", a->drop_unknown,
               "With --coerce: remove properties that additionalProperties: false forbids");
  app.add_flag("--report-changes", a->report_changes,
               "With --coerce: list each change on stderr (source:line: pointer: kind: "
               "before -> after)");
  app.add_flag("--summary", a->summary,
               "At the end, a table on stderr of how often which keyword failed at which path");
  app.add_option("--engine", a->engine,
                 "What checks records: compiled (the schema compiled once into cdn's checker, "
                 "the default) or valijson (the valijson library over the same parsed "
                 "records, a reference: slower, and strict about integer types)")
      ->type_name("ENGINE")
      ->check(CLI::IsMember({"compiled", "valijson"}))
      ->capture_default_str();
  cli::add_key_field_option(app, a->key_field);
  cli::add_whole_number(app, "--threads", a->threads,
                        "Threads that check records (default: one per core)", 0, 256)
      ->type_name("N");
  cli::add_service_options(app, a->service);
  cli::add_examples(app, {"cdn validate --coerce --rejects bad.ndjson day1.ndjson -o valid.ndjson",
                          "cdn validate --summary train.csv > /dev/null"});
  return [a] { return run_validate(*a); };
}

}  // namespace cdn::cmd
