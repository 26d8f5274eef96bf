#include "common/influx/loader.hpp"

#include <simdjson.h>

#include <algorithm>
#include <limits>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/service.hpp"
#include "common/record/fields.hpp"
#include "common/record/json_syntax.hpp"

namespace cdn::influx {

using Clock = std::chrono::steady_clock;

namespace {
// A batch is sent at this size whatever --batch-size says: under InfluxDB's default
// max-body-size (25 MB), and far from the 4 GiB that Batch offsets can address.
constexpr size_t kMaxBatchBytes = size_t{16} << 20;
}  // namespace

Loader::Loader(pipeline::RunContext& ctx, endpoint::InputSet& in, Encoder& encoder, Writer* writer,
               LoaderOptions opts)
    : ctx_(ctx),
      in_(in),
      encoder_(encoder),
      writer_(writer),
      opts_(opts),
      duplicates_(opts.nudge_memory),
      batch_(std::make_unique<Batch>()) {
  if (opts_.batch_size == 0) opts_.batch_size = 1;
  checking_ = writer_ != nullptr && opts_.on_duplicate == OnDuplicate::nudge &&
              opts_.check_written != CheckWritten::off;
  if (writer_ == nullptr) return;
  freshness_ = diag::Service::get().serving();
  seconds_per_unit_ = 1.0 / static_cast<double>(units_per_second(encoder_.options().precision));
  ready_check_ = diag::Service::get().add_check([w = writer_] { return w->ping(); });
  if (checking_) {
    written_ = std::make_unique<WrittenPoints>(
        [this](const std::string& q, const std::string& what) {
          return writer_->query(q, what, true);
        },
        opts_.id_field, encoder_.options().precision, 2 * opts_.nudge_memory);
  }
  Writer::Events events;
  ctx_.set_time_field(encoder_.options().time_field);
  diag::info("writing to InfluxDB " + std::to_string(writer_->api()) + ".x at " +
             diag::quoted(writer_->endpoint()) + " in batches of up to " +
             std::to_string(opts_.batch_size) + " points, each sent once full or " +
             std::to_string(opts_.flush_interval.count()) + " ms old");
  events.written = [this](const Batch& b, size_t n) {
    if (!connected_) {
      connected_ = true;
      diag::info("connected to InfluxDB at " + diag::quoted(writer_->endpoint()) +
                 ": it took the first batch (" + std::to_string(n) + " points)");
    } else {
      diag::debug("InfluxDB took a batch of " + std::to_string(n) + " points");
    }
    ctx_.counts().out += n;
    // --metrics-addr: the age of what reached InfluxDB, one record of each request.
    if (ctx_.measuring() && !b.empty()) ctx_.sample_output(b.record(0));
  };
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
  resolve_pending();
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
  if (!pending_.empty() && now - pending_started_ >= opts_.flush_interval) resolve_pending();
  if (!batch_->empty() && now - batch_started_ >= opts_.flush_interval) send();
  writer_->poll();
  if (acknowledging_ && batch_->empty() && pending_.empty() &&
      now - last_ack_ >= opts_.commit_interval) {
    sync();
  }
  ctx_.rejects().sink().flush();
}

bool Loader::read(record::Record& rec) {
  try {
    return in_.next(rec);
  } catch (const RuntimeError&) {
    if (idle_failed_) throw;  // InfluxDB's, raised while the input waited
    input_error_ = std::current_exception();
    return false;
  }
}

void Loader::load() {
  in_.on_idle([this] {
    try {
      on_idle();
    } catch (...) {
      idle_failed_ = true;
      throw;
    }
  });
  last_ack_ = Clock::now();
  const int64_t ups = units_per_second(encoder_.options().precision);
  const bool stamp = encoder_.options().time_field.empty();
  simdjson::dom::parser parser;
  std::string line;
  PointKey key;
  record::Record rec;
  uint64_t n = 0;
  while (read(rec)) {
    simdjson::dom::element root;
    if (auto err = parser.parse(rec.text.data(), rec.text.size(), false).get(root)) {
      ctx_.rejects().reject(in_.name(), rec.line,
                            record::invalid_json_reason(rec.text, simdjson::error_message(err)),
                            rec.text);
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
    if (checking_ && needs_check(key)) {
      if (pending_.empty()) pending_started_ = Clock::now();
      Pending& p = pending_.emplace_back();
      p.line = line;
      p.key = key;
      p.measurement = encoder_.measurement();
      simdjson::dom::element id;
      if (root.at_key(opts_.id_field).get(id) == simdjson::SUCCESS) {
        p.id = WrittenPoints::id_hash(id_text(id));
      }
      p.source = source_index(in_.name());
      p.line_no = rec.line;
      p.message_ms = rec.message_ms;
      p.raw = rec.text;
      if (pending_.size() >= opts_.batch_size) {
        resolve_pending();
      } else if ((++n & 63) == 0 && Clock::now() - pending_started_ >= opts_.flush_interval) {
        resolve_pending();
      }
      if (!acknowledging_) acknowledging_ = may_acknowledge();
      continue;
    }
    if (opts_.on_duplicate == OnDuplicate::nudge) {
      int64_t moved = duplicates_.nudge(key);
      count_nudge(moved);
      if (auto why = nudged_out_of_range(moved, key.time)) {
        ctx_.rejects().reject(in_.name(), rec.line, *why, rec.text);
        continue;
      }
    } else if (duplicates_.seen(key)) {
      ++collided_;
      if (opts_.on_duplicate == OnDuplicate::warn && collided_ <= 10) {
        diag::warning(in_.name() + ":" + std::to_string(rec.line) +
                      ": a point with the same measurement, tags and time was written before; "
                      "InfluxDB keeps only this one (--on-duplicate nudge keeps both)" +
                      (collided_ == 10 ? "; further collisions are only counted" : ""));
      }
    }
    if (writer_ == nullptr) {
      Encoder::append_time(line, key.time);
      ctx_.emit(std::string_view(line).substr(0, line.size() - 1));
      continue;
    }
    add_point(line, key.time, rec.message_ms, source_index(in_.name()), rec.line, rec.text, true);
    if ((++n & 63) == 0) {
      writer_->poll();
      if (!batch_->empty() && Clock::now() - batch_started_ >= opts_.flush_interval) send();
    }
    if (!acknowledging_) acknowledging_ = may_acknowledge();
  }
  if (writer_ != nullptr) {
    resolve_pending();
    send();
    writer_->drain();
  }
}

// Whether the input may commit its offsets as records are written: a Kafka input, unless a
// rejects file is renamed into place only at the end (until then, what went to it is not
// written, and a Kafka input keeps its offsets).
bool Loader::may_acknowledge() const {
  return in_.acknowledges() && !ctx_.rejects().sink().holds_until_commit();
}

// Adds a point to the batch, sending the batch when it is full (and committing a Kafka
// input's offsets when they are due and `may_sync`: not while records read are still
// waiting in pending_).
void Loader::add_point(std::string& line, int64_t time, int64_t message_ms, uint32_t source,
                       uint64_t line_no, std::string_view raw, bool may_sync) {
  Encoder::append_time(line, time);
  if (batch_->empty()) {
    batch_started_ = Clock::now();
    if (freshness_) {
      batch_->base =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      batch_->since.reserve(std::min<size_t>(opts_.batch_size, 8192));
    }
  }
  batch_->add(line, source, line_no, raw);
  if (freshness_) {
    // Offsets from the batch's base: a subtraction and two conversions a point, no clock.
    const double base = batch_->base;
    batch_->since.push_back(
        {static_cast<float>(static_cast<double>(time) * seconds_per_unit_ - base),
         message_ms > 0 ? static_cast<float>(static_cast<double>(message_ms) * 1e-3 - base)
                        : std::numeric_limits<float>::quiet_NaN()});
  }
  if (batch_->size() >= opts_.batch_size || batch_->body.size() >= kMaxBatchBytes) {
    send();
    if (may_sync && acknowledging_ && Clock::now() - last_ack_ >= opts_.commit_interval) sync();
  }
}

// Whether InfluxDB may hold a point at this record's time that the loader does not know of:
// always with --check-written on; with auto, when the time is no later than the newest point
// its measurement held when the loader first met it (an earlier run's, or another loader's),
// or than the newest point the nudge memory has forgotten.
// With auto, InfluxDB refusing to be read (credentials that may only write, say) is said once
// and the load goes on without looking.
bool Loader::needs_check(const PointKey& key) {
  if (opts_.check_written == CheckWritten::always) return true;
  // Asked of WrittenPoints once per measurement met in a row: no string built per record.
  if (encoder_.measurement() != newest_of_) {
    try {
      newest_ = written_->newest(std::string(encoder_.measurement()));
      newest_of_ = encoder_.measurement();
    } catch (const QueryRefused& e) {
      checking_ = false;
      diag::warning(std::string(e.what()) +
                    "; so points written before (by an earlier run or another loader) are not "
                    "looked for, and a record at such a time may replace one: give credentials "
                    "that may read the database, or --check-written off to skip the check");
      return false;
    }
  }
  return key.time <= duplicates_.forgotten_through() || (newest_ && key.time <= *newest_);
}

// Gives each waiting record its time, looking at the points InfluxDB holds near it: a point
// of the same series and time that carries the record's --id-field value is this record,
// written by an earlier run (perhaps nudged): the record is written there again, which
// changes nothing. A point of another record is a twin: the record is nudged past it.
void Loader::resolve_pending() {
  if (pending_.empty()) return;
  const int64_t forgotten = duplicates_.forgotten_through();
  if (forgotten != forgotten_seen_) {
    bool older = std::any_of(pending_.begin(), pending_.end(),
                             [&](const Pending& p) { return p.key.time <= forgotten; });
    if (older) {
      // This run's points at those times are no longer remembered: InfluxDB must hold them
      // before it is asked, and what was read of those times before is out of date.
      send();
      writer_->drain();
      written_->forget_through(forgotten);
      forgotten_seen_ = forgotten;
    }
  }
  std::vector<std::string> measurements;
  for (const auto& p : pending_) {
    if (std::find(measurements.begin(), measurements.end(), p.measurement) == measurements.end())
      measurements.push_back(p.measurement);
  }
  for (const auto& m : measurements) {
    std::vector<int64_t> times;
    for (const auto& p : pending_) {
      if (p.measurement == m) times.push_back(p.key.time);
    }
    written_->prefetch(m, std::move(times));
  }
  for (auto& p : pending_) {
    PointKey k = p.key;
    bool again = false;
    for (; k.time < std::numeric_limits<int64_t>::max(); ++k.time) {
      if (duplicates_.contains(k)) continue;
      auto held = written_->at(p.measurement, k);
      if (!held) break;
      if (p.id != 0 && *held == p.id) {
        again = true;
        break;
      }
    }
    duplicates_.add(k);
    if (again) {
      ++rewritten_;
    } else {
      count_nudge(k.time - p.key.time);
    }
    if (auto why = nudged_out_of_range(k.time - p.key.time, k.time)) {
      ctx_.rejects().reject(sources_[p.source], p.line_no, *why, p.raw);
      continue;
    }
    add_point(p.line, k.time, p.message_ms, p.source, p.line_no, p.raw, false);
  }
  pending_.clear();
}

// A point nudged past the end of InfluxDB's range is refused, in --dry-run as in a write.
std::optional<std::string> Loader::nudged_out_of_range(int64_t moved, int64_t time) const {
  if (moved <= 0) return std::nullopt;
  Precision p = encoder_.options().precision;
  return time_out_of_range(time, p,
                           "nudged past the points of its series at the same time, the time " +
                               std::to_string(time) + " " + precision_name(p));
}

// A point moved a thousand units or more past its own time means one series gets more points
// than --precision can tell apart: every nudge then walks past all the earlier ones, the
// points drift ever further from their times and the loader slows down. Said once.
void Loader::count_nudge(int64_t moved) {
  if (moved <= 0) return;
  ++nudged_;
  if (warned_drift_ || moved < 1000) return;
  warned_drift_ = true;
  diag::warning(in_.name() + ": a point was nudged " + std::to_string(moved) + " " +
                precision_name(encoder_.options().precision) +
                " past its time: one series gets more points than --precision " +
                precision_name(encoder_.options().precision) +
                " can tell apart, so they drift further and the load slows down; give a finer "
                "--precision (us or ns) or --tag fields that tell the points apart");
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
  if (rewritten_ > 0) {
    add(std::to_string(rewritten_) +
        " already in InfluxDB from an earlier run, written again at the same time");
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
    // --dry-run: the output, not committed, is discarded (a file) or cut (a stream), as for
    // every other command; there are no points written to count.
    if (writer_ == nullptr) throw;
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
    ctx_.summarized();
    throw RuntimeError(std::string(e.what()) + "; " + std::to_string(lost) +
                       (lost == 1 ? " record" : " records") + " not written");
  }
  if (input_error_) {
    if (writer_ == nullptr) std::rethrow_exception(input_error_);
    // What was read before the input failed is written: say so, keep the rejects of it, and
    // fail with the input's error. A Kafka input keeps its offsets.
    ctx_.mark_undelivered();
    ctx_.commit();
    auto& c = ctx_.counts();
    diag::summary(std::to_string(c.in) + " in, " + std::to_string(c.out) + " written, " +
                  std::to_string(c.rejected) + " rejected, then an input failed");
    ctx_.summarized();
    std::rethrow_exception(input_error_);
  }
  if (writer_ != nullptr) {
    diag::info("flushed " + std::to_string(ctx_.counts().out) + " points to InfluxDB in " +
               std::to_string(writer_->requests()) + " write requests (" +
               std::to_string(writer_->retries()) + " sent again)");
  }
  return ctx_.finish(extra());
}

}  // namespace cdn::influx
