#include "common/kafka/fan_out.hpp"

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::kafka {

Headers parse_headers(const std::vector<std::string>& specs) {
  if (specs.empty()) return nullptr;
  Headers h(rd_kafka_headers_new(specs.size()));
  for (const auto& s : specs) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("bad --header " + diag::quoted(s) + "; write --header key=value");
    }
    check(rd_kafka_header_add(h.get(), s.data(), static_cast<ssize_t>(eq), s.data() + eq + 1,
                              static_cast<ssize_t>(s.size() - eq - 1)),
          "cannot add --header " + diag::quoted(s));
  }
  return h;
}

FanOut::FanOut(Producer& producer, const std::vector<std::string>& topics, Headers headers,
               int32_t partition)
    : producer_(producer), headers_(std::move(headers)), partition_(partition) {
  for (const auto& t : topics) topics_.push_back(producer_.add_topic(t));
}

void FanOut::account(record::Counts& counts, record::Rejects& rejects) {
  counts_ = &counts;
  rejects_ = &rejects;
  producer_.on_refusal([this](const Refusal& r) {
    if (!refused_.insert(r.tag).second) return;
    uint64_t line = r.tag & ((uint64_t{1} << kLineBits) - 1);
    const std::string& source = sources_[r.tag >> kLineBits];
    rejects_->reject(source, line, Producer::refusal_reason(r.err), r.payload);
    --counts_->out;
  });
  producer_.on_failure([this](size_t, uint64_t tag) { failed_.insert(tag); });
}

uint64_t FanOut::undelivered() const {
  uint64_t n = 0;
  for (uint64_t tag : failed_) n += refused_.count(tag) == 0 && tag != publishing_ ? 1 : 0;
  return n;
}

void FanOut::publish(std::string_view text, const std::string& source, uint64_t line,
                     const std::string_view* key, int64_t timestamp_ms) {
  if (sources_.empty() || sources_.back() != source) sources_.push_back(source);
  OutMessage m;
  m.payload = text;
  m.key = key;
  m.partition = partition_;
  m.timestamp_ms = timestamp_ms;
  m.headers = headers_.get();
  m.tag = (uint64_t{sources_.size() - 1} << kLineBits) | line;
  bool all = true;
  publishing_ = m.tag;
  for (size_t t : topics_) {
    rd_kafka_resp_err_t err = producer_.produce(t, m);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (refused_.insert(m.tag).second) {
        rejects_->reject(source, line, Producer::refusal_reason(err), text);
      }
      all = false;
      break;
    }
  }
  publishing_.reset();
  if (all) ++counts_->out;
  if ((++published_ & 255) == 0) producer_.poll(0);
}

}  // namespace cdn::kafka
