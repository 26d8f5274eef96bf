#include "common/endpoint/endpoint.hpp"

#include <algorithm>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/gzip_sink.hpp"
#include "common/record/csv_writer.hpp"
#include "common/record/message_key.hpp"
#ifdef CDN_WITH_KAFKA
#include "common/kafka/client.hpp"
#include "common/kafka/consumer.hpp"
#endif

namespace cdn::endpoint {

std::optional<std::string> kafka_topic(const std::string& spec) {
  if (!is_kafka(spec)) return std::nullopt;
  std::string topic = spec.substr(6);
  if (topic.empty()) {
    throw UsageError("no topic in " + diag::quoted(spec) + "; write kafka:TOPIC");
  }
  return topic;
}

std::unique_ptr<record::Source> open_source(const std::string& spec,
                                            const record::SourceOptions& opts,
                                            record::Rejects& rejects, record::Counts& counts) {
  if (auto topic = kafka_topic(spec)) {
#ifdef CDN_WITH_KAFKA
    return kafka::open_topic_source(*topic, rejects, counts);
#else
    throw UsageError("cannot read " + diag::quoted(spec) +
                     ": Kafka endpoints are not built in (CDN_WITH_KAFKA=OFF); read a file or '-'");
#endif
  }
  return record::open_file_source(spec, opts, rejects, counts);
}

namespace {

// Several topics read by one consumer.
std::unique_ptr<record::Source> open_topics(std::vector<std::string> topics,
                                            record::Rejects& rejects, record::Counts& counts) {
#ifdef CDN_WITH_KAFKA
  return kafka::open_topics_source(std::move(topics), rejects, counts);
#else
  (void)rejects;
  (void)counts;
  throw UsageError("cannot read kafka:" + topics.front() +
                   ": Kafka endpoints are not built in (CDN_WITH_KAFKA=OFF); read a file or '-'");
#endif
}

}  // namespace

namespace {

std::unique_ptr<io::Sink> open_sink(const std::string& spec, io::SinkRole role) {
  bool out = role == io::SinkRole::output;
  diag::info(std::string(out ? "writing records to " : "writing rejected records to ") +
             (spec == "-" ? (out ? "stdout" : "stderr") : diag::quoted(spec)) +
             (spec == "-" || kafka_topic(spec) ? "" : " (in place once the run succeeds)"));
  if (auto topic = kafka_topic(spec)) {
#ifdef CDN_WITH_KAFKA
    return kafka::open_topic_sink(*topic);
#else
    throw UsageError("cannot write to " + diag::quoted(spec) +
                     ": Kafka endpoints are not built in (CDN_WITH_KAFKA=OFF); write to a "
                     "file or '-' instead");
#endif
  }
  return io::open_file_sink(spec, role);
}

bool ends_with(const std::string& s, std::string_view end) {
  return s.size() > end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

}  // namespace

Compression parse_compression(const std::string& name) {
  if (name == "auto" || name.empty()) return Compression::automatic;
  if (name == "none") return Compression::none;
  if (name == "gzip") return Compression::gzip;
  throw UsageError("unknown compression " + diag::quoted(name) + "; use auto, none or gzip");
}

record::Format output_format(const std::string& spec, record::Format format) {
  if (format != record::Format::automatic) return format;
  if (spec == "-" || spec.empty() || is_kafka(spec)) return record::Format::ndjson;
  return record::detect_format(spec);
}

bool output_compressed(const std::string& spec, Compression compression) {
  if (compression != Compression::automatic) return compression == Compression::gzip;
  return !is_kafka(spec) && ends_with(spec, ".gz");
}

std::unique_ptr<io::Sink> open_output(const std::string& spec, const OutputFormat& format) {
  bool csv = output_format(spec, format.format) == record::Format::csv;
  bool gzip = output_compressed(spec, format.compression);
  if (is_kafka(spec) && (csv || gzip)) {
    throw UsageError("cannot write " + std::string(csv ? "CSV" : "gzip") + " to " +
                     diag::quoted(spec) + ": a topic takes one JSON record a message; leave out " +
                     (csv ? "--output-format csv" : "--compress gzip") +
                     (csv ? "" : " (librdkafka compresses messages: -X compression.codec=gzip)"));
  }
  std::unique_ptr<io::Sink> sink = open_sink(spec, io::SinkRole::output);
  if (gzip) sink = io::gzip_sink(std::move(sink));
  if (csv) sink = record::csv_sink(std::move(sink), format.csv_types);
  return sink;
}

std::unique_ptr<io::Sink> open_output(const std::string& spec) {
  std::unique_ptr<io::Sink> sink = open_sink(spec, io::SinkRole::output);
  if (output_compressed(spec, Compression::automatic)) sink = io::gzip_sink(std::move(sink));
  return sink;
}

std::unique_ptr<io::Sink> open_rejects(const std::string& spec) {
  if (!is_kafka(spec) && record::detect_format(spec) == record::Format::csv) {
    throw UsageError("cannot write rejects to " + diag::quoted(spec) +
                     " as CSV: reject lines are NDJSON; name a .ndjson file (or .ndjson.gz)");
  }
  std::unique_ptr<io::Sink> sink = open_sink(spec, io::SinkRole::rejects);
  if (output_compressed(spec, Compression::automatic)) sink = io::gzip_sink(std::move(sink));
  return sink;
}

InputSet::InputSet(std::vector<std::string> specs, record::SourceOptions opts,
                   record::Rejects& rejects, record::Counts& counts)
    : specs_(std::move(specs)), opts_(opts), rejects_(rejects), counts_(counts) {
  if (specs_.empty()) specs_.push_back("-");
}

bool InputSet::open_next() {
  if (index_ >= specs_.size()) return false;
  // Consecutive kafka:TOPIC inputs are one consumer: one group subscription, and no topic
  // waits for the end of another.
  std::vector<std::string> topics;
  for (size_t i = index_; i < specs_.size() && is_kafka(specs_[i]); ++i)
    topics.push_back(*kafka_topic(specs_[i]));
  if (diag::settings().verbosity > 0) {
    std::string what;
    if (topics.size() > 1) {
      for (const auto& t : topics) what += (what.empty() ? "topics " : ", ") + diag::quoted(t);
    } else {
      what = specs_[index_] == "-" ? std::string("stdin") : diag::quoted(specs_[index_]);
    }
    diag::info("reading " + what);
  }
  if (topics.size() > 1) {
    index_ += topics.size();
    current_ = open_topics(std::move(topics), rejects_, counts_);
  } else {
    current_ = open_source(specs_[index_++], opts_, rejects_, counts_);
  }
  if (idle_) current_->on_idle(idle_);
  if (current_->stable()) {
    // Mapped inputs stay resident until the end: they share one allowance.
    opts_.map_limit -= std::min(opts_.map_limit, current_->size_hint());
  }
  return true;
}

bool InputSet::next(record::Record& rec) {
  for (;;) {
    if (!current_ && !open_next()) {
      watch_.report();  // the end of the input: what was read is all there is
      return false;
    }
    if (next_in_current(rec)) return true;
  }
}

bool InputSet::next_in_current(record::Record& rec) {
  if (!current_) return false;
  rec.key.reset();  // only a Kafka source sets one
  rec.message_ms = 0;
  if (current_->next(rec)) {
    if (watch_.watching()) watch_.see(rec.text);
    return true;
  }
  if (current_->stable() || current_->acknowledges()) finished_.push_back(std::move(current_));
  current_.reset();
  return false;
}

record::ChunkResult InputSet::next_chunk(record::LineChunk& c, size_t size) {
  for (;;) {
    if (!current_ && !open_next()) {
      watch_.report();
      return record::ChunkResult::end;
    }
    record::ChunkResult r = current_->next_chunk(c, size);
    if (r == record::ChunkResult::chunk && watch_.watching())
      watch_.see_lines(c.bytes, c.starts_source);
    if (r != record::ChunkResult::end) return r;
    finished_.push_back(std::move(current_));  // mapped: its views stay valid
    current_.reset();
  }
}

void InputSet::on_idle(std::function<void()> f) {
  idle_ = [this, f = std::move(f)] {
    watch_.idle();
    if (f) f();
  };
  if (current_) current_->on_idle(idle_);
}

bool InputSet::acknowledges() const {
  if (current_ && current_->acknowledges()) return true;
  for (const auto& s : finished_) {
    if (s->acknowledges()) return true;
  }
  return false;
}

void InputSet::acknowledge() {
  if (current_) current_->acknowledge();
  for (auto& s : finished_) {
    if (s && s->acknowledges()) {
      s->acknowledge();
      if (!s->stable()) s.reset();
    }
  }
  std::erase(finished_, nullptr);
}

const std::string& InputSet::name() const {
  static const std::string none = "<none>";
  return current_ ? current_->name() : none;
}

namespace {
// keyed_by_field's sink: lines in, each with its key to the sink it wraps.
class KeyedSink : public io::Sink {
 public:
  KeyedSink(std::unique_ptr<io::Sink> out, const std::string& field)
      : io::Sink(out->name()), out_(std::move(out)), field_(field) {}
  bool takes_keys() const override { return true; }
  void write_keyed(std::string_view line, std::optional<std::string_view> key) override {
    flush_buffer();  // what was written before goes first
    out_->write_keyed(line, record::KeyField::chosen(field_.of_text(line, key_, parser_), key));
  }
  void flush() override {
    flush_buffer();
    out_->flush();
  }
  void on_refused(Refused f) override { out_->on_refused(std::move(f)); }
  void commit() override {
    flush_buffer();
    out_->commit();
  }
  bool holds_until_commit() const override { return out_->holds_until_commit(); }
  std::optional<io::FileId> file_id() const override { return out_->file_id(); }
  std::optional<uint64_t> delivered() const override { return out_->delivered(); }

 protected:
  void write_out(const char* data, size_t n) override {
    std::string_view rest(data, n);
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      out_->write_keyed(line, field_.of_text(line, key_, parser_));
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    }
  }

 private:
  std::unique_ptr<io::Sink> out_;
  record::KeyField field_;
  std::string key_;
  simdjson::dom::parser parser_;
};
}  // namespace

std::unique_ptr<io::Sink> keyed_by_field(std::unique_ptr<io::Sink> out, const std::string& field) {
  if (field.empty() || !out->takes_keys()) return out;
  return std::make_unique<KeyedSink>(std::move(out), field);
}

}  // namespace cdn::endpoint
