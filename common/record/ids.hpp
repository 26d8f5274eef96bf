// Sample IDs: a sequence kept across runs in a state file, UUIDv7 (RFC 9562) and a stable
// content hash (XXH64).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::record {

// ---- content hash -------------------------------------------------------------------------

// XXH64 of `data` (the xxHash 64-bit algorithm, stable across machines and releases).
uint64_t xxh64(const void* data, size_t n, uint64_t seed = 0);
inline uint64_t xxh64(std::string_view s, uint64_t seed = 0) {
  return xxh64(s.data(), s.size(), seed);
}

// Appends `v` as 16 lower-case hex digits.
void append_hex64(std::string& out, uint64_t v);

// ---- UUIDv7 -------------------------------------------------------------------------------

using Uuid = std::array<uint8_t, 16>;

// Random bytes from the kernel (getrandom, or /dev/urandom where it is missing), read in
// blocks. Throws RuntimeError when neither works.
class RandomBytes {
 public:
  void fill(void* out, size_t n);
  uint64_t u64();

 private:
  void refill();
  std::array<uint8_t, 4096> buf_{};
  size_t pos_ = sizeof(buf_);
};

// UUID version 7 (RFC 9562, section 5.7): 48-bit Unix time in milliseconds, version 7,
// variant 0b10, then a 42-bit counter (the 12 bits of rand_a and the top 30 bits of rand_b,
// RFC 9562 section 6.2 method 1) and 32 random bits. The counter starts at a random value
// below 2^41 in each new millisecond and counts up within it, so the IDs one generator
// hands out are strictly increasing, also when the clock steps back.
class Uuid7Generator {
 public:
  Uuid next();
  // The same at a given time (milliseconds since the Unix epoch): for tests.
  Uuid next_at(uint64_t unix_ms);

 private:
  RandomBytes random_;
  uint64_t last_ms_ = 0;
  uint64_t counter_ = 0;
  bool started_ = false;
};

// Milliseconds since the Unix epoch.
uint64_t unix_time_ms();

// Appends the canonical text form: 8-4-4-4-12 lower-case hex digits (36 characters).
void append_uuid(std::string& out, const Uuid& u);

// ---- IDs for records ---------------------------------------------------------------------

enum class IdMode { seq, uuid, hash };

struct IdOptions {
  IdMode mode = IdMode::seq;
  uint64_t start = 1;                    // seq: the first number
  std::string prefix;                    // IDs become strings that begin with it
  std::vector<std::string> hash_fields;  // hash: top-level fields to hash (empty: the record)
};

// Writes the JSON value of each record's ID: a number (seq without a prefix) or a string.
// hash: XXH64 of the record's text, or of the listed fields' values as written, each
// followed by 0x1F (a byte that JSON text never holds outside strings, nor raw in them).
class IdWriter {
 public:
  explicit IdWriter(IdOptions opts);
  // Appends the ID of the record `text` (a valid JSON object) to out; returns false with
  // the reason when it has none (a hash field is missing). Throws RuntimeError when the
  // sequence is exhausted.
  bool append(std::string_view text, std::string& out, std::string& reason);
  // seq: the number the next ID would get.
  uint64_t next() const { return next_; }

 private:
  bool hash_of(std::string_view text, uint64_t& h, std::string& reason);

  IdOptions opts_;
  uint64_t next_;
  std::string open_;  // what comes before the number, hash or UUID: a quote and the prefix
  Uuid7Generator uuid_;
  std::string scratch_;
};

// Sets a record's ID member in its text: the member's value is replaced where it stands, or
// the member is added at the end of the object; every other byte of the line is kept.
class IdSplicer {
 public:
  // `field`: a plain member name (no quote, backslash or control character).
  explicit IdSplicer(std::string_view field);
  // Appends to `out` the text that comes before the ID in `text` (a JSON object that
  // parsed; `present`: it has the member), with the member's name when the member is added.
  // Returns the offset in `text` where the line goes on after the ID; nothing when the
  // member is written with escapes, so that it cannot be found in the text.
  std::optional<size_t> head(std::string_view text, bool present, std::string& out) const;

 private:
  std::string field_;
  std::string member_;  // `,"FIELD":`
};

// ---- the sequence state file --------------------------------------------------------------

// The next sequence number kept in a file between runs, so IDs never repeat. The file holds
// one JSON object, {"next":N}; an empty file counts as absent. The file is locked (flock)
// from open() until the object is destroyed, so concurrent runs take turns; save() writes a
// temporary file next to it, locks it and renames it into place, so the file is whole at
// every moment (a kill -9 leaves the old state or the new one) and stays locked.
class SequenceState {
 public:
  // Opens (creating it empty when absent) and locks `path`, waiting for another run that
  // holds the lock. Throws UsageError when the file holds something else than a state,
  // RuntimeError on I/O errors, Interrupted when a stop is requested while waiting.
  explicit SequenceState(std::string path);
  ~SequenceState();
  SequenceState(const SequenceState&) = delete;
  SequenceState& operator=(const SequenceState&) = delete;

  // The next number the file records, or nothing when it has none yet.
  std::optional<uint64_t> next() const { return next_; }
  // Records `next` atomically (temp file, fsync, rename); the lock moves to the new file.
  // Throws RuntimeError. Call it as often as needed: before handing out numbers up to a
  // reservation, and at the end with the number really next.
  void save(uint64_t next);

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::optional<uint64_t> next_;
};

// The state file's text for `next`, and its reading. parse_state throws UsageError naming
// `path` when `text` is not a state.
std::string format_state(uint64_t next);
std::optional<uint64_t> parse_state(std::string_view text, const std::string& path);

}  // namespace cdn::record
