// cdn consume: read Kafka topics to NDJSON, one line per message: the payload, or with
// --envelope an object that also carries the message's topic, partition, offset, timestamp,
// key and headers. In a group, offsets are committed only once the lines are written.
#include <simdjson.h>

#include <cstring>
#include <memory>

#include "cmd/commands.hpp"
#include "common/base/json_text.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/io/line_reader.hpp"
#include "common/kafka/consumer.hpp"

namespace cdn::cmd {

namespace {
struct ConsumeArgs {
  cli::IoOptions io;
  std::vector<std::string> topics;
  std::vector<std::string> specs;  // positional kafka:TOPIC
  bool envelope = false;
  uint64_t count = 0;
};

// Builds the --envelope line of a message.
class Envelope {
 public:
  const std::string& line(const rd_kafka_message_t* m) {
    std::string& s = line_;
    s.clear();
    s += "{\"topic\":";
    base::append_json_string(s, rd_kafka_topic_name(m->rkt));
    s += ",\"partition\":";
    base::append_int(s, m->partition);
    s += ",\"offset\":";
    base::append_int(s, m->offset);
    s += ",\"timestamp\":";
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(m, &type);
    if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0) {
      s += "null";
    } else {
      base::append_int(s, ts);
    }
    s += ",\"key\":";
    if (m->key == nullptr) {
      s += "null";
    } else {
      base::append_json_string(s, {static_cast<const char*>(m->key), m->key_len});
    }
    s += ",\"headers\":{";
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; ++i) {
        if (i > 0) s += ',';
        base::append_json_string(s, name);
        s += ':';
        if (value == nullptr) {
          s += "null";
        } else {
          base::append_json_string(s, {static_cast<const char*>(value), size});
        }
      }
    }
    s += "},\"payload\":";
    append_payload(m);
    s += '}';
    return s;
  }

 private:
  // The payload as JSON when it parses (made one line if it spans several), else a string.
  void append_payload(const rd_kafka_message_t* m) {
    if (m->payload == nullptr) {
      line_ += "null";
      return;
    }
    std::string_view text(static_cast<const char*>(m->payload), m->len);
    padded_.assign(text);
    padded_.append(io::LineReader::kPadding, ' ');
    simdjson::dom::element root;
    if (text.empty() || parser_.parse(padded_.data(), text.size(), false).get(root)) {
      base::append_json_string(line_, text);
      return;
    }
    if (text.find_first_of("\r\n") == std::string_view::npos) {
      line_ += text;
      return;
    }
    size_t at = line_.size(), len = 0;
    line_.resize(at + text.size());
    if (simdjson::minify(text.data(), text.size(), line_.data() + at, len)) {
      line_.resize(at);
      base::append_json_string(line_, text);
      return;
    }
    line_.resize(at + len);
  }

  std::string line_;
  std::string padded_;
  simdjson::dom::parser parser_;
};

int run_consume(ConsumeArgs& a) {
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

  pipeline::RunContext ctx("consume", endpoint::open_output(a.io.output),
                           endpoint::open_rejects(a.io.rejects));
  kafka::Consumer consumer(opts);
  // Offsets are committed on the way only while the lines go straight out; a file (the
  // output or the rejects) is renamed into place at the end, so its offsets wait for that.
  bool streaming = a.io.output == "-" && !ctx.rejects().sink().holds_until_commit();
  // When nothing new has arrived, what was read goes out at once (a live stream does not
  // wait in the buffer), and its offsets are committed now and then.
  consumer.on_idle([&] {
    ctx.out().flush();
    ctx.rejects().sink().flush();
    if (streaming && consumer.commit_due()) {
      consumer.mark_written();
      consumer.commit(false);
    }
  });
  Envelope envelope;
  auto& counts = ctx.counts();
  std::string name;
  while (const rd_kafka_message_t* m = consumer.next()) {
    ++counts.in;
    if (a.envelope) {
      ctx.emit(envelope.line(m));
    } else if (m->payload == nullptr) {
      name =
          std::string("kafka:") + rd_kafka_topic_name(m->rkt) + "/" + std::to_string(m->partition);
      ctx.rejects().reject(name, static_cast<uint64_t>(m->offset),
                           "no payload (a tombstone); --envelope shows it", "");
    } else {
      std::string_view text(static_cast<const char*>(m->payload), m->len);
      if (std::memchr(text.data(), '\n', text.size()) != nullptr) {
        name = std::string("kafka:") + rd_kafka_topic_name(m->rkt) + "/" +
               std::to_string(m->partition);
        ctx.rejects().reject(name, static_cast<uint64_t>(m->offset),
                             "the payload spans several lines; --envelope makes it one", text);
      } else {
        ctx.emit(text);
      }
    }
    if (a.count > 0 && counts.in >= a.count) break;
    if (streaming && (counts.in & 1023) == 0 && consumer.commit_due()) {
      ctx.out().flush();
      ctx.rejects().sink().flush();
      consumer.mark_written();
      consumer.commit(false);
    }
  }
  ctx.commit();
  consumer.mark_written();
  consumer.commit(true);
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
  app.add_option("-c,--count", a->count, "Stop after N messages (default: no limit)")
      ->type_name("N");
  cli::add_output_options(app, a->io);
  cli::add_kafka_options(app, true);
  return [a] { return run_consume(*a); };
}

}  // namespace cdn::cmd
