// cdn load-influx: write records and predictions into InfluxDB (1.x /write or 2.x
// /api/v2/write) as line protocol, in batches, and lose nothing without saying so: refused
// lines go to rejects, failed requests are sent again, points that would overwrite each
// other are caught, and Kafka offsets are committed only once their records are written.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "cmd/commands.hpp"
#include "common/cli/options.hpp"
#include "common/cli/service.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/influx/loader.hpp"
#include "common/influx/writer.hpp"
#include "common/io/sink.hpp"
#include "common/io/whole_file.hpp"
#ifdef CDN_WITH_KAFKA
#include "common/endpoint/endpoint.hpp"
#include "common/kafka/client.hpp"
#endif

namespace cdn::cmd {

namespace {
struct LoadInfluxArgs {
  cli::IoOptions io;
  cli::ServiceOptions service;
  std::string url = "http://localhost:8086";
  std::string db, rp, org, bucket, user;
  std::string password_file, token_file;
  bool create_db = false;
  std::string measurement = "cdn";
  std::string measurement_field;
  std::vector<std::string> tags, fields;
  std::string time_field = "timestamp";
  std::string precision = "ns";
  std::string prediction_measurement = "prediction";
  std::string on_duplicate = "nudge";
  std::string check_written = "auto";
  std::string id_field = "sampleID";
  size_t nudge_memory = size_t{1} << 20;
  size_t batch_size = 5000;
  std::string flush_interval = "1s";
  size_t max_in_flight = 2;
  std::string retry_timeout = "60s";
  std::string compression = "none";
  bool dry_run = false;
  bool output_given = false;
  bool time_field_given = false, id_field_given = false;  // not their defaults
};

// "a,b" and "--tag a --tag b" both list a and b; an empty name is an error.
std::vector<std::string> split_names(const std::vector<std::string>& lists, const char* option) {
  std::vector<std::string> names;
  for (const auto& list : lists) {
    size_t begin = 0;
    for (;;) {
      size_t comma = list.find(',', begin);
      std::string name = list.substr(begin, comma == std::string::npos ? comma : comma - begin);
      if (name.empty()) {
        throw UsageError(std::string(option) + " holds an empty field name; list names separated " +
                         "by commas, e.g. " + option + " pop,country");
      }
      names.push_back(std::move(name));
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
  }
  return names;
}

// A secret from an environment variable or a file (its first line); never the command line.
std::string secret(const char* env, const std::string& file, const char* option) {
  if (!file.empty()) {
    std::string s =
        io::read_whole_file(file, option,
                            "give a readable file with the secret on its first line, or set " +
                                std::string(env) + " instead",
                            io::kMaxSecretBytes);
    s = s.substr(0, s.find('\n'));
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
    // An empty secret would be sent, and refused by the server, as none at all.
    if (s.empty()) {
      throw UsageError(std::string(option) + " " + diag::quoted(file) +
                       " holds no secret on its first line; write the secret there, or set " + env +
                       " instead");
    }
    return s;
  }
  const char* v = std::getenv(env);
  return v ? v : "";
}

int run_load_influx(LoadInfluxArgs& a) {
  // --metrics-addr: up before the setup, so /readyz says "starting" meanwhile.
  auto server = cli::start_service(a.service, "load-influx");
  if (a.output_given && !a.dry_run) {
    throw UsageError(
        "-o/--output is where --dry-run writes the line protocol; add --dry-run or "
        "drop -o");
  }
  if (a.dry_run && !endpoint::is_kafka(a.io.output)) {
    // Other commands write CSV or NDJSON by such a name; line protocol would be neither.
    std::string name = a.io.output;
    if (name.ends_with(".gz")) name.resize(name.size() - 3);
    for (const char* ext : {".csv", ".ndjson", ".jsonl", ".json"}) {
      if (name.ends_with(ext) && name.size() > std::strlen(ext)) {
        throw UsageError("--dry-run writes InfluxDB line protocol: -o " +
                         diag::quoted(a.io.output) + " names a " +
                         (ext[1] == 'c' ? "CSV" : "JSON") +
                         " file; name it .lp (or .lp.gz), or '-'");
      }
    }
  }
  if (!a.db.empty() && !a.bucket.empty()) {
    throw UsageError("--db (InfluxDB 1.x) and --bucket (2.x) do not go together; pick one");
  }
  if (a.db.empty() && a.bucket.empty() && !a.dry_run) {
    throw UsageError(
        "nowhere to write: name the database with --db (InfluxDB 1.x), or the "
        "bucket with --bucket and --org (2.x), or preview with --dry-run");
  }
  int api = a.bucket.empty() ? 1 : 2;
  if (api == 2) {
    if (a.org.empty()) throw UsageError("--bucket needs --org, the organization that owns it");
    if (a.create_db)
      throw UsageError(
          "--create-db is for InfluxDB 1.x (--db); create 2.x buckets "
          "with the influx CLI");
    if (!a.user.empty() || !a.password_file.empty() || !a.rp.empty()) {
      throw UsageError(
          "--user, --password-file and --rp are for InfluxDB 1.x (--db); 2.x takes a "
          "token (INFLUX_TOKEN or --token-file)");
    }
  } else if (!a.token_file.empty() || !a.org.empty()) {
    throw UsageError(
        "--token-file and --org are for InfluxDB 2.x (--bucket); 1.x takes --user "
        "and a password (INFLUX_PASSWORD or --password-file)");
  }

  influx::EncoderOptions eo;
  eo.measurement = a.measurement;
  eo.measurement_field = a.measurement_field;
  eo.tags = split_names(a.tags, "--tag");
  eo.fields = split_names(a.fields, "--field");
  eo.time_field = a.time_field;
  eo.precision = influx::parse_precision(a.precision);
  eo.prediction_measurement = a.prediction_measurement;
  std::optional<record::PropertyTypes> types;
  if (!a.io.schema.empty()) {
    types = schema::load_property_types(a.io.schema);
    eo.types = &*types;
  }
  influx::Encoder encoder(eo);

  influx::LoaderOptions lo;
  lo.batch_size = a.batch_size;
  lo.flush_interval = influx::parse_duration(a.flush_interval, "--flush-interval");
  // Checked with --dry-run too: a bad value is refused whatever the run.
  const auto retry_timeout = influx::parse_duration(a.retry_timeout, "--retry-timeout");
  lo.on_duplicate = influx::parse_on_duplicate(a.on_duplicate);
  lo.id_field = a.id_field;
  if (a.id_field.empty()) throw UsageError("--id-field needs a field name, e.g. sampleID");
  if (a.check_written == "on") {
    if (a.dry_run) throw UsageError("--check-written on reads InfluxDB; --dry-run writes none");
    if (lo.on_duplicate != influx::OnDuplicate::nudge) {
      throw UsageError(
          "--check-written on goes with --on-duplicate nudge (it keeps the points "
          "of earlier runs from being overwritten); drop one of them");
    }
    lo.check_written = influx::CheckWritten::always;
  } else if (a.check_written == "auto" && !a.dry_run &&
             lo.on_duplicate == influx::OnDuplicate::nudge) {
    // What InfluxDB may hold that this run does not know of: records up to the newest point
    // a measurement held at the start (a group resuming after a crash, a second loader, a
    // file loaded again), and records older than the nudge memory.
    lo.check_written = influx::CheckWritten::older;
  }
  lo.nudge_memory = a.nudge_memory;

  std::unique_ptr<influx::Writer> writer;
  if (!a.dry_run) {
    influx::WriterOptions wo;
    wo.url = a.url;
    wo.api = api;
    wo.db = a.db;
    wo.rp = a.rp;
    wo.org = a.org;
    wo.bucket = a.bucket;
    wo.precision = eo.precision;
    wo.user = a.user;
    if (!a.user.empty())
      wo.password = secret("INFLUX_PASSWORD", a.password_file, "--password-file");
    if (api == 2) {
      wo.token = secret("INFLUX_TOKEN", a.token_file, "--token-file");
      // The token goes into a request header as it is: a control byte would end or break it.
      if (std::any_of(wo.token.begin(), wo.token.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        throw UsageError(std::string("the InfluxDB token from ") +
                         (a.token_file.empty() ? std::string("INFLUX_TOKEN")
                                               : "--token-file " + diag::quoted(a.token_file)) +
                         " holds a control character (a NUL, a tab, a carriage return...); give "
                         "the token as InfluxDB wrote it, alone on its line");
      }
    }
    wo.gzip = a.compression == "gzip";
    wo.max_in_flight = a.max_in_flight;
    wo.retry_timeout = retry_timeout;
    writer = std::make_unique<influx::Writer>(wo);
    if (a.create_db) writer->create_database();
  }

  pipeline::RunContext ctx("load-influx",
                           a.dry_run ? endpoint::open_output(a.io.output) : io::no_output(),
                           endpoint::open_rejects(a.io.rejects));
  cli::Inputs inputs(a.io, ctx);
  auto& watch = inputs.records().field_watch();
  watch.expect("--tag", eo.tags);
  watch.expect("--field", eo.fields);
  watch.expect("--measurement-field", {eo.measurement_field});
  if (a.time_field_given) watch.expect("--time-field", {eo.time_field});
  if (a.id_field_given) watch.expect("--id-field", {a.id_field});
  influx::Loader loader(ctx, inputs.records(), encoder, writer.get(), lo);
  return loader.run();
}
}  // namespace

Runner setup_load_influx(CLI::App& app) {
  auto a = std::make_shared<LoadInfluxArgs>();
  cli::add_input_options(app, a->io);
  CLI::Option* output = app.add_option("-o,--output", a->io.output,
                                       "Where --dry-run writes the line protocol ('-' is stdout)")
                            ->type_name("PATH")
                            ->capture_default_str();
  cli::add_rejects_option(app, a->io);
  app.add_option("--url", a->url, "InfluxDB's address")
      ->envname("INFLUX_URL")
      ->type_name("URL")
      ->capture_default_str();
  app.add_option("--db", a->db, "InfluxDB 1.x database to write to")->type_name("NAME");
  app.add_option("--rp", a->rp, "InfluxDB 1.x retention policy (default: the database's)")
      ->type_name("NAME");
  app.add_flag("--create-db", a->create_db,
               "Create the --db database first (harmless when it exists)");
  app.add_option("--user", a->user,
                 "InfluxDB 1.x user; the password comes from INFLUX_PASSWORD or --password-file")
      ->type_name("NAME");
  app.add_option("--password-file", a->password_file,
                 "Read the 1.x password from the first line of FILE")
      ->type_name("FILE");
  app.add_option("--org", a->org, "InfluxDB 2.x organization")->type_name("NAME");
  app.add_option("--bucket", a->bucket, "InfluxDB 2.x bucket to write to (needs --org)")
      ->type_name("NAME");
  app.add_option("--token-file", a->token_file,
                 "Read the 2.x token from the first line of FILE (default: INFLUX_TOKEN)")
      ->type_name("FILE");
  app.add_option("--measurement", a->measurement, "Measurement of every point")
      ->type_name("NAME")
      ->capture_default_str();
  app.add_option("--measurement-field", a->measurement_field,
                 "Take each point's measurement from this field (a non-empty string)")
      ->type_name("FIELD");
  app.add_option("--tag", a->tags, "Fields that become tags, e.g. pop,country (repeatable)")
      ->type_name("FIELDS")
      ->allow_extra_args(false);
  app.add_option("--field", a->fields,
                 "Fields written as fields (default: every field that is not a tag, the time "
                 "or the measurement)")
      ->type_name("FIELDS")
      ->allow_extra_args(false);
  app.add_option("--time-field", a->time_field,
                 "Field with the point's time: RFC 3339, or a number of --precision units "
                 "since the epoch; '' stamps points with the time of loading")
      ->type_name("FIELD")
      ->capture_default_str();
  app.add_option("--precision", a->precision, "Unit of the timestamps written: s, ms, us or ns")
      ->type_name("UNIT")
      ->check(CLI::IsMember({"s", "ms", "us", "ns"}))
      ->capture_default_str();
  app.add_option("--prediction-measurement", a->prediction_measurement,
                 "Measurement of prediction records (those with prediction and sampleID), "
                 "with model as a tag; '' treats them like any record")
      ->type_name("NAME")
      ->capture_default_str();
  app.add_option("--on-duplicate", a->on_duplicate,
                 "Points with the same measurement, tags and time: nudge (move the later one "
                 "by one --precision unit, so both stay), warn (write both: InfluxDB keeps the "
                 "last; warn and count) or keep-last (the same, only counted)")
      ->type_name("MODE")
      ->check(CLI::IsMember({"nudge", "warn", "keep-last"}))
      ->capture_default_str();
  app.add_option("--check-written", a->check_written,
                 "Before nudging, look in InfluxDB for points written before (by an earlier "
                 "run, another loader, or this one beyond --nudge-memory) at the records' "
                 "times, so that a record read again is written where it was and never over "
                 "its twin: on (every record), off, or auto (records no later than the newest "
                 "point InfluxDB held at the start, and records older than the nudge memory)")
      ->type_name("WHEN")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  app.add_option("--id-field", a->id_field,
                 "The field that tells records apart, for --check-written")
      ->type_name("FIELD")
      ->capture_default_str();
  cli::add_whole_number(app, "--nudge-memory", a->nudge_memory,
                        "Points remembered (at least) to find collisions without asking "
                        "InfluxDB, 32 bytes each (with up to twice as many read back from "
                        "InfluxDB, 24 bytes each); an older point is looked up in InfluxDB "
                        "(--check-written)",
                        16)
      ->type_name("N")
      ->capture_default_str();
  cli::add_whole_number(app, "--batch-size", a->batch_size, "Points per write request", 1)
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--flush-interval", a->flush_interval,
                 "Send a batch that is not full once its first point is this old, e.g. 500ms")
      ->type_name("DURATION")
      ->capture_default_str();
  cli::add_whole_number(
      app, "--max-in-flight", a->max_in_flight,
      "Write requests in flight at a time; one more batch is kept ready, and "
      "reading waits while more are held (batches waiting to be sent again count)",
      1)
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--retry-timeout", a->retry_timeout,
                 "How long a batch is sent again after 429, 5xx or connection errors before "
                 "the command fails, e.g. 30s or 5m")
      ->type_name("DURATION")
      ->capture_default_str();
  app.add_option(
         "-z,--compression", a->compression,
         "Request bodies: none, or gzip (for a server across a slow link: on one machine it "
         "costs InfluxDB more time to unzip than it saves)")
      ->type_name("CODEC")
      ->check(CLI::IsMember({"gzip", "none"}))
      ->capture_default_str();
  app.add_flag("--dry-run", a->dry_run,
               "Write the line protocol to the output (-o) instead of InfluxDB");
  cli::add_service_options(app, a->service);
  cli::add_examples(app, {"cdn load-influx --db cdn --create-db --tag pop,country valid.ndjson",
                          "cdn load-influx --dry-run --tag pop,country day1.ndjson"});
  return [a, output, &app] {
    a->output_given = output->count() > 0;
    a->time_field_given = app.get_option("--time-field")->count() > 0;
    a->id_field_given = app.get_option("--id-field")->count() > 0;
    return run_load_influx(*a);
  };
}

}  // namespace cdn::cmd
