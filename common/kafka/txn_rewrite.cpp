#include "common/kafka/txn_rewrite.hpp"

#include <algorithm>
#include <optional>

#include "common/kafka/wire.hpp"

namespace cdn::kafka {

namespace {

// Calls f(partition) for each partition of an array of topics, each an array of partitions
// that start with their index (the shape of most Kafka requests and answers); f reads the
// rest of the partition's fields.
template <typename F>
void each_partition(wire::Reader& r, F f) {
  for (int32_t t = r.count(); t > 0; --t) {
    std::string topic(r.str());
    for (int32_t n = r.count(); n > 0; --n) f(TopicPartition{topic, r.i32()});
  }
}

// Copies a NULLABLE_STRING, keeping null apart from empty.
void copy_nullable(wire::Reader& r, wire::Writer& w) {
  wire::Reader peek(r.rest());
  if (peek.i16() < 0) {
    r.i16();
    w.null_str();
  } else {
    w.str(r.str());
  }
}

void patch_i16(std::string& s, size_t at, int16_t v) {
  wire::put_be(s, at, static_cast<uint16_t>(v), 2);
}

void patch_i64(std::string& s, size_t at, int64_t v) {
  wire::put_be(s, at, static_cast<uint64_t>(v), 8);
}

}  // namespace

bool inspected(int16_t api) {
  switch (api) {
    case kFetch:
    case kListOffsets:
    case kMetadata:
    case kOffsetCommit:
    case kOffsetFetch:
    case kFindCoordinator:
    case kInitProducerId:
    case kAddPartitionsToTxn:
    case kAddOffsetsToTxn:
    case kEndTxn:
    case kTxnOffsetCommit:
    case kSyncGroup:
      return true;
    default:
      return false;
  }
}

RequestNote read_request(std::string_view frame) {
  wire::Reader r(frame);
  RequestNote note;
  PendingAnswer& p = note.pending;
  p.api = r.i16();
  p.version = r.i16();
  note.correlation_id = r.i32();
  r.str();  // client id
  const int16_t v = p.version;
  bool& answer = note.answer;
  switch (p.api) {
    case kFetch: {
      if (v < 4 || v > 11) break;
      r.skip(4);  // replica id
      p.max_wait = r.i32();
      r.skip(v >= 3 ? 8 : 4);  // min bytes, max bytes
      if (r.i8() != 1) break;  // read_uncommitted: passed as it is
      if (v >= 7) r.skip(8);   // session id and epoch
      each_partition(r, [&](TopicPartition tp) {
        if (v >= 9) r.skip(4);  // current leader epoch
        p.asked[std::move(tp)] = r.i64();
        r.skip(v >= 5 ? 12 : 4);  // log start offset, partition max bytes
      });
      answer = true;
      break;
    }
    case kListOffsets:
      if (v < 2 || v > 3) break;
      r.skip(4);               // replica id
      if (r.i8() != 1) break;  // read_uncommitted: the high watermark is right
      each_partition(r, [&](TopicPartition tp) {
        p.asked[std::move(tp)] = r.i64();  // the timestamp asked for
      });
      answer = true;
      break;
    case kProduce: {
      if (v < 3 || v > 7) break;
      std::string tid(r.str());
      if (tid.empty()) break;   // no transactional id
      if (r.i16() == 0) break;  // acks 0: no answer
      r.skip(4);                // timeout
      each_partition(r, [&](TopicPartition tp) {
        auto bs = wire::batches(r.bytes());
        if (!bs.empty() && bs[0].transactional()) {
          p.produced.emplace_back(std::move(tp), bs[0].producer_id);
          p.pid = bs[0].producer_id;
          p.epoch = bs[0].producer_epoch;
        }
      });
      answer = !p.produced.empty();
      if (answer) p.tid = std::move(tid);
      note.as_producer = answer;
      break;
    }
    case kMetadata:
      answer = v <= 8;
      break;
    case kFindCoordinator:
      answer = v <= 2;
      break;
    case kOffsetCommit:
    case kOffsetFetch:
      if (v > (p.api == kOffsetCommit ? 7 : 5)) break;
      p.group = std::string(r.str());
      answer = true;
      break;
    case kInitProducerId: {
      if (v > 4) break;
      if (v >= 2) r.skip_tags();
      std::string tid(v >= 2 ? r.compact_str() : r.str());
      int32_t timeout = r.i32();
      if (tid.empty()) break;
      p.tid = std::move(tid);
      note.timeout_ms = timeout;
      note.txn = RequestNote::Txn::init_producer_id;
      answer = true;
      break;
    }
    case kAddPartitionsToTxn:
      // The partitions join the transaction as the answer says (add_partitions_answer).
      if (v > 1) break;
      p.tid = std::string(r.str());
      p.pid = r.i64();
      p.epoch = r.i16();
      note.as_producer = true;
      answer = true;
      break;
    case kAddOffsetsToTxn:
      if (v > 1) break;
      p.tid = std::string(r.str());
      p.pid = r.i64();
      p.epoch = r.i16();
      note.as_producer = true;
      break;
    case kSyncGroup:
      if (v > 3) break;
      p.group = std::string(r.str());
      p.generation = r.i32();
      p.member = std::string(r.str());
      if (v >= 3) r.str();  // group instance id
      for (int32_t n = r.count(); n > 0; --n) {
        std::string member(r.str());
        note.assignments[std::move(member)] = std::string(r.bytes());
      }
      answer = true;
      break;
    case kTxnOffsetCommit: {
      if (v > 2) break;
      p.tid = std::string(r.str());
      p.group = std::string(r.str());
      p.pid = r.i64();
      p.epoch = r.i16();
      each_partition(r, [&](TopicPartition tp) {
        int64_t offset = r.i64();
        if (v >= 2) r.skip(4);  // leader epoch
        r.str();                // metadata
        note.offsets.emplace_back(std::move(tp), offset);
      });
      note.txn = RequestNote::Txn::offsets;
      note.as_producer = true;
      break;
    }
    case kEndTxn:
      if (v > 1) break;
      p.tid = std::string(r.str());
      p.pid = r.i64();
      p.epoch = r.i16();
      p.commit = r.i8() != 0;
      answer = true;
      note.as_producer = true;
      break;
    default:
      break;
  }
  return note;
}

std::string refusal(std::string_view request, int16_t error) {
  wire::Reader r(request);
  const int16_t api = r.i16();
  const int16_t v = r.i16();
  wire::Writer w;
  w.i32(r.i32());  // correlation id
  r.str();         // client id
  // Each partition of the request's topics, answered with `error` and `fields` after it.
  auto partitions = [&](auto skip, auto fields) {
    int32_t topics = r.count();
    w.i32(topics);
    for (int32_t t = 0; t < topics; ++t) {
      w.str(r.str());
      int32_t n = r.count();
      w.i32(n);
      for (int32_t i = 0; i < n; ++i) {
        w.i32(r.i32());
        skip();
        w.i16(error);
        fields();
      }
    }
  };
  switch (api) {
    case kProduce:
      if (v < 3 || v > 7) break;
      r.str();  // transactional id
      if (r.i16() == 0) throw wire::ParseError("acks 0: no answer");
      r.skip(4);  // timeout
      partitions([&] { r.bytes(); },
                 [&] {
                   w.i64(-1);              // base offset
                   w.i64(-1);              // log append time
                   if (v >= 5) w.i64(-1);  // log start offset
                 });
      w.i32(0);  // throttle time
      return std::move(w.str());
    case kAddPartitionsToTxn:
      if (v > 1) break;
      r.str();
      r.skip(10);  // producer id and epoch
      w.i32(0);    // throttle time
      partitions([] {}, [] {});
      return std::move(w.str());
    case kTxnOffsetCommit:
      if (v > 2) break;
      r.str();
      r.str();     // group
      r.skip(10);  // producer id and epoch
      w.i32(0);    // throttle time
      partitions(
          [&] {
            r.skip(v >= 2 ? 12 : 8);  // offset, leader epoch
            r.str();                  // metadata
          },
          [] {});
      return std::move(w.str());
    case kAddOffsetsToTxn:
    case kEndTxn:
      if (v > 1) break;
      w.i32(0);  // throttle time
      w.i16(error);
      return std::move(w.str());
    default:
      break;
  }
  throw wire::ParseError("no refusal for API " + std::to_string(api) + " version " +
                         std::to_string(v));
}

std::string stand_in(int32_t correlation_id) {
  wire::Writer w;
  w.i16(kApiVersions);
  w.i16(0);
  w.i32(correlation_id);
  w.str("cdn-broker");
  return std::move(w.str());
}

std::string init_producer_id_answer(const PendingAnswer& p, std::string frame, TxnLog& log) {
  wire::Reader r(frame);
  r.i32();                            // correlation id
  if (p.version >= 2) r.skip_tags();  // a flexible answer's header
  r.skip(4);                          // throttle time
  if (r.i16() != 0) return frame;
  int64_t pid = r.i64();
  int16_t epoch = r.i16();
  log.set_producer(p.tid, pid, epoch);
  return frame;
}

std::string metadata_answer(const PendingAnswer& p, std::string frame,
                            const std::vector<int>& ports) {
  wire::Reader r(frame);
  const int16_t v = p.version;
  wire::Writer w;
  w.i32(r.i32());              // correlation id
  if (v >= 3) w.i32(r.i32());  // throttle time
  int32_t n = r.count();
  w.i32(n);
  std::vector<int32_t> nodes;
  for (int32_t i = 0; i < n; ++i) {
    int32_t node = r.i32();
    nodes.push_back(node);
    w.i32(node);
    std::string_view host = r.str();
    int32_t port = r.i32();
    if (node >= 1 && static_cast<size_t>(node) <= ports.size()) {
      w.str("127.0.0.1");
      w.i32(ports[static_cast<size_t>(node) - 1]);
    } else {
      w.str(host);
      w.i32(port);
    }
    if (v >= 1) copy_nullable(r, w);  // rack
  }
  if (v >= 2) copy_nullable(r, w);  // cluster id
  if (v >= 1) {
    // The mock names controller 0, which is no broker: clients that look the controller up
    // among the brokers (kafkajs, for every idempotent producer) would fail. A broker listed
    // stands in for it.
    int32_t controller = r.i32();
    if (!nodes.empty() && std::find(nodes.begin(), nodes.end(), controller) == nodes.end()) {
      controller = *std::min_element(nodes.begin(), nodes.end());
    }
    w.i32(controller);
  }
  w.raw(r.rest());
  return std::move(w.str());
}

std::string find_coordinator_answer(const PendingAnswer& p, std::string frame,
                                    const std::vector<int>& ports) {
  wire::Reader r(frame);
  const int16_t v = p.version;
  wire::Writer w;
  w.i32(r.i32());              // correlation id
  if (v >= 1) w.i32(r.i32());  // throttle time
  w.i16(r.i16());              // error code
  if (v >= 1) copy_nullable(r, w);
  int32_t node = r.i32();
  if (node < 1 || static_cast<size_t>(node) > ports.size()) return frame;
  w.i32(node);
  r.str();
  r.i32();
  w.str("127.0.0.1");
  w.i32(ports[static_cast<size_t>(node) - 1]);
  w.raw(r.rest());
  return std::move(w.str());
}

std::string fetch_answer(const PendingAnswer& p, std::string_view frame,
                         const CommittedViewOf& view_of, bool& only_open) {
  wire::Reader r(frame);
  const int16_t v = p.version;
  wire::Writer w;
  w.i32(r.i32());              // correlation id
  if (v >= 1) w.i32(r.i32());  // throttle time
  if (v >= 7) {
    w.i16(r.i16());  // error code
    w.i32(r.i32());  // session id
  }
  bool data = false;
  bool cut = false;
  int32_t topics = r.count();
  w.i32(topics);
  for (int32_t t = 0; t < topics; ++t) {
    std::string topic(r.str());
    w.str(topic);
    int32_t partitions = r.count();
    w.i32(partitions);
    for (int32_t i = 0; i < partitions; ++i) {
      TopicPartition tp{topic, r.i32()};
      int16_t error = r.i16();
      int64_t hwm = r.i64();
      int64_t last_stable = r.i64();
      std::optional<int64_t> log_start;
      if (v >= 5) log_start = r.i64();
      for (int32_t a = r.count(); a > 0; --a) r.skip(16);  // the mock lists none
      std::optional<int32_t> replica;
      if (v >= 11) replica = r.i32();
      std::string_view records = r.bytes();
      CommittedView view;
      view.keep = records.size();
      view.last_stable = last_stable;
      if (error == 0) {
        auto fo = p.asked.find(tp);
        view = view_of(tp, fo == p.asked.end() ? 0 : fo->second, hwm, records);
      }
      w.i32(tp.partition);
      w.i16(error);
      w.i64(hwm);
      w.i64(view.last_stable);
      if (log_start) w.i64(*log_start);
      w.i32(static_cast<int32_t>(view.aborted.size()));
      for (const auto& [pid, first] : view.aborted) {
        w.i64(pid);
        w.i64(first);
      }
      if (replica) w.i32(*replica);
      w.bytes(records.substr(0, view.keep));
      data = data || view.keep > 0;
      cut = cut || view.cut;
    }
  }
  w.raw(r.rest());
  only_open = cut && !data;
  return std::move(w.str());
}

std::string offset_fetch_answer(const PendingAnswer& p, std::string frame, const TxnLog& log) {
  wire::Reader r(frame);
  const int16_t v = p.version;
  r.i32();                // correlation id
  if (v >= 3) r.skip(4);  // throttle time
  each_partition(r, [&](const TopicPartition& tp) {
    size_t at = r.pos();
    r.i64();
    if (v >= 5) r.skip(4);  // leader epoch
    r.str();                // metadata
    size_t error_at = r.pos();
    if (r.i16() != 0) return;
    if (log.pending(p.group, tp)) {
      // The client asks again until the transaction holding offsets for it ends.
      patch_i16(frame, error_at, kUnstableOffsetCommit);
    } else if (auto off = log.committed(p.group, tp)) {
      patch_i64(frame, at, *off);
    }
  });
  return frame;
}

std::string list_offsets_answer(const PendingAnswer& p, std::string frame, const TxnLog& log) {
  wire::Reader r(frame);
  r.i32();    // correlation id
  r.skip(4);  // throttle time
  each_partition(r, [&](const TopicPartition& tp) {
    int16_t error = r.i16();
    r.skip(8);  // timestamp
    size_t at = r.pos();
    int64_t offset = r.i64();
    auto ts = p.asked.find(tp);
    if (error != 0 || ts == p.asked.end() || ts->second != -1) return;
    // the end, for a read_committed reader, is the last stable offset
    if (auto first = log.first_open(tp); first && *first < offset) {
      patch_i64(frame, at, *first);
    }
  });
  return frame;
}

void SyncRounds::assigned(std::string_view group, int32_t generation,
                          std::map<std::string, std::string> assignments) {
  Round& r = rounds_[std::string(group)];
  r.generation = generation;
  r.assignments.clear();
  for (auto& [member, a] : assignments) r.assignments.emplace(member, std::move(a));
}

const std::string* SyncRounds::assignment(std::string_view group, int32_t generation,
                                          std::string_view member) const {
  auto g = rounds_.find(group);
  if (g == rounds_.end() || g->second.generation != generation) return nullptr;
  auto m = g->second.assignments.find(member);
  return m == g->second.assignments.end() ? nullptr : &m->second;
}

std::string sync_group_answer(const PendingAnswer& p, std::string frame, const SyncRounds& rounds) {
  wire::Reader r(frame);
  wire::Writer w;
  w.i32(r.i32());                      // correlation id
  if (p.version >= 1) w.i32(r.i32());  // throttle time
  if (r.i16() != kInvalidRequest) return frame;
  // Refused because the round ended before this member synced: the mock's group is up in
  // this generation (an older one would be ILLEGAL_GENERATION), with the leader's assignments.
  const std::string* a = rounds.assignment(p.group, p.generation, p.member);
  if (a == nullptr) return frame;
  w.i16(0);
  w.bytes(*a);
  return std::move(w.str());
}

std::string produce_answer(const PendingAnswer& p, std::string frame, TxnLog& log) {
  wire::Reader r(frame);
  const int16_t v = p.version;
  r.i32();  // correlation id
  each_partition(r, [&](const TopicPartition& tp) {
    int16_t error = r.i16();
    int64_t offset = r.i64();
    r.skip((v >= 2 ? 8 : 0) + (v >= 5 ? 8 : 0));  // log append time, log start offset
    if (error != 0) return;
    for (const auto& [ptp, pid] : p.produced) {
      if (ptp == tp) log.note_written(tp, pid, offset);
    }
  });
  return frame;
}

std::string add_partitions_answer(const PendingAnswer& p, std::string frame, TxnLog& log) {
  wire::Reader r(frame);
  r.i32();    // correlation id
  r.skip(4);  // throttle time
  std::vector<TopicPartition> added;
  each_partition(r, [&](TopicPartition tp) {
    if (r.i16() == 0) added.push_back(std::move(tp));
  });
  if (!added.empty()) log.add_partitions(p.tid, p.pid, p.epoch, added);
  return frame;
}

std::string offset_commit_answer(const PendingAnswer& p, std::string frame, TxnLog& log) {
  wire::Reader r(frame);
  r.i32();                        // correlation id
  if (p.version >= 3) r.skip(4);  // throttle time
  each_partition(r, [&](const TopicPartition& tp) {
    if (r.i16() == 0) log.forget_committed(p.group, tp);
  });
  return frame;
}

std::string end_txn_answer(std::string frame, const std::function<int16_t()>& outcome) {
  wire::Reader r(frame);
  r.i32();    // correlation id
  r.skip(4);  // throttle time
  size_t at = r.pos();
  if (r.i16() != 0) return frame;
  if (int16_t error = outcome(); error != 0) patch_i16(frame, at, error);
  return frame;
}

}  // namespace cdn::kafka
