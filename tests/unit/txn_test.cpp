// Kafka transactions through `cdn broker`'s proxy: the wire pieces, the decisions of TxnLog,
// and librdkafka clients against a mock cluster behind a TxnProxy (what `cdn broker` runs).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/kafka/mock_cluster.hpp"
#include "common/kafka/txn_log.hpp"
#include "common/kafka/txn_proxy.hpp"
#include "common/kafka/wire.hpp"

namespace cdn::kafka {
namespace {

using namespace std::chrono_literals;

// A magic-2 batch header of `count` records (their bodies are not read by wire::batches).
std::string data_batch(int64_t base, int32_t count, int64_t pid, bool transactional) {
  wire::Writer w;
  w.i64(base);
  w.i32(61 - 12 + count);  // the header and one byte a record
  w.i32(0);
  w.i8(2);
  w.i32(0);
  w.i16(transactional ? wire::kTransactional : 0);
  w.i32(count - 1);
  w.i64(0);
  w.i64(0);
  w.i64(pid);
  w.i16(0);
  w.i32(0);
  w.i32(count);
  w.raw(std::string(static_cast<size_t>(count), 'x'));
  return std::move(w.str());
}

std::string with_base(std::string batch, int64_t base) {
  wire::Writer w;
  w.i64(base);
  return w.str() + batch.substr(8);
}

TEST(Wire, Crc32cOfTheCheckString) {
  EXPECT_EQ(wire::crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(wire::crc32c(""), 0u);
}

TEST(Wire, MarkerBatchIsOneControlRecordWithAValidCrc) {
  for (bool commit : {true, false}) {
    std::string b = wire::marker_batch(42, 3, commit, 1700000000000);
    auto bs = wire::batches(b);
    ASSERT_EQ(bs.size(), 1u);
    EXPECT_EQ(bs[0].end, b.size());
    EXPECT_TRUE(bs[0].control());
    EXPECT_TRUE(bs[0].transactional());
    EXPECT_EQ(bs[0].producer_id, 42);
    EXPECT_EQ(bs[0].last_offset, 0);
    EXPECT_EQ(wire::marker_type(b), commit ? 1 : 0);
    wire::Reader r(std::string_view(b).substr(17));
    EXPECT_EQ(static_cast<uint32_t>(r.i32()), wire::crc32c(std::string_view(b).substr(21)));
  }
  EXPECT_EQ(wire::marker_type(data_batch(0, 3, 1, true)), -1);
}

TEST(Wire, BatchesLeaveOutATruncatedLastBatch) {
  std::string two = data_batch(0, 3, 7, false) + data_batch(3, 2, 7, false);
  EXPECT_EQ(wire::batches(two).size(), 2u);
  EXPECT_EQ(wire::batches(two.substr(0, two.size() - 1)).size(), 1u);
  EXPECT_EQ(wire::batches(two)[1].last_offset, 4);
}

TEST(Wire, ReaderThrowsPastTheEnd) {
  std::string s =
      "\x00\x05"
      "abc";
  wire::Reader r(s);
  EXPECT_THROW(r.str(), wire::ParseError);
}

TEST(TxnLog, ABatchBelongsToItsProducersNextMarker) {
  TxnLog log;
  TopicPartition tp{"t", 0};
  log.add_marker(tp, 1, 5, false);
  log.add_marker(tp, 1, 9, true);
  EXPECT_EQ(log.fate(tp, 1, 0), TxnLog::Fate::kAborted);
  EXPECT_EQ(log.fate(tp, 1, 6), TxnLog::Fate::kCommitted);
  EXPECT_EQ(log.fate(tp, 1, 10), TxnLog::Fate::kOpen);
  EXPECT_EQ(log.fate(tp, 2, 0), TxnLog::Fate::kOpen);
  EXPECT_EQ(log.fate({"t", 1}, 1, 0), TxnLog::Fate::kOpen);
}

TEST(TxnLog, ReadCommittedStopsAtTheFirstOpenTransaction) {
  TxnLog log;
  TopicPartition tp{"t", 0};
  // 0-2 plain, 3-4 producer 7 committed (marker 5), 6-7 producer 8 still open, 8 plain
  std::string records = data_batch(0, 3, -1, false) + data_batch(3, 2, 7, true) +
                        with_base(wire::marker_batch(7, 0, true, 0), 5) +
                        data_batch(6, 2, 8, true) + data_batch(8, 1, -1, false);
  log.note_written(tp, 7, 3);
  log.note_written(tp, 8, 6);
  log.add_marker(tp, 7, 5, true);
  CommittedView v = log.committed_view(tp, 0, 9, records);
  EXPECT_TRUE(v.cut);
  EXPECT_EQ(v.last_stable, 6);
  EXPECT_EQ(v.keep, wire::batches(records)[3].begin);
  EXPECT_TRUE(v.aborted.empty());
  // once producer 8 aborts (marker 9), all of it is passed, with the aborted list
  log.add_marker(tp, 8, 9, false);
  v = log.committed_view(tp, 0, 10, records);
  EXPECT_FALSE(v.cut);
  EXPECT_EQ(v.last_stable, 10);
  EXPECT_EQ(v.keep, records.size());
  ASSERT_EQ(v.aborted.size(), 1u);
  EXPECT_EQ(v.aborted[0], std::make_pair(int64_t{8}, int64_t{6}));
  // a reader past the abort marker is not told of it again
  EXPECT_TRUE(log.committed_view(tp, 10, 10, "").aborted.empty());
}

TEST(TxnLog, AnAbortedTransactionIsListedFromItsFirstBatchInTheAnswer) {
  TxnLog log;
  TopicPartition tp{"t", 0};
  log.add_marker(tp, 7, 4, true);
  log.add_marker(tp, 7, 5, false);  // a transaction that wrote nothing here is not listed
  log.add_marker(tp, 7, 8, false);
  std::string records = data_batch(6, 2, 7, true);
  CommittedView v = log.committed_view(tp, 5, 9, records);
  ASSERT_EQ(v.aborted.size(), 1u);
  EXPECT_EQ(v.aborted[0], std::make_pair(int64_t{7}, int64_t{6}));
}

TEST(TxnLog, InterleavedAbortedTransactionsAreListedInTheOrderTheReaderMeetsThem) {
  // Producers 7 and 8 write in turn (0, 1, 2, 3) and both abort (markers 4 and 5): each is
  // listed where it starts, not both at 0, or kafkajs (which takes one listed transaction per
  // record it reads) passes on what 8 wrote at 1.
  TxnLog log;
  TopicPartition tp{"t", 0};
  std::vector<std::string> batches;
  for (int64_t offset : {0, 1, 2, 3}) {
    int64_t pid = offset % 2 == 0 ? 7 : 8;
    log.note_written(tp, pid, offset);
    batches.push_back(data_batch(offset, 1, pid, true));
  }
  log.add_marker(tp, 7, 4, false);
  log.add_marker(tp, 8, 5, false);
  batches.push_back(with_base(wire::marker_batch(7, 0, false, 0), 4));
  batches.push_back(with_base(wire::marker_batch(8, 0, false, 0), 5));
  std::string records;
  for (const auto& b : batches) records += b;
  CommittedView v = log.committed_view(tp, 0, 6, records);
  EXPECT_EQ(v.aborted, (std::vector<std::pair<int64_t, int64_t>>{{7, 0}, {8, 1}}));
  EXPECT_EQ(v.last_stable, 6);
  // From the middle (the mock answers one batch at a time): 8 first, then 7, from where the
  // answer has their batches, though 7's transaction started before.
  v = log.committed_view(tp, 1, 6, batches[1]);
  EXPECT_EQ(v.aborted, (std::vector<std::pair<int64_t, int64_t>>{{8, 1}}));
  v = log.committed_view(tp, 1, 6, batches[1] + batches[2] + batches[3]);
  EXPECT_EQ(v.aborted, (std::vector<std::pair<int64_t, int64_t>>{{8, 1}, {7, 2}}));
  // a batch the answer starts with, whose abort marker the reader has passed, is not listed
  v = log.committed_view(tp, 5, 6, batches[3] + batches[5]);
  EXPECT_EQ(v.aborted, (std::vector<std::pair<int64_t, int64_t>>{{8, 3}}));
  v = log.committed_view(tp, 6, 6, batches[3]);
  EXPECT_TRUE(v.aborted.empty());
  // a transaction of 7 that timed out, then one of 8 aborted after it
  log.note_written(tp, 7, 6);
  log.add_marker(tp, 7, 7, false);
  log.note_written(tp, 8, 8);
  log.add_marker(tp, 8, 9, false);
  v = log.committed_view(
      tp, 6, 10,
      data_batch(6, 1, 7, true) + with_base(wire::marker_batch(7, 0, false, 0), 7) +
          data_batch(8, 1, 8, true) + with_base(wire::marker_batch(8, 0, false, 0), 9));
  EXPECT_EQ(v.aborted, (std::vector<std::pair<int64_t, int64_t>>{{7, 6}, {8, 8}}));
}

TEST(TxnLog, AnOpenTransactionStartsAtItsFirstWriteUntilItsMarker) {
  TxnLog log;
  TopicPartition tp{"t", 0};
  EXPECT_FALSE(log.first_open(tp));
  log.note_written(tp, 7, 12);
  log.note_written(tp, 7, 15);  // the same transaction: the first write stays
  log.note_written(tp, 8, 13);
  EXPECT_EQ(log.first_open(tp), 12);
  // the last stable offset of an answer that holds no open data
  EXPECT_EQ(log.committed_view(tp, 0, 20, data_batch(0, 3, -1, false)).last_stable, 12);
  log.add_marker(tp, 7, 16, true);
  EXPECT_EQ(log.first_open(tp), 13);
  log.add_marker(tp, 8, 17, false);
  EXPECT_FALSE(log.first_open(tp));
  log.note_written(tp, 8, 14);  // an answer that comes after its marker opens nothing
  EXPECT_FALSE(log.first_open(tp));
}

TEST(TxnLog, OffsetsCountOnlyOnceCommittedAndAPlainCommitWinsAfter) {
  TxnLog log;
  TopicPartition tp{"in", 2};
  log.add_partitions("p1", 1, 0, {{"out", 0}});
  log.add_offsets("p1", "g", tp, 40);
  EXPECT_FALSE(log.committed("g", tp));
  EXPECT_TRUE(log.pending("g", tp));
  EXPECT_FALSE(log.pending("other", tp));
  auto txn = log.take("p1");
  EXPECT_FALSE(log.pending("g", tp));
  ASSERT_TRUE(txn);
  EXPECT_EQ(txn->partitions.size(), 1u);
  log.commit_offsets(*txn);
  EXPECT_EQ(log.committed("g", tp), 40);
  EXPECT_FALSE(log.committed("other", tp));
  log.forget_committed("g", tp);
  EXPECT_FALSE(log.committed("g", tp));
  EXPECT_FALSE(log.take("p1"));
}

TEST(TxnLog, ATransactionExpiresAfterItsTimeout) {
  TxnLog log;
  log.set_timeout("p1", 50ms);
  log.add_partitions("p1", 1, 0, {{"out", 0}});
  EXPECT_TRUE(log.expired(std::chrono::steady_clock::now()).empty());
  EXPECT_EQ(log.expired(std::chrono::steady_clock::now() + 100ms), std::vector<std::string>{"p1"});
}

// --- librdkafka clients through the proxy ---

struct Rk {
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> h{nullptr, &rd_kafka_destroy};
  rd_kafka_t* get() const { return h.get(); }
};

Rk client(rd_kafka_type_t type, const std::map<std::string, std::string>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      ADD_FAILURE() << k << ": " << err;
    }
  }
  Rk rk;
  rk.h.reset(rd_kafka_new(type, conf, err, sizeof err));
  EXPECT_NE(rk.get(), nullptr) << err;
  return rk;
}

void ok(rd_kafka_error_t* e) {
  if (e != nullptr) {
    ADD_FAILURE() << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
  }
}

void produce(rd_kafka_t* p, const std::string& topic, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) {
    std::string v = prefix + std::to_string(i);
    ASSERT_EQ(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_VALUE(v.data(), v.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

// The end offset of partition 0 that a reader at `isolation` is told.
int64_t end_offset(const std::string& brokers, const std::string& topic,
                   const std::string& isolation) {
  Rk c = client(
      RD_KAFKA_CONSUMER,
      {{"bootstrap.servers", brokers}, {"group.id", "reader"}, {"isolation.level", isolation}});
  int64_t low = -1;
  int64_t high = -1;
  EXPECT_EQ(rd_kafka_query_watermark_offsets(c.get(), topic.c_str(), 0, &low, &high, 10000),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  return high;
}

// Every message of partition 0 a reader at `isolation` sees until the partition's end.
std::vector<std::string> read_all(const std::string& brokers, const std::string& topic,
                                  const std::string& isolation) {
  Rk c = client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", brokers},
                                    {"group.id", "reader"},
                                    {"isolation.level", isolation},
                                    {"enable.partition.eof", "true"},
                                    {"enable.auto.commit", "false"}});
  rd_kafka_topic_partition_list_t* tps = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tps, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  EXPECT_EQ(rd_kafka_assign(c.get(), tps), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(tps);
  std::vector<std::string> out;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c.get(), 200);
    if (m == nullptr) continue;
    bool eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.emplace_back(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_message_destroy(m);
    if (eof) break;
  }
  rd_kafka_consumer_close(c.get());
  return out;
}

std::vector<std::string> names(const std::string& prefix, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class ThroughProxy : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<MockCluster>(GetParam());
    cluster_->create_topic({"out", 1});
    cluster_->create_topic({"in", 1});
    proxy_ = std::make_unique<TxnProxy>(cluster_->ports(), 512);
    brokers_ = proxy_->bootstraps();
  }
  Rk txn_producer(const std::string& tid) {
    Rk p = client(RD_KAFKA_PRODUCER,
                  {{"bootstrap.servers", brokers_}, {"transactional.id", tid}, {"linger.ms", "0"}});
    ok(rd_kafka_init_transactions(p.get(), 10000));
    return p;
  }
  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<TxnProxy> proxy_;
  std::string brokers_;
};

TEST_P(ThroughProxy, ReadCommittedSeesCommittedTransactionsOnlyAndStopsAtAnOpenOne) {
  {
    Rk p = txn_producer("t1");
    ok(rd_kafka_begin_transaction(p.get()));
    produce(p.get(), "out", "a", 10);
    ok(rd_kafka_commit_transaction(p.get(), 10000));
    ok(rd_kafka_begin_transaction(p.get()));
    produce(p.get(), "out", "b", 5);
    ok(rd_kafka_abort_transaction(p.get(), 10000));
    ok(rd_kafka_begin_transaction(p.get()));
    produce(p.get(), "out", "c", 7);
    ok(rd_kafka_commit_transaction(p.get(), 10000));
    ok(rd_kafka_begin_transaction(p.get()));
    produce(p.get(), "out", "d", 3);
    // the producer goes away with its transaction open, as a killed process would
    EXPECT_EQ(read_all(brokers_, "out", "read_committed"), names("a", 10) + names("c", 7));
    EXPECT_EQ(read_all(brokers_, "out", "read_uncommitted"),
              names("a", 10) + names("b", 5) + names("c", 7) + names("d", 3));
    // a0-9, commit marker, b0-4, abort marker, c0-6, commit marker: the open d0 is offset 25
    EXPECT_EQ(end_offset(brokers_, "out", "read_committed"), 25);
    EXPECT_EQ(end_offset(brokers_, "out", "read_uncommitted"), 28);
    p.h.reset();  // librdkafka does not end an open transaction when destroyed
  }
  // a new instance with the same transactional id aborts what the old one left open
  Rk p = txn_producer("t1");
  ok(rd_kafka_begin_transaction(p.get()));
  produce(p.get(), "out", "e", 2);
  ok(rd_kafka_commit_transaction(p.get(), 10000));
  EXPECT_EQ(read_all(brokers_, "out", "read_committed"),
            names("a", 10) + names("c", 7) + names("e", 2));
  // d's abort marker (28), e0-1, e's commit marker
  EXPECT_EQ(end_offset(brokers_, "out", "read_committed"), 32);
}

TEST_P(ThroughProxy, ConsumerOffsetsSentToATransactionCountOnlyWhenItCommits) {
  Rk consumer =
      client(RD_KAFKA_CONSUMER,
             {{"bootstrap.servers", brokers_}, {"group.id", "g"}, {"enable.auto.commit", "false"}});
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, "in", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(consumer.get(), sub), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(sub);
  // wait for the assignment
  auto deadline = std::chrono::steady_clock::now() + 20s;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  while (std::chrono::steady_clock::now() < deadline) {
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 100)) {
      rd_kafka_message_destroy(m);
    }
    ASSERT_EQ(rd_kafka_assignment(consumer.get(), &assigned), RD_KAFKA_RESP_ERR_NO_ERROR);
    if (assigned->cnt > 0) break;
    rd_kafka_topic_partition_list_destroy(assigned);
    assigned = nullptr;
  }
  ASSERT_NE(assigned, nullptr) << "no partition assigned in 20 s";
  rd_kafka_topic_partition_list_destroy(assigned);

