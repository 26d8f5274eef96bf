// What `cdn broker` knows about Kafka transactions, which librdkafka's mock cluster runs but
// does not keep: the partitions and consumer offsets of each open transaction, the commit and
// abort markers written to each partition, and the consumer offsets committed by
// transactions. From the markers it decides what a read_committed reader may see (KIP-98):
// a transactional batch belongs to the transaction ended by its producer's next marker in
// that partition; without one it is still open, and the reader stops before it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdn::kafka {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// An open transaction, by its transactional id.
struct OpenTxn {
  int64_t pid = -1;
  int16_t epoch = 0;
  std::set<TopicPartition> partitions;
  std::map<std::string, std::map<TopicPartition, int64_t>> offsets;  // by group
  std::chrono::steady_clock::time_point started;
  std::chrono::milliseconds timeout{60000};
};

// A read_committed answer for one partition, cut to what the reader may see.
struct CommittedView {
  size_t keep = 0;                                   // bytes of the RECORDS field to pass on
  int64_t last_stable = -1;                          // the last stable offset to report
  std::vector<std::pair<int64_t, int64_t>> aborted;  // (producer id, first offset)
  bool cut = false;                                  // an open transaction stopped it
};

class TxnLog {
 public:
  // --- transactions, as their requests pass ---
  void set_timeout(std::string_view tid, std::chrono::milliseconds timeout);
  void add_partitions(std::string_view tid, int64_t pid, int16_t epoch,
                      const std::vector<TopicPartition>& partitions);
  void add_offsets(std::string_view tid, std::string_view group, const TopicPartition& tp,
                   int64_t offset);
  // Removes and returns the open transaction of `tid`, if there is one.
  std::optional<OpenTxn> take(std::string_view tid);
  const OpenTxn* find(std::string_view tid) const;
  // Puts back a transaction whose end failed in some partitions, to be ended again.
  void restore(std::string_view tid, OpenTxn txn);
  // A transaction aborted for its timeout: its producer, still at `txn`'s producer id and
  // epoch, is fenced. What it writes after is aborted again when it ends its transaction
  // or a new instance starts (take_fenced).
  void fence(std::string_view tid, OpenTxn txn);
  bool fenced(std::string_view tid, int64_t pid, int16_t epoch) const;
  std::optional<OpenTxn> take_fenced(std::string_view tid);
  // InitProducerId gave the newest instance of `tid` producer id `pid` and epoch `epoch`:
  // every other instance is fenced (superseded), as a transaction coordinator fences it.
  void set_producer(std::string_view tid, int64_t pid, int16_t epoch);
  bool superseded(std::string_view tid, int64_t pid, int16_t epoch) const;
  // The transactional ids whose transactions have been open longer than their timeout.
  std::vector<std::string> expired(std::chrono::steady_clock::time_point now) const;

  // Whether a transaction has ever added `tp`: only then can its log hold transactional
  // batches, and a read_committed answer need more than the cluster's own.
  bool touched(const TopicPartition& tp) const { return touched_.count(tp) != 0; }

  // A transactional Produce of producer `pid` to `tp` was written at `offset`: the first
  // such offset before the producer's next marker is where its open transaction starts.
  void note_written(const TopicPartition& tp, int64_t pid, int64_t offset);
  // The first offset of the earliest transaction still open in `tp`, if any.
  std::optional<int64_t> first_open(const TopicPartition& tp) const;

  // --- markers ---
  void add_marker(const TopicPartition& tp, int64_t pid, int64_t offset, bool commit);
  enum class Fate { kCommitted, kAborted, kOpen };
  Fate fate(const TopicPartition& tp, int64_t pid, int64_t offset) const;
  // What a read_committed reader fetching from `fetch_offset` may see of `records` (a
  // partition's RECORDS field) with high watermark `hwm`.
  CommittedView committed_view(const TopicPartition& tp, int64_t fetch_offset, int64_t hwm,
                               std::string_view records) const;

  // --- consumer offsets committed by transactions ---
  void commit_offsets(const OpenTxn& txn);
  std::optional<int64_t> committed(std::string_view group, const TopicPartition& tp) const;
  // Whether an open transaction holds offsets of `group` for `tp` not yet committed: a reader
  // must wait for it to end (KIP-447) rather than start from the last committed offset.
  bool pending(std::string_view group, const TopicPartition& tp) const;
  // A plain OffsetCommit succeeded: the cluster's own offset is the latest again.
  void forget_committed(std::string_view group, const TopicPartition& tp);

 private:
  // The open transaction of `tid`, begun now if there is none.
  OpenTxn& open(std::string_view tid);
  std::map<std::string, OpenTxn, std::less<>> open_;
  std::map<std::string, OpenTxn, std::less<>> fenced_;
  std::map<std::string, std::pair<int64_t, int16_t>, std::less<>> producers_;
  std::set<TopicPartition> touched_;
  std::map<TopicPartition, std::map<int64_t, int64_t>> open_first_;  // by producer
  std::map<std::string, std::chrono::milliseconds, std::less<>> timeouts_;
  // marker offset -> commit, per partition and producer
  std::map<TopicPartition, std::map<int64_t, std::map<int64_t, bool>>> markers_;
  std::map<std::pair<std::string, TopicPartition>, int64_t, std::less<>> offsets_;
};

}  // namespace cdn::kafka
