// cdn validate: check every record against a JSON Schema (drafts 4, 6 and 7). Valid records
// go to the output byte for byte; invalid ones to the rejects sink with every error. Records
// are checked in batches on every core, and written in input order.
#include <simdjson.h>

#include <deque>
#include <future>
#include <memory>
#include <thread>

#include "cmd/commands.hpp"
#include "common/base/fd.hpp"
#include "common/base/json_text.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/io/sink.hpp"
#include "common/pipeline/worker_pool.hpp"
#include "common/schema/record_check.hpp"

namespace cdn::cmd {

namespace {

struct ValidateArgs {
  cli::IoOptions io;
  size_t max_errors = 20;
  bool coerce = false;
  bool drop_unknown = false;
  bool report_changes = false;
  bool summary = false;
  unsigned threads = 0;
  std::string engine = "compiled";
};

// Records read but not yet written. The text of a memory-mapped file stays where it is (the
// input stays open until the output is committed); other text is copied, so that the reader
// can go on.
struct Batch {
  struct Item {
    const char* data;  // null until the copied text stops moving (see seal)
    size_t offset, size;
    uint64_t line;
    uint32_t source;
    std::string_view text() const { return {data, size}; }
  };
  std::string text;
  std::vector<Item> items;
  std::vector<std::string> sources;
  std::vector<schema::CheckResult> results;
  schema::FailureTable failures;

  void add(std::string_view rec, uint64_t line, const std::string& source, bool stable) {
    if (sources.empty() || sources.back() != source) sources.push_back(source);
    auto src = static_cast<uint32_t>(sources.size() - 1);
    if (stable) {
      items.push_back({rec.data(), 0, rec.size(), line, src});
      bytes += rec.size();
    } else {
      items.push_back({nullptr, text.size(), rec.size(), line, src});
      text.append(rec);
      text += '\n';
    }
  }
  // The copied text is complete: padding for simdjson, and every item's pointer.
  void seal() {
    text.append(simdjson::SIMDJSON_PADDING, '\0');
    for (auto& it : items) {
      if (!it.data) it.data = text.data() + it.offset;
    }
  }
  size_t size_bytes() const { return text.size() + bytes; }

  size_t bytes = 0;  // of the records not copied
};

constexpr size_t kBatchRecords = 2048;
constexpr size_t kBatchBytes = 1 << 20;

class Run {
 public:
  Run(const ValidateArgs& a, const schema::Validator& v, const schema::ValijsonEngine* valijson,
      pipeline::RunContext& ctx)
      : a_(a), v_(v), valijson_(valijson), ctx_(ctx), pool_(a.threads) {
    opts_.max_errors = a.max_errors;
    opts_.coerce = a.coerce;
    opts_.coerce_opts.drop_unknown = a.drop_unknown;
    opts_.keep_changes = a.report_changes;
  }

  void add(std::string_view rec, uint64_t line, const std::string& source, bool stable) {
    if (!current_) current_ = std::make_shared<Batch>();
    current_->add(rec, line, source, stable);
    if (current_->items.size() >= kBatchRecords || current_->size_bytes() >= kBatchBytes) {
      submit();
    }
  }

  // Everything read so far checked and written.
  void drain() {
    submit();
    while (!pending_.empty()) write_oldest();
  }

  uint64_t coerced() const { return coerced_; }
  const schema::FailureTable& failures() const { return failures_; }

 private:
  void submit() {
    if (!current_ || current_->items.empty()) return;
    auto b = std::move(current_);
    current_.reset();
    b->seal();
    // The job holds the batch (the pool may outlive pending_ on the way out of an error);
    // the future stays out of the batch, or batch and job would hold each other forever.
    std::future<void> done = pool_.submit([this, b] { check(*b); });
    pending_.push_back({std::move(b), std::move(done)});
    while (pending_.size() > 2 * pool_.size()) write_oldest();
  }

