// libFuzzer target for what `cdn broker`'s transaction proxy reads from the wire: record
// batch headers (kafka::wire::batches) and the read_committed view of a partition
// (kafka::TxnLog::committed_view). The input's first bytes place up to 8 markers (producer,
// offset, commit or abort) and pick the fetch offset; the rest is a RECORDS field. Invariants
// asserted (a broken one traps):
//   - the batches found lie in the field, in order, each starting where the last one ended;
//   - the view passes a prefix of the field that ends where a batch begins (or at its end),
//     and holds back data only when an open transaction stopped it, reporting a last stable
//     offset no lower than the fetch offset;
//   - every aborted transaction it lists belongs to a producer with an abort marker at or
//     after the fetch offset, and the list is in offset order;
//   - a marker batch the proxy would write reads back as one control batch of its kind.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/kafka/txn_log.hpp"
#include "common/kafka/wire.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cdn::kafka;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() < 2) return 0;
  TxnLog log;
  TopicPartition tp{"t", 0};
  const size_t markers = static_cast<unsigned char>(in[0]) % 9;
  const int64_t fetch_offset = static_cast<unsigned char>(in[1]) % 64;
  in.remove_prefix(2);
  for (size_t i = 0; i < markers && in.size() >= 2; ++i) {
    auto a = static_cast<unsigned char>(in[0]);
    auto b = static_cast<unsigned char>(in[1]);
    log.add_marker(tp, a % 4, b % 128, (a & 0x80) != 0);
    in.remove_prefix(2);
  }

  auto found = wire::batches(in);
  size_t at = 0;
  for (const auto& b : found) {
    CDN_FUZZ_REQUIRE(b.begin == at && b.end > b.begin && b.end <= in.size());
    at = b.end;
  }

  const int64_t hwm = 1000;
  CommittedView v = log.committed_view(tp, fetch_offset, hwm, in);
  CDN_FUZZ_REQUIRE(v.keep <= in.size());
  bool boundary = v.keep == in.size();
  for (const auto& b : found) boundary = boundary || b.begin == v.keep;
  CDN_FUZZ_REQUIRE(boundary);
  CDN_FUZZ_REQUIRE(v.cut || v.keep == in.size());
  CDN_FUZZ_REQUIRE(!v.cut || v.last_stable >= fetch_offset);
  CDN_FUZZ_REQUIRE(v.cut || v.last_stable == hwm);
  for (size_t i = 0; i < v.aborted.size(); ++i) {
    const auto& [pid, first] = v.aborted[i];
    CDN_FUZZ_REQUIRE(pid >= 0 && pid < 4);
    CDN_FUZZ_REQUIRE(i == 0 || v.aborted[i - 1].second <= first);
    // an abort marker of that producer at or after the fetch offset, after `first`
    bool marker = false;
    for (int64_t o = std::max(first, fetch_offset); o < 128 && !marker; ++o) {
      marker = log.fate(tp, pid, o - 1) == TxnLog::Fate::kAborted;
    }
    CDN_FUZZ_REQUIRE(marker);
  }

  if (size >= 12) {
    int64_t pid = 0;
    for (size_t i = 0; i < 8; ++i) pid = (pid << 8) | data[i];
    int16_t epoch = static_cast<int16_t>((data[8] << 8) | data[9]);
    bool commit = (data[10] & 1) != 0;
    std::string m = wire::marker_batch(pid, epoch, commit, 0);
    auto mb = wire::batches(m);
    CDN_FUZZ_REQUIRE(mb.size() == 1 && mb[0].end == m.size() && mb[0].control());
    CDN_FUZZ_REQUIRE(mb[0].producer_id == pid);
    CDN_FUZZ_REQUIRE(wire::marker_type(m) == (commit ? 1 : 0));
  }
  return 0;
}
