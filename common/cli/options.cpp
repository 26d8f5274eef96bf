#include "common/cli/options.hpp"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <string>

#include "common/base/json_text.hpp"
#include "common/cli/completion.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#ifdef CDN_WITH_KAFKA
#include "common/kafka/client.hpp"
#endif

namespace cdn::cli {

void add_input_options(CLI::App& app, IoOptions& opts) {
  app.add_option("inputs", opts.inputs,
                 "Input files (NDJSON, CSV, optionally gzipped) or '-' for stdin (default)")
      ->type_name("INPUT")
      ->check(complete_files(record_extensions()));
  app.add_option("--input-format", opts.input_format,
                 "Input format: auto (from the file name), ndjson or csv")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"auto", "ndjson", "csv"}))
      ->capture_default_str();
  app.add_option("--schema", opts.schema,
                 "JSON Schema whose property types type CSV cells (default: unquoted JSON "
                 "numbers become numbers, everything else strings)")
      ->type_name("FILE")
      ->check(complete_files({"json"}));
  add_kafka_options(app, true);
}

void settle_kafka_options([[maybe_unused]] const CLI::App& command) {
#ifdef CDN_WITH_KAFKA
  auto& k = kafka::settings();
  k = kafka::Settings{};
  auto take = [&](const char* name, auto& var) {
    const CLI::Option* o = command.get_option_no_throw(name);
    if (o != nullptr && o->count() > 0 && deprecated_instead(o) == nullptr)
      var = o->as<std::decay_t<decltype(var)>>();
  };
  take("--brokers", k.brokers);
  take("-X", k.properties);
  take("--stats-interval", k.stats_interval_ms);
  take("--stats-file", k.stats_file);
  take("--timeout", k.timeout_ms);
  take("--group", k.group);
  take("--offset", k.offset);
  take("--exit-at-end", k.exit_at_end);
#endif
}

void add_key_field_option([[maybe_unused]] CLI::App& app, [[maybe_unused]] std::string& field,
                          [[maybe_unused]] const std::string& whose) {
#ifdef CDN_WITH_KAFKA
  app.add_option("--key-field", field,
                 "Kafka outputs and rejects: the message key of " +
                     (whose.empty() ? std::string("each record is its") : whose) +
                     " value of this field (a dotted path), so that a key's records share a "
                     "partition: a string as is, another value as its JSON text; a record "
                     "without it, or with null, keeps its input message's key, else has none")
      ->type_name("FIELD");
#endif
}

void add_kafka_options([[maybe_unused]] CLI::App& app, [[maybe_unused]] bool consumer) {
#ifdef CDN_WITH_KAFKA
  auto& k = kafka::settings();
  if (app.get_option_no_throw("--brokers") == nullptr) {
    app.add_option("-b,--brokers", k.brokers, "Kafka bootstrap brokers, host:port[,host:port]")
        ->envname("CDN_BROKERS")
        ->type_name("LIST")
        ->capture_default_str();
    app.add_option("-X", k.properties,
                   "Any librdkafka property as key=value (repeatable), as kcat takes it")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    add_duration(app, "--stats-interval", k.stats_interval_ms,
                 "Write librdkafka's statistics JSON (queue depths, round trips, consumer "
                 "lag) this often to --stats-file",
                 0, 86400000, PlainUnit::kMilliseconds);
    app.add_option("--stats-file", k.stats_file,
                   "Where --stats-interval writes, one JSON object a line ('-' is stderr)")
        ->type_name("PATH")
        ->capture_default_str();
    add_duration(app, "--timeout", k.timeout_ms,
                 "How long the Kafka brokers may stay unreachable, at the start or during "
                 "the run, before the command fails; for an output, what waits then is "
                 "counted as not delivered",
                 1, int64_t{24} * 24 * 3600000, PlainUnit::kMilliseconds)
        ->default_str(std::to_string(k.timeout_ms / 1000) + "s");
  }
  if (consumer && app.get_option_no_throw("--group") == nullptr) {
    app.add_option("-G,--group", k.group,
                   "Kafka consumer group (default: none, every partition assigned)")
        ->type_name("GROUP");
    app.add_option("--offset", k.offset,
                   "Where Kafka inputs start: beginning, end, stored, an offset N, or "
                   "s@EPOCH_MS (the first message at or after that time)")
        ->type_name("OFFSET")
        ->check(complete_values({"beginning", "end", "stored"}))
        ->capture_default_str();
    app.add_flag("-e,--exit-at-end", k.exit_at_end,
                 "Stop once every partition of the Kafka inputs is read to its end");
  }
#endif
}

void add_output_options(CLI::App& app, IoOptions& opts) {
  app.add_option("-o,--output", opts.output,
                 "Output file (NDJSON; CSV when it ends in .csv; gzipped when in .gz), or '-' "
                 "for stdout")
      ->type_name("PATH")
      ->capture_default_str();
  app.add_option("--output-format", opts.output_format,
                 "Output format: auto (from the -o name; stdout NDJSON), ndjson or csv")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"auto", "ndjson", "csv"}))
      ->capture_default_str();
  app.add_option("--compress", opts.compress,
                 "Compression of the output: auto (gzip when the -o name ends in .gz), none or "
                 "gzip")
      ->type_name("MODE")
      ->check(CLI::IsMember({"auto", "none", "gzip"}))
      ->capture_default_str();
  add_rejects_option(app, opts);
  add_kafka_options(app, false);
}

