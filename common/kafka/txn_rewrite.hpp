// How `cdn broker`'s proxy (txn_proxy.hpp) reads requests and rewrites answers, as pure
// transforms of message bytes (a Kafka message without its size prefix): no sockets, no locks.
// What a transform consults or updates of the transactions is passed in (a TxnLog, or a
// function for the one answer that can be large).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/kafka/txn_log.hpp"

namespace cdn::kafka {

// Kafka API keys and error codes the proxy reads or writes.
enum Api : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kSyncGroup = 14,
  kApiVersions = 18,
  kInitProducerId = 22,
  kAddPartitionsToTxn = 24,
  kAddOffsetsToTxn = 25,
  kEndTxn = 26,
  kTxnOffsetCommit = 28,
};
inline constexpr int16_t kUnknownTopicOrPartition = 3;
inline constexpr int16_t kNotLeader = 6;
inline constexpr int16_t kCoordinatorLoadInProgress = 14;
inline constexpr int16_t kInvalidRequest = 42;
inline constexpr int16_t kInvalidProducerEpoch = 47;
inline constexpr int16_t kUnstableOffsetCommit = 88;

// Whether a request of this API is read on its way (see note_request).
bool inspected(int16_t api);

// What the answer to a request needs of it.
struct PendingAnswer {
  int16_t api = -1;
  int16_t version = 0;
  std::string group;
  std::string tid;
  int64_t pid = -1;
  int16_t epoch = 0;
  bool commit = false;
  int32_t max_wait = 0;
  // What the request asked of each partition: the fetch offset of a read_committed Fetch,
  // the timestamp of a read_committed ListOffsets.
  std::map<TopicPartition, int64_t> asked;
  std::vector<std::pair<TopicPartition, int64_t>> produced;  // transactional Produce: pids
  // The proxy's own answer, sent in place of the cluster's (see stand_in).
  std::string own;
  // SyncGroup: the member and generation (pending.group is the group).
  std::string member;
  int32_t generation = -1;
};

// The assignments of the last sync round of each consumer group, as its leader's SyncGroup
// request gives them. The mock ends a round as soon as the leader's assignments arrive, and
// then refuses a member that syncs later with INVALID_REQUEST: a broker answers it with its
// assignment, which is kept here for that.
class SyncRounds {
 public:
  void assigned(std::string_view group, int32_t generation,
                std::map<std::string, std::string> assignments);
  // The assignment of `member` in round `generation` of `group`, if that is the last round.
  const std::string* assignment(std::string_view group, int32_t generation,
                                std::string_view member) const;

 private:
  struct Round {
    int32_t generation = -1;
    std::map<std::string, std::string, std::less<>> assignments;
  };
  std::map<std::string, Round, std::less<>> rounds_;
};

// What the proxy notes of a request as it passes.
struct RequestNote {
  int32_t correlation_id = 0;
  // The answer is rewritten or followed: `pending` waits for it.
  bool answer = false;
  PendingAnswer pending;
  // A transaction event for the log, with pending.tid (and .pid, .epoch, .group as below).
  enum class Txn {
    none,
    init_producer_id,  // a new instance of pending.tid, its transactions timing out at `timeout`
    offsets,           // pending.tid commits `offsets` of pending.group
  };
  Txn txn = Txn::none;
  int32_t timeout_ms = 0;
  std::vector<std::pair<TopicPartition, int64_t>> offsets;
  // A leader's SyncGroup: the assignment of each member of pending.group, by member id.
  std::map<std::string, std::string> assignments;
  // The request speaks for the producer instance pending.tid, .pid, .epoch (a transactional
  // Produce, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn): refused when
  // that instance is fenced.
  bool as_producer = false;
};

// Reads a request whose API is inspected(). Throws wire::ParseError on one it cannot read.
RequestNote read_request(std::string_view frame);

// The answer a broker gives a request (transactional Produce, AddPartitionsToTxn,
// AddOffsetsToTxn, TxnOffsetCommit, EndTxn) that it refuses whole: `error` for each partition.
// Kafka answers these versions with INVALID_PRODUCER_EPOCH (PRODUCER_FENCED only from later
// versions). Throws wire::ParseError on another request, or one it cannot read.
std::string refusal(std::string_view request, int16_t error);

// A request the proxy sends upstream in place of one it answers itself, so that the
// connection's answers keep their order: ApiVersions v0 with `correlation_id`.
std::string stand_in(int32_t correlation_id);

// --- answers, each to the request `p` was noted from ---

// InitProducerId: unchanged; the producer id and epoch given to pending.tid are noted in
// `log`, which fences the instances before.
std::string init_producer_id_answer(const PendingAnswer& p, std::string frame, TxnLog& log);

// Metadata: the brokers 1..N named as the listeners in front of them, 127.0.0.1:ports[i - 1].
std::string metadata_answer(const PendingAnswer& p, std::string frame,
                            const std::vector<int>& ports);
// FindCoordinator: the same for the coordinator.
std::string find_coordinator_answer(const PendingAnswer& p, std::string frame,
                                    const std::vector<int>& ports);

// What a read_committed reader fetching `tp` from `fetch_offset` may see of `records`, with
// high watermark `hwm` (TxnLog::committed_view).
using CommittedViewOf = std::function<CommittedView(const TopicPartition& tp, int64_t fetch_offset,
                                                    int64_t hwm, std::string_view records)>;
// read_committed Fetch: each partition cut to what `view_of` says, with its last stable offset
// and aborted transactions. `only_open`: the answer holds nothing but an open transaction's
// data, which a broker would hold back.
std::string fetch_answer(const PendingAnswer& p, std::string_view frame,
                         const CommittedViewOf& view_of, bool& only_open);

// OffsetFetch: the offsets committed by transactions, or UNSTABLE_OFFSET_COMMIT where an open
// transaction holds offsets.
std::string offset_fetch_answer(const PendingAnswer& p, std::string frame, const TxnLog& log);
// read_committed ListOffsets for the end (-1): the last stable offset.
std::string list_offsets_answer(const PendingAnswer& p, std::string frame, const TxnLog& log);
// SyncGroup: a late member's INVALID_REQUEST becomes its assignment from `rounds`.
std::string sync_group_answer(const PendingAnswer& p, std::string frame, const SyncRounds& rounds);
// Transactional Produce: unchanged; the offsets written are noted in `log`.
std::string produce_answer(const PendingAnswer& p, std::string frame, TxnLog& log);
// AddPartitionsToTxn: unchanged; the partitions it added without an error join the open
// transaction of pending.tid in `log` (a refused one holds nothing to end).
std::string add_partitions_answer(const PendingAnswer& p, std::string frame, TxnLog& log);
// OffsetCommit: unchanged; where it succeeded, `log` forgets the offsets of transactions.
std::string offset_commit_answer(const PendingAnswer& p, std::string frame, TxnLog& log);
// EndTxn: an answer without an error gets the one `outcome` returns (0 for none), which is
// called only then.
std::string end_txn_answer(std::string frame, const std::function<int16_t()>& outcome);

}  // namespace cdn::kafka
