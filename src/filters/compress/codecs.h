#pragma once
// The constructors behind makeEncoder() and makeDecoder(), one pair per coding file
// (gzip_*.cc, brotli_*.cc, zstd_*.cc). Internal to compress/: callers use the factories,
// which validate the level and pick the coding. Each returns nullptr when its library
// cannot set up its state.

#include "filters/compress/decoder.h"
#include "filters/compress/encoder.h"

namespace portico::filters::compress {

EncoderPtr makeGzipEncoder(int level);
EncoderPtr makeBrotliEncoder(int level);
EncoderPtr makeZstdEncoder(int level);

DecoderPtr makeGzipDecoder(const DecodeLimits& limits);
DecoderPtr makeBrotliDecoder(const DecodeLimits& limits);
DecoderPtr makeZstdDecoder(const DecodeLimits& limits);

}  // namespace portico::filters::compress
