// gzip request bodies: zlib's inflate, gzip wrapper only (Content-Encoding: gzip says so).
//
// Memory: a 32 KiB window plus about 7 KiB of state, whatever the input claims: inflate
// never allocates more than the largest window deflate allows.
// One member only: bytes after the first member's trailer are an Error, not a second member.

#include <zlib.h>

#include "filters/compress/codecs.h"
#include "filters/compress/heap_account.h"
#include "filters/compress/stream_decoder.h"

namespace portico::filters::compress {
namespace {

constexpr int kWindowBits = 15;
constexpr int kGzipOnly = 16;  // added to windowBits: expect a gzip header, not zlib's

class GzipDecoder final : public StreamDecoder {
 public:
  using StreamDecoder::StreamDecoder;
  GzipDecoder(const GzipDecoder&) = delete;
  GzipDecoder& operator=(const GzipDecoder&) = delete;
  ~GzipDecoder() override {
    if (initialized_) inflateEnd(&zs_);
  }

  bool init() {
    zs_.zalloc = &HeapAccount::zlibAlloc;
    zs_.zfree = &HeapAccount::zlibFree;
    zs_.opaque = &heap_;
    initialized_ = inflateInit2(&zs_, kWindowBits + kGzipOnly) == Z_OK;
    return initialized_;
  }

  size_t memoryBytes() const override { return heap_.current(); }

 private:
  Step run(Spans& spans) override {
    // Spans never exceed a buffer block (16 KiB), so they fit zlib's 32-bit counters.
    zs_.next_in = const_cast<Bytef*>(spans.in);  // zlib's API is not const-correct
    zs_.avail_in = static_cast<uInt>(spans.in_left);
    zs_.next_out = spans.out;
    zs_.avail_out = static_cast<uInt>(spans.out_left);
    const int rc = inflate(&zs_, Z_NO_FLUSH);
    spans.in = zs_.next_in;
    spans.in_left = zs_.avail_in;
    spans.out = zs_.next_out;
    spans.out_left = zs_.avail_out;
    switch (rc) {
      case Z_STREAM_END:
        return Step::End;
      case Z_OK:
      case Z_BUF_ERROR:  // no progress possible now: more input or room is needed
        return Step::More;
      default:  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, Z_STREAM_ERROR
        return Step::Error;
    }
  }

  HeapAccount heap_;  // outlives the inflate state
  z_stream zs_{};
  bool initialized_ = false;
};

}  // namespace

DecoderPtr makeGzipDecoder(const DecodeLimits& limits) {
  auto decoder = std::make_unique<GzipDecoder>(limits);
  if (!decoder->init()) return nullptr;
  return decoder;
}

}  // namespace portico::filters::compress