record::Format output_format(const IoOptions& opts) {
  return endpoint::output_format(opts.output, record::parse_format(opts.output_format));
}

std::unique_ptr<io::Sink> open_output(const IoOptions& opts, bool schema_is_output) {
  endpoint::OutputFormat f;
  f.format = output_format(opts);
  f.compression = endpoint::parse_compression(opts.compress);
  // The CSV writer keeps its own copy of the types.
  std::optional<record::PropertyTypes> types;
  if (f.format == record::Format::csv && schema_is_output && !opts.schema.empty()) {
    types = schema::load_property_types(opts.schema);
    f.csv_types = &*types;
  }
  return endpoint::open_output(opts.output, f);
}

void add_rejects_option(CLI::App& app, IoOptions& opts) {
  app.add_option("--rejects", opts.rejects,
                 "Where rejected records go, one NDJSON line each ('-' is stderr)")
      ->type_name("PATH")
      ->capture_default_str();
  add_kafka_options(app, false);  // --rejects kafka:TOPIC
}

Inputs::Inputs(const IoOptions& opts, pipeline::RunContext& ctx, size_t map_limit) {
  source_opts_.format = record::parse_format(opts.input_format);
  source_opts_.map_limit = map_limit;
  if (!opts.schema.empty()) {
    types_ = schema::load_property_types(opts.schema);
    source_opts_.csv_types = &*types_;
  }
  set_ =
      std::make_unique<endpoint::InputSet>(opts.inputs, source_opts_, ctx.rejects(), ctx.counts());
  // A Kafka input commits its offsets only once what was read is written and committed, and
  // a live stream is not held in the output buffer while the input waits.
  ctx.after_commit([s = set_.get()] { s->acknowledge(); });
  set_->on_idle([&ctx] {
    ctx.out().flush();
    ctx.rejects().sink().flush();
  });
}

CLI::Validator whole_number(const std::string& option, uint64_t lo, uint64_t hi) {
  std::string range = std::to_string(lo) + " to " + std::to_string(hi);
  auto check = [option, range, lo, hi](std::string& text) -> std::string {
    uint64_t v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    bool digits = !text.empty() && std::isdigit(static_cast<unsigned char>(text.front()));
    if (!digits || r.ec != std::errc() || r.ptr != text.data() + text.size() || v < lo || v > hi) {
      throw UsageError("bad value " + diag::quoted(text) + " for " + option +
                       "; give a whole number from " + range);
    }
    text = std::to_string(v);  // what CLI11 converts next: no leading zero read as octal
    return {};
  };
  return CLI::Validator(check, "INT in [" + std::to_string(lo) + " - " + std::to_string(hi) + "]",
                        "whole number");
}

CLI::Validator duration(const std::string& option, int64_t lo_ms, int64_t hi_ms, PlainUnit plain) {
  auto shown = [](int64_t ms) {
    if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
    if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
    if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
  };
  std::string range = shown(lo_ms) + " to " + shown(hi_ms);
  auto check = [option, range, lo_ms, hi_ms, plain](std::string& text) -> std::string {
    double v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    bool digit = !text.empty() &&
                 (std::isdigit(static_cast<unsigned char>(text.front())) || text.front() == '.');
    std::string unit = text.substr(static_cast<size_t>(r.ptr - text.data()));
    double scale = -1;
    if (unit.empty()) {
      scale = plain == PlainUnit::kMilliseconds ? 1 : 1000;
    } else if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60000;
    } else if (unit == "h") {
      scale = 3600000;
    }
    double ms = v * scale;
    if (!digit || r.ec != std::errc() || scale < 0 || !std::isfinite(ms) ||
        ms < static_cast<double>(lo_ms) || ms > static_cast<double>(hi_ms)) {
      throw UsageError(
          "bad value " + diag::quoted(text) + " for " + option + "; give a duration from " + range +
          ", like 500ms, 5s or 2m (a plain " +
          (plain == PlainUnit::kMilliseconds ? "number is milliseconds)" : "number is seconds)"));
    }
    text = std::to_string(static_cast<int64_t>(std::llround(ms)));
    return {};
  };
  return CLI::Validator(check, "in [" + shown(lo_ms) + " - " + shown(hi_ms) + "]", "duration");
}

namespace {
struct Deprecation {
  std::string instead;
  bool warned = false;
};
std::map<const CLI::Option*, Deprecation>& deprecations() {
  static std::map<const CLI::Option*, Deprecation> d;
  return d;
}
std::vector<std::string>& pending_warnings() {
  static std::vector<std::string> w;
  return w;
}
}  // namespace

