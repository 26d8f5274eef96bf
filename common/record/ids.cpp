#include "common/record/ids.hpp"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/signals.hpp"
#include "common/io/sink.hpp"
#include "common/io/temp_file.hpp"
#include "common/record/fields.hpp"

namespace cdn::record {

// ---- XXH64 --------------------------------------------------------------------------------

namespace {
constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kP5 = 0x27D4EB2F165667C5ULL;

inline uint64_t read64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline uint32_t read32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

inline uint64_t round64(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  acc = std::rotl(acc, 31);
  return acc * kP1;
}

inline uint64_t merge64(uint64_t acc, uint64_t val) {
  acc ^= round64(0, val);
  return acc * kP1 + kP4;
}
}  // namespace

uint64_t xxh64(const void* data, size_t n, uint64_t seed) {
  const auto* p = static_cast<const uint8_t*>(data);
  const uint8_t* end = p + n;
  uint64_t h;
  if (n >= 32) {
    uint64_t v1 = seed + kP1 + kP2, v2 = seed + kP2, v3 = seed, v4 = seed - kP1;
    const uint8_t* limit = end - 32;
    do {
      v1 = round64(v1, read64(p));
      v2 = round64(v2, read64(p + 8));
      v3 = round64(v3, read64(p + 16));
      v4 = round64(v4, read64(p + 24));
      p += 32;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = merge64(h, v1);
    h = merge64(h, v2);
    h = merge64(h, v3);
    h = merge64(h, v4);
  } else {
    h = seed + kP5;
  }
  h += static_cast<uint64_t>(n);
  while (end - p >= 8) {
    h ^= round64(0, read64(p));
    h = std::rotl(h, 27) * kP1 + kP4;
    p += 8;
  }
  if (end - p >= 4) {
    h ^= static_cast<uint64_t>(read32(p)) * kP1;
    h = std::rotl(h, 23) * kP2 + kP3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<uint64_t>(*p) * kP5;
    h = std::rotl(h, 11) * kP1;
    ++p;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

namespace {
constexpr char kHex[] = "0123456789abcdef";
}

void append_hex64(std::string& out, uint64_t v) {
  char buf[16];
  for (int i = 15; i >= 0; --i) {
    buf[i] = kHex[v & 15];
    v >>= 4;
  }
  out.append(buf, 16);
}

// ---- UUIDv7 -------------------------------------------------------------------------------

void RandomBytes::refill() {
  size_t got = 0;
  while (got < buf_.size()) {
    ssize_t r = ::getrandom(buf_.data() + got, buf_.size() - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == ENOSYS) break;
    throw RuntimeError("cannot read random bytes from the kernel: " + errno_text(errno));
  }
  if (got < buf_.size()) {
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw RuntimeError("cannot open '/dev/urandom': " + errno_text(errno) +
                         "; UUIDs need a source of random bytes");
    }
    while (got < buf_.size()) {
      ssize_t r = ::read(fd, buf_.data() + got, buf_.size() - got);
      if (r > 0) {
        got += static_cast<size_t>(r);
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else {
        int err = r < 0 ? errno : EIO;
        ::close(fd);
        throw RuntimeError("cannot read '/dev/urandom': " + errno_text(err));
      }
    }
    ::close(fd);
  }
  pos_ = 0;
}

void RandomBytes::fill(void* out, size_t n) {
  auto* o = static_cast<uint8_t*>(out);
  while (n > 0) {
    if (pos_ == buf_.size()) refill();
    size_t k = std::min(n, buf_.size() - pos_);
    std::memcpy(o, buf_.data() + pos_, k);
    pos_ += k;
    o += k;
    n -= k;
  }
}

uint64_t RandomBytes::u64() {
  uint64_t v;
  fill(&v, sizeof v);
  return v;
}

uint64_t unix_time_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

Uuid Uuid7Generator::next() {
  return next_at(unix_time_ms());
}

Uuid Uuid7Generator::next_at(uint64_t unix_ms) {
  constexpr uint64_t kCounterBits = 42;
  constexpr uint64_t kSeedMask = (uint64_t{1} << (kCounterBits - 1)) - 1;
  constexpr uint64_t kTimeMask = (uint64_t{1} << 48) - 1;
  unix_ms &= kTimeMask;
  if (!started_ || unix_ms > last_ms_) {
    last_ms_ = unix_ms;
    counter_ = random_.u64() & kSeedMask;
    started_ = true;
  } else if (++counter_ >> kCounterBits) {
    // 2^41 or more IDs in one millisecond: borrow the next one (RFC 9562, 6.2).
    last_ms_ = (last_ms_ + 1) & kTimeMask;
    counter_ = random_.u64() & kSeedMask;
  }
  uint32_t tail;
  random_.fill(&tail, sizeof tail);

  Uuid u;
  for (int i = 0; i < 6; ++i) u[i] = static_cast<uint8_t>(last_ms_ >> (40 - 8 * i));
  u[6] = static_cast<uint8_t>(0x70 | ((counter_ >> 38) & 0x0F));
  u[7] = static_cast<uint8_t>(counter_ >> 30);
  u[8] = static_cast<uint8_t>(0x80 | ((counter_ >> 24) & 0x3F));
  u[9] = static_cast<uint8_t>(counter_ >> 16);
  u[10] = static_cast<uint8_t>(counter_ >> 8);
  u[11] = static_cast<uint8_t>(counter_);
  for (int i = 0; i < 4; ++i) u[12 + i] = static_cast<uint8_t>(tail >> (24 - 8 * i));
  return u;
}

void append_uuid(std::string& out, const Uuid& u) {
  char buf[36];
  size_t j = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf[j++] = '-';
    buf[j++] = kHex[u[i] >> 4];
    buf[j++] = kHex[u[i] & 15];
  }
  out.append(buf, sizeof buf);
}

// ---- IDs for records ---------------------------------------------------------------------

IdWriter::IdWriter(IdOptions opts) : opts_(std::move(opts)), next_(opts_.start) {
  if (!opts_.prefix.empty()) {
    base::append_json_string(open_, opts_.prefix);
    open_.pop_back();  // the closing quote comes after the number, UUID or hash
  } else if (opts_.mode != IdMode::seq) {
    open_.push_back('"');
  }
}

bool IdWriter::append(std::string_view text, std::string& out, std::string& reason) {
  switch (opts_.mode) {
    case IdMode::hash: {
      uint64_t h;
      if (!hash_of(text, h, reason)) return false;
      out += open_;
      append_hex64(out, h);
      break;
    }
    case IdMode::uuid:
      out += open_;
      append_uuid(out, uuid_.next());
      break;
    case IdMode::seq:
      if (next_ == std::numeric_limits<uint64_t>::max()) {
        throw RuntimeError("the sequence reached its largest value, " + std::to_string(next_) +
                           "; start a new sequence with another --state file or a --prefix");
      }
      out += open_;
      base::append_uint(out, next_++);
      break;
  }
  if (!open_.empty()) out += '"';
  return true;
}

bool IdWriter::hash_of(std::string_view text, uint64_t& h, std::string& reason) {
  if (opts_.hash_fields.empty()) {
    h = xxh64(text);
    return true;
  }
  scratch_.clear();
  for (const auto& f : opts_.hash_fields) {
    auto span = find_member(text, f);
    if (!span) {
      reason = "missing hash field " + diag::quoted(f);
      return false;
    }
    scratch_.append(text.substr(span->value_begin, span->value_end - span->value_begin));
    scratch_ += '\x1f';
  }
  h = xxh64(scratch_);
  return true;
}

IdSplicer::IdSplicer(std::string_view field) : field_(field) {
  member_ += ',';
  base::append_json_string(member_, field_);
  member_ += ':';
}

std::optional<size_t> IdSplicer::head(std::string_view text, bool present, std::string& out) const {
  if (present) {
    auto span = find_member(text, field_);
    if (!span || span->escaped_key) return std::nullopt;
    out.append(text.substr(0, span->value_begin));
    return span->value_end;
  }
  auto end = object_end(text);  // a parsed object: always found
  out.append(text.substr(0, end->close));
  out.append(end->empty ? std::string_view(member_).substr(1) : std::string_view(member_));
  return end->close;
}

// ---- the sequence state file --------------------------------------------------------------

std::string format_state(uint64_t next) {
  std::string s = "{\"next\":";
  base::append_uint(s, next);
  s += "}\n";
  return s;
}

std::optional<uint64_t> parse_state(std::string_view text, const std::string& path) {
  size_t b = text.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return std::nullopt;  // empty: no state yet
  auto bad = [&](const std::string& what) {
    return UsageError("cannot read the state file " + diag::quoted(path) + ": " + what +
                      "; it should hold {\"next\":N}: fix it or remove it to start over");
  };
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root)) {
    throw bad(std::string("invalid JSON (") + simdjson::error_message(err) + ")");
  }
  simdjson::dom::element next;
  if (root.at_key("next").get(next)) throw bad("no member 'next'");
  uint64_t v;
  if (next.get_uint64().get(v)) throw bad("'next' is not a non-negative integer");
  return v;
}

namespace {
bool same_file(int fd, const std::string& path) {
  struct stat a, b;
  if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

std::string read_fd(int fd, const std::string& path) {
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r > 0) {
      text.append(buf, static_cast<size_t>(r));
      if (text.size() > (size_t{1} << 20)) {
        throw UsageError("the state file " + diag::quoted(path) +
                         " is larger than 1 MiB, so it is not a state file; name another file");
      }
    } else if (r == 0) {
      return text;
    } else if (errno != EINTR) {
      throw RuntimeError("cannot read the state file " + diag::quoted(path) + ": " +
                         errno_text(errno));
    }
  }
}
}  // namespace

