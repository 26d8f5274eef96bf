// cdn gen: synthesize realistic CDN telemetry (the generator lives in common/gen/).
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "cmd/commands.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/gen/generator.hpp"
#include "common/io/signals.hpp"
#include "common/record/message_key.hpp"
#include "common/record/timestamp.hpp"

namespace cdn::cmd {

namespace {
struct GenArgs {
  cli::IoOptions io;
  uint64_t rows = 1000;
  uint64_t seed = 1;
  std::string format = "auto";
  std::string start = "2026-11-22T00:00:00Z";
  std::string rate = "20";
  std::string late = "0.01";
  std::string dirty = "0";
  bool no_label = false;
  std::vector<std::string> shift;
  std::string key_field;
  bool rows_given = false;    // -n/--rows, on the command line or in the config file
  bool output_given = false;  // -o/--output
};

double parse_number(const std::string& text, const char* option, double lo, double hi,
                    const char* what) {
  double v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() ||
      !std::isfinite(v) || v < lo || v > hi) {
    throw UsageError("bad value " + diag::quoted(text) + " for " + option + "; give " + what);
  }
  return v;
}

// -f/--format, else --output-format, else the name of -o (FILE.csv is CSV).
gen::Format output_format(const GenArgs& a) {
  record::Format f = record::parse_format(a.format);
  if (f == record::Format::automatic) f = cli::output_format(a.io);
  return f == record::Format::csv ? gen::Format::csv : gen::Format::ndjson;
}

gen::Options make_options(const GenArgs& a) {
  gen::Options o;
  o.rows = a.rows;
  o.seed = a.seed;
  o.format = output_format(a);
  o.rate = parse_number(a.rate, "--rate", 1e-3, 1e9,
                        "records per second of event time, from 0.001 to 1000000000");
  o.late = parse_number(a.late, "--late", 0, 1, "a fraction from 0 to 1, e.g. 0.01");
  o.dirty = parse_number(a.dirty, "--dirty", 0, 1, "a fraction from 0 to 1, e.g. 0.05");
  o.label = !a.no_label;
  for (const auto& spec : a.shift) {
    if (!gen::add_shift(o.shift, spec)) {
      throw UsageError("bad value " + diag::quoted(spec) + " for --shift; give " +
                       gen::shift_choices());
    }
  }

  auto start = record::parse_rfc3339(a.start);
  if (!start || start->seconds < 0) {
    throw UsageError("bad value " + diag::quoted(a.start) +
                     " for --start; give an RFC 3339 time from 1970 on, e.g. "
                     "2026-11-22T00:00:00Z");
  }
  o.start_ms = start->seconds * 1000 + start->nanos / 1000000;
  // The load curve dips to about a third of the mean, so allow three times the mean span.
  const double span_s = static_cast<double>(o.rows) / o.rate * 3 + 60;
  constexpr double kYear9999 = 253402300799.0;  // 9999-12-31T23:59:59Z
  if (static_cast<double>(start->seconds) + span_s > kYear9999) {
    throw UsageError("--rows " + std::to_string(a.rows) + " at --rate " + a.rate + " from " +
                     a.start + " runs past the year 9999; raise --rate or lower --rows");
  }
  return o;
}

int run_gen(const GenArgs& a) {
  const gen::Options opts = make_options(a);
  // Bare `cdn gen` at a terminal would scroll a thousand records past: like gzip refusing to
  // write to one, it asks what was meant. Saying how many, or where, is asking for it.
  if (!a.rows_given && !a.output_given && ::isatty(STDOUT_FILENO)) {
    throw UsageError("not writing " + std::to_string(a.rows) +
                     " records to the terminal; give --rows N to see N of them, or -o FILE "
                     "(or redirect stdout) to keep them");
  }
  // The generator writes its lines in the format settled (its CSV has dirty rows no CSV
  // writer would make): the output takes them as they are, compressed as --compress says.
  endpoint::OutputFormat as_given;
  as_given.format = record::Format::ndjson;
  as_given.compression = endpoint::parse_compression(a.io.compress);
  pipeline::RunContext ctx("gen", endpoint::open_output(a.io.output, as_given),
                           endpoint::open_rejects(a.io.rejects));
  gen::Generator generator(opts);
  if (opts.format == gen::Format::csv) ctx.out().write_line(gen::Generator::csv_header(opts.label));
  std::string line;
  line.reserve(1024);
  auto& counts = ctx.counts();
  // --key-field on a Kafka output: each record's key from its field, read off the line.
  const record::KeyField key_field(a.key_field);
  const bool keyed = !key_field.empty() && ctx.out().takes_keys();
  if (keyed && opts.format == gen::Format::csv) {
    throw UsageError(
        "--key-field reads a field of NDJSON records, and these are CSV rows; "
        "leave out --key-field or write NDJSON");
  }
  std::string key_buf;
  simdjson::dom::parser key_parser;
  while (generator.next(line)) {
    ++counts.in;
    if (keyed) {
      ctx.emit(line, key_field.of_text(line, key_buf, key_parser));
    } else {
      ctx.emit(line);
    }
    if ((counts.in & 0xfff) == 0 && io::stop_requested()) break;
  }
  const auto& s = generator.stats();
  std::string extra = "seed " + std::to_string(opts.seed) + ", " + std::to_string(s.late) +
                      " late, " + std::to_string(s.dirty) + " dirty, ";
  if (opts.label) extra += std::to_string(s.qoe_bad) + " labelled qoe_bad, ";
  extra += std::to_string(s.in_incident) + " during incidents";
  return ctx.finish(extra);
}
}  // namespace

