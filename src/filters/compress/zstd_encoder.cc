// zstd: ZSTD_compressStream2 (RFC 8878; HTTP use per RFC 9659).
//
// Memory: a stream holds its window twice over (zstd's own input buffer keeps the window
// plus a block, since our input does not stay put between calls), a 128 KiB output buffer,
// and the level's match tables; ZSTD_sizeof_CCtx() reports the total, allocated up front.
// Level 3's own window is 2 MiB (3.5 MiB per stream), and from level 10 up zstd would pick
// the 8 MiB RFC 9659 allows at most. The window log is fixed at 19 (512 KiB) for every
// level, sixteen times gzip's and past what web bodies repeat across: measured per stream,
// level 1 1.3 MiB, level 3 2.0 MiB, level 6 4.2 MiB, level 9 13 MiB, level 19 82 MiB (the
// tables, not the window, dominate high levels: the configuration docs must say so). The
// tests check the default level's figure.

#include <zstd.h>

#include "filters/compress/codecs.h"
#include "filters/compress/stream_encoder.h"

namespace portico::filters::compress {
namespace {

constexpr int kWindowLog = 19;

class ZstdEncoder final : public StreamEncoder {
 public:
  ZstdEncoder() = default;
  ZstdEncoder(const ZstdEncoder&) = delete;
  ZstdEncoder& operator=(const ZstdEncoder&) = delete;
  ~ZstdEncoder() override { ZSTD_freeCCtx(cctx_); }  // accepts nullptr

  bool init(int level) {
    cctx_ = ZSTD_createCCtx();
    return cctx_ != nullptr &&
           !ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level)) &&
           !ZSTD_isError(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, kWindowLog));
  }

  size_t memoryBytes() const override { return ZSTD_sizeof_CCtx(cctx_); }

 private:
  Step run(Spans& spans, Flush flush) override {
    ZSTD_inBuffer input{spans.in, spans.in_left, 0};
    ZSTD_outBuffer output{spans.out, spans.out_left, 0};
    const ZSTD_EndDirective directive = flush == Flush::None   ? ZSTD_e_continue
                                        : flush == Flush::Sync ? ZSTD_e_flush
                                                               : ZSTD_e_end;
    const size_t remaining = ZSTD_compressStream2(cctx_, &output, &input, directive);
    spans.in += input.pos;
    spans.in_left -= input.pos;
    spans.out += output.pos;
    spans.out_left -= output.pos;
    if (ZSTD_isError(remaining)) return Step::Error;
    if (flush == Flush::None) return Step::More;
    // For e_flush and e_end, the bytes still to write: 0 means the flush or frame is done.
    return remaining == 0 ? Step::Done : Step::More;
  }

  // Drops the frame in progress; the level, window and tables stay.
  bool resetStream() override {
    return !ZSTD_isError(ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only));
  }

  ZSTD_CCtx* cctx_ = nullptr;
};

}  // namespace

EncoderPtr makeZstdEncoder(int level) {
  auto encoder = std::make_unique<ZstdEncoder>();
  if (!encoder->init(level)) return nullptr;
  return encoder;
}

}  // namespace portico::filters::compress