SequenceState::SequenceState(std::string path) : path_(std::move(path)) {
  // The lock is taken on the file itself. save() replaces the file by rename, so after
  // getting the lock a run checks that the path still names the file it locked; if not, it
  // locks the new file.
  for (;;) {
    io::check_output_path(path_, "the state file ", "name a file in a writable directory");
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      throw RuntimeError("cannot open the state file " + diag::quoted(path_) + ": " +
                         errno_text(errno) + "; name a file in a writable directory");
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw RuntimeError("cannot lock the state file " + diag::quoted(path_) + ": " +
                           errno_text(err));
      }
      diag::info("waiting for another run that holds the state file " + diag::quoted(path_));
      while (::flock(fd_, LOCK_EX) != 0) {
        int err = errno;
        if (err == EINTR && !io::stop_requested()) continue;
        ::close(fd_);
        fd_ = -1;
        if (err == EINTR) io::throw_if_stopped();
        throw RuntimeError("cannot lock the state file " + diag::quoted(path_) + ": " +
                           errno_text(err));
      }
    }
    if (same_file(fd_, path_)) break;
    ::close(fd_);  // replaced while we waited: lock the new one
    fd_ = -1;
  }
  try {
    next_ = parse_state(read_fd(fd_, path_), path_);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

SequenceState::~SequenceState() {
  if (fd_ >= 0) ::close(fd_);
}

void SequenceState::save(uint64_t next) {
  std::string prefix(1, '.');  // a hidden ".NAME.XXXXXX" next to the file
  prefix += io::base_of(path_);
  prefix += '.';
  io::TempFile tmp(io::dir_of(path_), prefix);
  std::string text = format_state(next);
  io::write_all(tmp.fd(), text.data(), text.size(), tmp.path(), false);
  struct stat st;
  mode_t mode = 0644;
  if (::fstat(fd_, &st) == 0) mode = st.st_mode & 07777;
  if (::fchmod(tmp.fd(), mode) != 0 || ::fsync(tmp.fd()) != 0) {
    throw RuntimeError("cannot write the state file " + diag::quoted(tmp.path()) + ": " +
                       errno_text(errno));
  }
  // The new file is locked before it takes the name, so the lock passes from the old file
  // to the new one without a gap: a run waiting on the old file finds it replaced and waits
  // on the new one, and a run that opens the name now waits too. Nobody else has the new
  // file open, so the lock is granted at once.
  int locked = ::fcntl(tmp.fd(), F_DUPFD_CLOEXEC, 0);
  if (locked < 0 || ::flock(locked, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (locked >= 0) ::close(locked);
    throw RuntimeError("cannot lock the state file " + diag::quoted(tmp.path()) + ": " +
                       errno_text(err));
  }
  try {
    tmp.rename_to(path_);
  } catch (...) {
    ::close(locked);
    throw;
  }
  int dir = ::open(io::dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // makes the rename durable; best effort
    ::close(dir);
  }
  ::close(fd_);
  fd_ = locked;
  next_ = next;
}

}  // namespace cdn::record
