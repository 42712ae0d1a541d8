#include "filters/compress/encoder.h"

#include "filters/compress/codecs.h"

namespace portico::filters::compress {

LevelRange levelRange(http::ContentCoding coding) {
  // The fallbacks trade ratio for CPU the way a proxy compressing on the fly must: zlib's
  // own default for gzip; brotli 5, which already beats gzip 6 in size at similar speed
  // (from 10 up brotli is an offline compressor); zstd's own default.
  switch (coding) {
    case http::ContentCoding::Gzip:
      return {1, 9, 6};
    case http::ContentCoding::Brotli:
      return {0, 11, 5};
    case http::ContentCoding::Zstd:
      return {1, 19, 3};
    case http::ContentCoding::Identity:
      break;
  }
  return {0, 0, 0};
}

EncoderPtr makeEncoder(http::ContentCoding coding, int level) {
  const LevelRange range = levelRange(coding);
  if (coding == http::ContentCoding::Identity || level < range.min || level > range.max)
    return nullptr;
  switch (coding) {
    case http::ContentCoding::Gzip:
      return makeGzipEncoder(level);
    case http::ContentCoding::Brotli:
      return makeBrotliEncoder(level);
    case http::ContentCoding::Zstd:
      return makeZstdEncoder(level);
    case http::ContentCoding::Identity:
      break;
  }
  return nullptr;
}

}  // namespace portico::filters::compress