  void check(Batch& b) {
    thread_local std::unique_ptr<schema::RecordChecker> checker;
    thread_local const Run* owner = nullptr;
    if (owner != this) {
      checker = std::make_unique<schema::RecordChecker>(v_, opts_, valijson_);
      owner = this;
    }
    b.results.resize(b.items.size());
    for (size_t i = 0; i < b.items.size(); ++i) {
      const auto& it = b.items[i];
      checker->check(it.text(), b.results[i], a_.summary ? &b.failures : nullptr);
    }
  }

  void write_oldest() {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    p.done.get();  // a worker's exception surfaces here
    const std::shared_ptr<Batch>& b = p.batch;
    for (size_t i = 0; i < b->items.size(); ++i) {
      const auto& it = b->items[i];
      std::string_view raw = it.text();
      auto& r = b->results[i];
      switch (r.kind) {
        case schema::CheckResult::Kind::valid:
          ctx_.emit(raw);
          break;
        case schema::CheckResult::Kind::coerced:
          ++coerced_;
          report(r, b->sources[it.source], it.line);
          ctx_.emit(r.text);
          break;
        case schema::CheckResult::Kind::invalid:
          report(r, b->sources[it.source], it.line);
          ctx_.rejects().reject(b->sources[it.source], it.line, r.reason, raw, r.members);
          break;
      }
    }
    if (a_.summary) failures_.merge(b->failures);
  }

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
      m += '\n';
      base::try_write_all(2, m.data(), m.size());
    }
  }

  const ValidateArgs& a_;
  const schema::Validator& v_;
  const schema::ValijsonEngine* valijson_;
  pipeline::RunContext& ctx_;
  schema::CheckOptions opts_;
  pipeline::WorkerPool pool_;
  std::shared_ptr<Batch> current_;
  struct Pending {
    std::shared_ptr<Batch> batch;
    std::future<void> done;
  };
  std::deque<Pending> pending_;
  schema::FailureTable failures_;
  uint64_t coerced_ = 0;
};

int run_validate(ValidateArgs& a) {
  if (a.drop_unknown && !a.coerce) {
    throw UsageError("--drop-unknown changes records, so it needs --coerce; add --coerce");
  }
  if (a.report_changes && !a.coerce) {
    throw UsageError("--report-changes lists what --coerce changed; add --coerce");
  }
  if (a.io.schema.empty()) a.io.schema = schema::find_schema("cdn-data.json");
  auto validator = schema::Validator::from_file(a.io.schema);
  std::unique_ptr<schema::ValijsonEngine> valijson;
  if (a.engine == "valijson") valijson = schema::ValijsonEngine::from_file(a.io.schema);

  pipeline::RunContext ctx("validate", endpoint::open_output(a.io.output),
                           endpoint::open_rejects(a.io.rejects));
  // Regular NDJSON files are mapped, not read: their records are checked where they are.
  cli::Inputs inputs(a.io, ctx, size_t{1} << 40);
  auto& in = inputs.records();
  Run run(a, *validator, valijson.get(), ctx);
  // A live stream (a Kafka topic) is written out whenever the input waits for more.
  in.on_idle([&] {
    run.drain();
    ctx.out().flush();
    ctx.rejects().sink().flush();
  });
  record::Record rec;
  while (in.next(rec)) run.add(rec.text, rec.line, in.name(), in.stable());
  run.drain();

  if (a.summary) {
    // Asked for, so written whatever -q says.
    std::string t = run.failures().empty() ? std::string("cdn validate: no record failed\n")
                                           : run.failures().table();
    base::try_write_all(2, t.data(), t.size());
  }
  std::string extra;
  if (a.coerce) extra = std::to_string(run.coerced()) + " coerced";
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
  app.add_option("--max-errors", a->max_errors,
                 "Errors listed per rejected record, at most (0: all of them)")
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
  app.add_option("--threads", a->threads, "Threads that check records (default: one per core)")
      ->type_name("N")
      ->check(CLI::Range(0, 256));
  return [a] { return run_validate(*a); };
}

}  // namespace cdn::cmd
