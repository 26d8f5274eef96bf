// Where records go: stdout, stderr or a file written under a temporary name and renamed
// into place by commit(), so a failed run never leaves a half-written file behind.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cdn::io {

// The file a sink writes, to find two sinks that would write one file: the device and inode
// of an existing regular file, or else the resolved path the file is to have.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  std::string path;
  bool stream = false;  // a standard stream (stdout, stderr) redirected to the file
};

class Sink {
 public:
  explicit Sink(std::string name) : name_(std::move(name)) { buf_.reserve(kBuffer + 4096); }
  virtual ~Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // Appends one line (a '\n' is added).
  void write_line(std::string_view line) {
    buf_.append(line.data(), line.size());
    buf_ += '\n';
    if (buf_.size() >= kBuffer) flush_buffer();
  }
  // Appends complete lines, each already ending in '\n' (a block of them at once).
  void write_lines(std::string_view lines) {
    buf_.append(lines.data(), lines.size());
    if (buf_.size() >= kBuffer) flush_buffer();
  }
  // Appends complete lines given where they lie (each span one or more lines, each ending in
  // '\n'): a sink on a file descriptor writes them from there with writev, without copying
  // them into its buffer first. `iov` may be changed.
  void write_spans(iovec* iov, size_t n);
  // A sink whose lines are messages with keys (a Kafka topic): write_keyed keeps each line's
  // key. Others ignore keys, and write_keyed is write_line.
  virtual bool takes_keys() const { return false; }
  virtual void write_keyed(std::string_view line, std::optional<std::string_view> key) {
    (void)key;
    write_line(line);
  }
  // Appends bytes that are not lines: an encoding sink (gzip) hands on what it made so.
  void write_bytes(std::string_view bytes) {
    buf_.append(bytes.data(), bytes.size());
    if (buf_.size() >= kBuffer) flush_buffer();
  }
  // Writes everything buffered (a sink that encodes, through to the sink it writes to).
  virtual void flush() { flush_buffer(); }
  // A sink that may refuse a line it took (a CSV file refuses a record its header has no
  // column for) calls `f` for each: the line's number at this output (from 1), its text and
  // the reason. The run counts the record rejected instead of out. Other sinks never call it.
  using Refused = std::function<void(uint64_t, std::string_view, std::string_view)>;
  virtual void on_refused(Refused f) { (void)f; }
  // Flushes and makes the output final (renames a file into place). Throws on failure.
  virtual void commit() { flush(); }
  // True while what was written becomes visible only at commit() (a file written under a
  // temporary name), and commit() ends the writing: a Kafka input must not commit its
  // offsets before then, or a crash would lose those records.
  virtual bool holds_until_commit() const { return false; }
  // The regular file written, if any: none for a terminal, a pipe, /dev/null or Kafka.
  virtual std::optional<FileId> file_id() const { return std::nullopt; }
  // For a sink that can lose lines after taking them (a Kafka topic whose messages were not
  // delivered): how many lines did reach their destination. nullopt while nothing was lost,
  // and for every other sink (what it cannot write is an error at once).
  virtual std::optional<uint64_t> delivered() const { return std::nullopt; }

  const std::string& name() const { return name_; }

 protected:
  static constexpr size_t kBuffer = size_t{1} << 20;
  virtual void write_out(const char* data, size_t n) = 0;
  // Writes spans straight to the sink's file descriptor; false when it has none (the spans
  // then go through the buffer).
  virtual bool write_out_spans(iovec* iov, size_t n) {
    (void)iov;
    (void)n;
    return false;
  }
  void flush_buffer() {
    if (buf_.empty()) return;
    write_out(buf_.data(), buf_.size());
    buf_.clear();
  }

 private:
  std::string name_;
  std::string buf_;
};

enum class SinkRole { output, rejects };

// "-" is stdout for outputs and stderr for rejects; anything else is a path (endpoint/ opens
// kafka:TOPIC). Throws UsageError / RuntimeError, also for an output to a stdout that was
// closed at the start (see std_fds.hpp).
std::unique_ptr<Sink> open_file_sink(const std::string& spec, SinkRole role);

// The output of a command that writes no records (they go to Kafka or InfluxDB, or there
// are none): it takes none of stdout, and nothing may be written to it.
std::unique_ptr<Sink> no_output();

// True when a and b would write one regular file (the second commit would replace the first);
// two standard streams redirected to one file (>log 2>&1) are not counted.
bool same_file(const Sink& a, const Sink& b);

// Writes all of data to fd, retrying on EINTR. Throws BrokenPipe on EPIPE when
// broken_pipe_is_quiet, RuntimeError otherwise (saying what to do when the disk is full).
void write_all(int fd, const char* data, size_t n, const std::string& name,
               bool broken_pipe_is_quiet);

// What to change after a write failed with `err` for want of room (ENOSPC, EDQUOT, EFBIG),
// starting with "; "; empty for other errors.
std::string no_room_hint(int err);

}  // namespace cdn::io