  // begins a transaction holding one message and the offset of partition in/0
  auto open_with_offset = [&](rd_kafka_t* p, int64_t offset) {
    ok(rd_kafka_begin_transaction(p));
    produce(p, "out", "x", 1);
    rd_kafka_topic_partition_list_t* offs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offs, "in", 0)->offset = offset;
    rd_kafka_consumer_group_metadata_t* md = rd_kafka_consumer_group_metadata(consumer.get());
    ok(rd_kafka_send_offsets_to_transaction(p, offs, md, 10000));
    rd_kafka_consumer_group_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(offs);
  };
  auto send = [&](rd_kafka_t* p, int64_t offset, bool commit) {
    open_with_offset(p, offset);
    ok(commit ? rd_kafka_commit_transaction(p, 10000) : rd_kafka_abort_transaction(p, 10000));
  };
  auto committed = [&](int timeout_ms = 10000,
                       rd_kafka_resp_err_t want = RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_topic_partition_list_t* offs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offs, "in", 0);
    EXPECT_EQ(rd_kafka_committed(consumer.get(), offs, timeout_ms), want);
    int64_t o = offs->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(offs);
    return o;
  };
  Rk p = txn_producer("t2");
  send(p.get(), 7, true);
  EXPECT_EQ(committed(), 7);
  send(p.get(), 11, false);
  EXPECT_EQ(committed(), 7);
  // while a transaction holds offsets for the partition, the committed offset is not
  // answered (the client retries until the transaction ends)
  open_with_offset(p.get(), 9);
  committed(1500, RD_KAFKA_RESP_ERR__TIMED_OUT);
  ok(rd_kafka_abort_transaction(p.get(), 10000));
  EXPECT_EQ(committed(), 7);
  send(p.get(), 12, true);
  EXPECT_EQ(committed(), 12);
  // a plain commit afterwards is the latest
  rd_kafka_topic_partition_list_t* offs = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offs, "in", 0)->offset = 3;
  EXPECT_EQ(rd_kafka_commit(consumer.get(), offs, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(offs);
  EXPECT_EQ(committed(), 3);
  rd_kafka_consumer_close(consumer.get());
}

INSTANTIATE_TEST_SUITE_P(Brokers, ThroughProxy, ::testing::Values(1, 3),
                         [](const auto& info) { return std::to_string(info.param) + "brokers"; });

}  // namespace
}  // namespace cdn::kafka
