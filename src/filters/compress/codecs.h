#pragma once
// The constructors behind makeEncoder(), one per coding file (gzip_encoder.cc, ...). Internal to compress/: callers use the factories,
// which validate the level and pick the coding. Each returns nullptr when its library
// cannot set up its state.

#include "filters/compress/encoder.h"

namespace portico::filters::compress {

EncoderPtr makeGzipEncoder(int level);
EncoderPtr makeBrotliEncoder(int level);
EncoderPtr makeZstdEncoder(int level);

}  // namespace portico::filters::compress
