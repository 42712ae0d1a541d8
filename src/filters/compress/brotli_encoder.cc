// br: brotli's streaming encoder (RFC 7932).
//
// Memory: the ring buffer holding the window, the match finder's tables and the buffers for
// the metablock being built, all growing with lgwin and quality. brotli's default lgwin 22
// (a 4 MiB window) costs 26 MiB per stream at quality 5, far too much for a proxy that
// compresses thousands of responses at once. Measured at quality 5 with 16 KiB writes and
// the odd flush, the most a stream holds between calls: lgwin 16 1.7 MiB (1.9 MiB peak
// inside a call), lgwin 17 2.9 MiB, lgwin 18 3.2 MiB (4.4 MiB peak). lgwin 16 it is: its
// 64 KiB window is still twice gzip's, and brotli's gain over gzip comes mostly from its
// context modelling and static dictionary, which the window does not limit. Qualities 0-1
// take 150 KiB; 9 takes several MiB more and 10-11 are offline-class, slow and large:
// allowed, but the configuration docs must say so. The tests check the default's figure.

#include <brotli/encode.h>

#include "filters/compress/codecs.h"
#include "filters/compress/heap_account.h"
#include "filters/compress/stream_encoder.h"

namespace portico::filters::compress {
namespace {

constexpr int kWindowBits = 16;

class BrotliEncoder final : public StreamEncoder {
 public:
  BrotliEncoder() = default;
  BrotliEncoder(const BrotliEncoder&) = delete;
  BrotliEncoder& operator=(const BrotliEncoder&) = delete;
  ~BrotliEncoder() override {
    if (state_ != nullptr) BrotliEncoderDestroyInstance(state_);
  }

  bool init(int quality) {
    state_ =
        BrotliEncoderCreateInstance(&HeapAccount::brotliAlloc, &HeapAccount::brotliFree, &heap_);
    return state_ != nullptr &&
           BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY,
                                     static_cast<uint32_t>(quality)) &&
           BrotliEncoderSetParameter(state_, BROTLI_PARAM_LGWIN, kWindowBits);
  }

  size_t memoryBytes() const override { return heap_.current(); }

 private:
  Step run(Spans& spans, Flush flush) override {
    const BrotliEncoderOperation op = flush == Flush::None   ? BROTLI_OPERATION_PROCESS
                                      : flush == Flush::Sync ? BROTLI_OPERATION_FLUSH
                                                             : BROTLI_OPERATION_FINISH;
    if (!BrotliEncoderCompressStream(state_, op, &spans.in_left, &spans.in, &spans.out_left,
                                     &spans.out, nullptr))
      return Step::Error;
    switch (flush) {
      case Flush::None:
        return Step::More;
      case Flush::Sync:
        // brotli's rule: keep flushing until the input is gone and no output is pending.
        return spans.in_left == 0 && !BrotliEncoderHasMoreOutput(state_) ? Step::Done : Step::More;
      case Flush::Finish:
        return BrotliEncoderIsFinished(state_) ? Step::Done : Step::More;
    }
    return Step::Error;
  }

  HeapAccount heap_;  // outlives state_: destroyed after it
  BrotliEncoderState* state_ = nullptr;
};

}  // namespace

EncoderPtr makeBrotliEncoder(int level) {
  auto encoder = std::make_unique<BrotliEncoder>();
  if (!encoder->init(level)) return nullptr;
  return encoder;
}

}  // namespace portico::filters::compress
