#include "common/kafka/txn_log.hpp"

#include <algorithm>
#include <set>

#include "common/kafka/wire.hpp"

namespace cdn::kafka {

void TxnLog::set_timeout(std::string_view tid, std::chrono::milliseconds timeout) {
  timeouts_.insert_or_assign(std::string(tid), timeout);
}

OpenTxn& TxnLog::open(std::string_view tid) {
  auto it = open_.find(tid);
  if (it == open_.end()) {
    OpenTxn t;
    t.started = std::chrono::steady_clock::now();
    if (auto to = timeouts_.find(tid); to != timeouts_.end()) t.timeout = to->second;
    it = open_.emplace(std::string(tid), std::move(t)).first;
  }
  return it->second;
}

void TxnLog::add_partitions(std::string_view tid, int64_t pid, int16_t epoch,
                            const std::vector<TopicPartition>& partitions) {
  touched_.insert(partitions.begin(), partitions.end());
  if (auto f = fenced_.find(tid);
      f != fenced_.end() && f->second.pid == pid && f->second.epoch == epoch) {
    f->second.partitions.insert(partitions.begin(), partitions.end());
    return;
  }
  OpenTxn& t = open(tid);
  t.pid = pid;
  t.epoch = epoch;
  t.partitions.insert(partitions.begin(), partitions.end());
}

void TxnLog::add_offsets(std::string_view tid, std::string_view group, const TopicPartition& tp,
                         int64_t offset) {
  open(tid).offsets[std::string(group)][tp] = offset;
}

namespace {
std::optional<OpenTxn> take_from(std::map<std::string, OpenTxn, std::less<>>& m,
                                 std::string_view tid) {
  auto it = m.find(tid);
  if (it == m.end()) return std::nullopt;
  OpenTxn t = std::move(it->second);
  m.erase(it);
  return t;
}
}  // namespace

std::optional<OpenTxn> TxnLog::take(std::string_view tid) {
  return take_from(open_, tid);
}

const OpenTxn* TxnLog::find(std::string_view tid) const {
  auto it = open_.find(tid);
  return it == open_.end() ? nullptr : &it->second;
}

void TxnLog::restore(std::string_view tid, OpenTxn txn) {
  auto [it, fresh] = open_.try_emplace(std::string(tid), std::move(txn));
  if (fresh) return;
  it->second.partitions.insert(txn.partitions.begin(), txn.partitions.end());
}

void TxnLog::fence(std::string_view tid, OpenTxn txn) {
  auto [it, fresh] = fenced_.try_emplace(std::string(tid), std::move(txn));
  if (!fresh) {
    it->second.partitions.insert(txn.partitions.begin(), txn.partitions.end());
    it->second.pid = txn.pid;
    it->second.epoch = txn.epoch;
  }
}

bool TxnLog::fenced(std::string_view tid, int64_t pid, int16_t epoch) const {
  auto it = fenced_.find(tid);
  return it != fenced_.end() && it->second.pid == pid && it->second.epoch == epoch;
}

std::optional<OpenTxn> TxnLog::take_fenced(std::string_view tid) {
  return take_from(fenced_, tid);
}

void TxnLog::set_producer(std::string_view tid, int64_t pid, int16_t epoch) {
  producers_.insert_or_assign(std::string(tid), std::make_pair(pid, epoch));
}

bool TxnLog::superseded(std::string_view tid, int64_t pid, int16_t epoch) const {
  auto it = producers_.find(tid);
  return it != producers_.end() && it->second != std::make_pair(pid, epoch);
}

std::vector<std::string> TxnLog::expired(std::chrono::steady_clock::time_point now) const {
  std::vector<std::string> out;
  for (const auto& [tid, t] : open_) {
    if (now - t.started > t.timeout) out.push_back(tid);
  }
  return out;
}

void TxnLog::add_marker(const TopicPartition& tp, int64_t pid, int64_t offset, bool commit) {
  touched_.insert(tp);
  markers_[tp][pid][offset] = commit;
  if (auto it = open_first_.find(tp); it != open_first_.end()) {
    auto first = it->second.find(pid);
    if (first != it->second.end() && first->second < offset) it->second.erase(first);
  }
}

void TxnLog::note_written(const TopicPartition& tp, int64_t pid, int64_t offset) {
  if (fate(tp, pid, offset) != Fate::kOpen) return;  // its marker is already written
  open_first_[tp].emplace(pid, offset);              // the first one stays
}

std::optional<int64_t> TxnLog::first_open(const TopicPartition& tp) const {
  auto it = open_first_.find(tp);
  if (it == open_first_.end() || it->second.empty()) return std::nullopt;
  int64_t first = it->second.begin()->second;
  for (const auto& [pid, offset] : it->second) first = std::min(first, offset);
  return first;
}

TxnLog::Fate TxnLog::fate(const TopicPartition& tp, int64_t pid, int64_t offset) const {
  auto p = markers_.find(tp);
  if (p == markers_.end()) return Fate::kOpen;
  auto m = p->second.find(pid);
  if (m == p->second.end()) return Fate::kOpen;
  auto next = m->second.upper_bound(offset);
  if (next == m->second.end()) return Fate::kOpen;
  return next->second ? Fate::kCommitted : Fate::kAborted;
}

CommittedView TxnLog::committed_view(const TopicPartition& tp, int64_t fetch_offset, int64_t hwm,
                                     std::string_view records) const {
  CommittedView v;
  v.keep = records.size();
  v.last_stable = hwm;
  if (auto first = first_open(tp)) v.last_stable = std::max(fetch_offset, std::min(hwm, *first));
  // The aborted transactions the reader meets, each listed once, from its producer's first
  // batch in what the reader is given. Kafka lists where a transaction starts in the log, which
  // a reader fetching from the middle of two producers' interleaved transactions, as the mock's
  // one batch per answer makes it do, misreads when it takes one listed transaction per record
  // (kafkajs): it then passes on the other producer's aborted batches. Listed from their first
  // batch in the answer, the transactions are met in the order listed, and every reader skips
  // the same batches (those of the producer from that offset up to its abort marker).
  std::set<std::pair<int64_t, int64_t>> listed;  // (producer id, abort marker offset)
  const auto p = markers_.find(tp);
  for (const auto& b : wire::batches(records)) {
    if (b.transactional() && !b.control()) {
      std::optional<std::pair<int64_t, bool>> marker;  // its producer's next: offset, commit
      if (p != markers_.end()) {
        if (auto m = p->second.find(b.producer_id); m != p->second.end()) {
          if (auto next = m->second.upper_bound(b.base_offset); next != m->second.end()) {
            marker = *next;
          }
        }
      }
      if (!marker) {  // still open: the reader stops before it
        v.keep = b.begin;
        v.last_stable = std::max(fetch_offset, std::min(v.last_stable, b.base_offset));
        v.cut = true;
        break;
      }
      // A marker before the fetch offset is one the reader has passed (a batch the answer
      // starts before it)
      if (!marker->second && marker->first >= fetch_offset &&
          listed.emplace(b.producer_id, marker->first).second) {
        v.aborted.emplace_back(b.producer_id, b.base_offset);
      }
    }
  }
  // in offset order, which the batches of a partition are in already
  std::stable_sort(v.aborted.begin(), v.aborted.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });
  return v;
}

void TxnLog::commit_offsets(const OpenTxn& txn) {
  for (const auto& [group, offsets] : txn.offsets) {
    for (const auto& [tp, offset] : offsets) offsets_[{group, tp}] = offset;
  }
}

std::optional<int64_t> TxnLog::committed(std::string_view group, const TopicPartition& tp) const {
  auto it = offsets_.find(std::make_pair(std::string(group), tp));
  if (it == offsets_.end()) return std::nullopt;
  return it->second;
}

bool TxnLog::pending(std::string_view group, const TopicPartition& tp) const {
  for (const auto& [tid, t] : open_) {
    auto g = t.offsets.find(std::string(group));
    if (g != t.offsets.end() && g->second.count(tp) != 0) return true;
  }
  return false;
}

void TxnLog::forget_committed(std::string_view group, const TopicPartition& tp) {
  offsets_.erase(std::make_pair(std::string(group), tp));
}

}  // namespace cdn::kafka
