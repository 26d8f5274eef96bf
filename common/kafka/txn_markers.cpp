// Transaction markers: written by the proxy itself, over one connection to each mock broker,
// when a transaction ends, is fenced by a new instance of its producer, or times out.
#include "common/kafka/txn_proxy.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include "common/diag/log.hpp"
#include "common/kafka/frame_io.hpp"
#include "common/kafka/txn_rewrite.hpp"
#include "common/kafka/wire.hpp"

namespace cdn::kafka {

namespace {

constexpr auto kMarkerTimeout = std::chrono::seconds(10);

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::set<TopicPartition> TxnProxy::write_markers(const OpenTxn& txn, bool commit) {
  std::set<TopicPartition> failed;
  for (const auto& tp : txn.partitions) {
    if (!write_marker(tp, txn.pid, txn.epoch, commit)) failed.insert(tp);
  }
  return failed;
}

bool TxnProxy::end_txn(const std::string& tid, bool commit) {
  std::optional<OpenTxn> txn = log_.take(tid);
  if (!txn) return true;
  std::set<TopicPartition> failed = write_markers(*txn, commit);
  if (!failed.empty()) {
    txn->partitions = std::move(failed);
    log_.restore(tid, std::move(*txn));
    return false;
  }
  if (commit) log_.commit_offsets(*txn);
  diag::debug(std::string(commit ? "committed" : "aborted") + " the transaction of " +
              diag::quoted(tid) + " in " + std::to_string(txn->partitions.size()) + " partitions");
  return true;
}

bool TxnProxy::end_fenced(const std::string& tid) {
  std::optional<OpenTxn> txn = log_.take_fenced(tid);
  if (!txn) return true;
  std::set<TopicPartition> failed = write_markers(*txn, false);
  if (failed.empty()) return true;
  txn->partitions = std::move(failed);
  log_.fence(tid, std::move(*txn));
  return false;
}

bool TxnProxy::exchange(size_t broker, const std::string& request, std::string& response) {
  int& fd = marker_fd_[broker];
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = fd < 0;
    if (fresh) {
      fd = connect_local(upstream_[broker]);
      if (fd < 0) return false;
      timeval tv{std::chrono::seconds(kMarkerTimeout).count(), 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    if (write_frame(fd, request) && read_frame(fd, response)) return true;
    close_fd(fd);
    if (fresh) return false;  // a connection kept from before may have gone stale: once more
  }
  return false;
}

bool TxnProxy::write_marker(const TopicPartition& tp, int64_t pid, int16_t epoch, bool commit) {
  std::string batch = wire::marker_batch(pid, epoch, commit, now_ms());
  std::vector<size_t> order;
  auto known = leader_.find(tp);
  if (known != leader_.end()) order.push_back(known->second);
  for (size_t b = 0; b < upstream_.size(); ++b) {
    if (known == leader_.end() || b != known->second) order.push_back(b);
  }
  for (size_t b : order) {
    wire::Writer req;
    req.i16(kProduce);
    req.i16(3);
    int32_t corr = ++marker_corr_;
    req.i32(corr);
    req.str("cdn-broker");
    req.null_str();  // no transactional id: the marker is the broker's own write
    req.i16(-1);     // acks: all
    req.i32(static_cast<int32_t>(std::chrono::milliseconds(kMarkerTimeout).count()));
    req.i32(1);
    req.str(tp.topic);
    req.i32(1);
    req.i32(tp.partition);
    req.bytes(batch);
    std::string resp;
    if (!exchange(b, req.str(), resp)) continue;
    try {
      wire::Reader r(resp);
      if (r.i32() != corr || r.count() != 1) throw wire::ParseError("not the answer asked for");
      r.str();
      if (r.count() != 1) throw wire::ParseError("not one partition");
      r.i32();
      int16_t error = r.i16();
      int64_t offset = r.i64();
      if (error == kNotLeader) continue;
      if (error == kUnknownTopicOrPartition) {
        // Nothing was written there, and nothing ever will be: no marker is needed.
        diag::warning("no transaction marker written to " + diag::quoted(tp.topic) + "/" +
                      std::to_string(tp.partition) + ": the partition does not exist");
        return true;
      }
      if (error != 0) {
        diag::warning("broker " + std::to_string(b + 1) + " refused a transaction marker for " +
                      tp.topic + "/" + std::to_string(tp.partition) + ": Kafka error " +
                      std::to_string(error));
        return false;
      }
      log_.add_marker(tp, pid, offset, commit);
      ++markers_written_;
      markers_cv_.notify_all();
      leader_[tp] = b;
      return true;
    } catch (const wire::ParseError& e) {
      diag::warning(std::string("cannot read a broker's answer to a transaction marker: ") +
                    e.what());
      close_fd(marker_fd_[b]);
    }
  }
  return false;
}

void TxnProxy::reaper() {
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::lock_guard lock(txn_mu_);
    for (const auto& tid : log_.expired(std::chrono::steady_clock::now())) {
      diag::info("aborting the transaction of transactional id " + diag::quoted(tid) +
                 ", open longer than its timeout; its producer is fenced");
      OpenTxn fenced = *log_.find(tid);
      fenced.offsets.clear();
      if (end_txn(tid, false)) log_.fence(tid, std::move(fenced));
    }
  }
}

}  // namespace cdn::kafka
