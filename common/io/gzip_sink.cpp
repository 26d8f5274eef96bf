#include "common/io/gzip_sink.hpp"

#include <zlib.h>

#include <algorithm>
#include <string>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::io {

namespace {

class GzipSink : public Sink {
 public:
  explicit GzipSink(std::unique_ptr<Sink> inner) : Sink(inner->name()), inner_(std::move(inner)) {
    // windowBits 15 + 16: a gzip header and trailer around the deflate stream; level 6 is
    // gzip's own default.
    if (deflateInit2(&zs_, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw RuntimeError("cannot compress " + diag::quoted(name()) + ": zlib cannot start");
    }
    out_.resize(size_t{256} << 10);
  }
  ~GzipSink() override { deflateEnd(&zs_); }

  void flush() override {
    flush_buffer();
    if (pending_) {
      deflate_all(nullptr, 0, Z_SYNC_FLUSH);
      pending_ = false;
    }
    inner_->flush();
  }
  // Ends the gzip member; what is written after (a stream committed as it goes) starts a
  // new one, and gzip readers read members one after the other.
  void commit() override {
    flush_buffer();
    // An output with no records is still a gzip file: one empty member.
    if (started_ || !ended_one_) {
      deflate_all(nullptr, 0, Z_FINISH);
      if (deflateReset(&zs_) != Z_OK) {
        throw RuntimeError("cannot compress " + diag::quoted(name()) + ": zlib failed");
      }
      started_ = pending_ = false;
      ended_one_ = true;
    }
    inner_->commit();
  }
  bool holds_until_commit() const override { return inner_->holds_until_commit(); }
  std::optional<FileId> file_id() const override { return inner_->file_id(); }

 protected:
  void write_out(const char* data, size_t n) override {
    if (n == 0) return;
    deflate_all(data, n, Z_NO_FLUSH);
    started_ = pending_ = true;
  }

 private:
  // Compresses data[0, n) with `mode`, handing every byte made to inner_.
  void deflate_all(const char* data, size_t n, int mode) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    size_t left = n;
    for (;;) {
      // avail_in is 32 bits wide: large writes go in slices.
      auto slice = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
      zs_.avail_in = slice;
      int flush = slice == left ? mode : Z_NO_FLUSH;
      do {
        zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
        zs_.avail_out = static_cast<uInt>(out_.size());
        int r = deflate(&zs_, flush);
        if (r == Z_STREAM_ERROR) {
          throw RuntimeError("cannot compress " + diag::quoted(name()) + ": zlib failed");
        }
        size_t made = out_.size() - zs_.avail_out;
        if (made > 0) inner_->write_bytes({out_.data(), made});
      } while (zs_.avail_out == 0);
      left -= slice;
      if (left == 0) return;
    }
  }

  std::unique_ptr<Sink> inner_;
  z_stream zs_{};
  std::string out_;
  bool pending_ = false;    // bytes given since the last flush
  bool started_ = false;    // a member is open: bytes given since the last commit
  bool ended_one_ = false;  // a member was ended
};

}  // namespace

std::unique_ptr<Sink> gzip_sink(std::unique_ptr<Sink> inner) {
  return std::make_unique<GzipSink>(std::move(inner));
}

}  // namespace cdn::io
