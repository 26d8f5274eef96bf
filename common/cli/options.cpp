#include "common/cli/options.hpp"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cmath>
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
                 "JSON Schema whose property types type CSV cells (default: JSON numbers "
                 "become numbers, everything else strings)")
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
    if (o != nullptr && o->count() > 0) var = o->as<std::decay_t<decltype(var)>>();
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
    add_whole_number(app, "--stats-interval", k.stats_interval_ms,
                     "Write librdkafka's statistics JSON (queue depths, round trips, consumer "
                     "lag) every MS milliseconds to --stats-file",
                     0, 86400000)
        ->type_name("MS");
    app.add_option("--stats-file", k.stats_file,
                   "Where --stats-interval writes, one JSON object a line ('-' is stderr)")
        ->type_name("PATH")
        ->capture_default_str();
    add_whole_number(app, "--timeout", k.timeout_ms,
                     "How long the Kafka brokers may stay unreachable, at the start or during "
                     "the run, before the command fails (ms); for an output, what waits then "
                     "is counted as not delivered",
                     1)
        ->type_name("MS")
        ->capture_default_str();
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
  app.add_option("-o,--output", opts.output, "Output file, or '-' for stdout")
      ->type_name("PATH")
      ->capture_default_str();
  add_rejects_option(app, opts);
  add_kafka_options(app, false);
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
