#include "common/influx/loader.hpp"

#include <simdjson.h>

#include <algorithm>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/record/fields.hpp"

namespace cdn::influx {

using Clock = std::chrono::steady_clock;

namespace {
// A batch is sent at this size whatever --batch-size says: under InfluxDB's default
// max-body-size (25 MB), and far from the 4 GiB that Batch offsets can address.
constexpr size_t kMaxBatchBytes = size_t{16} << 20;
}  // namespace

Loader::Loader(pipeline::RunContext& ctx, io::InputSet& in, Encoder& encoder, Writer* writer,
               LoaderOptions opts)
    : ctx_(ctx),
      in_(in),
      encoder_(encoder),
      writer_(writer),
      opts_(opts),
      batch_(std::make_unique<Batch>()) {
  if (opts_.batch_size == 0) opts_.batch_size = 1;
  if (writer_ == nullptr) return;
  Writer::Events events;
  events.written = [this](const Batch&, size_t n) { ctx_.counts().out += n; };
  events.refused = [this](const Batch& b, size_t i, std::string_view reason) {
    ctx_.rejects().reject(sources_[b.origins[i].source], b.origins[i].line, reason, b.record(i));
  };
  writer_->set_events(std::move(events));
}

uint32_t Loader::source_index(const std::string& name) {
  if (sources_.empty() || sources_.back() != name) {
    auto it = std::find(sources_.begin(), sources_.end(), name);
    if (it != sources_.end()) return static_cast<uint32_t>(it - sources_.begin());
    sources_.push_back(name);
  }
  return static_cast<uint32_t>(sources_.size() - 1);
}

void Loader::send() {
  if (batch_->empty()) return;
  writer_->submit(std::move(batch_));
  batch_ = std::make_unique<Batch>();
}

// Everything read so far is written: a Kafka input may commit its offsets.
void Loader::sync() {
  send();
  writer_->drain();
  ctx_.rejects().sink().flush();
  in_.acknowledge();
  last_ack_ = Clock::now();
}

void Loader::on_idle() {
  if (writer_ == nullptr) {
    ctx_.out().flush();
    ctx_.rejects().sink().flush();
    return;
  }
  auto now = Clock::now();
  if (!batch_->empty() && now - batch_started_ >= opts_.flush_interval) send();
  writer_->poll();
  if (acknowledging_ && batch_->empty() && now - last_ack_ >= opts_.commit_interval) sync();
  ctx_.rejects().sink().flush();
}

void Loader::load() {
  in_.on_idle([this] { on_idle(); });
  last_ack_ = Clock::now();
  const int64_t ups = units_per_second(encoder_.options().precision);
  const bool stamp = encoder_.options().time_field.empty();
  simdjson::dom::parser parser;
  std::string line;
  PointKey key;
  io::Record rec;
  uint64_t n = 0;
  while (in_.next(rec)) {
    simdjson::dom::element root;
    if (auto err = parser.parse(rec.text.data(), rec.text.size(), false).get(root)) {
      ctx_.rejects().reject(in_.name(), rec.line,
                            std::string("invalid JSON: ") + simdjson::error_message(err), rec.text);
      continue;
    }
    int64_t now = 0;
    if (stamp) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
      now = ns / (1000000000 / ups);
    }
    line.clear();
    if (auto why = encoder_.encode(root, now, line, key)) {
      ctx_.rejects().reject(in_.name(), rec.line, *why, rec.text);
      continue;
    }
    if (opts_.on_duplicate == OnDuplicate::nudge) {
      if (duplicates_.nudge(key) > 0) ++nudged_;
    } else if (duplicates_.seen(key)) {
      ++collided_;
      if (opts_.on_duplicate == OnDuplicate::warn && collided_ <= 10) {
        diag::warning(in_.name() + ":" + std::to_string(rec.line) +
                      ": a point with the same measurement, tags and time was written before; "
                      "InfluxDB keeps only this one (--on-duplicate nudge keeps both)" +
                      (collided_ == 10 ? "; further collisions are only counted" : ""));
      }
    }
    Encoder::append_time(line, key.time);
    if (writer_ == nullptr) {
      ctx_.emit(std::string_view(line).substr(0, line.size() - 1));
      continue;
    }
    if (batch_->empty()) batch_started_ = Clock::now();
    batch_->add(line, source_index(in_.name()), rec.line, rec.text);
    if (batch_->size() >= opts_.batch_size || batch_->body.size() >= kMaxBatchBytes) {
      send();
      if (acknowledging_ && Clock::now() - last_ack_ >= opts_.commit_interval) sync();
    } else if ((++n & 63) == 0) {
      writer_->poll();
      if (Clock::now() - batch_started_ >= opts_.flush_interval) send();
    }
    // A rejects file is renamed into place at the end: until then, what went to it is not
    // written, and a Kafka input keeps its offsets.
    if (!acknowledging_ && in_.acknowledges() && !ctx_.rejects().sink().holds_until_commit()) {
      acknowledging_ = true;
    }
  }
  if (writer_ != nullptr) {
    send();
    writer_->drain();
  }
}

std::string Loader::extra() const {
  std::string s;
  auto add = [&](const std::string& part) {
    if (!s.empty()) s += ", ";
    s += part;
  };
  if (writer_ != nullptr) {
    add(std::to_string(ctx_.counts().out) + " points written to " +
        diag::quoted(writer_->endpoint()));
    if (writer_->retries() > 0) add(std::to_string(writer_->retries()) + " requests sent again");
  }
  if (encoder_.predictions() > 0) add(std::to_string(encoder_.predictions()) + " predictions");
  if (nudged_ > 0) {
    add(std::to_string(nudged_) + " nudged later by 1 " +
        precision_name(encoder_.options().precision) +
        " or more (their series already had a point at that time)");
  }
  if (collided_ > 0) {
    add(std::to_string(collided_) +
        " shared measurement, tags and time with an earlier point, which InfluxDB replaced");
  }
  return s;
}

int Loader::run() {
  try {
    load();
  } catch (const RuntimeError& e) {
    auto& c = ctx_.counts();
    uint64_t lost = c.in - c.out - c.rejected;
    ctx_.mark_undelivered();  // Kafka inputs keep their offsets
    try {
      ctx_.commit();
    } catch (const std::exception& e2) {
      diag::error(e2.what());
    }
    diag::summary(std::to_string(c.in) + " in, " + std::to_string(c.out) + " written, " +
                  std::to_string(c.rejected) + " rejected, " + std::to_string(lost) +
                  " not written");
    throw RuntimeError(std::string(e.what()) + "; " + std::to_string(lost) +
                       (lost == 1 ? " record" : " records") + " not written");
  }
  return ctx_.finish(extra());
}

}  // namespace cdn::influx
