// cdn produce: publish every record to every named Kafka topic, byte for byte, with an
// optional key, headers and timestamp, optionally paced (--rate) or replayed at the speed of
// its event times (--replay).

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cmd/commands.hpp"
#include "common/cli/options.hpp"
#include "common/cli/service.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/io/signals.hpp"
#include "common/io/sink.hpp"
#include "common/kafka/fan_out.hpp"

namespace cdn::cmd {

namespace {
struct ProduceArgs {
  cli::IoOptions io;
  cli::ServiceOptions service;
  std::vector<std::string> topics;
  std::string key_field;
  int32_t partition = kafka::kAnyPartition;
  std::vector<std::string> headers;
  std::string timestamp_field;
  std::string compression = "none";
  double rate = 0;
  std::string replay;  // SPEED; "1" when --replay has no value
  bool replay_given = false;
};

double parse_speed(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0) || !std::isfinite(v)) {
    throw UsageError("bad --replay speed " + diag::quoted(text) +
                     "; write a positive number (1 = real time, 60 = a minute per second), or "
                     "put the inputs before --replay");
  }
  return v;
}

void check_args(const ProduceArgs& a) {
  for (const auto& t : a.topics) {
    if (t.empty()) throw UsageError("-t/--topic is empty; name a Kafka topic");
  }
  if (a.rate > 0 && a.replay_given) {
    throw UsageError("--rate and --replay do not go together; pick one");
  }
}

int run_produce(const ProduceArgs& a) {
  // --metrics-addr: up before the setup, so /readyz says "starting" meanwhile.
  auto server = cli::start_service(a.service, "produce");
  check_args(a);
  kafka::Headers headers = kafka::parse_headers(a.headers);
  double speed = a.replay_given ? parse_speed(a.replay.empty() ? "1" : a.replay) : 0;
  const std::string& time_field =
      !a.timestamp_field.empty() ? a.timestamp_field : std::string("timestamp");
  bool need_time = !a.timestamp_field.empty() || a.replay_given;
  bool need_parse = !a.key_field.empty() || need_time;

  std::vector<std::pair<std::string, std::string>> overrides = {
      {"compression.codec", a.compression}};
  kafka::Producer producer(overrides);
  kafka::FanOut fan_out(producer, a.topics, std::move(headers), a.partition);

  pipeline::RunContext ctx("produce", io::no_output(), endpoint::open_rejects(a.io.rejects));
  cli::Inputs inputs(a.io, ctx);
  inputs.records().field_watch().expect("--key-field", {a.key_field}, true);
  inputs.records().field_watch().expect("--time-field", {a.timestamp_field}, true);

  fan_out.account(ctx.counts(), ctx.rejects());

  std::optional<kafka::RecordFields> fields;
  if (need_parse) fields.emplace(a.key_field, need_time ? time_field : std::string());
  std::string_view key_view;
  std::optional<kafka::Pacer> pacer;
  if (a.rate > 0) pacer = kafka::Pacer::rate(a.rate);
  if (a.replay_given) pacer = kafka::Pacer::replay(speed);

  record::Record rec;
  auto& in = inputs.records();
  // Waiting for input: delivery reports are served meanwhile (counts, failures, metrics).
  in.on_idle([&producer] { producer.poll(0); });
  // Brokers unreachable past --timeout end the run early (the producer gives up on them); the
  // summary still says what was delivered and what was not.
  try {
    while (in.next(rec)) {
      const std::string_view* key = nullptr;
      int64_t event_ms = 0, timestamp_ms = 0;
      if (fields) {
        if (auto why = fields->read(rec.text, key_view, event_ms)) {
          ctx.rejects().reject(in.name(), rec.line, *why, rec.text);
          continue;
        }
        if (!a.key_field.empty()) key = &key_view;
        if (!a.timestamp_field.empty()) timestamp_ms = event_ms;
      }
      if (pacer) pacer->wait(producer, event_ms);
      fan_out.publish(rec.text, in.name(), rec.line, key, timestamp_ms);
      ctx.went_out(rec.text);
    }
    producer.flush();
  } catch (const RuntimeError&) {
    if (!producer.gave_up()) throw;
  }

  std::string extra;
  for (const auto& s : producer.stats()) {
    if (!extra.empty()) extra += ", ";
    extra += std::to_string(s.delivered) + " delivered to " + diag::quoted(s.name);
  }
  std::string failure = producer.failure_text();
  if (!failure.empty()) {
    if (io::stop_requested()) diag::error(failure);
    // Records with a message not delivered are not out; Kafka inputs keep their offsets.
    ctx.mark_undelivered(fan_out.undelivered());
  }
  int status = ctx.finish(extra);
  if (!failure.empty()) throw RuntimeError(failure);
  return status;
}
}  // namespace

Runner setup_produce(CLI::App& app) {
  auto a = std::make_shared<ProduceArgs>();
  app.add_option("-t,--topic", a->topics,
                 "Kafka topic to publish every record to (repeat for several topics)")
      ->type_name("TOPIC")
      ->required()
      ->allow_extra_args(false);
  cli::add_input_options(app, a->io);
  cli::add_rejects_option(app, a->io);
  cli::add_kafka_options(app, false);
  app.add_option("--key-field", a->key_field,
                 "Message key from this field's value (e.g. sampleID), so that a key's records "
                 "share a partition; records without it are rejected")
      ->type_name("FIELD");
  cli::add_whole_number(app, "--partition", a->partition,
                        "Send every message to partition N (default: by key, or the "
                        "partitioner's choice)",
                        0)
      ->type_name("N");
  app.add_option("--header", a->headers, "Add a message header KEY=VALUE (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_option("--time-field", a->timestamp_field,
                 "Message timestamp from this field: an RFC 3339 time or epoch seconds or "
                 "milliseconds (default: the time of producing)")
      ->type_name("FIELD");
  cli::deprecated(app.add_option("--timestamp-field", a->timestamp_field), "--time-field");
  app.add_option("-z,--compression", a->compression,
                 "Compression of message batches: none, gzip, snappy, lz4 or zstd")
      ->type_name("CODEC")
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}))
      ->capture_default_str();
  app.add_option("--rate", a->rate, "Send at most R records per second (0: no limit)")
      ->type_name("R")
      ->check(cli::real_number("--rate", 0, 1e9));
  CLI::Option* replay =
      app.add_option("--replay", a->replay,
                     "Send records with the gaps between their event times (--time-field, "
                     "else timestamp) divided by SPEED: 1 is real time (default), 60 a minute "
                     "per second")
          ->type_name("[SPEED]")
          ->expected(0, 1);
  cli::add_service_options(app, a->service);
  cli::add_examples(app,
                    {"cdn produce -b localhost:9092 -t cdndata --key-field sampleID valid.ndjson",
                     "cdn gen -n 1000 | cdn produce -t cdnraw --time-field timestamp --replay 60"});
  return [a, replay] {
    a->replay_given = replay->count() > 0;
    return run_produce(*a);
  };
}

}  // namespace cdn::cmd
