// A byte stream from a file or stdin, gunzipped when it starts with the gzip magic number
// (whatever its name). A stop request (SIGINT/SIGTERM) reads as end of input.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cdn::io {

class ByteReader {
 public:
  // "-" is stdin. Throws RuntimeError when the file cannot be opened.
  explicit ByteReader(const std::string& path);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Reads up to n bytes; 0 at end of input. Throws RuntimeError on I/O or gzip errors.
  size_t read(char* buf, size_t n);

  const std::string& name() const { return name_; }
  bool gzipped() const { return gzip_; }
  // Reading ended because SIGINT or SIGTERM asked to stop, not at the end of the input.
  bool stopped() const { return stopped_; }
  // `f` runs before a read would wait for bytes that have not arrived yet (a pipe or a
  // terminal with nothing new), and every 100 ms while it waits.
  void on_idle(std::function<void()> f) { idle_ = std::move(f); }

 private:
  size_t read_raw(char* buf, size_t n);
  size_t read_fd(char* buf, size_t n);
  size_t read_gzip(char* buf, size_t n);

  std::string name_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool gzip_ = false;
  bool eof_ = false;
  bool stopped_ = false;
  std::function<void()> idle_;
  // Bytes read while sniffing the magic number, served before the fd.
  std::vector<char> pending_;
  size_t pending_pos_ = 0;
  // gzip state
  std::unique_ptr<z_stream> z_;
  std::vector<unsigned char> zin_;
  bool z_end_ = false;
  uint64_t z_read_ = 0;    // compressed bytes read from the file
  uint64_t z_end_at_ = 0;  // where the last member read to its end ends
};

}  // namespace cdn::io
