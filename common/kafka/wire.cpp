#include "common/kafka/wire.hpp"

#include <array>

namespace cdn::kafka::wire {

const char* Reader::take(size_t n) {
  if (n > n_ - i_) {
    throw ParseError("message ends " + std::to_string(n - (n_ - i_)) + " bytes short at byte " +
                     std::to_string(i_));
  }
  const char* p = p_ + i_;
  i_ += n;
  return p;
}

uint64_t Reader::be(size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(take(n));
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

uint64_t Reader::uvarint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    auto b = static_cast<unsigned char>(take(1)[0]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  throw ParseError("varint longer than 10 bytes at byte " + std::to_string(i_));
}

std::string_view Reader::str() {
  int16_t n = i16();
  if (n < 0) return {};
  return {take(static_cast<size_t>(n)), static_cast<size_t>(n)};
}

std::string_view Reader::compact_str() {
  uint64_t n = uvarint();
  if (n == 0) return {};
  if (n - 1 > left()) throw ParseError("string longer than the message");
  return {take(n - 1), n - 1};
}

std::string_view Reader::bytes() {
  int32_t n = i32();
  if (n < 0) return {};
  return {take(static_cast<size_t>(n)), static_cast<size_t>(n)};
}

int32_t Reader::count() {
  int32_t n = i32();
  if (n < -1) throw ParseError("array count " + std::to_string(n));
  if (n > 0 && static_cast<size_t>(n) > left()) {
    throw ParseError("array count " + std::to_string(n) + " exceeds the message");
  }
  return n < 0 ? 0 : n;
}

void Reader::skip_tags() {
  uint64_t n = uvarint();
  for (uint64_t i = 0; i < n; ++i) {
    uvarint();  // tag
    uint64_t size = uvarint();
    if (size > left()) throw ParseError("tagged field longer than the message");
    skip(size);
  }
}

void Writer::be(uint64_t v, size_t n) {
  for (size_t i = n; i-- > 0;) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void Writer::str(std::string_view s) {
  i16(static_cast<int16_t>(s.size()));
  out_.append(s);
}

void Writer::bytes(std::string_view b) {
  i32(static_cast<int32_t>(b.size()));
  out_.append(b);
}

void Writer::varint(int64_t v) {
  auto z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);  // zig-zag
  while (z >= 0x80) {
    out_.push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  out_.push_back(static_cast<char>(z));
}

void put_be(std::string& s, size_t at, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) s[at + i] = static_cast<char>((v >> (8 * (n - 1 - i))) & 0xff);
}

void Writer::patch_i32(size_t pos, int32_t v) {
  put_be(out_, pos, static_cast<uint32_t>(v), 4);
}

uint32_t crc32c(std::string_view bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : bytes) c = table[(c ^ static_cast<unsigned char>(ch)) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

namespace {
// Byte offsets in a magic-2 record batch.
constexpr size_t kMagicAt = 16;
constexpr size_t kCrcAt = 17;
constexpr size_t kAttributesAt = 21;
constexpr size_t kRecordsAt = 61;
}  // namespace

std::vector<Batch> batches(std::string_view records) {
  std::vector<Batch> out;
  size_t at = 0;
  while (records.size() - at >= 17) {
    Reader r(records.substr(at));
    Batch b;
    b.base_offset = r.i64();
    int32_t length = r.i32();
    if (length < 5 || static_cast<size_t>(length) > records.size() - at - 12) break;
    b.begin = at;
    b.end = at + 12 + static_cast<size_t>(length);
    r.i32();  // partition leader epoch, or a magic 0/1 message's CRC
    b.magic = r.i8();
    b.last_offset = b.base_offset;
    if (b.magic == 2 && length >= static_cast<int32_t>(kRecordsAt - 12)) {
      r.skip(4);  // CRC
      b.attributes = r.i16();
      b.last_offset = b.base_offset + r.i32();
      r.skip(16);  // timestamps
      b.producer_id = r.i64();
      b.producer_epoch = r.i16();
    }
    out.push_back(b);
    at = b.end;
  }
  return out;
}

std::string marker_batch(int64_t pid, int16_t epoch, bool commit, int64_t timestamp_ms) {
  // The one record: attributes, timestamp delta, offset delta, key, value, no headers.
  Writer rec;
  rec.i8(0);
  rec.varint(0);
  rec.varint(0);
  rec.varint(4);
  rec.i16(0);               // key: version
  rec.i16(commit ? 1 : 0);  // key: type
  rec.varint(6);
  rec.i16(0);  // value: version
  rec.i32(0);  // value: coordinator epoch
  rec.varint(0);
  Writer w;
  w.i64(0);  // base offset: the broker assigns it
  size_t length_at = w.size();
  w.i32(0);
  w.i32(-1);  // partition leader epoch
  w.i8(2);
  size_t crc_at = w.size();
  w.i32(0);
  w.i16(kTransactional | kControl);
  w.i32(0);  // last offset delta
  w.i64(timestamp_ms);
  w.i64(timestamp_ms);
  w.i64(pid);
  w.i16(epoch);
  w.i32(-1);  // base sequence
  w.i32(1);   // record count
  w.varint(static_cast<int64_t>(rec.size()));
  w.raw(rec.str());
  w.patch_i32(length_at, static_cast<int32_t>(w.size() - 12));
  w.patch_i32(crc_at,
              static_cast<int32_t>(crc32c(std::string_view(w.str()).substr(kAttributesAt))));
  static_assert(kCrcAt + 4 == kAttributesAt && kMagicAt + 1 == kCrcAt);
  return std::move(w.str());
}

int marker_type(std::string_view batch) {
  try {
    if (batch.size() < kRecordsAt) return -1;
    Reader h(batch.substr(kAttributesAt));
    if ((h.i16() & kControl) == 0) return -1;
    Reader r(batch.substr(kRecordsAt));
    r.uvarint();  // record length (zig-zag, small)
    r.i8();
    r.uvarint();
    r.uvarint();
    if (r.uvarint() != 8) return -1;  // key length 4, zig-zag
    if (r.i16() != 0) return -1;      // key version
    int16_t type = r.i16();
    return type == 0 || type == 1 ? type : -1;
  } catch (const ParseError&) {
    return -1;
  }
}

}  // namespace cdn::kafka::wire
