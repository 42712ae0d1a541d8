#pragma once
// Spans: the input and output window of one call into a compression library. Each codec's
// adapter maps it onto its library's own struct (z_stream, brotli's pointer pairs,
// ZSTD_inBuffer/ZSTD_outBuffer) and advances it by what the call consumed and produced; the
// drivers (stream_encoder.cc, stream_decoder.cc) move the bytes between it and the buffers.

#include <cstddef>
#include <cstdint>

namespace portico::filters::compress {

struct Spans {
  const uint8_t* in;
  size_t in_left;
  uint8_t* out;
  size_t out_left;
};

// The least output room handed to a library call. zlib asks for more than six bytes on a
// sync flush, or it repeats the flush marker; the others merely make less progress per call.
inline constexpr size_t kMinOutputRoom = 64;

// A library call that neither consumes nor produces is allowed this many times in a row
// before the stream is declared broken: some calls only change internal state (brotli
// between metablocks), but a stuck loop must not spin the worker forever.
inline constexpr int kMaxIdleCalls = 8;

}  // namespace portico::filters::compress
