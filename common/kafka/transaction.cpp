#include "common/kafka/transaction.hpp"

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/line_reader.hpp"

namespace cdn::kafka {

namespace {
constexpr int kTimeoutMs = 60000;
}

void check(rd_kafka_error_t* e, const std::string& what) {
  Error err(e);
  if (!err) return;
  throw RuntimeError(what + ": " + rd_kafka_error_string(err.get()));
}

ConsumerSource::ConsumerSource(ConsumerOptions opts, record::Counts& counts)
    : consumer_(std::move(opts)), counts_(&counts) {}

bool ConsumerSource::next(record::Record& rec) {
  const rd_kafka_message_t* m = consumer_.next();
  if (m == nullptr) return false;
  ++counts_->in;
  name_ = std::string("kafka:") + rd_kafka_topic_name(m->rkt) + "/" + std::to_string(m->partition);
  buf_.clear();
  if (m->payload) buf_.append(static_cast<const char*>(m->payload), m->len);
  size_t len = buf_.size();
  buf_.append(io::LineReader::kPadding, ' ');
  rec.text = std::string_view(buf_.data(), len);
  rec.line = static_cast<uint64_t>(m->offset);
  rec.key = m->key ? std::optional<std::string_view>(std::in_place,
                                                     static_cast<const char*>(m->key), m->key_len)
                   : std::nullopt;
  rec.message_ms = message_time_ms(m);
  return true;
}

TransactionalSink::TransactionalSink(const std::string& topic, Consumer& consumer,
                                     const std::string& transactional_id)
    : io::Sink("kafka:" + topic),
      producer_({{"transactional.id", transactional_id}}),
      consumer_(consumer) {
  topic_ = producer_.add_topic(topic);
  // Fences an earlier instance with the same id and aborts what it left open.
  check(
      rd_kafka_init_transactions(producer_.handle(), kTimeoutMs),
      "cannot start Kafka transactions (transactional.id " + diag::quoted(transactional_id) + ")");
  check(rd_kafka_begin_transaction(producer_.handle()), "cannot begin a Kafka transaction");
  open_ = true;
}

TransactionalSink::~TransactionalSink() {
  if (!open_) return;
  // A failed run: what is in the open transaction must not become visible.
  Error e(rd_kafka_abort_transaction(producer_.handle(), 5000));
  if (e)
    diag::error(std::string("cannot abort the Kafka transaction: ") +
                rd_kafka_error_string(e.get()));
}

void TransactionalSink::write_out(const char* data, size_t n) {
  std::string_view rest(data, n);
  OutMessage m;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) nl = rest.size();
    m.payload = rest.substr(0, nl);
    producer_.produce(topic_, m);
    written_ = true;
    rest.remove_prefix(std::min(nl + 1, rest.size()));
  }
  producer_.poll(0);
}

void TransactionalSink::write_keyed(std::string_view line, std::optional<std::string_view> key) {
  flush();  // what was written before goes first
  OutMessage m;
  m.payload = line;
  if (key) m.key = &*key;
  producer_.produce(topic_, m);
  written_ = true;
}

void TransactionalSink::commit() {
  flush();
  PartitionList offsets = consumer_.returned_offsets();
  bool moved = false;
  for (int i = 0; i < offsets->cnt; ++i) {
    auto key = std::make_pair(std::string(offsets->elems[i].topic), offsets->elems[i].partition);
    auto it = committed_.find(key);
    moved = moved || it == committed_.end() || it->second != offsets->elems[i].offset;
  }
  if (!moved && !written_) return;  // nothing new: no empty transaction
  rd_kafka_t* p = producer_.handle();
  // On failure the destructor aborts the transaction: the run fails, and a restart goes back
  // to the offsets of the last committed one.
  if (moved) {
    std::unique_ptr<rd_kafka_consumer_group_metadata_t,
                    decltype(&rd_kafka_consumer_group_metadata_destroy)>
        group(rd_kafka_consumer_group_metadata(consumer_.handle()),
              &rd_kafka_consumer_group_metadata_destroy);
    check(rd_kafka_send_offsets_to_transaction(p, offsets.get(), group.get(), kTimeoutMs),
          "cannot add the input offsets to the Kafka transaction");
  }
  check(rd_kafka_commit_transaction(p, kTimeoutMs), "cannot commit the Kafka transaction");
  open_ = false;
  written_ = false;
  for (int i = 0; i < offsets->cnt; ++i) {
    committed_[{offsets->elems[i].topic, offsets->elems[i].partition}] = offsets->elems[i].offset;
  }
  check(rd_kafka_begin_transaction(p), "cannot begin a Kafka transaction");
  open_ = true;
}

}  // namespace cdn::kafka
