// The parts of the Kafka wire protocol `cdn broker` reads and writes itself: big-endian
// integers, strings and arrays, record batch headers, and transaction marker batches.
// See https://kafka.apache.org/protocol and the record batch format (magic 2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::kafka::wire {

// A message shorter than its fields, or a length out of range.
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads fields in order from a byte range; throws ParseError past its end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : p_(bytes.data()), n_(bytes.size()) {}
  int8_t i8() { return static_cast<int8_t>(take(1)[0]); }
  int16_t i16() { return static_cast<int16_t>(be(2)); }
  int32_t i32() { return static_cast<int32_t>(be(4)); }
  int64_t i64() { return static_cast<int64_t>(be(8)); }
  uint64_t uvarint();
  // STRING / NULLABLE_STRING (int16 length, -1 for null: read as "").
  std::string_view str();
  // COMPACT_NULLABLE_STRING (unsigned varint length + 1, 0 for null: read as "").
  std::string_view compact_str();
  // BYTES / RECORDS (int32 length, -1 for null: read as "").
  std::string_view bytes();
  // An ARRAY's count; -1 (null) reads as 0.
  int32_t count();
  // A flexible version's tagged fields, skipped.
  void skip_tags();
  void skip(size_t n) { take(n); }
  size_t pos() const { return i_; }
  size_t left() const { return n_ - i_; }
  std::string_view rest() const { return {p_ + i_, n_ - i_}; }

 private:
  const char* take(size_t n);
  uint64_t be(size_t n);
  const char* p_;
  size_t n_;
  size_t i_ = 0;
};

// Appends fields to a byte string.
class Writer {
 public:
  void i8(int8_t v) { out_.push_back(static_cast<char>(v)); }
  void i16(int16_t v) { be(static_cast<uint16_t>(v), 2); }
  void i32(int32_t v) { be(static_cast<uint32_t>(v), 4); }
  void i64(int64_t v) { be(static_cast<uint64_t>(v), 8); }
  void str(std::string_view s);
  void null_str() { i16(-1); }
  void bytes(std::string_view b);
  void raw(std::string_view b) { out_.append(b); }
  void varint(int64_t v);
  size_t size() const { return out_.size(); }
  // Overwrites 4 bytes at `pos` (a length written before its contents were known).
  void patch_i32(size_t pos, int32_t v);
  std::string& str() { return out_; }

 private:
  void be(uint64_t v, size_t n);
  std::string out_;
};

// Overwrites the `n` bytes at `at` with `v`, big-endian (a field patched in place).
void put_be(std::string& s, size_t at, uint64_t v, size_t n);

// CRC-32C (Castagnoli), the checksum of a record batch.
uint32_t crc32c(std::string_view bytes);

// Record batch attribute bits.
inline constexpr int16_t kTransactional = 0x10;
inline constexpr int16_t kControl = 0x20;

// The header of one record batch inside a RECORDS field.
struct Batch {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int8_t magic = 0;
  int16_t attributes = 0;  // magic 2 only; 0 otherwise
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  size_t begin = 0;  // where the batch starts in the RECORDS field
  size_t end = 0;    // one past its last byte
  bool transactional() const { return (attributes & kTransactional) != 0; }
  bool control() const { return (attributes & kControl) != 0; }
};

// The whole batches of a RECORDS field, in order. A partial batch at the end (a broker may
// cut the last one at the fetch size) is left out.
std::vector<Batch> batches(std::string_view records);

// A control batch holding one transaction marker (COMMIT or ABORT) of producer `pid`.
std::string marker_batch(int64_t pid, int16_t epoch, bool commit, int64_t timestamp_ms);

// Whether a control batch is a marker, and which: 1 commit, 0 abort, -1 not a marker.
int marker_type(std::string_view batch);

}  // namespace cdn::kafka::wire
