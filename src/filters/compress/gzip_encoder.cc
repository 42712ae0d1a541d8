// gzip: zlib's deflate with the gzip wrapper (RFC 1952).
//
// Memory: deflate takes (1 << (windowBits + 2)) + (1 << (memLevel + 9)) bytes plus about
// 6 KiB of state, whatever the level: with windowBits 15 and memLevel 8 that is 128 KiB of
// window and 128 KiB of hash chains, about 262 KiB per stream (measured by the tests through
// HeapAccount). The 32 KiB window is the most any gzip client must support, and memLevel 8
// is zlib's default: 9 gains almost nothing and costs another 128 KiB.

#include <zlib.h>

#include "filters/compress/codecs.h"
#include "filters/compress/heap_account.h"
#include "filters/compress/stream_encoder.h"

namespace portico::filters::compress {
namespace {

constexpr int kWindowBits = 15;
constexpr int kGzipWrapper = 16;  // added to windowBits: a gzip header and trailer, not zlib's
constexpr int kMemLevel = 8;

class GzipEncoder final : public StreamEncoder {
 public:
  GzipEncoder() = default;
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;
  ~GzipEncoder() override {
    if (initialized_) deflateEnd(&zs_);
  }

  bool init(int level) {
    zs_.zalloc = &HeapAccount::zlibAlloc;
    zs_.zfree = &HeapAccount::zlibFree;
    zs_.opaque = &heap_;
    initialized_ = deflateInit2(&zs_, level, Z_DEFLATED, kWindowBits + kGzipWrapper, kMemLevel,
                                Z_DEFAULT_STRATEGY) == Z_OK;
    return initialized_;
  }

  size_t memoryBytes() const override { return heap_.current(); }

 private:
  Step run(Spans& spans, Flush flush) override {
    // Spans never exceed a buffer block (16 KiB), so they fit zlib's 32-bit counters.
    zs_.next_in = const_cast<Bytef*>(spans.in);  // zlib's API is not const-correct
    zs_.avail_in = static_cast<uInt>(spans.in_left);
    zs_.next_out = spans.out;
    zs_.avail_out = static_cast<uInt>(spans.out_left);
    const int mode = flush == Flush::None   ? Z_NO_FLUSH
                     : flush == Flush::Sync ? Z_SYNC_FLUSH
                                            : Z_FINISH;
    const int rc = deflate(&zs_, mode);
    spans.in = zs_.next_in;
    spans.in_left = zs_.avail_in;
    spans.out = zs_.next_out;
    spans.out_left = zs_.avail_out;
    // Z_BUF_ERROR only means "no progress possible": the driver's idle count handles it.
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return Step::Error;
    switch (flush) {
      case Flush::None:
        return Step::More;
      case Flush::Sync:
        // zlib's rule: a flush is complete once deflate returns with output room to spare.
        return zs_.avail_out > 0 ? Step::Done : Step::More;
      case Flush::Finish:
        return rc == Z_STREAM_END ? Step::Done : Step::More;
    }
    return Step::Error;
  }

  // Keeps the window and hash tables; zlib clears the hash heads and writes a new header.
  bool resetStream() override { return initialized_ && deflateReset(&zs_) == Z_OK; }

  HeapAccount heap_;  // declared before zs_ is used, destroyed after deflateEnd()
  z_stream zs_{};
  bool initialized_ = false;
};

}  // namespace

EncoderPtr makeGzipEncoder(int level) {
  auto encoder = std::make_unique<GzipEncoder>();
  if (!encoder->init(level)) return nullptr;
  return encoder;
}

}  // namespace portico::filters::compress
