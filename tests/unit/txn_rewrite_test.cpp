// What `cdn broker`'s proxy reads of requests and makes of answers (common/kafka/txn_rewrite),
// on message bytes built here: no sockets, no mock cluster.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/kafka/txn_log.hpp"
#include "common/kafka/txn_rewrite.hpp"
#include "common/kafka/wire.hpp"

namespace cdn::kafka {
namespace {

// A request header: API key, version, correlation id, client id.
wire::Writer request(int16_t api, int16_t version, int32_t correlation_id) {
  wire::Writer w;
  w.i16(api);
  w.i16(version);
  w.i32(correlation_id);
  w.str("test-client");
  return w;
}

PendingAnswer pending(int16_t api, int16_t version) {
  PendingAnswer p;
  p.api = api;
  p.version = version;
  return p;
}

const TopicPartition kT0{"t", 0};
const TopicPartition kT1{"t", 1};

TEST(TxnRewrite, InspectsOnlyTheApisItFollows) {
  for (int16_t api : {kFetch, kListOffsets, kMetadata, kOffsetCommit, kOffsetFetch,
                      kFindCoordinator, kInitProducerId, kAddPartitionsToTxn, kAddOffsetsToTxn,
                      kEndTxn, kTxnOffsetCommit, kSyncGroup}) {
    EXPECT_TRUE(inspected(api)) << api;
  }
  EXPECT_FALSE(inspected(kProduce));  // only transactional ones, which takes reading more
  EXPECT_FALSE(inspected(18));        // ApiVersions
}

TEST(TxnRewrite, ReadsTheFetchOffsetsOfAReadCommittedFetch) {
  for (int8_t isolation : {1, 0}) {
    wire::Writer w = request(kFetch, 4, 77);
    w.i32(-1);   // replica id
    w.i32(500);  // max wait
    w.i32(1);    // min bytes
    w.i32(1 << 20);
    w.i8(isolation);
    w.i32(1);
    w.str("t");
    w.i32(2);
    for (auto [partition, offset] : {std::pair{0, 10}, std::pair{1, 20}}) {
      w.i32(partition);
      w.i64(offset);
      w.i32(1 << 16);  // partition max bytes
    }
    RequestNote note = read_request(w.str());
    EXPECT_EQ(note.correlation_id, 77);
    EXPECT_EQ(note.pending.api, kFetch);
    EXPECT_EQ(note.txn, RequestNote::Txn::none);
    if (isolation == 1) {
      EXPECT_TRUE(note.answer);
      EXPECT_EQ(note.pending.max_wait, 500);
      EXPECT_EQ(note.pending.asked, (std::map<TopicPartition, int64_t>{{kT0, 10}, {kT1, 20}}));
    } else {
      EXPECT_FALSE(note.answer) << "a read_uncommitted Fetch passes as it is";
    }
  }
}

TEST(TxnRewrite, ReadsTheTransactionEventsOfRequests) {
  wire::Writer init = request(kInitProducerId, 1, 1);
  init.str("tx");
  init.i32(30000);
  RequestNote n = read_request(init.str());
  EXPECT_EQ(n.txn, RequestNote::Txn::init_producer_id);
  EXPECT_EQ(n.pending.tid, "tx");
  EXPECT_EQ(n.timeout_ms, 30000);
  EXPECT_TRUE(n.answer) << "the producer id and epoch given are noted";

  wire::Writer idempotent = request(kInitProducerId, 1, 2);
  idempotent.null_str();  // no transactional id
  idempotent.i32(30000);
  EXPECT_EQ(read_request(idempotent.str()).txn, RequestNote::Txn::none);

  wire::Writer add = request(kAddPartitionsToTxn, 1, 3);
  add.str("tx");
  add.i64(5);
  add.i16(2);
  add.i32(1);
  add.str("t");
  add.i32(2);
  add.i32(0);
  add.i32(1);
  n = read_request(add.str());
  EXPECT_EQ(n.txn, RequestNote::Txn::none) << "the answer says what was added";
  EXPECT_TRUE(n.answer);
  EXPECT_EQ(n.pending.tid, "tx");
  EXPECT_EQ(n.pending.pid, 5);
  EXPECT_EQ(n.pending.epoch, 2);

  wire::Writer offsets = request(kTxnOffsetCommit, 0, 4);
  offsets.str("tx");
  offsets.str("group");
  offsets.i64(5);
  offsets.i16(2);
  offsets.i32(1);
  offsets.str("t");
  offsets.i32(1);
  offsets.i32(1);
  offsets.i64(42);
  offsets.str("metadata");
  n = read_request(offsets.str());
  EXPECT_EQ(n.txn, RequestNote::Txn::offsets);
  EXPECT_EQ(n.pending.group, "group");
  ASSERT_EQ(n.offsets.size(), 1u);
  EXPECT_EQ(n.offsets[0], std::make_pair(kT1, int64_t{42}));

  wire::Writer end = request(kEndTxn, 1, 5);
  end.str("tx");
  end.i64(5);
  end.i16(2);
  end.i8(1);
  n = read_request(end.str());
  EXPECT_TRUE(n.answer);
  EXPECT_EQ(n.txn, RequestNote::Txn::none);
  EXPECT_EQ(n.pending.tid, "tx");
  EXPECT_TRUE(n.pending.commit);
}

TEST(TxnRewrite, ACutShortRequestIsAParseError) {
  wire::Writer w = request(kEndTxn, 1, 5);
  w.str("tx");
  w.i32(0);  // the producer id cut in half
  EXPECT_THROW(read_request(w.str()), wire::ParseError);
}

TEST(TxnRewrite, MetadataNamesTheListenersOfKnownBrokers) {
  auto answer = [](int32_t node1_port, const char* node1_host) {
    wire::Writer w;
    w.i32(9);  // correlation id
    w.i32(2);
    w.i32(1);
    w.str(node1_host);
    w.i32(node1_port);
    w.null_str();  // rack
    w.i32(3);      // a broker without a listener
    w.str("elsewhere");
    w.i32(9003);
    w.str("rack-b");
    w.i32(1);  // controller id
    w.raw("the rest");
    return std::move(w.str());
  };
  EXPECT_EQ(metadata_answer(pending(kMetadata, 1), answer(9001, "mock"), {5001, 5002}),
            answer(5001, "127.0.0.1"));
}

TEST(TxnRewrite, MetadataNamesAListedBrokerAsTheController) {
  // The mock names controller 0, no broker: kafkajs then fails every idempotent producer
  // with "Broker 0 not found".
  for (int16_t version : {1, 2, 8}) {
    auto answer = [&](int32_t controller) {
      wire::Writer w;
      w.i32(9);                    // correlation id
      if (version >= 3) w.i32(0);  // throttle time
      w.i32(2);
      for (int32_t node : {2, 1}) {
        w.i32(node);
        w.str("127.0.0.1");
        w.i32(5000 + node);
        w.null_str();  // rack
      }
      if (version >= 2) w.str("cluster");
      w.i32(controller);
      w.raw("the rest");
      return std::move(w.str());
    };
    const PendingAnswer p = pending(kMetadata, version);
    EXPECT_EQ(metadata_answer(p, answer(0), {5001, 5002}), answer(1)) << version;
    EXPECT_EQ(metadata_answer(p, answer(2), {5001, 5002}), answer(2)) << version;
  }
}

TEST(TxnRewrite, FindCoordinatorNamesTheListener) {
  auto answer = [](int32_t node, const char* host, int32_t port) {
    wire::Writer w;
    w.i32(9);  // correlation id
    w.i32(0);  // throttle time
    w.i16(0);  // error code
    w.null_str();
    w.i32(node);
    w.str(host);
    w.i32(port);
    return std::move(w.str());
  };
  const PendingAnswer p = pending(kFindCoordinator, 1);
  EXPECT_EQ(find_coordinator_answer(p, answer(2, "mock", 9002), {5001, 5002}),
            answer(2, "127.0.0.1", 5002));
  EXPECT_EQ(find_coordinator_answer(p, answer(-1, "", -1), {5001, 5002}), answer(-1, "", -1));
}

// The head of an answer about topic "t" that names `partitions` partitions, up to the index
// of partition 0: correlation id, the throttle time where the version has it first, one topic.
wire::Writer answer_head(int32_t correlation, bool throttle, int32_t partitions) {
  wire::Writer w;
  w.i32(correlation);
  if (throttle) w.i32(0);
  w.i32(1);
  w.str("t");
  w.i32(partitions);
  w.i32(0);
  return w;
}

// A Fetch v4 answer for partitions 0 and 1 of "t".
std::string fetch_v4(int64_t last_stable0, const std::vector<std::pair<int64_t, int64_t>>& aborted0,
                     std::string_view records0, int16_t error1) {
  wire::Writer w = answer_head(11, true, 2);
  w.i16(0);
  w.i64(100);  // high watermark
  w.i64(last_stable0);
  w.i32(static_cast<int32_t>(aborted0.size()));
  for (auto [pid, first] : aborted0) {
    w.i64(pid);
    w.i64(first);
  }
  w.bytes(records0);
  w.i32(1);
  w.i16(error1);
  w.i64(-1);
  w.i64(-1);
  w.i32(0);
  w.bytes("");
  return std::move(w.str());
}

TEST(TxnRewrite, FetchCutsEachPartitionToItsCommittedView) {
  PendingAnswer p = pending(kFetch, 4);
  p.asked = {{kT0, 40}, {kT1, 7}};
  std::vector<int64_t> asked_offsets;
  auto view_of = [&](const TopicPartition& tp, int64_t fetch_offset, int64_t hwm,
                     std::string_view records) {
    EXPECT_EQ(tp, kT0) << "a partition with an error is passed as it is";
    EXPECT_EQ(hwm, 100);
    EXPECT_EQ(records, "0123456789");
    asked_offsets.push_back(fetch_offset);
    CommittedView v;
    v.keep = 4;
    v.last_stable = 60;
    v.aborted = {{9, 50}};
    v.cut = true;
    return v;
  };
  bool only_open = true;
  EXPECT_EQ(fetch_answer(p, fetch_v4(100, {}, "0123456789", 6), view_of, only_open),
            fetch_v4(60, {{9, 50}}, "0123", 6));
  EXPECT_EQ(asked_offsets, std::vector<int64_t>{40});
  EXPECT_FALSE(only_open) << "committed data comes before the open transaction";

  auto nothing = [](const TopicPartition&, int64_t, int64_t, std::string_view) {
    CommittedView v;
    v.last_stable = 40;
    v.cut = true;
    return v;
  };
  EXPECT_EQ(fetch_answer(p, fetch_v4(100, {}, "0123456789", 6), nothing, only_open),
            fetch_v4(40, {}, "", 6));
  EXPECT_TRUE(only_open);
}

// An OffsetFetch v1 answer for partition 0 of "t".
std::string offset_fetch_v1(int64_t offset, int16_t error) {
  wire::Writer w = answer_head(12, false, 1);
  w.i64(offset);
  w.str("");  // metadata
  w.i16(error);
  return std::move(w.str());
}

TEST(TxnRewrite, OffsetFetchAnswersWhatTransactionsCommitted) {
  TxnLog log;
  PendingAnswer p = pending(kOffsetFetch, 1);
  p.group = "group";
  EXPECT_EQ(offset_fetch_answer(p, offset_fetch_v1(5, 0), log), offset_fetch_v1(5, 0));

  log.add_partitions("tx", 1, 0, {kT0});
  log.add_offsets("tx", "group", kT0, 42);
  EXPECT_EQ(offset_fetch_answer(p, offset_fetch_v1(5, 0), log),
            offset_fetch_v1(5, kUnstableOffsetCommit))
      << "an open transaction holds offsets for it";

  log.commit_offsets(*log.take("tx"));
  EXPECT_EQ(offset_fetch_answer(p, offset_fetch_v1(5, 0), log), offset_fetch_v1(42, 0));
  EXPECT_EQ(offset_fetch_answer(p, offset_fetch_v1(5, 3), log), offset_fetch_v1(5, 3))
      << "an error is passed as it is";

  // A plain OffsetCommit that succeeds makes the cluster's own offset the latest again.
  wire::Writer commit;
  commit.i32(13);  // correlation id
  commit.i32(1);
  commit.str("t");
  commit.i32(1);
  commit.i32(0);
  commit.i16(0);
  EXPECT_EQ(offset_commit_answer(p, commit.str(), log), commit.str());
  EXPECT_EQ(log.committed("group", kT0), std::nullopt);
}

// A Produce v3 answer for partition 0 of "t", or a ListOffsets v2 answer.
std::string produce_v3(int16_t error, int64_t base_offset) {
  wire::Writer w = answer_head(14, false, 1);
  w.i16(error);
  w.i64(base_offset);
  w.i64(-1);  // log append time
  w.i32(0);   // throttle time
  return std::move(w.str());
}

std::string list_offsets_v2(int64_t offset) {
  wire::Writer w = answer_head(15, true, 1);
  w.i16(0);
  w.i64(-1);  // timestamp
  w.i64(offset);
  return std::move(w.str());
}

TEST(TxnRewrite, ProduceNotesWhereATransactionStartsAndListOffsetsEndsThere) {
  TxnLog log;
  PendingAnswer produce = pending(kProduce, 3);
  produce.produced = {{kT0, 7}};
  EXPECT_EQ(produce_answer(produce, produce_v3(1, 30), log), produce_v3(1, 30));
  EXPECT_EQ(log.first_open(kT0), std::nullopt) << "a failed write opens nothing";
  EXPECT_EQ(produce_answer(produce, produce_v3(0, 30), log), produce_v3(0, 30));
  EXPECT_EQ(log.first_open(kT0), 30);

  PendingAnswer end = pending(kListOffsets, 2);
  end.asked = {{kT0, -1}};
  EXPECT_EQ(list_offsets_answer(end, list_offsets_v2(50), log), list_offsets_v2(30));
  EXPECT_EQ(list_offsets_answer(end, list_offsets_v2(20), log), list_offsets_v2(20));
  PendingAnswer earliest = pending(kListOffsets, 2);
  earliest.asked = {{kT0, -2}};
  EXPECT_EQ(list_offsets_answer(earliest, list_offsets_v2(50), log), list_offsets_v2(50));
}

// An AddPartitionsToTxn v1 answer: each partition of "t" with its error.
std::string add_partitions_v1(const std::vector<std::pair<int32_t, int16_t>>& results) {
  wire::Writer w;
  w.i32(3);  // correlation id
  w.i32(0);  // throttle time
  w.i32(1);
  w.str("t");
  w.i32(static_cast<int32_t>(results.size()));
  for (auto [partition, error] : results) {
    w.i32(partition);
    w.i16(error);
  }
  return std::move(w.str());
}

TEST(TxnRewrite, OnlyThePartitionsAnAddPartitionsAnswerAddedJoinTheTransaction) {
  TxnLog log;
  PendingAnswer p = pending(kAddPartitionsToTxn, 1);
  p.tid = "tx";
  p.pid = 5;
  p.epoch = 2;
  const std::string refused = add_partitions_v1({{0, 53}, {1, 53}});  // authorization failed
  EXPECT_EQ(add_partitions_answer(p, refused, log), refused);
  EXPECT_EQ(log.find("tx"), nullptr) << "a refused request opens no transaction";
  EXPECT_FALSE(log.touched(kT0));

  const std::string half = add_partitions_v1({{0, 0}, {1, kUnknownTopicOrPartition}});
  EXPECT_EQ(add_partitions_answer(p, half, log), half);
  ASSERT_NE(log.find("tx"), nullptr);
  EXPECT_EQ(log.find("tx")->partitions, (std::set<TopicPartition>{kT0}));
  EXPECT_EQ(log.find("tx")->pid, 5);
  EXPECT_EQ(log.find("tx")->epoch, 2);
  EXPECT_FALSE(log.touched(kT1));
}

std::string end_txn_v1(int16_t error) {
  wire::Writer w;
  w.i32(16);  // correlation id
  w.i32(0);   // throttle time
  w.i16(error);
  return std::move(w.str());
}

TEST(TxnRewrite, EndTxnTakesTheOutcomeOfEndingTheTransaction) {
  int calls = 0;
  auto fenced = [&]() -> int16_t {
    ++calls;
    return kInvalidProducerEpoch;
  };
  EXPECT_EQ(end_txn_answer(end_txn_v1(0), fenced), end_txn_v1(kInvalidProducerEpoch));
  EXPECT_EQ(end_txn_answer(end_txn_v1(0), [] { return int16_t{0}; }), end_txn_v1(0));
  EXPECT_EQ(end_txn_answer(end_txn_v1(51), fenced), end_txn_v1(51));
  EXPECT_EQ(calls, 1) << "an answer with an error ends nothing";
}

// An InitProducerId v1 answer, or a flexible v2 one, giving `pid` and `epoch`.
std::string init_producer_id(int16_t version, int16_t error, int64_t pid, int16_t epoch) {
  wire::Writer w;
  w.i32(17);                  // correlation id
  if (version >= 2) w.i8(0);  // no tagged fields
  w.i32(0);                   // throttle time
  w.i16(error);
  w.i64(pid);
  w.i16(epoch);
  if (version >= 2) w.i8(0);
  return std::move(w.str());
}

TEST(TxnRewrite, InitProducerIdFencesTheInstancesBefore) {
  for (int16_t version : {1, 2}) {
    TxnLog log;
    PendingAnswer p = pending(kInitProducerId, version);
    p.tid = "tx";
    EXPECT_FALSE(log.superseded("tx", 5, 0)) << "an id never seen fences nothing";
    std::string first = init_producer_id(version, 0, 5, 0);
    EXPECT_EQ(init_producer_id_answer(p, first, log), first);
    EXPECT_FALSE(log.superseded("tx", 5, 0));
    init_producer_id_answer(p, init_producer_id(version, 0, 6, 0), log);
    EXPECT_TRUE(log.superseded("tx", 5, 0)) << "the mock hands the new instance a new id";
    EXPECT_FALSE(log.superseded("tx", 6, 0));
    init_producer_id_answer(p, init_producer_id(version, 0, 6, 1), log);
    EXPECT_TRUE(log.superseded("tx", 6, 0)) << "a bumped epoch fences as well";
    init_producer_id_answer(p, init_producer_id(version, 51, 7, 0), log);
    EXPECT_FALSE(log.superseded("tx", 6, 1)) << "a failed InitProducerId fences nothing";
    EXPECT_FALSE(log.superseded("other", 5, 0));
  }
}

TEST(TxnRewrite, AFencedProducersRequestsAreRefusedWhole) {
  // A transactional Produce v3 of producer 5, epoch 2, to partitions 0 and 1 of "t".
  wire::Writer produce = request(kProduce, 3, 21);
  produce.str("tx");
  produce.i16(-1);    // acks
  produce.i32(1000);  // timeout
  produce.i32(1);
  produce.str("t");
  produce.i32(2);
  for (int32_t partition : {0, 1}) {
    produce.i32(partition);
    produce.bytes(wire::marker_batch(5, 2, true, 0));
  }
  RequestNote n = read_request(produce.str());
  EXPECT_TRUE(n.as_producer);
  EXPECT_EQ(n.pending.tid, "tx");
  EXPECT_EQ(n.pending.pid, 5);
  EXPECT_EQ(n.pending.epoch, 2);
  wire::Writer refused = answer_head(21, false, 2);
  for (int32_t partition : {0, 1}) {
    if (partition == 1) refused.i32(1);
    refused.i16(kInvalidProducerEpoch);
    refused.i64(-1);  // base offset
    refused.i64(-1);  // log append time
  }
  refused.i32(0);  // throttle time
  EXPECT_EQ(refusal(produce.str(), kInvalidProducerEpoch), refused.str());

  wire::Writer add = request(kAddPartitionsToTxn, 1, 22);
  add.str("tx");
  add.i64(5);
  add.i16(2);
  add.i32(1);
  add.str("t");
  add.i32(1);
  add.i32(0);
  EXPECT_TRUE(read_request(add.str()).as_producer);
  wire::Writer add_refused = answer_head(22, true, 1);
  add_refused.i16(kInvalidProducerEpoch);
  EXPECT_EQ(refusal(add.str(), kInvalidProducerEpoch), add_refused.str());

  wire::Writer offsets = request(kTxnOffsetCommit, 2, 23);
  offsets.str("tx");
  offsets.str("group");
  offsets.i64(5);
  offsets.i16(2);
  offsets.i32(1);
  offsets.str("t");
  offsets.i32(1);
  offsets.i32(0);
  offsets.i64(42);
  offsets.i32(-1);  // leader epoch
  offsets.null_str();
  n = read_request(offsets.str());
  EXPECT_TRUE(n.as_producer);
  EXPECT_EQ(n.pending.pid, 5);
  EXPECT_EQ(n.pending.epoch, 2);
  wire::Writer offsets_refused = answer_head(23, true, 1);
  offsets_refused.i16(kInvalidProducerEpoch);
  EXPECT_EQ(refusal(offsets.str(), kInvalidProducerEpoch), offsets_refused.str());

  wire::Writer end = request(kEndTxn, 1, 16);
  end.str("tx");
  end.i64(5);
  end.i16(2);
  end.i8(1);
  EXPECT_TRUE(read_request(end.str()).as_producer);
  EXPECT_EQ(refusal(end.str(), kInvalidProducerEpoch), end_txn_v1(kInvalidProducerEpoch));

  EXPECT_THROW(refusal(request(kFetch, 4, 1).str(), kInvalidProducerEpoch), wire::ParseError);
  wire::Writer stand;  // ApiVersions v0 with the correlation id
  stand.i16(kApiVersions);
  stand.i16(0);
  stand.i32(99);
  stand.str("cdn-broker");
  EXPECT_EQ(stand_in(99), stand.str());
}

// A SyncGroup v3 request of `member` in generation 4 of group "g", with `assignments` when
// it is the leader's.
std::string sync_group_v3(const std::string& member,
                          const std::map<std::string, std::string>& assignments) {
  wire::Writer w = request(kSyncGroup, 3, 31);
  w.str("g");
  w.i32(4);
  w.str(member);
  w.null_str();  // group instance id
  w.i32(static_cast<int32_t>(assignments.size()));
  for (const auto& [m, a] : assignments) {
    w.str(m);
    w.bytes(a);
  }
  return std::move(w.str());
}

std::string sync_answer_v3(int16_t error, std::string_view assignment) {
  wire::Writer w;
  w.i32(31);  // correlation id
  w.i32(0);   // throttle time
  w.i16(error);
  w.bytes(assignment);
  return std::move(w.str());
}

TEST(TxnRewrite, ALateMemberOfASyncRoundGetsTheAssignmentItsLeaderSent) {
  RequestNote leader = read_request(sync_group_v3("m1", {{"m1", "parts-1"}, {"m2", "parts-2"}}));
  EXPECT_TRUE(leader.answer);
  EXPECT_EQ(leader.pending.group, "g");
  EXPECT_EQ(leader.pending.generation, 4);
  EXPECT_EQ(leader.pending.member, "m1");
  EXPECT_EQ(leader.assignments.size(), 2u);
  SyncRounds rounds;
  rounds.assigned("g", 4, leader.assignments);

  RequestNote late = read_request(sync_group_v3("m2", {}));
  EXPECT_TRUE(late.assignments.empty());
  EXPECT_EQ(sync_group_answer(late.pending, sync_answer_v3(kInvalidRequest, ""), rounds),
            sync_answer_v3(0, "parts-2"));
  EXPECT_EQ(sync_group_answer(late.pending, sync_answer_v3(0, "own"), rounds),
            sync_answer_v3(0, "own"))
      << "a member in time gets the mock's answer";
  EXPECT_EQ(sync_group_answer(late.pending, sync_answer_v3(27, ""), rounds), sync_answer_v3(27, ""))
      << "another error is passed as it is";
  RequestNote stranger = read_request(sync_group_v3("m3", {}));
  EXPECT_EQ(sync_group_answer(stranger.pending, sync_answer_v3(kInvalidRequest, ""), rounds),
            sync_answer_v3(kInvalidRequest, ""))
      << "a member the leader did not assign";
  rounds.assigned("g", 5, {{"m1", "new"}});
  EXPECT_EQ(sync_group_answer(late.pending, sync_answer_v3(kInvalidRequest, ""), rounds),
            sync_answer_v3(kInvalidRequest, ""))
      << "a round that is over";
}

TEST(TxnRewrite, AddOffsetsToTxnOfAFencedProducerIsRefused) {
  wire::Writer w = request(kAddOffsetsToTxn, 1, 32);
  w.str("tx");
  w.i64(5);
  w.i16(2);
  w.str("group");
  RequestNote n = read_request(w.str());
  EXPECT_TRUE(n.as_producer);
  EXPECT_EQ(n.pending.pid, 5);
  wire::Writer refused;
  refused.i32(32);
  refused.i32(0);  // throttle time
  refused.i16(kInvalidProducerEpoch);
  EXPECT_EQ(refusal(w.str(), kInvalidProducerEpoch), refused.str());
}

}  // namespace
}  // namespace cdn::kafka