CLI::Option* deprecated(CLI::Option* old, const std::string& instead) {
  old->group("");
  deprecations()[old] = Deprecation{instead};
  return old;
}

const std::string* deprecated_instead(const CLI::Option* opt) {
  auto it = deprecations().find(opt);
  return it == deprecations().end() ? nullptr : &it->second.instead;
}

void note_deprecated(const CLI::Option* opt, const std::string& spelled, bool as_key) {
  auto it = deprecations().find(opt);
  if (it == deprecations().end() || it->second.warned) return;
  it->second.warned = true;
  std::string instead = it->second.instead;
  if (as_key) instead = "the key " + diag::quoted(instead.substr(instead.find_first_not_of('-')));
  pending_warnings().push_back(spelled + " is deprecated and goes in the next release; write " +
                               instead);
}

void warn_deprecated(const CLI::App& command) {
  for (const CLI::Option* opt : command.get_options()) {
    if (opt->count() == 0 || deprecated_instead(opt) == nullptr) continue;
    std::string name = opt->get_lnames().empty() ? "-" + opt->get_snames().front()
                                                 : "--" + opt->get_lnames().front();
    note_deprecated(opt, name);
  }
  for (const auto& w : pending_warnings()) diag::warning(w);
  pending_warnings().clear();
}

void add_examples(CLI::App& app, const std::vector<std::string>& lines) {
  std::string text = app.get_footer();
  if (!text.empty()) text += "\n\n";
  text += "Examples:";
  for (const auto& l : lines) text += "\n  " + l;
  app.footer(text);
}

CLI::Validator real_number(const std::string& option, double lo, double hi) {
  auto shown = [](double x) {
    std::string s = std::to_string(x);
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    return s;
  };
  std::string range = shown(lo) + " to " + shown(hi);
  auto check = [option, range, lo, hi](std::string& text) -> std::string {
    double v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() ||
        !std::isfinite(v) || v < lo || v > hi) {
      throw UsageError("bad value " + diag::quoted(text) + " for " + option +
                       "; give a number from " + range);
    }
    return {};
  };
  return CLI::Validator(check, "FLOAT in [" + shown(lo) + " - " + shown(hi) + "]", "real number");
}

void check_utf8_values(const CLI::App& app) {
  // The value names of paths (as `cdn completion` reads them): FILE, FILE.html, PATH, DIR,
  // MODEL_DIR, INPUT, TRAIN.csv.
  static const char* const kPathTypes[] = {"FILE", "PATH", "DIR", "MODEL_DIR", "INPUT", "TRAIN"};
  for (const CLI::Option* opt : app.get_options()) {
    std::string type = opt->get_type_name();
    type = type.substr(0, type.find(':'));
    bool path = false;
    for (const char* t : kPathTypes) path = path || type.rfind(t, 0) == 0;
    if (path) continue;
    for (const std::string& v : opt->results()) {
      size_t bad = base::invalid_utf8_at(v);
      if (bad == std::string::npos) continue;
      static const char* hex = "0123456789abcdef";
      unsigned char b = static_cast<unsigned char>(v[bad]);
      std::string name = opt->get_name(false, true);
      for (auto& c : name) c = c == ',' ? '/' : c;
      throw UsageError("bad value for " + name + ": byte 0x" + hex[b >> 4] + hex[b & 15] +
                       " at offset " + std::to_string(bad) +
                       " is not UTF-8; write the value in UTF-8");
    }
  }
  for (const CLI::App* sub : app.get_subcommands()) check_utf8_values(*sub);
}

size_t parse_size(const std::string& text, const std::string& option) {
  auto bad = [&]() {
    return UsageError("bad size " + diag::quoted(text) + " for " + option +
                      "; write a number of bytes from 0 to 16E with an optional K, M, G or T "
                      "suffix, or a percentage of memory like 50%");
  };
  if (text.empty()) throw bad();
  double v;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || !std::isfinite(v) || v < 0) throw bad();
  std::string suffix(r.ptr, text.data() + text.size());
  for (auto& c : suffix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (suffix == "B") suffix.clear();
  if (!suffix.empty() && suffix.size() == 2 && suffix[1] == 'B') suffix.resize(1);
  if (!suffix.empty() && suffix.size() == 3 && suffix.substr(1) == "IB") suffix.resize(1);
  double mult = 1;
  if (suffix.empty()) {
    mult = 1;
  } else if (suffix == "K") {
    mult = 1024.0;
  } else if (suffix == "M") {
    mult = 1024.0 * 1024;
  } else if (suffix == "G") {
    mult = 1024.0 * 1024 * 1024;
  } else if (suffix == "T") {
    mult = 1024.0 * 1024 * 1024 * 1024;
  } else if (suffix == "%") {
    double mem =
        static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
    mult = mem / 100.0;
  } else {
    throw bad();
  }
  double bytes = v * mult;
  if (!(bytes < 18446744073709551616.0)) throw bad();  // beyond size_t: no wrap
  return static_cast<size_t>(bytes);
}

}  // namespace cdn::cli
