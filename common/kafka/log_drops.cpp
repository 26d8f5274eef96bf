#include "common/kafka/log_drops.hpp"

#include "common/kafka/wire.hpp"

namespace cdn::kafka {

std::vector<std::pair<TopicPartition, int64_t>> produce_log_starts(int16_t version,
                                                                   std::string_view frame) {
  std::vector<std::pair<TopicPartition, int64_t>> out;
  if (version < kProduceLogStartVersion) return out;
  wire::Reader r(frame);
  r.i32();  // correlation id
  for (int32_t t = r.count(); t > 0; --t) {
    std::string topic(r.str());
    for (int32_t n = r.count(); n > 0; --n) {
      int32_t partition = r.i32();
      int16_t error = r.i16();
      r.skip(16);  // base offset, log append time
      int64_t log_start = r.i64();
      if (error == 0 && log_start >= 0)
        out.emplace_back(TopicPartition{topic, partition}, log_start);
    }
  }
  return out;
}

void LogDrops::note(const TopicPartition& tp, int64_t log_start) {
  Partition& p = partitions_[tp];
  if (log_start <= p.start) return;  // an answer older than one seen already
  total_ += static_cast<uint64_t>(log_start - p.start);
  p.start = log_start;
  unreported_ = true;
}

std::vector<LogDrops::Report> LogDrops::due(std::chrono::steady_clock::time_point now,
                                            std::chrono::milliseconds every) {
  std::vector<Report> out;
  if (!unreported_) return out;
  unreported_ = false;
  for (auto& [tp, p] : partitions_) {
    if (p.start == p.reported) continue;
    if (now - p.last_report < every) {
      unreported_ = true;
      continue;
    }
    out.push_back({tp, p.reported, p.start, static_cast<uint64_t>(p.start)});
    p.reported = p.start;
    p.last_report = now;
  }
  return out;
}

std::map<TopicPartition, uint64_t> LogDrops::by_partition() const {
  std::map<TopicPartition, uint64_t> out;
  for (const auto& [tp, p] : partitions_) {
    if (p.start > 0) out[tp] = static_cast<uint64_t>(p.start);
  }
  return out;
}

}  // namespace cdn::kafka
