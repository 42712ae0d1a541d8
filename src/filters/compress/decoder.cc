#include "filters/compress/decoder.h"

#include "filters/compress/codecs.h"

namespace portico::filters::compress {

DecoderPtr makeDecoder(http::ContentCoding coding, const DecodeLimits& limits) {
  switch (coding) {
    case http::ContentCoding::Gzip:
      return makeGzipDecoder(limits);
    case http::ContentCoding::Brotli:
      return makeBrotliDecoder(limits);
    case http::ContentCoding::Zstd:
      return makeZstdDecoder(limits);
    case http::ContentCoding::Identity:
      break;
  }
  return nullptr;
}

}  // namespace portico::filters::compress
