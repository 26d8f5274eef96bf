// Exactly-once consume-transform-produce: the output lines and the input offsets of the
// records they come from go to Kafka in one transaction (KIP-98, with the consumer group's
// metadata as KIP-447 wants), committed at each RunContext::commit(). A crash aborts the open
// transaction; the restart reads from the offsets of the last committed one, so a
// read_committed reader sees every output exactly once.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "common/io/sink.hpp"
#include "common/kafka/consumer.hpp"
#include "common/kafka/producer.hpp"
#include "common/record/source.hpp"

namespace cdn::kafka {

struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using Error = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

// Throws RuntimeError "WHAT: <librdkafka's text>" when e is an error (and destroys it).
void check(rd_kafka_error_t* e, const std::string& what);

// The records of one consumer as a Source: what --exactly-once reads.
class ConsumerSource : public record::Source {
 public:
  ConsumerSource(ConsumerOptions opts, record::Counts& counts);
  bool next(record::Record& rec) override;
  const std::string& name() const override { return name_; }
  void on_idle(std::function<void()> f) override { consumer_.on_idle(std::move(f)); }
  Consumer& consumer() { return consumer_; }
  // Counts the records read from now on in `counts` (a run context made after the source).
  void count_into(record::Counts& counts) { counts_ = &counts; }

 private:
  Consumer consumer_;
  record::Counts* counts_;
  std::string buf_;
  std::string name_;
};

// Each line one message to `topic`, inside a transaction that commit() closes together with
// the offsets of everything `consumer` has returned so far, then opens the next.
class TransactionalSink : public io::Sink {
 public:
  TransactionalSink(const std::string& topic, Consumer& consumer,
                    const std::string& transactional_id);
  ~TransactionalSink() override;
  void commit() override;
  bool takes_keys() const override { return true; }
  void write_keyed(std::string_view line, std::optional<std::string_view> key) override;

 protected:
  void write_out(const char* data, size_t n) override;

 private:
  Producer producer_;
  size_t topic_ = 0;
  Consumer& consumer_;
  bool open_ = false;     // a transaction is open
  bool written_ = false;  // messages were produced in it
  std::map<std::pair<std::string, int32_t>, int64_t> committed_;
};

}  // namespace cdn::kafka
