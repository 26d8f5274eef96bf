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
  for (int16_t api :
       {kFetch, kListOffsets, kMetadata, kOffsetCommit, kOffsetFetch, kFindCoordinator,
        kInitProducerId, kAddPartitionsToTxn, kEndTxn, kTxnOffsetCommit}) {
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
  EXPECT_FALSE(n.answer);

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
    w.raw("the rest");
    return std::move(w.str());
  };
  EXPECT_EQ(metadata_answer(pending(kMetadata, 1), answer(9001, "mock"), {5001, 5002}),
            answer(5001, "127.0.0.1"));
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

}  // namespace
}  // namespace cdn::kafka
