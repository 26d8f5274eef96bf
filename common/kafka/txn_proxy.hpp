// The front of `cdn broker`: one listener on 127.0.0.1 for each mock broker, passing the Kafka
// protocol through and adding what the mock lacks for transactions (see txn_log.hpp):
//   - AddPartitionsToTxn (the partitions its answer added), TxnOffsetCommit, EndTxn and
//     InitProducerId are followed; at EndTxn (or when InitProducerId fences a transaction
//     left open, or one outlives its timeout) a COMMIT or ABORT marker is written to each of
//     its partitions, and committed consumer offsets are kept;
//   - read_committed Fetch answers stop at the first open transaction (last stable offset)
//     and list the aborted transactions, so readers skip them; read_committed ListOffsets
//     answers for the end give the last stable offset, known from transactional Produce
//     answers;
//   - OffsetFetch answers carry the offsets committed by transactions, and answer
//     UNSTABLE_OFFSET_COMMIT (which clients retry) while an open transaction holds offsets
//     for a partition, so a new owner does not start before them (KIP-447);
//   - the newest instance of each transactional id is known from InitProducerId answers: the
//     Produce, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn requests of an
//     older one (fenced) are answered INVALID_PRODUCER_EPOCH by the proxy itself, and never
//     reach the mock;
//   - a member whose SyncGroup comes after its group's leader's, which the mock refuses with
//     INVALID_REQUEST, is answered its assignment from the leader's SyncGroup, as by a broker;
//   - Metadata and FindCoordinator answers name the listeners instead of the mock brokers,
//     and a broker listed as the controller instead of the mock's 0;
//   - Produce answers tell where each partition's log starts: what the mock dropped, which is
//     reported (log_drops.hpp).
// A request larger than Kafka's socket.request.max.bytes (100 MiB) closes its connection, and
// at most --max-connections client connections are served at once.
// Everything else passes unchanged, so fault injection on the mock still reaches clients.
// txn_proxy.cpp holds the connections, txn_rewrite.hpp what is read and rewritten on the way,
// txn_markers.cpp the writing of markers, frame_io.hpp the sockets.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/kafka/log_drops.hpp"
#include "common/kafka/txn_log.hpp"
#include "common/kafka/txn_rewrite.hpp"

namespace cdn::kafka {

class TxnProxy {
 public:
  // `upstream_ports`: the ports of mock brokers 1..N on 127.0.0.1. At most `max_connections`
  // client connections are open at once (each holds two threads); more are closed at once.
  // Throws RuntimeError when it cannot listen.
  TxnProxy(std::vector<int> upstream_ports, size_t max_connections);
  ~TxnProxy();
  TxnProxy(const TxnProxy&) = delete;
  TxnProxy& operator=(const TxnProxy&) = delete;

  // "127.0.0.1:PORT,...": the listeners, broker 1 first.
  std::string bootstraps() const;

  // Stops listening for broker `id` (1..N, or -1 for all), so connections are refused as by
  // a broker that is down, or listens again on the same port. Throws RuntimeError when the
  // port cannot be had again.
  void set_down(int32_t id, bool down);

  // What the mock has dropped (log_drops.hpp): "ok TOTAL" and each partition that lost
  // messages as TOPIC/PARTITION=N, for the `dropped` command.
  std::string dropped_answer();
  // Warns of the drops not reported yet; false when there were none at all.
  bool report_drops();
  // For --metrics-addr: brokers listening, client connections open and refused, requests by
  // API, messages the mock dropped (Prometheus text format; safe from any thread).
  void write_metrics(std::string& out);

  struct Conn;

 private:
  void accept_loop(size_t broker);
  void requests(const std::shared_ptr<Conn>& c);
  void responses(const std::shared_ptr<Conn>& c);
  // Follows the transactions in a request, and notes how to treat its answer. A request the
  // proxy answers itself (one from a fenced producer) is replaced in `frame` by a stand-in.
  void note_request(Conn& c, std::string& frame);
  bool needs_rewrite(const PendingAnswer& p);
  void reaper();
  // Writes the markers of `txn` and keeps its offsets when committed; false when a marker
  // could not be written (the transaction stays open, to be ended again).
  bool end_txn(const std::string& tid, bool commit);
  // Writes a marker to each partition of `txn`; returns those where it could not.
  std::set<TopicPartition> write_markers(const OpenTxn& txn, bool commit);
  // Aborts again what a producer fenced by the reaper wrote since.
  bool end_fenced(const std::string& tid);
  // One request and its answer on the marker connection to mock broker `broker` (0-based).
  bool exchange(size_t broker, const std::string& request, std::string& response);
  bool write_marker(const TopicPartition& tp, int64_t pid, int16_t epoch, bool commit);
  std::string rewrite(const PendingAnswer& p, std::string frame);

  std::vector<int> upstream_;
  std::mutex listen_mu_;  // guards listen_fd_ and ports_ after start
  std::vector<int> listen_fd_;
  std::vector<int> ports_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> acceptors_;
  std::thread reaper_;

  std::mutex conns_mu_;  // guards conns_ and at_cap_
  std::list<std::pair<std::weak_ptr<Conn>, std::vector<std::thread>>> conns_;
  size_t max_connections_;
  bool at_cap_ = false;               // connections are being refused
  std::atomic<uint64_t> refused_{0};  // connections closed at the cap
  static constexpr size_t kApiKeys = 128;
  std::atomic<uint64_t> requests_[kApiKeys] = {};  // client requests by API key

  std::mutex drops_mu_;  // guards drops_
  LogDrops drops_;
  // Warns of drops not reported, in partitions not reported for `every`.
  void report_drops_locked(std::chrono::milliseconds every);

  std::mutex txn_mu_;  // guards log_, rounds_ and markers_written_, and orders marker writes
  std::condition_variable markers_cv_;  // a marker was written
  uint64_t markers_written_ = 0;
  TxnLog log_;
  SyncRounds rounds_;
  std::vector<int> marker_fd_;  // one connection to each mock broker, for markers
  std::map<TopicPartition, size_t> leader_;
  int32_t marker_corr_ = 0;
};

}  // namespace cdn::kafka
