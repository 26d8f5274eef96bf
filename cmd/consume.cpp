// cdn consume: read Kafka topics to NDJSON, one line per message: the payload, or with
// --envelope an object that also carries the message's topic, partition, offset, timestamp,
// key and headers. In a group, offsets are committed only once the lines are written.
#include <memory>

#include "cmd/commands.hpp"
#include "common/cli/options.hpp"
#include "common/cli/service.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/kafka/envelope.hpp"
#include "common/record/message_key.hpp"

namespace cdn::cmd {

namespace {
struct ConsumeArgs {
  cli::IoOptions io;
  cli::ServiceOptions service;
  std::vector<std::string> topics;
  std::vector<std::string> specs;  // positional kafka:TOPIC
  bool envelope = false;
  uint64_t count = 0;
  std::string key_field;
};

int run_consume(ConsumeArgs& a) {
  // --metrics-addr: up before the setup, so /readyz says "starting" meanwhile.
  auto server = cli::start_service(a.service, "consume");
  std::vector<std::string> topics = a.topics;
  for (const auto& spec : a.specs) {
    auto t = endpoint::kafka_topic(spec);
    if (!t) {
      throw UsageError("unexpected argument " + diag::quoted(spec) +
                       "; name topics with -t TOPIC or kafka:TOPIC");
    }
    topics.push_back(*t);
  }
  if (topics.empty()) throw UsageError("no topic to consume; name one with -t TOPIC");
  kafka::ConsumerOptions opts = kafka::consumer_options(topics);

  pipeline::RunContext ctx("consume", cli::open_output(a.io), endpoint::open_rejects(a.io.rejects));
  kafka::Consumer consumer(opts);
  // Offsets are committed on the way only while the lines go straight out; a file (the
  // output or the rejects) is renamed into place at the end, so its offsets wait for that.
  bool streaming = a.io.output == "-" && !ctx.rejects().sink().holds_until_commit();
  kafka::CommitAfterWrite commits(consumer, streaming, [&] {
    ctx.out().flush();
    ctx.rejects().sink().flush();
  });
  kafka::MessageLines messages(consumer, a.envelope);
  kafka::MessageLine m;
  auto& counts = ctx.counts();
  // A Kafka output or rejects topic: each line keeps its message's key, or takes
  // --key-field's (read from the line: the payload, or with --envelope the envelope).
  const record::KeyField key_field(a.key_field);
  const bool keyed =
      !key_field.empty() && (ctx.out().takes_keys() || ctx.rejects().sink().takes_keys());
  std::string key_buf;
  simdjson::dom::parser key_parser;
  while (messages.next(m)) {
    ++counts.in;
    auto key = m.key;
    if (keyed)
      key = record::KeyField::chosen(key_field.of_text(m.text, key_buf, key_parser), m.key);
    if (m.reason.empty()) {
      ctx.emit(m.text, key);
    } else {
      ctx.rejects().reject(m.source, m.offset, m.reason, m.text, {}, key);
    }
    if (a.count > 0 && counts.in >= a.count) break;
    commits.read(counts.in);
  }
  ctx.commit();
  commits.finish();
  return ctx.finish();
}
}  // namespace

Runner setup_consume(CLI::App& app) {
  auto a = std::make_shared<ConsumeArgs>();
  app.add_option("-t,--topic", a->topics, "Topic to read (repeatable)")
      ->type_name("TOPIC")
      ->allow_extra_args(false);
  app.add_option("topics", a->specs, "Topics to read, written kafka:TOPIC (like -t)")
      ->type_name("kafka:TOPIC");
  app.add_flag("--envelope", a->envelope,
               "Write each message as an object: topic, partition, offset, timestamp, key, "
               "headers and payload (as JSON when it parses, else a string)");
  cli::add_whole_number(app, "-c,--count", a->count, "Stop after N messages (default: no limit)", 0)
      ->type_name("N");
  cli::add_output_options(app, a->io);
  cli::add_key_field_option(app, a->key_field,
                            "each line (with --envelope, a path into it: payload.sampleID) is "
                            "its");
  cli::add_kafka_options(app, true);
  cli::add_service_options(app, a->service);
  cli::add_examples(app, {"cdn consume -t cdnresult -e -c 100 -o results.ndjson",
                          "cdn consume -G readers --envelope --timeout 30s kafka:cdndata"});
  return [a] { return run_consume(*a); };
}

}  // namespace cdn::cmd
