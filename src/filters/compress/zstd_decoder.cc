// zstd request bodies: ZSTD_decompressStream.
//
// Memory: the frame header names the window, and the decoder allocates it. windowLogMax 23
// refuses frames whose window passes 8 MiB (the most RFC 9659 lets an HTTP sender use)
// instead of zstd's default ceiling of 128 MiB; such a frame is an Error.
// One frame only: bytes after the first frame are an Error.

#include <zstd.h>

#include "filters/compress/codecs.h"
#include "filters/compress/stream_decoder.h"

namespace portico::filters::compress {
namespace {

constexpr int kWindowLogMax = 23;

class ZstdDecoder final : public StreamDecoder {
 public:
  using StreamDecoder::StreamDecoder;
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;
  ~ZstdDecoder() override { ZSTD_freeDCtx(dctx_); }  // accepts nullptr

  bool init() {
    dctx_ = ZSTD_createDCtx();
    return dctx_ != nullptr &&
           !ZSTD_isError(ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, kWindowLogMax));
  }

  size_t memoryBytes() const override { return ZSTD_sizeof_DCtx(dctx_); }

 private:
  Step run(Spans& spans) override {
    ZSTD_inBuffer input{spans.in, spans.in_left, 0};
    ZSTD_outBuffer output{spans.out, spans.out_left, 0};
    const size_t hint = ZSTD_decompressStream(dctx_, &output, &input);
    spans.in += input.pos;
    spans.in_left -= input.pos;
    spans.out += output.pos;
    spans.out_left -= output.pos;
    if (ZSTD_isError(hint)) return Step::Error;
    // 0: a frame is complete and fully flushed.
    return hint == 0 ? Step::End : Step::More;
  }

  ZSTD_DCtx* dctx_ = nullptr;
};

}  // namespace

DecoderPtr makeZstdDecoder(const DecodeLimits& limits) {
  auto decoder = std::make_unique<ZstdDecoder>(limits);
  if (!decoder->init()) return nullptr;
  return decoder;
}

}  // namespace portico::filters::compress
