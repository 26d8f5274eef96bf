// cdn sort: order records by a key, stable, spilling to disk past a memory budget.
#include <memory>

#include "cmd/commands.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/io/signals.hpp"
#include "common/io/sink.hpp"
#include "common/io/temp_file.hpp"
#include "common/pipeline/external_sort.hpp"

namespace cdn::cmd {

namespace {
constexpr size_t kChunkBytes = size_t{1} << 19;

struct SortArgs {
  cli::IoOptions io;
  std::string key = "timestamp";
  std::string key_type = "auto";
  bool reverse = false;
  std::string missing = "reject";
  std::string buffer_size = "1G";
  std::string temp_dir;
  bool check = false;
  bool merge = false;
  bool strict_json = false;
  std::string key_field;   // --key-field: the message key on a Kafka output
  bool key_given = false;  // -k/--key: not the default
};

int run_sort(const SortArgs& a) {
  pipeline::SortOptions opts;
  opts.key = a.key;
  opts.key_type = record::parse_key_type(a.key_type);
  opts.reverse = a.reverse;
  opts.strict_json = a.strict_json;
  opts.key_field = a.key_field;
  opts.missing = pipeline::parse_missing_policy(a.missing);
  opts.buffer_bytes = cli::parse_size(a.buffer_size, "-S/--buffer-size");
  if (opts.buffer_bytes < (size_t{1} << 20)) opts.buffer_bytes = size_t{1} << 20;
  opts.temp_dir = a.temp_dir;
  if (opts.temp_dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    opts.temp_dir = t && *t ? t : "/tmp";
  } else if (std::string why = io::directory_problem(opts.temp_dir); !why.empty()) {
    // Said now, not when the first run spills.
    throw UsageError("bad -T/--temporary-directory: " + why + "; name an existing directory");
  }
  if (a.check && a.merge) throw UsageError("--check and --merge do not go together; pick one");

  pipeline::RunContext ctx(
      "sort",
      a.check ? io::no_output() : endpoint::keyed_by_field(cli::open_output(a.io), a.key_field),
      endpoint::open_rejects(a.io.rejects));
  // Files that fit in half the budget are mapped rather than copied (not for --check and
  // --merge, which stream each record once).
  cli::Inputs inputs(a.io, ctx, a.check || a.merge ? 0 : opts.buffer_bytes / 2);
  record::FieldWatch& watch = inputs.records().field_watch();
  if (a.key_given) watch.expect("--key", {a.key}, true);
  watch.expect("--key-field", {a.key_field}, true);
  if (a.check) {
    bool ok = pipeline::check_sorted(inputs.records(), opts, ctx);
    ctx.commit();
    if (!ok) return kExitRejected;
    return ctx.counts().rejected ? kExitRejected : kExitOk;
  }
  if (a.merge) {
    auto open = [&](const std::string& spec) -> std::unique_ptr<record::Source> {
      return std::make_unique<record::WatchedSource>(
          endpoint::open_source(spec, inputs.source_options(), ctx.rejects(), ctx.counts()), watch);
    };
    pipeline::merge_sorted_inputs(a.io.inputs, open, opts, ctx);
    watch.report();
    return ctx.finish();
  }
  pipeline::ExternalSorter sorter(opts, ctx);
  record::Record rec;
  record::LineChunk chunk;
  auto& in = inputs.records();
  while (!io::stop_requested()) {
    // Mapped files go to the workers in chunks; other inputs record by record.
    record::ChunkResult r = in.next_chunk(chunk, kChunkBytes);
    if (r == record::ChunkResult::end) break;
    if (r == record::ChunkResult::chunk) {
      sorter.add_chunk(chunk, in.name());
      continue;
    }
    while (in.next_in_current(rec)) sorter.add(rec.text, in.name(), rec.line, in.stable(), rec.key);
  }
  io::throw_if_stopped();
  sorter.finish();
  std::string extra;
  if (sorter.spilled_runs() > 0) extra = std::to_string(sorter.spilled_runs()) + " runs spilled";
  return ctx.finish(extra);
}
}  // namespace

Runner setup_sort(CLI::App& app) {
  auto a = std::make_shared<SortArgs>();
  cli::add_input_options(app, a->io);
  cli::add_output_options(app, a->io);
  app.add_option("-k,--key", a->key, "Field to sort by; a dotted path reaches nested fields")
      ->type_name("FIELD")
      ->capture_default_str();
  app.add_option("--key-type", a->key_type,
                 "How keys compare: auto (numbers numerically, RFC 3339 strings as instants, "
                 "other strings bytewise), time, number or string")
      ->check(CLI::IsMember({"auto", "time", "number", "string"}))
      ->capture_default_str();
  app.add_flag("--strict-json", a->strict_json,
               "Reject every line that is not exactly one JSON document (slower); by default a "
               "line is read only as far as its key and the rest is passed on unchecked");
  app.add_flag("-r,--reverse", a->reverse, "Descending order (equal keys keep input order)");
  app.add_option("--missing", a->missing,
                 "Records without the key or with one that does not parse: reject, first or last")
      ->check(CLI::IsMember({"reject", "first", "last"}))
      ->capture_default_str();
  app.add_option("-S,--buffer-size", a->buffer_size,
                 "Memory for records before sorted runs spill to disk (K, M, G or % of memory)")
      ->type_name("SIZE")
      ->capture_default_str();
  app.add_option("-T,--temporary-directory", a->temp_dir,
                 "Directory for spilled runs (default $TMPDIR or /tmp)")
      ->type_name("DIR");
  app.add_flag("--check", a->check,
               "Check that the input is sorted; report the first record out of order (exit 1)");
  app.add_flag("--merge", a->merge, "Merge inputs that are each already sorted");
  // Old short forms: -c is --count in consume, -m --model in predict and eval.
  cli::add_key_field_option(app, a->key_field, "each record (not its sort --key) is its");
  cli::deprecated(app.add_flag("-c", a->check), "--check");
  cli::deprecated(app.add_flag("-m", a->merge), "--merge");
  cli::add_examples(app, {"cdn sort day1.ndjson -o sorted.ndjson",
                          "cdn sort -r -k bytes_sent -S 256M day1.ndjson day2.ndjson.gz"});
  return [a, &app] {
    a->key_given = app.get_option("--key")->count() > 0;
    return run_sort(*a);
  };
}

}  // namespace cdn::cmd
