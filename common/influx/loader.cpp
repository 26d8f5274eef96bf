#include "common/influx/loader.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

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

Loader::Loader(pipeline::RunContext& ctx, endpoint::InputSet& in, Encoder& encoder, Writer* writer,
               LoaderOptions opts)
    : ctx_(ctx),
      in_(in),
      encoder_(encoder),
      writer_(writer),
      opts_(opts),
      batch_(std::make_unique<Batch>()) {
  if (opts_.batch_size == 0) opts_.batch_size = 1;
  checking_ = writer_ != nullptr && opts_.on_duplicate == OnDuplicate::nudge &&
              opts_.check_written != CheckWritten::off;
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
    if (checking_) {
      if (pending_.empty()) pending_started_ = Clock::now();
      Pending& p = pending_.emplace_back();
      p.line = line;
      p.key = key;
      p.measurement = encoder_.measurement();
      simdjson::dom::element id;
      if (root.at_key(opts_.id_field).get(id) == simdjson::SUCCESS) p.id = id_text(id);
      p.source = source_index(in_.name());
      p.line_no = rec.line;
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
    add_point(line, key.time, source_index(in_.name()), rec.line, rec.text, true);
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
void Loader::add_point(std::string& line, int64_t time, uint32_t source, uint64_t line_no,
                       std::string_view raw, bool may_sync) {
  Encoder::append_time(line, time);
  if (batch_->empty()) batch_started_ = Clock::now();
  batch_->add(line, source, line_no, raw);
  if (batch_->size() >= opts_.batch_size || batch_->body.size() >= kMaxBatchBytes) {
    send();
    if (may_sync && acknowledging_ && Clock::now() - last_ack_ >= opts_.commit_interval) sync();
  }
}

namespace {

struct KeyHash {
  size_t operator()(const PointKey& k) const {
    uint64_t z = k.series ^ (static_cast<uint64_t>(k.time) * 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
    return static_cast<size_t>(z ^ (z >> 29));
  }
};
struct KeyEq {
  bool operator()(const PointKey& a, const PointKey& b) const {
    return a.series == b.series && a.time == b.time;
  }
};
// The points InfluxDB holds in a window: series and time to the value of --id-field.
using Existing = std::unordered_map<PointKey, std::string, KeyHash, KeyEq>;

// Reads the answer to SELECT "ID" FROM "M" WHERE time ... GROUP BY * into `out`.
void read_points(const std::string& body, std::string_view measurement, int64_t unit_ns,
                 Existing& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body).get(root) != simdjson::SUCCESS) {
    throw RuntimeError("InfluxDB's answer to a query is not JSON: " + body.substr(0, 200));
  }
  simdjson::dom::array results;
  if (root["results"].get(results) != simdjson::SUCCESS) return;
  for (simdjson::dom::element result : results) {
    std::string_view err;
    if (result["error"].get(err) == simdjson::SUCCESS) {
      throw RuntimeError("InfluxDB could not read back the points already written to " +
                         diag::quoted(measurement) + ": " + std::string(err) +
                         "; --check-written off skips this check");
    }
    simdjson::dom::array series;
    if (result["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : series) {
      std::vector<std::pair<std::string, std::string>> tags;
      simdjson::dom::object tag_object;
      if (s["tags"].get(tag_object) == simdjson::SUCCESS) {
        for (auto [k, v] : tag_object) {
          std::string_view text;
          if (v.get(text) == simdjson::SUCCESS) tags.emplace_back(std::string(k), text);
        }
      }
      std::string_view name = measurement;
      if (s["name"].get(name) != simdjson::SUCCESS) name = measurement;
      uint64_t series_key = Encoder::series_of(name, std::move(tags));
      simdjson::dom::array values;
      if (s["values"].get(values) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element row : values) {
        simdjson::dom::array cells;
        if (row.get(cells) != simdjson::SUCCESS || cells.size() < 2) continue;
        int64_t t = 0;
        if (cells.at(0).get(t) != simdjson::SUCCESS) continue;
        out[PointKey{series_key, t / unit_ns}] = Loader::id_text(cells.at(1));
      }
    }
  }
}

}  // namespace

std::string Loader::id_text(simdjson::dom::element v) {
  std::string_view s;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  if (v.get(s) == simdjson::SUCCESS) return std::string(s);
  if (v.get(i) == simdjson::SUCCESS) return std::to_string(i);
  if (v.get(u) == simdjson::SUCCESS) return std::to_string(u);
  if (v.get(d) == simdjson::SUCCESS) {
    if (std::nearbyint(d) == d && std::fabs(d) < 9e15)
      return std::to_string(static_cast<int64_t>(d));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }
  if (v.is_bool()) return v.get_bool().value() ? "true" : "false";
  return "";
}

// Gives each waiting record its time, looking at the points InfluxDB holds near it: a point
// of the same series and time that carries the record's --id-field value is this record,
// written by an earlier run (perhaps nudged): the record is written there again, which
// changes nothing. A point of another record is a twin: the record is nudged past it.
void Loader::resolve_pending() {
  if (pending_.empty()) return;
  const int64_t ups = units_per_second(encoder_.options().precision);
  const int64_t unit_ns = 1000000000 / ups;
  Existing existing;
  std::vector<std::string> measurements;
  for (const auto& p : pending_) {
    if (std::find(measurements.begin(), measurements.end(), p.measurement) == measurements.end())
      measurements.push_back(p.measurement);
  }
  for (const auto& m : measurements) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (const auto& p : pending_) {
      if (p.measurement != m) continue;
      lo = std::min(lo, p.key.time);
      hi = std::max(hi, p.key.time);
    }
    // Nudged points of earlier runs lie after their records' times, a few units at most.
    hi += static_cast<int64_t>(pending_.size()) + 1024;
    std::string q = "SELECT ";
    append_identifier(q, opts_.id_field);
    q += " FROM ";
    append_identifier(q, m);
    q += " WHERE time >= " + std::to_string(lo * unit_ns) +
         " AND time <= " + std::to_string(hi * unit_ns) + " GROUP BY *";
    ++queries_;
    read_points(writer_->query(q, "read back the points of " + diag::quoted(m), true), m, unit_ns,
                existing);
  }
  bool reread = false;
  for (auto& p : pending_) {
    PointKey k = p.key;
    bool again = false;
    for (; k.time < std::numeric_limits<int64_t>::max(); ++k.time) {
      if (duplicates_.contains(k)) continue;
      auto it = existing.find(k);
      if (it == existing.end()) break;
      if (!p.id.empty() && it->second == p.id) {
        again = true;
        break;
      }
    }
    duplicates_.add(k);
    if (again) {
      reread = true;
      ++rewritten_;
    } else {
      count_nudge(k.time - p.key.time);
    }
    if (auto why = nudged_out_of_range(k.time - p.key.time, k.time)) {
      ctx_.rejects().reject(sources_[p.source], p.line_no, *why, p.raw);
      continue;
    }
    add_point(p.line, k.time, p.source, p.line_no, p.raw, false);
  }
  pending_.clear();
  if (opts_.check_written == CheckWritten::until_new) {
    quiet_windows_ = reread ? 0 : quiet_windows_ + 1;
    if (quiet_windows_ >= 2) {
      checking_ = false;
      diag::debug("--check-written: past the points written before, after " +
                  std::to_string(queries_) + " queries");
    }
  }
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
  return ctx_.finish(extra());
}

}  // namespace cdn::influx