Runner setup_gen(CLI::App& app) {
  auto a = std::make_shared<GenArgs>();
  app.description(
      "Generate synthetic CDN telemetry: one record per request from a dozen edge PoPs, with a "
      "diurnal load curve, incidents, heavy-tailed sizes, adaptive video bitrates and a "
      "qoe_bad label from a documented logistic model. The same seed and options give the same "
      "bytes. See 'man cdn-gen' and docs/gen.md.");
  CLI::Option* rows =
      cli::add_whole_number(app, "-n,--rows", a->rows,
                            "Number of lines to write (records, dirty lines included)", 0)
          ->type_name("N")
          ->capture_default_str();
  cli::add_whole_number(app, "--seed", a->seed,
                        "Seed of the generator; the same seed gives the same output", 0)
      ->type_name("N")
      ->capture_default_str();
  app.add_option("-f,--format", a->format,
                 "Output format: auto (as --output-format says, else from the -o name), "
                 "ndjson, or csv with a header row")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"auto", "ndjson", "csv"}))
      ->capture_default_str();
  app.add_option("--start", a->start, "Event time of the first record (RFC 3339; output is UTC)")
      ->type_name("TIME")
      ->capture_default_str();
  app.add_option("--rate", a->rate,
                 "Mean records per second of event time; the load follows each PoP's local hour")
      ->type_name("R")
      ->capture_default_str();
  app.add_option("--late", a->late,
                 "Fraction of records emitted 1-30 s of event time after later ones (out of "
                 "order)")
      ->type_name("FRACTION")
      ->capture_default_str();
  app.add_option("--dirty", a->dirty,
                 "Fraction of lines replaced by bad ones (malformed, mistyped, missing or "
                 "unknown fields, out-of-range values)")
      ->type_name("FRACTION")
      ->capture_default_str();
  app.add_flag("--no-label", a->no_label, "Leave out the qoe_bad label, as in the live stream");
  app.add_option("--shift", a->shift,
                 "Drift on purpose, one field each: devices (half of the clients report as "
                 "mobile), slow-region=REGION or slow-pop=POP (rtt_ms 60 ms longer there); "
                 "comma-separated or repeated")
      ->type_name("SHIFT")
      ->delimiter(',')
      ->allow_extra_args(false);
  cli::add_output_options(app, a->io);
  cli::add_key_field_option(app, a->key_field);
  cli::add_examples(app, {"cdn gen -n 10000 --seed 7 -o day1.ndjson",
                          "cdn gen -n 5000 --format csv -o train.csv"});
  CLI::Option* output = app.get_option("--output");
  return [a, rows, output] {
    a->rows_given = rows->count() > 0;
    a->output_given = output->count() > 0;
    return run_gen(*a);
  };
}

}  // namespace cdn::cmd
