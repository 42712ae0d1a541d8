// br request bodies: brotli's streaming decoder.
//
// Memory: the sender picks the window (up to 16 MiB), and the decoder allocates a ring
// buffer to match. The heap is capped at kHeapLimit instead: a stream that needs more fails
// with an allocation error (Error), as it should for a request body. Browsers' and brotli's
// own default window is 4 MiB, which fits.

#include <brotli/decode.h>

#include "filters/compress/codecs.h"
#include "filters/compress/heap_account.h"
#include "filters/compress/stream_decoder.h"

namespace portico::filters::compress {
namespace {

constexpr size_t kHeapLimit = 9 * 1024 * 1024;  // an 8 MiB window and the decoder's tables

class BrotliDecoder final : public StreamDecoder {
 public:
  using StreamDecoder::StreamDecoder;
  BrotliDecoder(const BrotliDecoder&) = delete;
  BrotliDecoder& operator=(const BrotliDecoder&) = delete;
  ~BrotliDecoder() override {
    if (state_ != nullptr) BrotliDecoderDestroyInstance(state_);
  }

  bool init() {
    state_ =
        BrotliDecoderCreateInstance(&HeapAccount::brotliAlloc, &HeapAccount::brotliFree, &heap_);
    return state_ != nullptr;
  }

  size_t memoryBytes() const override { return heap_.current(); }

 private:
  Step run(Spans& spans) override {
    switch (BrotliDecoderDecompressStream(state_, &spans.in_left, &spans.in, &spans.out_left,
                                          &spans.out, nullptr)) {
      case BROTLI_DECODER_RESULT_SUCCESS:
        return Step::End;
      case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
      case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
        return Step::More;
      case BROTLI_DECODER_RESULT_ERROR:
        break;
    }
    return Step::Error;
  }

  HeapAccount heap_{kHeapLimit};  // outlives state_
  BrotliDecoderState* state_ = nullptr;
};

}  // namespace

DecoderPtr makeBrotliDecoder(const DecodeLimits& limits) {
  auto decoder = std::make_unique<BrotliDecoder>(limits);
  if (!decoder->init()) return nullptr;
  return decoder;
}

}  // namespace portico::filters::compress
